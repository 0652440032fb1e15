"""A checked draft as a terminal table and as Markdown with footnotes quoting the sources.

On a terminal (a ``width``) the table fits the columns; elsewhere (a file, a pipe) every sentence,
source and quote is written whole. In the Markdown, a verified citation becomes a footnote
quoting the source lines, and a flagged sentence keeps what it wrote and gains a visible mark and
a footnote saying why (``⚠[^check-1]``).
"""

from __future__ import annotations

from pathlib import Path

from rag.drafts.parse import FLAG_REF, FOOTNOTE_DEF, parse_draft
from rag.drafts.schema import DRAFT_MARKS, VERDICT_LABELS, DraftReport, DraftSentence
from rag.render import FLAG_LABEL, TENTATIVE_NOTE, shorten, titles_for
from rag.safety import one_line
from rag.schema import Citation

_MARK_COLORS = {
    "✓": "32",
    "≈": "33",
    "+": "36",
    "⚠": "33",
    "≠": "31",
    "✗": "31",
    "∅": "33",
    "?": "33",
}
FLAG_WHY = {
    "unsupported": "the cited lines do not support it",
    "contradicted": "the sources say otherwise",
    "bad_citation": "the citation does not point at readable lines",
    "not_found": "no line of the documents supports it",
    "uncited": "it cites no source",
}

# --- output -------------------------------------------------------------------------------------


def _mark(s: DraftSentence) -> str:
    if s.verdict == "supported" and s.tentative:
        return DRAFT_MARKS["tentative"]
    if s.verdict == "supported" and s.proposed:
        return DRAFT_MARKS["proposed"]
    return DRAFT_MARKS[s.verdict]


def _label(s: DraftSentence) -> str:
    if s.verdict != "supported":
        return VERDICT_LABELS[s.verdict]
    return "tentative" if s.tentative else "proposed"


def render_draft_list(
    report: DraftReport, color: bool = False, corpus_dir: Path | None = None
) -> str:
    """The report with nothing cut (for files and pipes): per sentence its line, mark and whole
    text, then the source (by document title when ``corpus_dir`` is given), the quote and the
    reason on their own lines; then notices and the summary line."""
    title = titles_for(corpus_dir)
    lines: list[str] = []
    for s in report.sentences:
        mark = _mark(s)
        shown_mark = f"\x1b[{_MARK_COLORS[mark]}m{mark}\x1b[0m" if color else mark
        lines.append(f"line {s.line} {shown_mark} {' '.join(s.text.split())}")
        if s.source:
            named = title(s.citation.file) if s.citation is not None else None
            lines.append(
                f"    source: {named} — {s.source}" if named else f"    source: {s.source}"
            )
        if s.quote:
            lines.append(f'    quote: "{" ".join(s.quote.split())}"')
        if s.flagged or s.proposed or s.tentative:
            lines.append(f"    ↳ {_label(s)}: {' '.join(s.reason.split())}")
    for notice in report.notices:
        lines.append(f"note: {notice}")
    lines.append(report.summary())
    return "\n".join(lines)


