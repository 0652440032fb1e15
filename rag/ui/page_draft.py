"""Check a draft: a writer pastes (or uploads) text; every sentence that states a fact is checked
against the lines it cites, or a source is looked up for it. The draft comes back as written, each
checked sentence tinted by its verdict: hover one for the reason, click it for the source lines.
A table of the same results is a secondary view; the draft downloads as Markdown with footnotes.
The work is ``rag.drafts``; this page only shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import get_settings
from rag.errors import SourceError
from rag.llm import choose_judge
from rag.render import TENTATIVE_NOTE, slug
from rag.schema import Citation
from rag.sources import source_html, source_view
from rag.ui.components import (
    esc,
    esc_md,
    notes_html,
    one_line,
    pane_id,
    shorten_title,
    source_panel,
    title_of,
)

VERDICT_TEXT = {
    "supported": "supported",
    "tentative": "supported, tentative",
    "proposed": "source found",
    "unsupported": "unsupported",
    "bad_citation": "bad citation",
    "not_found": "no source found",
    "uncited": "uncited",
    "contradicted": "contradicted",
}
VERDICT_WHY = {
    "supported": "the cited lines support it",
    "tentative": TENTATIVE_NOTE,
    "proposed": "it cited nothing; these lines support it",
    "unsupported": "the cited lines do not support it",
    "bad_citation": "the citation does not point at readable lines",
    "not_found": "no line of the documents supports it",
    "uncited": "it cites no source",
    "contradicted": "the sources say otherwise",
}
LEGEND = (
    "supported",
    "tentative",
    "proposed",
    "unsupported",
    "contradicted",
    "bad_citation",
    "not_found",
)
EXAMPLE = (
    "A sentence that cites its source ends with the file and line [report.txt:12]. "
    "A sentence without a citation gets a proposed source, or is flagged."
)


def draft_api() -> Any:
    """The draft checker (``rag.drafts``)."""
    from rag import drafts

    return drafts


def load_upload() -> None:
    """An uploaded .md/.txt file replaces the text in the box (callback: runs before the page)."""
    draft = draft_api()
    upload = st.session_state.get("draft_file")
    if draft is None or upload is None:
        return
    try:
        st.session_state["draft_text"] = draft.decode_draft(upload.getvalue(), upload.name)
    except Exception as exc:
        st.session_state["draft_upload_error"] = one_line(exc)


def run_check(draft: Any, text: str, settings: Any, use_judge: bool) -> None:
    bar = st.progress(0.0, text="Checking sentences…")

    def progress(done: int, total: int) -> None:
        frac = done / total if total else 1.0
        bar.progress(min(frac, 1.0), text=f"Checked {done} of {total} sentences")

    try:
        backend = st.session_state.get("backend", settings.backend)
        judge, notices = choose_judge(settings, backend, use=use_judge)
        report = draft.check_draft(text, settings, judge=judge, progress=progress)
    except Exception as exc:  # one line, never a traceback
        st.session_state["draft_result"] = {"text": text, "error": one_line(exc)}
    else:
        st.session_state["draft_result"] = {"text": text, "report": report, "notices": notices}
    bar.empty()


def verdict_key(s: Any) -> str:
    if s.verdict == "supported" and getattr(s, "tentative", False):
        return "tentative"
    return "proposed" if s.verdict == "supported" and s.proposed else str(s.verdict)


def sentence_source(s: Any) -> tuple[Citation | None, str]:
    """The lines to show for a checked sentence, and what they are."""
    if s.verdict == "supported" and s.citation is not None:
        return s.citation, "Proposed source" if s.proposed else "Cited source"
    if s.alternative is not None:
        return s.alternative, "Lines that do support it"
    if s.citation is not None:
        return s.citation, "What it cites"
    return None, ""


def draft_html(text: str, sentences: list[Any], marks: dict[str, str], corpus: Path) -> str:
    """The draft as written, each checked sentence tinted by verdict: hover for the verdict and
    reason, click to open the pane below with the source lines. All text escaped."""
    out: list[str] = []
    panes: list[str] = []
    pos = 0
    for i, s in sorted(enumerate(sentences), key=lambda p: p[1].char_start):
        a, b = s.char_start, s.char_end
        if a < pos or b <= a or b > len(text):
            continue
        out.append(esc(text[pos:a]))
        key = verdict_key(s)
        label = VERDICT_TEXT.get(key, str(s.verdict))
        why = s.reason or VERDICT_WHY.get(key, "")
        src, what = sentence_source(s)
        where = ""
        if src is not None:
            where = (
                f'<span class="rag-card-loc">{esc(what)}: {esc(title_of(corpus, src.file))}, '
                f"{esc(src.file)}:{esc(src.lines)}</span>"
                f'<span class="rag-card-quote">“{esc(" ".join(src.quote.split())[:300])}”</span>'
            )
        card = (
            '<span class="rag-card" role="tooltip">'
            f'<span class="rag-card-verdict">{esc(marks.get(key, "?"))} {esc(label)}</span>'
            f'<span class="rag-card-loc">{esc(why)}</span>{where}'
            '<span class="rag-card-hint">Click to open the lines</span></span>'
        )
        pid = pane_id("draft", str(i))
        out.append(
            f'<a class="rag-dsent v-{esc(key)}" href="#{pid}" data-verdict="{esc(key)}" '
            f'data-i="{i}">{esc(text[a:b])}{card}</a>'
        )
        pos = b
        panes.append(draft_pane(pid, s, key, label, why, src, what, marks, corpus))
    out.append(esc(text[pos:]))
    legend = "".join(
        f'<span><span class="sw v-{k}"></span>{esc(marks.get(k, ""))} {esc(VERDICT_TEXT[k])}</span>'
        for k in LEGEND
    )
    return (
        f'<div class="rag-legend">{legend}</div>'
        f'<div class="rag-draft" id="{pane_id("draft", "text")}">{"".join(out)}</div>'
        f'<div class="rag-panes">{"".join(panes)}</div>'
    )


def draft_pane(
    pid: str,
    s: Any,
    key: str,
    label: str,
    why: str,
    src: Citation | None,
    what: str,
    marks: dict[str, str],
    corpus: Path,
) -> str:
    """What a click on a draft sentence opens: its verdict, the reason, the source lines."""
    view = ""
    if src is not None:
        try:
            view = source_html(source_view(corpus, src), title=title_of(corpus, src.file))
        except SourceError as exc:
            view = f'<div class="rag-box rag-conflict">{esc(str(exc))}</div>'
    head = f"<b>{esc(marks.get(key, '?'))} {esc(label)}</b> (line {s.line}): {esc(why)}" + (
        f" · cited as <code>{esc(s.citation_written)}</code>" if s.citation_written else ""
    )
    return (
        f'<div class="rag-pane" id="{pid}"><div class="rag-pane-head"><span>{head}</span>'
        f'<a href="#{pane_id("draft", "text")}">close ✕</a></div>'
        + (f'<div class="rag-note">{esc(what)}:</div>{view}' if view else "")
        + "</div>"
    )


def show_report(draft: Any, result: dict[str, Any], corpus: Path) -> None:
    report = result["report"]
    sentences = list(report.sentences)
    marks: dict[str, str] = dict(draft.DRAFT_MARKS)
    cols = st.columns(4)
    cols[0].metric("Checked", report.checked)
    cols[1].metric("✓ Supported", report.supported)
    cols[2].metric("+ Source found", report.proposed)
    cols[3].metric("⚠ Flagged", report.flagged)
    st.caption(esc_md(report.summary()))
    notes = [*result.get("notices", []), *report.notices]
    if notes:
        st.html(notes_html(notes))
    if not sentences:
        st.info("No sentence of this text states a fact to check.")
        return
    st.markdown(
        "**Your draft, checked** · hover a sentence for its verdict, click it for the lines"
    )
    st.html(draft_html(result["text"], sentences, marks, corpus))
    with st.expander("As a table", icon=":material/table_rows:"):
        rows = []
        for s in sentences:
            src, _what = sentence_source(s)
            rows.append(
                {
                    "Line": s.line,
                    "Verdict": f"{marks.get(verdict_key(s), '?')} "
                    f"{VERDICT_TEXT.get(verdict_key(s), s.verdict)}",
                    "Sentence": s.text,
                    "Source": (
                        f"{shorten_title(title_of(corpus, src.file), 36)} · {src.file}:{src.lines}"
                        if src is not None
                        else ""
                    ),
                    "Why": s.reason or "",
                }
            )
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={
                "Line": st.column_config.NumberColumn(width=48, help="Line of the draft"),
                "Verdict": st.column_config.TextColumn(width=120),
                "Sentence": st.column_config.TextColumn(width=330),
                "Source": st.column_config.TextColumn(
                    width=190, help="The lines the verdict rests on: title, file and lines"
                ),
                "Why": st.column_config.TextColumn(width=190),
            },
        )
    openable = [i for i, s in enumerate(sentences) if s.citation is not None or s.alternative]
    if openable:
        pick = st.selectbox(
            "Read a source in place",
            options=openable,
            index=None,
            key="draft_source",
            placeholder="Choose a sentence to see the lines it rests on",
            format_func=lambda i: (
                f"#{i + 1} {marks.get(verdict_key(sentences[i]), '?')} "
                f"{sentences[i].source or sentences[i].alternative.location} · "
                f"{shorten_title(title_of(corpus, (sentences[i].citation or sentences[i].alternative).file), 30)} · "
                f"{sentences[i].text[:70]}{'…' if len(sentences[i].text) > 70 else ''}"
            ),
        )
        if pick is not None:
            s = sentences[pick]
            if s.citation is not None:
                source_panel(corpus, s.citation, key=f"draft-src-{pick}")
            if s.alternative is not None and s.verdict != "supported":
                st.caption("These lines of the corpus do support the sentence:")
                source_panel(corpus, s.alternative, key=f"draft-alt-{pick}")
    markdown = draft.draft_markdown(result["text"], report)
    st.download_button(
        "Download footnoted Markdown",
        data=markdown,
        file_name=f"{slug(result['text'][:60], 30)}-checked.md",
        mime="text/markdown",
        key="draft-download",
        icon=":material/download:",
        type="primary",
    )
    with st.expander("Footnoted Markdown (copy)"):
        st.code(markdown, language="markdown", wrap_lines=True)


def main() -> None:
    settings = get_settings()
    st.title("Check a draft")
    st.caption(
        "Paste a paragraph or a whole draft. Each sentence that states a fact is checked against "
        "the lines it cites, written `[file:line]` or `[file:line-line]` (the file as a unique "
        "prefix of its name: `[report:12]`; several as `[report:12; notes:3-5]`; a PDF by page: "
        "`[report.pdf:p12]` or `[report.pdf:p12:3-5]`), or a source is looked up for it. Download "
        "the draft with footnotes quoting the source lines and marks on what failed."
    )
    draft = draft_api()
    if not st.session_state.get("_index_exists"):
        st.warning("There is no index yet: build it from the sidebar first.")
        return
    st.file_uploader(
        "Upload a draft (.md, .txt or .docx)",
        type=["md", "markdown", "txt", "docx"],
        key="draft_file",
        on_change=load_upload,
        max_upload_size=5,
    )
    if st.session_state.get("draft_upload_error"):
        st.error(st.session_state.pop("draft_upload_error"))
    text = st.text_area("Draft", key="draft_text", height=220, placeholder=EXAMPLE)
    backend = st.session_state.get("backend", settings.backend)
    use_judge = st.toggle(
        "Let the language model judge each sentence (slower, understands paraphrase)",
        key="draft_judge",
        value=False,
        disabled=backend == "extractive",
        help="Off: words, names and numbers must match the source. On: the model also judges.",
    )
    if st.button("Check draft", key="draft-check", type="primary", icon=":material/fact_check:"):
        if not text.strip():
            st.warning("Paste some text to check first.")
        else:
            run_check(draft, text, settings, use_judge)
    result = st.session_state.get("draft_result")
    if not result:
        return
    if result.get("error"):
        st.error(f"The draft check failed: {result['error']}")
        return
    if result["text"] != text:
        st.caption("The results below are for an earlier version of the text: check it again.")
    show_report(draft, result, Path(st.session_state.get("_corpus_dir") or settings.corpus_dir))


main()
