"""Ask page: a chat over the documents. Answers stream in, then each sentence shows its verdict;
citation chips open the source lines, highlighted, in context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import get_settings
from rag.errors import user_errors
from rag.ui.components import (
    build_index_ui,
    code_md,
    empty_state_html,
    esc_md,
    one_line,
    render_answer,
)

USER_AVATAR = ":material/person:"
DESK_AVATAR = ":material/menu_book:"


def render_turn(turn: dict[str, Any], corpus: Path) -> None:
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(esc_md(turn["question"]))
    with st.chat_message("assistant", avatar=DESK_AVATAR):
        render_turn_body(turn, corpus)


def render_turn_body(turn: dict[str, Any], corpus: Path) -> None:
    if turn.get("error"):
        st.error(turn["error"])
        return
    from rag.trust import recheck_answer

    # the citations are checked against the files as they are now, every time they are shown
    answer = recheck_answer(turn["answer"], corpus)
    render_answer(answer, f"t{turn['id']}", corpus)
    stale = answer.stale or any("older than the corpus" in n for n in answer.notices)
    if stale and st.button(
        "Re-index changed files", key=f"t{turn['id']}-reindex", icon=":material/refresh:"
    ):
        build_index_ui(get_settings(), corpus, False, st)


def ask_now(question: str, settings: Any, corpus: Path) -> None:
    """Answer ``question``, streaming it, then show the checked answer (kept in the history)."""
    from rag.answering import ask

    turns: list[dict[str, Any]] = st.session_state.setdefault("turns", [])
    history = [t["question"] for t in turns if t.get("answer") is not None]
    st.session_state["turn_seq"] = st.session_state.get("turn_seq", 0) + 1
    turn: dict[str, Any] = {
        "id": st.session_state["turn_seq"],
        "question": question,
        "answer": None,
        "error": "Stopped before the answer was finished.",
    }
    turns.append(turn)
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(esc_md(question))
    with st.chat_message("assistant", avatar=DESK_AVATAR):
        phase = st.empty()
        live = st.empty()
        warm = st.session_state.get("_warm")
        loading = warm is not None and not warm.done.is_set()
        phase.caption(
            "Searching the documents (models still loading: the first answer takes longer)…"
            if loading or warm is None
            else "Searching the documents…"
        )
        streamed: list[str] = []

        def on_token(text: str) -> None:
            if not streamed:
                phase.caption("Writing; every sentence is checked against its source when done…")
            streamed.append(text)
            live.markdown(esc_md("".join(streamed)) + " ▌")

        try:
            answer = ask(
                question,
                settings,
                backend=st.session_state.get("backend"),
                strict=st.session_state.get("strict"),
                history=history or None,
                on_token=on_token,
                evidence_k=st.session_state.get("evidence_k"),
            )
        except user_errors() as exc:
            turn["error"] = one_line(exc)
        except Exception as exc:  # never a traceback in the page
            turn["error"] = f"Unexpected {type(exc).__name__}: {one_line(exc)}"
        else:
            turn["answer"] = answer
            turn["error"] = None
        phase.empty()
        live.empty()
        render_turn_body(turn, corpus)


def main() -> None:
    settings = get_settings()
    corpus = Path(st.session_state.get("_corpus_dir") or settings.corpus_dir)
    ready = bool(st.session_state.get("_index_exists"))
    turns: list[dict[str, Any]] = st.session_state.setdefault("turns", [])

    head, clear = st.columns([5, 1], vertical_alignment="bottom")
    head.title("Ask the documents")
    if turns and clear.button("New chat", key="new-chat", icon=":material/add:"):
        turns.clear()
        st.rerun()
    st.caption(
        "Every sentence of an answer cites the lines it comes from and is checked against them: "
        "✓ supported, ⚠ unsupported, ? uncited. Open a source chip to read it in place."
    )
    if not ready:
        st.warning(
            f"There is no index yet in {code_md(str(settings.index_dir))}, so there is nothing to "
            f"ask. Build it from {code_md(str(corpus))} (or run `rag index`)."
        )
        if st.button(
            "Build the index now", key="build-main", icon=":material/build:", type="primary"
        ):
            build_index_ui(settings, corpus, False, st)
    if ready and not turns:
        st.html(empty_state_html(st.session_state.get("_index_files"), corpus))
    for turn in turns:
        render_turn(turn, corpus)
    question = st.chat_input(
        "Ask about the documents…" if ready else "Build the index first",
        key="question",
        disabled=not ready,
        max_chars=4000,
        submit_mode="stop",  # a long answer can be stopped
    )
    if question and ready:
        ask_now(question, settings, corpus)


main()