def render_draft_table(
    report: DraftReport,
    width: int | None = 110,
    color: bool = False,
    corpus_dir: Path | None = None,
) -> str:
    """The report as a terminal table ``width`` columns wide: line, mark, sentence, source, quote
    (the reason under a flagged row), then notices and the summary line. ``width=None`` (not a
    terminal): :func:`render_draft_list`, nothing cut."""
    if width is None:
        return render_draft_list(report, color=color, corpus_dir=corpus_dir)
    width = max(width, 70)
    src_w = min(34, max([len(s.source or "-") for s in report.sentences] + [6]))
    rest = width - 6 - 2 - src_w - 6
    sent_w = max(20, rest * 11 // 20)
    quote_w = max(16, rest - sent_w)
    lines = [f"{'line':>5} {'':1} {'sentence':<{sent_w}}  {'source':<{src_w}}  quote"]
    for s in report.sentences:
        mark = _mark(s)
        shown_mark = f"\x1b[{_MARK_COLORS[mark]}m{mark}\x1b[0m" if color else mark
        source = shorten(s.source or "-", src_w)
        quote = f'"{shorten(s.quote, quote_w - 2)}"' if s.quote else ""
        lines.append(
            f"{s.line:>5} {shown_mark} {shorten(s.text, sent_w):<{sent_w}}  {source:<{src_w}}  {quote}"
        )
        if s.flagged or s.proposed or s.tentative:
            label = _label(s)
            lines.append(f"{'':5}   ↳ {label}: {shorten(s.reason, width - 12 - len(label))}")
    legend = "  ".join(
        f"{m} {k.replace('_', ' ')}" for k, m in DRAFT_MARKS.items() if k != "uncited"
    )
    lines.append(f"{'':8}{legend}")
    for notice in report.notices:
        lines.append(f"note: {notice}")
    lines.append(report.summary())
    return "\n".join(lines)


def _footnote_body(c: Citation, quote: str) -> str:
    lines = f"line {c.line_start}" if c.line_start == c.line_end else f"lines {c.lines}"
    return f'{one_line(c.file)}, {lines}: "{" ".join(quote.split())}"'


def _flag_note(s: DraftSentence, label: str) -> str:
    if not s.flagged:  # tentative: supported, but on a close call
        return f"[^{label}]: {_mark(s)} Tentative: {TENTATIVE_NOTE} ({' '.join(s.reason.split())})."
    why = " ".join(s.reason.split()) or FLAG_WHY.get(s.verdict, s.verdict)
    note = (
        f"[^{label}]: {_mark(s)} Not verified ({VERDICT_LABELS.get(s.verdict, s.verdict)}): {why}"
    )
    if s.citation_written:
        note += f"; cited as {s.citation_written}"
    shown = s.alternative if s.alternative is not None else None
    if shown is not None:
        note += f". Lines that do support it: {_footnote_body(shown, shown.quote)}"
    return note.rstrip(".") + "."


def draft_markdown(text: str, report: DraftReport) -> str:
    """The draft written back with a Markdown footnote ``[^n]`` for every verified citation,
    written (the ``[file:line]`` is replaced) or proposed (added after the sentence); each
    footnote reads ``file, lines N-M: "exact quote"``. A flagged sentence keeps its citation as
    written and gains a visible mark after it with a footnote saying why (``⚠[^check-1]``).
    Citation and flag footnotes from an earlier run are renumbered; other footnotes are kept."""
    parsed = parse_draft(text)
    by_start = {s.start: s for s in parsed.sentences}
    verified = [
        (s, by_start.get(s.char_start))
        for s in report.sentences
        if s.verdict == "supported" and s.citation is not None
    ]
    rewritten = {ps.start for s, ps in verified if s.citation_written and ps and ps.marks}
    still_used = {
        mark.raw[2:-1]
        for ps in parsed.sentences
        if ps.start not in rewritten
        for mark in ps.marks
        if mark.raw.startswith("[^")
    }
    edits: list[tuple[int, int, int, str]] = []  # (start, end, order, replacement)
    for label, (a, b) in parsed.citation_footnotes.items():
        if label not in still_used:  # rewritten below under a new number
            edits.append((a, b + 1 if text[b : b + 1] == "\n" else b, 0, ""))
    old_flags = [(m.start(), m.end()) for m in FLAG_REF.finditer(text)]
    edits.extend((a, b, 0, "") for a, b in old_flags)  # flags of an earlier run: written anew below
    for m in FOOTNOTE_DEF.finditer(text):
        if m.group(1).startswith(FLAG_LABEL):
            b = m.end() + 1 if text[m.end() : m.end() + 1] == "\n" else m.end()
            edits.append((m.start(), b, 0, ""))
    taken = {m.group(1) for m in FOOTNOTE_DEF.finditer(text)}
    taken -= set(parsed.citation_footnotes) - still_used
    numbers: dict[tuple[str, int, int], str] = {}
    notes: list[str] = []
    next_n = 1
    for s, ps in verified:
        assert s.citation is not None
        key = (s.citation.file, s.citation.char_start, s.citation.char_end)
        if key not in numbers:
            while str(next_n) in taken:
                next_n += 1
            numbers[key] = str(next_n)
            next_n += 1
            quote = s.quote if s.quote is not None else s.citation.quote
            notes.append(f"[^{numbers[key]}]: {_footnote_body(s.citation, quote)}")
        ref = f"[^{numbers[key]}]"
        if ps is not None and ps.start in rewritten:
            for k, mark in enumerate(ps.marks):
                a = mark.start
                while a > 0 and text[a - 1] in " \t":
                    a -= 1
                edits.append((a, mark.end, 0, ref if k == 0 else ""))
        elif not s.citation_written:
            end = ps.end if ps is not None else s.char_end
            edits.append((end, end, 0, ref))
    flags: list[str] = []
    for s in report.sentences:
        if not (s.flagged or (s.tentative and s.verdict == "supported")):
            continue
        ps = by_start.get(s.char_start)
        end = ps.end if ps is not None else s.char_end
        if ps is not None:
            end = max([end, *(mk.end for mk in ps.marks)])
        end = next((a for a, b in old_flags if a <= end <= b), end)
        while end > 0 and text[end - 1] in " \t\n":
            end -= 1
        label = f"{FLAG_LABEL}{len(flags) + 1}"
        flags.append(_flag_note(s, label))
        edits.append((end, end, 1, f" {_mark(s)}[^{label}]"))  # after a ref there
    pieces: list[str] = []
    pos = 0
    for a, b, _order, new in sorted(edits):
        if a < pos:
            continue
        pieces.append(text[pos:a])
        pieces.append(new)
        pos = b
    pieces.append(text[pos:])
    body = "".join(pieces).rstrip() + "\n"
    if notes or flags:
        body += "\n" + "\n".join([*notes, *flags]) + "\n"
    return body
