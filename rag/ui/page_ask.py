"""Ask page: a chat over the documents. Sources first: as soon as retrieval is done the passages
being read are listed (collapsed), then the answer streams in, then each sentence shows its
verdict. Citation marks show their quote on hover and open the source lines on click.
Conversations are kept on this machine (``rag.conversations``): listed in the sidebar, restored
on reload (``?c=<id>`` in the address), exported as Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import get_settings
from rag.conversations import ConversationStore, Turn
from rag.errors import user_errors
from rag.render import conversation_markdown, slug
from rag.schema import Evidence
from rag.ui.components import (
    answer_notices,
    build_index_ui,
    code_md,
    empty_state_html,
    esc_md,
    one_line,
    render_answer,
    show_passages,
)

USER_AVATAR = ":material/person:"
DESK_AVATAR = ":material/menu_book:"
CONVERSATIONS_LISTED = 8


def store(settings: Any) -> ConversationStore:
    return ConversationStore(settings.conversations_path)


def render_turn(turn: Turn, corpus: Path, seen: set[str]) -> None:
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(esc_md(turn.question))
    with st.chat_message("assistant", avatar=DESK_AVATAR):
        render_turn_body(turn, corpus, seen)


def render_turn_body(turn: Turn, corpus: Path, seen: set[str]) -> None:
    if turn.evidence or turn.answer is not None:
        show_passages(turn.evidence, corpus)
    if turn.error:
        st.error(turn.error)
        return
    if turn.answer is None:
        return
    from rag.trust import recheck_answer

    # the citations are checked against the files as they are now, every time they are shown
    answer = recheck_answer(turn.answer, corpus)
    render_answer(answer, f"t{turn.id}", corpus, answer_notices(answer, seen))
    stale = answer.stale or any("older than the corpus" in n for n in answer.notices)
    if stale and st.button(
        "Re-index changed files", key=f"t{turn.id}-reindex", icon=":material/refresh:"
    ):
        build_index_ui(get_settings(), corpus, False, st)


def ask_now(question: str, settings: Any, corpus: Path, seen: set[str]) -> None:
    """Answer ``question``: the passages first, the answer streaming, then the checked answer
    (kept in the history and in the conversation file). When a ``rag serve`` with the same
    settings answers (``RAG_SERVER_URL``), it is asked, so that one warm model serves the CLI
    and the chat; else the question is answered here."""
    from rag.client import ask_server, find_server

    turns: list[Turn] = st.session_state.setdefault("turns", [])
    history = [t.question for t in turns if t.answer is not None]
    st.session_state["turn_seq"] = max([t.id for t in turns] + [0]) + 1
    turn = Turn(
        id=st.session_state["turn_seq"],
        question=question,
        error="Stopped before the answer was finished.",
    )
    turns.append(turn)
    conversations = store(settings)
    cid = st.session_state.get("conv_id")
    try:
        if not cid:
            cid = conversations.create(question)
            st.session_state["conv_id"] = cid
            st.query_params["c"] = cid  # a reload finds the conversation again
    except Exception as exc:  # a read-only folder: the chat still works, unsaved
        st.session_state["conv_error"] = one_line(exc)
    with st.chat_message("user", avatar=USER_AVATAR):
        st.markdown(esc_md(question))
    with st.chat_message("assistant", avatar=DESK_AVATAR):
        reading = st.empty()
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

        def on_evidence(evidence: list[Evidence]) -> None:
            turn.evidence = list(evidence)
            with reading.container():
                show_passages(turn.evidence, corpus)
            phase.caption("Writing the answer from these passages…")

        def on_token(text: str) -> None:
            if not streamed:
                phase.caption("Writing; every sentence is checked against its source when done…")
            streamed.append(text)
            live.markdown(esc_md("".join(streamed)) + " ▌")

        options: dict[str, Any] = {
            "backend": st.session_state.get("backend"),
            "strict": st.session_state.get("strict"),
            "history": history or None,
            "on_token": on_token,
            "evidence_k": st.session_state.get("evidence_k"),
            "on_evidence": on_evidence,
        }
        try:
            url = find_server(settings)
            if url:
                answer = ask_server(settings, url, question, **options)
            else:
                from rag.answering import ask

                answer = ask(question, settings, **options)
        except user_errors() as exc:
            turn.error = one_line(exc)
        except Exception as exc:  # never a traceback in the page
            turn.error = f"Unexpected {type(exc).__name__}: {one_line(exc)}"
        else:
            turn.answer = answer
            turn.error = None
        if cid:
            try:
                conversations.save_turn(cid, turn)
            except Exception as exc:
                st.session_state["conv_error"] = one_line(exc)
        reading.empty()
        phase.empty()
        live.empty()
        render_turn_body(turn, corpus, seen)


def open_conversation(settings: Any, cid: str | None) -> None:
    """Show conversation ``cid`` (``None``: a new, empty one)."""
    st.session_state["turns"] = store(settings).turns(cid) if cid else []
    st.session_state["conv_id"] = cid
    st.session_state["notices_seen"] = set()
    if cid:
        st.query_params["c"] = cid
    elif "c" in st.query_params:
        del st.query_params["c"]


def restore(settings: Any) -> None:
    """After a reload (a new session), the conversation named in the address comes back."""
    if "turns" in st.session_state:
        return
    cid = st.query_params.get("c")
    try:
        if cid and store(settings).get(cid) is not None:
            open_conversation(settings, cid)
            return
    except Exception as exc:
        st.session_state["conv_error"] = one_line(exc)
    st.session_state["turns"] = []


def conversations_sidebar(settings: Any, corpus: Path) -> None:
    """The saved conversations (open one), and the current one as Markdown."""
    with st.sidebar:
        st.markdown("**Conversations**")
        if st.session_state.get("conv_error"):
            st.caption(f"⚠ Conversations are not saved: {esc_md(st.session_state['conv_error'])}")
        try:
            listed = store(settings).recent(CONVERSATIONS_LISTED)
        except Exception as exc:
            st.caption(f"⚠ Cannot read saved conversations: {esc_md(one_line(exc))}")
            listed = []
        current = st.session_state.get("conv_id")
        if not listed:
            st.caption("None yet: each chat is saved on this machine as you ask.")
        for c in listed:
            st.button(
                f"{'▸ ' if c.id == current else ''}{c.title}",
                key=f"conv-{c.id}",
                help=f"{c.turns} question{'s' if c.turns != 1 else ''} · last {c.updated_at}",
                width="stretch",
                type="tertiary",
                on_click=open_conversation,
                args=(settings, c.id),
                disabled=c.id == current,
            )
        turns: list[Turn] = st.session_state.get("turns", [])
        answers = [t.answer for t in turns if t.answer is not None]
        if answers:
            first = turns[0].question
            st.download_button(
                "Export this conversation",
                data=conversation_markdown(answers, corpus, title=first),
                file_name=f"{slug(first, fallback='conversation')}.md",
                mime="text/markdown",
                key="conv-export",
                icon=":material/download:",
                width="stretch",
                help="Every question and checked answer, with footnotes quoting all citations.",
            )


def main() -> None:
    settings = get_settings()
    corpus = Path(st.session_state.get("_corpus_dir") or settings.corpus_dir)
    ready = bool(st.session_state.get("_index_exists"))
    restore(settings)
    turns: list[Turn] = st.session_state["turns"]
    seen: set[str] = set()  # notices already shown above, in this drawing of the conversation

    head, clear = st.columns([5, 1], vertical_alignment="bottom")
    head.title("Ask the documents")
    if turns and clear.button("New chat", key="new-chat", icon=":material/add:"):
        open_conversation(settings, None)
        st.rerun()
    st.caption(
        "Every sentence of an answer cites the lines it comes from and is checked against them: "
        "✓ supported, ⚠ unsupported, ✗ contradicted, ? uncited. Hover a source number to read "
        "the quote; click it to open the lines in place."
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
    intro = st.empty()
    if ready and not turns:
        intro.html(empty_state_html(st.session_state.get("_index_files"), corpus))
    # The conversation so far stays in view while a new question is answered below it, in
    # the same container: the next run draws this turn at the same place, so no element of an
    # earlier run is left standing (stale) inside the new answer. A drawn turn is only page
    # elements, so the passages being read still come within moments of the question.
    conversation = st.container()
    question = st.chat_input(
        "Ask about the documents…" if ready else "Build the index first",
        key="question",
        disabled=not ready,
        max_chars=4000,
        # not submit_mode="stop": while the models load the run stays open to keep the sidebar's
        # status current, and the box must take a question then; a new question (or the
        # toolbar's Stop) interrupts a long answer
    )
    earlier = list(turns)
    with conversation:
        for turn in earlier:
            render_turn(turn, corpus, seen)
        if question and ready:
            intro.empty()  # the first question replaces the introduction
            shown = {n for t in earlier if t.answer is not None for n in t.answer.notices}
            ask_now(question, settings, corpus, shown)
    conversations_sidebar(settings, corpus)


main()
