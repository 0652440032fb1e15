"""Pieces of the Streamlit pages: the look, checked answers, citation chips and the source panel.

Everything that comes from a document or a model is escaped before it reaches HTML
(``html.escape``) or Markdown (:func:`esc_md`): text is shown as text, never rendered.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import streamlit as st

from rag.errors import SourceError
from rag.render import MARKS, answer_markdown
from rag.schema import Answer, Citation
from rag.sources import SOURCE_CSS, SourceView, page_png, source_html, source_view

WHOLE_DOCUMENT_MAX_LINES = 4000
"""Above this many lines the "whole document" view shows a wide window instead."""

APP_CSS = """
:root{--desk-ink:#23221f;--desk-muted:#6b6657;--desk-paper:#fffdf7;--desk-rule:#e4ddca;}
.block-container{max-width:58rem;padding-top:2.2rem;}
.stApp h1,.stApp h2,.stApp h3{font-family:"Source Serif","Source Serif 4","Source Serif Pro",Georgia,serif !important;
  font-weight:600 !important;letter-spacing:-.01em;}
.stApp h1{font-size:2.1rem !important;}
.rag-answer{font-family:"Source Serif","Source Serif 4","Source Serif Pro",Georgia,"Times New Roman",serif;
  font-size:1.06rem;line-height:1.6;color:var(--desk-ink);}
.rag-sent{display:flex;gap:.6rem;align-items:flex-start;padding:.35rem .2rem;
  border-bottom:1px dotted var(--desk-rule);}
.rag-sent:last-child{border-bottom:none;}
.rag-mark{flex:0 0 1.5rem;height:1.5rem;border-radius:50%;display:inline-flex;
  align-items:center;justify-content:center;font-size:.85rem;font-weight:700;margin-top:.12rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;}
.v-supported .rag-mark{background:#e3f3e6;color:#1d6b34;}
.v-unsupported .rag-mark{background:#fff0d4;color:#9a5b00;}
.v-uncited .rag-mark{background:#ecebe6;color:#6b6657;}
.v-unsupported .rag-stext{text-decoration:underline wavy #e0a030;text-underline-offset:.25em;}
.rag-sbody{flex:1;min-width:0;}
.rag-cite{font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.72rem;font-weight:600;
  color:#5a4a00;background:#fff1b8;border:1px solid #ecd67a;border-radius:4px;
  padding:0 .28rem;margin-left:.2rem;vertical-align:.15em;}
.rag-verdict{display:block;font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.76rem;
  color:var(--desk-muted);margin-top:.1rem;}
.v-unsupported .rag-verdict{color:#9a5b00;}
.rag-summary{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center;margin:.5rem 0 .2rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.82rem;color:var(--desk-muted);}
.rag-faith{font-weight:700;padding:.1rem .5rem;border-radius:999px;}
.rag-faith.good{background:#e3f3e6;color:#1d6b34;}
.rag-faith.mixed{background:#fff0d4;color:#9a5b00;}
.rag-faith.bad{background:#fde2df;color:#9b1c1c;}
.rag-box{border-radius:8px;padding:.6rem .8rem;margin:.5rem 0;font-size:.92rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;}
.rag-conflict{background:#fff4e0;border:1px solid #f0cf95;color:#5e3b00;}
.rag-conflict ul{margin:.3rem 0 0 1.1rem;padding:0;}
.rag-abstain{background:#eef2f7;border:1px solid #cdd7e4;color:#27364a;}
[data-testid="stAppDeployButton"]{display:none;}
.rag-empty{background:var(--desk-paper);border:1px solid var(--desk-rule);color:var(--desk-ink);
  line-height:1.6;}
.rag-empty code{font-size:.8rem;}
.rag-pill{display:inline-block;border-radius:999px;padding:0 .45rem;font-size:.8rem;font-weight:600;}
.rag-pill.v-supported{background:#e3f3e6;color:#1d6b34;}
.rag-pill.v-unsupported{background:#fff0d4;color:#9a5b00;}
.rag-pill.v-uncited{background:#ecebe6;color:#6b6657;}
.rag-note{font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.8rem;color:var(--desk-muted);
  margin:.15rem 0;}
"""


def inject_css() -> None:
    """The page styles (a style-only ``st.html`` takes no room on the page)."""
    st.html(f"<style>{APP_CSS}{SOURCE_CSS}</style>")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^])")


def esc_md(text: str) -> str:
    """``text`` with every Markdown (and Streamlit directive) character backslash-escaped, and
    ``&`` spelled as an entity, so Markdown shows it literally."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))


def code_md(text: str) -> str:
    """``text`` as an inline Markdown code span (shown verbatim; backslashes stay)."""
    text = text.replace("\n", " ")
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text.replace('``', '` `')} ``"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def short_file(name: str, width: int = 22) -> str:
    """``001_71d083e5….txt``: a file name short enough for a chip."""
    if len(name) <= width:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 5:
        return name[: width - 1] + "…"
    return stem[: max(4, width - len(ext) - 2)] + "…." + ext


def chip_label(c: Citation) -> str:
    page = f" p.{c.page}" if c.page is not None else ""
    return esc_md(f"[{c.n}] {short_file(c.file)}:{c.lines}{page}")


# --- answers ----------------------------------------------------------------------------------


def sentences_html(answer: Answer) -> str:
    """Each checked sentence with its verdict mark, citation numbers, score and reason."""
    rows = []
    for s in answer.sentences:
        cites = "".join(f'<span class="rag-cite">{n}</span>' for n in s.citations)
        verdict = f"{s.verdict} · {s.score:.2f}"
        if s.verdict != "supported" and s.reason:
            verdict += f" · {s.reason}"
        elif s.best_citation and len(s.citations) > 1:
            verdict += f" · best source [{s.best_citation}]"
        rows.append(
            f'<div class="rag-sent v-{s.verdict}" data-verdict="{s.verdict}">'
            f'<span class="rag-mark" title="{s.verdict}">{MARKS[s.verdict]}</span>'
            f'<div class="rag-sbody"><span class="rag-stext">{esc(s.text)}</span>{cites}'
            f'<span class="rag-verdict">{esc(verdict)}</span></div></div>'
        )
    if not rows:  # unchecked (or nothing to check): the text as written, markers as chips
        body = esc(answer.answer)
        body = re.sub(r"\[(\d+)\]", r'<span class="rag-cite">\1</span>', body)
        rows.append(f'<div class="rag-sent"><div class="rag-sbody">{body}</div></div>')
    return f'<div class="rag-answer">{"".join(rows)}</div>'


def summary_html(answer: Answer) -> str:
    parts = []
    if answer.faithfulness is not None:
        supported = sum(1 for s in answer.sentences if s.verdict == "supported")
        f = answer.faithfulness
        cls = "good" if f >= 0.999 else "mixed" if f >= 0.5 else "bad"
        parts.append(
            f'<span class="rag-faith {cls}">Faithfulness {f:.0%}</span>'
            f"<span>{supported} of {len(answer.sentences)} claim sentence"
            f"{'s' if len(answer.sentences) != 1 else ''} supported by what they cite</span>"
        )
    model = answer.backend if answer.model in ("", "none") else f"{answer.backend} · {answer.model}"
    total = answer.timings_ms.get("total")
    parts.append(f"<span>{esc(model)}" + (f" · {total / 1000:.1f} s" if total else "") + "</span>")
    return f'<div class="rag-summary">{"".join(parts)}</div>'


def conflicts_html(answer: Answer) -> str:
    out = []
    for conflict in answer.conflicts:
        items = "".join(
            f"<li><b>{esc(', '.join(side.files))}</b>: {esc(side.statement)} "
            + "".join(f'<span class="rag-cite">{n}</span>' for n in side.citations)
            + "</li>"
            for side in conflict.sides
        )
        out.append(
            '<div class="rag-box rag-conflict" data-kind="conflict">'
            f"<b>⚠ The sources disagree</b> on: {esc(conflict.claim)}<ul>{items}</ul>"
            "Check which source to trust before printing either.</div>"
        )
    return "".join(out)


def abstain_html(answer: Answer) -> str:
    extra = (
        " These are the closest passages found; open one to judge for yourself."
        if answer.closest
        else ""
    )
    return (
        f'<div class="rag-box rag-abstain" data-kind="abstain"><b>No answer.</b> '
        f"{esc(answer.answer)}{extra}</div>"
    )


def empty_state_html(files: int | None, corpus: Path) -> str:
    """What to expect, before the first question."""
    where = f"the {files} documents in" if files else "the documents in"
    return (
        '<div class="rag-box rag-empty">'
        f"<b>Ask anything about {where} <code>{esc(str(corpus))}</code>.</b><br>"
        "Answers are written only from passages of those documents. Each sentence carries the "
        "numbers of its sources and the checker's verdict: "
        '<span class="rag-pill v-supported">✓ supported</span> '
        '<span class="rag-pill v-unsupported">⚠ unsupported</span> '
        '<span class="rag-pill v-uncited">? uncited</span>. '
        "Open a source to read the exact lines, highlighted, before you quote them. "
        "Follow-up questions keep the topic of the previous one. When the documents do not say, "
        "the answer says so and shows the closest passages.</div>"
    )


def notes_html(notes: list[str]) -> str:
    """Notices as quiet lines of text (escaped: they may quote paths and hosts)."""
    return "".join(f'<div class="rag-note">Note: {esc(n)}</div>' for n in notes)


def snapshots_dir() -> Path | None:
    """The live index's folder of converted documents' text snapshots (set by the app)."""
    folder = st.session_state.get("_snapshots")
    return Path(folder) if folder else None


def source_panel(corpus_dir: Path, citation: Citation, key: str) -> None:
    """The cited lines of ``citation`` in context, highlighted, with a whole-document toggle;
    for a PDF, the cited page beside them with the cited words marked."""
    snapshots = snapshots_dir()
    try:
        view = source_view(corpus_dir, citation, snapshots=snapshots)
    except SourceError as exc:
        st.warning(str(exc))
        return
    if view.kind == "pdf" and view.page is not None:
        page_col, text_col = st.columns([1, 1], gap="small")
        with page_col:
            page_image(corpus_dir, view)
        with text_col:
            st.html(source_html(view))
    else:
        st.html(source_html(view))
    whole = st.toggle("Whole document", key=f"{key}-whole")
    if whole:
        context = None if view.total_lines <= WHOLE_DOCUMENT_MAX_LINES else 400
        st.html(
            source_html(
                source_view(corpus_dir, citation, context_lines=context, snapshots=snapshots)
            )
        )


@st.cache_data(max_entries=64, show_spinner=False)
def cached_page_png(corpus_dir: str, view_json: str, mtime_ns: int, around: bool) -> bytes | None:
    """The drawn page (cached by view and file time: drawing a page takes ~0.1-1 s)."""
    return page_png(Path(corpus_dir), SourceView.model_validate_json(view_json), around=around)


def page_image(corpus_dir: Path, view: SourceView) -> None:
    """The PDF page of ``view``, the cited words highlighted: the part around them, readable in
    the column, and the whole page behind an expander."""
    try:
        mtime = Path(view.path).stat().st_mtime_ns
        png = cached_page_png(str(corpus_dir), view.model_dump_json(), mtime, True)
    except (SourceError, OSError) as exc:
        st.warning(f"cannot show the page: {exc}")
        return
    if png is None:
        return
    st.image(
        png,
        caption=f"{view.file}, page {view.page} of {view.pages}: the cited words are highlighted",
        width="stretch",
    )
    with st.expander("Whole page"):
        whole = cached_page_png(str(corpus_dir), view.model_dump_json(), mtime, False)
        if whole is not None:
            st.image(whole, width="stretch")


def citation_chips(
    citations: list[Citation], key: str, label: str, corpus_dir: Path
) -> Citation | None:
    """Numbered chips; the chosen one opens its source below. Returns the chosen citation."""
    by_n = {c.n: c for c in citations}
    chosen = st.pills(
        label,
        options=list(by_n),
        format_func=lambda n: chip_label(by_n[n]),
        key=key,
        selection_mode="single",
    )
    if chosen is not None and chosen in by_n:
        source_panel(corpus_dir, by_n[chosen], key=f"{key}-{chosen}")
        return by_n[chosen]
    return None


def slug(text: str, width: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:width].rstrip("-") or "answer"


def export_row(answer: Answer, key: str) -> None:
    """Download the answer as Markdown with footnotes, or copy it from a code block."""
    markdown = answer_markdown(answer)
    left, right = st.columns([1, 1], gap="small")
    with left:
        st.download_button(
            "Download Markdown",
            data=markdown,
            file_name=f"{slug(answer.question)}.md",
            mime="text/markdown",
            key=f"{key}-download",
            icon=":material/download:",
            width="stretch",
        )
    with right, st.popover("Copy as Markdown", icon=":material/content_copy:", width="stretch"):
        st.caption("Markdown with footnotes quoting each source; copy with the button.")
        st.code(markdown, language="markdown", wrap_lines=True)


def render_answer(answer: Answer, key: str, corpus_dir: Path) -> None:
    """A checked answer: verdicts per sentence, faithfulness, conflicts, sources and export."""
    if answer.abstained:
        st.html(abstain_html(answer))
        if answer.closest:
            citation_chips(answer.closest, f"{key}-closest", "Closest passages", corpus_dir)
    else:
        st.html(sentences_html(answer))
        st.html(summary_html(answer))
        if answer.conflicts:
            st.html(conflicts_html(answer))
        if answer.citations:
            citation_chips(
                answer.citations,
                f"{key}-chips",
                "Sources · open one to read it in place",
                corpus_dir,
            )
    if answer.notices:
        st.html(notes_html(answer.notices))
    export_row(answer, key)


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (never a traceback)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- cached status and indexing ------------------------------------------------------------


OLLAMA_TTL = 15.0
"""Seconds an answer to "is an Ollama server up?" is reused."""
_ollama_seen: dict[str, tuple[float, bool]] = {}


def ollama_known(host: str) -> bool | None:
    """The recent answer for ``host`` without asking again (``None``: none recent)."""
    seen = _ollama_seen.get(host)
    if seen is None or time.monotonic() - seen[0] > OLLAMA_TTL:
        return None
    return seen[1]


def ollama_up(host: str) -> bool:
    """Whether an Ollama server answers at ``host`` (asked at most every ``OLLAMA_TTL`` s)."""
    known = ollama_known(host)
    if known is not None:
        return known
    from rag.llm import ollama_reachable

    up = ollama_reachable(host, timeout=0.5)
    _ollama_seen[host] = (time.monotonic(), up)
    return up


@st.cache_data(ttl=10, show_spinner=False)
def cached_status(index_dir: str, _settings: Any) -> dict[str, Any]:
    from rag.index.status import index_status

    try:
        return index_status(_settings)
    except Exception as exc:
        return {"exists": False, "index_dir": index_dir, "error": one_line(exc)}


def build_index_ui(settings: Any, folder: Path, rebuild: bool, where: Any) -> None:
    """Index ``folder`` with a progress bar in ``where``; the outcome is kept for the next run."""
    from rag.index.build import build_index

    bar = where.progress(0.0, text="Reading the documents…")

    def progress(done: int, total: int) -> None:
        frac = done / total if total else 1.0
        bar.progress(min(frac, 1.0), text=f"Embedding {done:,} of {total:,} chunks")

    try:
        report = build_index(settings, folder, rebuild=rebuild, progress=progress)
    except Exception as exc:
        bar.empty()
        st.session_state["index_message"] = ("error", f"Indexing failed: {one_line(exc)}")
    else:
        bar.progress(1.0, text="Done")
        notes = [f"skipped {p}: {r}" for p, r in sorted(report.skipped.items())]
        notes += report.warnings
        st.session_state["index_message"] = ("success", f"Index updated: {report.summary()}", notes)
    cached_status.clear()
    st.rerun()


def index_message(where: Any) -> None:
    msg = st.session_state.pop("index_message", None)
    if not msg:
        return
    if msg[0] == "error":
        where.error(msg[1])
        return
    where.success(msg[1])
    for note in msg[2][:8]:
        where.caption(f"⚠ {esc_md(note)}")
