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

from rag import prompts
from rag.errors import SourceError
from rag.render import (
    MARKS,
    REMOVED_HEADING,
    TRANSLATION_HEADING,
    answer_markdown,
    capitalised,
    mark_of,
    slug,
    verdict_words,
)
from rag.schema import Answer, Citation, Evidence, SentenceCheck
from rag.sources import (
    SOURCE_CSS,
    SourceView,
    page_png,
    source_html,
    source_title,
    source_view,
)

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
.v-tentative .rag-mark{background:#f3f0d2;color:#6b6000;}
.v-tentative .rag-verdict{color:#6b6000;}
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
.v-contradicted .rag-mark{background:#fde2df;color:#9b1c1c;}
.v-contradicted .rag-stext{text-decoration:line-through #c0392b 1px;}
.v-contradicted .rag-verdict{color:#9b1c1c;}
.rag-pill.v-contradicted{background:#fde2df;color:#9b1c1c;}
a.rag-cite{position:static;text-decoration:none;cursor:pointer;display:inline-block;}
.rag-sbody{position:relative;}
a.rag-cite:hover,a.rag-cite:focus{background:#ffe27a;outline:none;}
.rag-card{display:none;position:absolute;left:0;top:auto;margin-top:1.55em;z-index:1000;width:26rem;
  max-width:80vw;background:#fffdf7;border:1px solid #d9d4c7;border-radius:8px;
  box-shadow:0 6px 24px rgba(40,30,0,.18);padding:.55rem .7rem;text-align:left;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.82rem;
  font-weight:400;color:var(--desk-ink);line-height:1.45;white-space:normal;vertical-align:baseline;}
a.rag-cite:hover .rag-card,a.rag-cite:focus .rag-card,a.rag-dsent:hover .rag-card,
a.rag-dsent:focus .rag-card{display:block;}
.rag-card-title{display:block;font-weight:700;}
.rag-card-loc{display:block;color:var(--desk-muted);font-size:.75rem;margin-bottom:.25rem;}
.rag-card-quote{display:block;font-family:"Source Serif","Source Serif 4",Georgia,serif;font-size:.9rem;
  border-left:3px solid #e0a800;padding-left:.5rem;margin:.25rem 0;}
.rag-card-verdict{display:block;font-weight:600;}
.rag-card-hint{display:block;color:var(--desk-muted);font-size:.72rem;margin-top:.2rem;}
.rag-pane{display:none;margin:.4rem 0 .6rem;}
.rag-pane:target{display:block;}
.rag-pane-head{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:.25rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.8rem;
  color:var(--desk-muted);}
.rag-pane-head a{color:var(--desk-muted);}
.rag-contra{font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.8rem;
  color:#9b1c1c;margin-top:.15rem;}
.rag-contra a{color:#9b1c1c;}
.rag-searched{font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.82rem;
  color:var(--desk-muted);margin:.1rem 0 .35rem;}
.rag-translation{font-size:.92rem;color:#3d3a33;border-left:3px solid #d9d4c7;padding:.1rem 0 .1rem .6rem;
  margin:.35rem 0;}
.rag-translation .rag-translation-head{display:block;font-size:.78rem;color:var(--desk-muted);}
.rag-removed{background:#f7f5ef;border:1px dashed #d9d4c7;color:#55524a;}
.rag-removed ul{margin:.3rem 0 0 1.1rem;padding:0;}
.rag-reading{margin:0;padding:0 0 0 1.1rem;font-size:.88rem;line-height:1.45;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;}
.rag-reading li{margin:.2rem 0;}
.rag-reading .rag-r-title{font-weight:600;}
.rag-reading .rag-r-loc{color:var(--desk-muted);font-size:.78rem;}
.rag-reading .rag-r-text{display:block;color:#3a3833;font-family:"Source Serif","Source Serif 4",Georgia,serif;}
.rag-draft{white-space:pre-wrap;font-family:"Source Serif","Source Serif 4",Georgia,serif;font-size:1.02rem;
  line-height:1.75;background:var(--desk-paper);border:1px solid var(--desk-rule);border-radius:8px;
  padding:.8rem 1rem;color:var(--desk-ink);overflow-wrap:anywhere;}
.rag-draft{position:relative;}
.rag-draft .rag-card{left:1rem;white-space:normal;}
a.rag-dsent{position:static;color:inherit;text-decoration:none;border-radius:3px;padding:.05em 0;
  cursor:pointer;}
a.rag-dsent.v-supported{background:#e3f3e6;box-shadow:inset 0 -2px 0 #7cc48f;}
a.rag-dsent.v-tentative{background:#f3f0d2;box-shadow:inset 0 -2px 0 #c9b84a;}
a.rag-dsent.v-proposed{background:#e2f1f6;box-shadow:inset 0 -2px 0 #6bb3cc;}
a.rag-dsent.v-unsupported{background:#fff0d4;box-shadow:inset 0 -2px 0 #e0a030;}
a.rag-dsent.v-contradicted,a.rag-dsent.v-bad_citation{background:#fde2df;box-shadow:inset 0 -2px 0 #d9534f;}
a.rag-dsent.v-not_found{background:#fbe9d9;box-shadow:inset 0 -2px 0 #d98c4a;}
a.rag-dsent.v-uncited{background:#ecebe6;box-shadow:inset 0 -2px 0 #a39e8f;}
.rag-legend .sw.v-supported{background:#cdeccf;}.rag-legend .sw.v-tentative{background:#ece6b0;}.rag-legend .sw.v-proposed{background:#cfe8f1;}
.rag-legend .sw.v-unsupported{background:#ffe2a8;}.rag-legend .sw.v-contradicted,
.rag-legend .sw.v-bad_citation{background:#f8c4bf;}.rag-legend .sw.v-not_found{background:#f5d2b3;}
a.rag-dsent:hover,a.rag-dsent:focus{outline:2px solid #c9b458;outline-offset:1px;}
.rag-legend{display:flex;flex-wrap:wrap;gap:.3rem .9rem;margin:.35rem 0;font-size:.8rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;color:var(--desk-muted);}
.rag-legend span.sw{display:inline-block;width:.9rem;height:.9rem;border-radius:3px;vertical-align:-.12rem;margin-right:.25rem;}
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
    """``2024_annual_rep….txt``: a file name short enough for a chip."""
    if len(name) <= width:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 5:
        return name[: width - 1] + "…"
    return stem[: max(4, width - len(ext) - 2)] + "…." + ext


def title_of(corpus_dir: Path | None, file: str) -> str:
    """The document's title (the library's :func:`rag.sources.source_title`), else its name."""
    if corpus_dir is None:
        return file
    return source_title(corpus_dir, file)


def chip_label(c: Citation, corpus_dir: Path | None = None) -> str:
    return esc_md(f"[{c.n}] {shorten_title(title_of(corpus_dir, c.file))} · {lines_label(c)}")


def shorten_title(title: str, width: int = 48) -> str:
    if len(title) <= width:
        return title
    cut = title[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:-–—") + "…"


def lines_label(c: Citation) -> str:
    page = f" (p.{c.page})" if c.page is not None else ""
    lines = f"line {c.line_start}" if c.line_start == c.line_end else f"lines {c.lines}"
    return lines + page


def pane_id(key: str, ref: str) -> str:
    """The element id of a source pane (opened by a link to ``#id``, shown by CSS ``:target``)."""
    return f"src-{re.sub(r'[^A-Za-z0-9_-]', '-', key)}-{ref}"


CARD_QUOTE_CHARS = 320


def card_html(
    c: Citation, corpus_dir: Path | None, verdict: str | None = None, detail: str = ""
) -> str:
    """The hover card of a citation: document title, file and lines, the quote, the verdict."""
    quote = " ".join(c.quote.split())
    if len(quote) > CARD_QUOTE_CHARS:
        quote = quote[: CARD_QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    judged = ""
    if verdict:
        judged = (
            f'<span class="rag-card-verdict v-{esc(verdict)}">{MARKS.get(verdict, "")} '
            f"{esc(verdict)}{esc(detail)}</span>"
        )
    return (
        '<span class="rag-card" role="tooltip">'
        f'<span class="rag-card-title">{esc(title_of(corpus_dir, c.file))}</span>'
        f'<span class="rag-card-loc">{esc(lines_label(c))} · {esc(c.file)}</span>'
        f'<span class="rag-card-quote">“{esc(quote)}”</span>{judged}'
        '<span class="rag-card-hint">Click to open the source</span></span>'
    )


def mark_html(
    n: int,
    c: Citation | None,
    key: str,
    corpus_dir: Path | None,
    verdict: str | None = None,
    detail: str = "",
) -> str:
    """An inline citation mark: hover shows its card, a click opens its source pane."""
    if c is None:
        return f'<span class="rag-cite">{n}</span>'
    return (
        f'<a class="rag-cite" href="#{pane_id(key, str(n))}" data-n="{n}" '
        f'aria-label="source {n}: {esc(title_of(corpus_dir, c.file))}, {esc(lines_label(c))}">'
        f"{n}{card_html(c, corpus_dir, verdict, detail)}</a>"
    )


def sentence_detail(s: SentenceCheck) -> str:
    return f" · {s.score:.2f}"


def sentences_html(answer: Answer, key: str = "a", corpus_dir: Path | None = None) -> str:
    """Each checked sentence with its verdict mark, inline citation marks (hover: the quote,
    title, lines and verdict; click: the source pane), score and reason."""
    by_n = {c.n: c for c in answer.citations}
    rows = []
    for i, s in enumerate(answer.sentences):
        cites = "".join(
            mark_html(n, by_n.get(n), key, corpus_dir, s.verdict, sentence_detail(s))
            for n in s.citations
        )
        verdict = f"{verdict_words(s)} · {s.score:.2f}"
        if (s.verdict != "supported" or s.tentative) and s.reason:
            verdict += f" · {s.reason}"
        elif s.best_citation and len(s.citations) > 1:
            verdict += f" · best source [{s.best_citation}]"
        kind = "tentative" if s.verdict == "supported" and s.tentative else s.verdict
        contra = ""
        if s.contradiction is not None:
            c = s.contradiction
            contra = (
                f'<div class="rag-contra">✗ Contradicted by '
                f'<a href="#{pane_id(key, f"x{i}")}">{esc(title_of(corpus_dir, c.file))}, '
                f"{esc(lines_label(c))}</a>: “{esc(' '.join(c.quote.split()))}”</div>"
            )
        rows.append(
            f'<div class="rag-sent v-{kind}" data-verdict="{s.verdict}">'
            f'<span class="rag-mark" title="{esc(verdict_words(s))}">{mark_of(s)}</span>'
            f'<div class="rag-sbody"><span class="rag-stext">{esc(s.text)}</span>{cites}'
            f'<span class="rag-verdict">{esc(verdict)}</span>{contra}</div></div>'
        )
    if not rows:  # unchecked (or nothing to check): the text as written, markers as marks
        body = esc(answer.answer)
        body = re.sub(
            r"\[(\d+)\]",
            lambda m: mark_html(int(m.group(1)), by_n.get(int(m.group(1))), key, corpus_dir),
            body,
        )
        rows.append(f'<div class="rag-sent"><div class="rag-sbody">{body}</div></div>')
    return f'<div class="rag-answer" id="{pane_id(key, "answer")}">{"".join(rows)}</div>'


def panes_html(answer: Answer, key: str, corpus_dir: Path) -> str:
    """The source panes of an answer's citations (and contradicting quotes), hidden until a mark
    links to one: the cited lines highlighted in context, headed by the document title."""
    items: list[tuple[str, str, Citation]] = [
        (str(c.n), f"Source [{c.n}]", c) for c in answer.citations
    ]
    items += [
        (f"x{i}", "Contradicting source", s.contradiction)
        for i, s in enumerate(answer.sentences)
        if s.contradiction is not None
    ]
    panes = []
    for ref, label, c in items:
        try:
            view = source_html(source_view(corpus_dir, c), title=title_of(corpus_dir, c.file))
        except SourceError as exc:
            view = f'<div class="rag-box rag-conflict">{esc(str(exc))}</div>'
        panes.append(
            f'<div class="rag-pane" id="{pane_id(key, ref)}" data-ref="{esc(ref)}">'
            f'<div class="rag-pane-head"><span>{esc(label)} · {esc(c.file)}</span>'
            f'<a href="#{pane_id(key, "answer")}">close ✕</a></div>{view}</div>'
        )
    return f'<div class="rag-panes">{"".join(panes)}</div>' if panes else ""


def searched_html(answer: Answer) -> str:
    if not answer.searched_for or answer.searched_for.strip() == answer.question.strip():
        return ""
    return f'<div class="rag-searched">Searched for: “{esc(answer.searched_for)}”</div>'


def translation_html(answer: Answer) -> str:
    """The model's translation of the answer into the question's language, marked unchecked."""
    if not answer.translation:
        return ""
    return (
        f'<div class="rag-translation"><span class="rag-translation-head">'
        f"{esc(capitalised(TRANSLATION_HEADING))}</span>"
        f"{esc(answer.translation)}</div>"
    )


def removed_html(answer: Answer) -> str:
    if not answer.removed:
        return ""
    items = "".join(
        f"<li>{MARKS.get(s.verdict, '⚠')} {esc(s.text)}"
        + (f" <i>({esc(s.reason)})</i>" if s.reason else "")
        + "</li>"
        for s in answer.removed
    )
    return (
        f'<div class="rag-box rag-removed" data-kind="removed"><b>{esc(capitalised(REMOVED_HEADING))}</b>'
        f"<ul>{items}</ul></div>"
    )


def passages_html(evidence: list[Evidence], corpus_dir: Path | None) -> str:
    """The passages retrieval found, as a list: document title, lines, the passage text."""
    items = "".join(
        f'<li><span class="rag-r-title">{esc(title_of(corpus_dir, e.file))}</span> '
        f'<span class="rag-r-loc">{esc(e.file)}, line {esc(e.lines)}</span>'
        f'<span class="rag-r-text">{esc(" ".join(e.text.split()))}</span></li>'
        for e in evidence
    )
    return f'<ol class="rag-reading">{items}</ol>'


def passages_label(evidence: list[Evidence]) -> str:
    docs = len({e.file for e in evidence})
    return (
        f"Passages read: {len(evidence)} from {docs} document{'s' if docs != 1 else ''}"
        if evidence
        else "Passages read: none found"
    )


def show_passages(evidence: list[Evidence], corpus_dir: Path | None) -> None:
    """The passages being read, as a collapsed list (shown before the answer is written)."""
    with st.expander(passages_label(evidence), expanded=False, icon=":material/library_books:"):
        if evidence:
            st.html(passages_html(evidence, corpus_dir))
        else:
            st.caption("Nothing in the documents matched the question.")


def summary_html(answer: Answer) -> str:
    parts = []
    if answer.faithfulness is not None:
        supported = sum(1 for s in answer.sentences if s.verdict == "supported")
        tentative = sum(1 for s in answer.sentences if s.verdict == "supported" and s.tentative)
        f = answer.faithfulness
        cls = "good" if f >= 0.999 else "mixed" if f >= 0.5 else "bad"
        parts.append(
            f'<span class="rag-faith {cls}">Faithfulness {f:.0%}</span>'
            f"<span>{supported} of {len(answer.sentences)} claim sentence"
            f"{'s' if len(answer.sentences) != 1 else ''} supported by what they cite"
            + (f" ({tentative} tentative: read the quote)" if tentative else "")
            + "</span>"
        )
    model = answer.backend if answer.model in ("", "none") else f"{answer.backend} · {answer.model}"
    total = answer.timings_ms.get("total")
    parts.append(f"<span>{esc(model)}" + (f" · {total / 1000:.1f} s" if total else "") + "</span>")
    return f'<div class="rag-summary">{"".join(parts)}</div>'


def conflicts_html(answer: Answer, corpus_dir: Path | None = None) -> str:
    out = []
    for conflict in answer.conflicts:
        items = "".join(
            f"<li><b>{esc('; '.join(title_of(corpus_dir, f) for f in side.files))}</b>"
            f" <small>({esc(', '.join(side.files))})</small>: {esc(side.statement)} "
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
        '<span class="rag-pill v-contradicted">✗ contradicted</span> '
        '<span class="rag-pill v-uncited">? uncited</span>. '
        "Hover a source number to read the quote; click it to open the exact lines, "
        "highlighted, before you quote them. The passages read are listed first, while the "
        "answer is written. "
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
    title = title_of(corpus_dir, citation.file)
    if view.kind == "pdf" and view.page is not None:
        page_col, text_col = st.columns([1, 1], gap="small")
        with page_col:
            page_image(corpus_dir, view)
        with text_col:
            st.html(source_html(view, title=title))
    else:
        st.html(source_html(view, title=title))
    whole = st.toggle("Whole document", key=f"{key}-whole")
    if whole:
        context = None if view.total_lines <= WHOLE_DOCUMENT_MAX_LINES else 400
        st.html(
            source_html(
                source_view(corpus_dir, citation, context_lines=context, snapshots=snapshots),
                title=title,
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
    """Numbered chips named by document title; the chosen one opens its source below (with the
    whole document a toggle away). Returns the chosen citation."""
    by_n = {c.n: c for c in citations}
    chosen = st.pills(
        label,
        options=list(by_n),
        format_func=lambda n: chip_label(by_n[n], corpus_dir),
        key=key,
        selection_mode="single",
    )
    if chosen is not None and chosen in by_n:
        source_panel(corpus_dir, by_n[chosen], key=f"{key}-{chosen}")
        return by_n[chosen]
    return None


def export_row(answer: Answer, key: str, corpus_dir: Path | None = None) -> None:
    """Download the answer as Markdown with footnotes, or copy it from a code block."""
    markdown = answer_markdown(answer, corpus_dir)
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


STATUS_NOTICE = re.compile(r"using the embedded model$|^Ollama not reachable")
"""Notices about which model answers: the sidebar's status line says that once."""


def answer_notices(answer: Answer, seen: set[str]) -> list[str]:
    """The notices worth showing under this answer: not the model status (the sidebar has it),
    not one already shown under an earlier answer of the conversation, except those that say
    what this answer is (:data:`EVERY_ANSWER`). ``seen`` is updated."""
    fresh = [
        n
        for n in answer.notices
        if n in EVERY_ANSWER or (not STATUS_NOTICE.search(n) and n not in seen)
    ]
    seen.update(answer.notices)
    return fresh


EVERY_ANSWER = frozenset({prompts.QUOTED_INSTEAD})
"""Notices shown under every answer they belong to: each quoted answer says it is quoted."""


def render_answer(
    answer: Answer, key: str, corpus_dir: Path, notices: list[str] | None = None
) -> None:
    """A checked answer: verdicts per sentence with hoverable, clickable citation marks (their
    source panes right below), faithfulness, conflicts, sentences taken out, sources, export."""
    if answer.searched_for:
        st.html(searched_html(answer) or "<span></span>")
    if answer.abstained:
        st.html(abstain_html(answer))
        if answer.closest:
            citation_chips(answer.closest, f"{key}-closest", "Closest passages", corpus_dir)
    else:
        st.html(sentences_html(answer, key, corpus_dir) + panes_html(answer, key, corpus_dir))
        st.html(summary_html(answer))
        if answer.translation:
            st.html(translation_html(answer))
        if answer.conflicts:
            st.html(conflicts_html(answer, corpus_dir))
    if answer.removed:
        st.html(removed_html(answer))
    if answer.citations and not answer.abstained:
        citation_chips(
            answer.citations,
            f"{key}-chips",
            "Sources · hover a number to read the quote, click it to open the lines",
            corpus_dir,
        )
    shown = answer.notices if notices is None else notices
    if shown:
        st.html(notes_html(shown))
    export_row(answer, key, corpus_dir)


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
