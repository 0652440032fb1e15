"""Check a draft: a writer pastes (or uploads) text; every sentence that states a fact is checked
against the lines it cites, or a source is looked up for it; the result downloads as Markdown with
footnotes to the source lines. The work is ``rag.drafts``; this page only shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.config import get_settings
from rag.llm import choose_judge
from rag.ui.components import esc_md, notes_html, one_line, slug, source_panel

VERDICT_TEXT = {
    "supported": "supported",
    "proposed": "source found",
    "unsupported": "unsupported",
    "bad_citation": "bad citation",
    "not_found": "no source found",
    "uncited": "uncited",
}
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
    return "proposed" if s.verdict == "supported" and s.proposed else str(s.verdict)


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
    rows = [
        {
            "Line": s.line,
            "Verdict": f"{marks.get(verdict_key(s), '?')} {VERDICT_TEXT.get(verdict_key(s), s.verdict)}",
            "Sentence": s.text,
            "Score": float(s.score),
            "Cited": s.citation_written or "",
            "Source": s.source or "",
            "Quote": s.quote or "",
            "Why": s.reason or "",
        }
        for s in sentences
    ]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "Line": st.column_config.NumberColumn(width="small", help="Line of the draft"),
            "Verdict": st.column_config.TextColumn(width="medium"),
            "Sentence": st.column_config.TextColumn(width="large"),
            "Score": st.column_config.ProgressColumn(
                min_value=0.0, max_value=1.0, format="%.2f", color="auto", width="small"
            ),
            "Cited": st.column_config.TextColumn(help="The citation as written in the draft"),
            "Source": st.column_config.TextColumn(help="file:lines the verdict rests on"),
            "Quote": st.column_config.TextColumn(width="medium"),
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
        "the lines it cites, written `[file:line]` (e.g. `[001:4]`; a PDF by page: `[report.pdf:p12]` "
        "or `[report.pdf:p12:3-5]`), or a source is looked up for it. Download the draft with "
        "footnotes quoting the source lines."
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
