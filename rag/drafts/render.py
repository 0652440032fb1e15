"""A checked draft as a terminal table and as Markdown with footnotes quoting the sources."""

from __future__ import annotations

from rag.drafts.parse import FOOTNOTE_DEF, parse_draft
from rag.drafts.schema import VERDICT_LABELS, DraftReport, DraftSentence
from rag.render import shorten
from rag.safety import one_line
from rag.schema import Citation

DRAFT_MARKS = {
    "supported": "✓",
    "proposed": "+",
    "unsupported": "⚠",
    "contradicted": "≠",
    "bad_citation": "✗",
    "not_found": "∅",
    "uncited": "?",
}
_MARK_COLORS = {"✓": "32", "+": "36", "⚠": "33", "≠": "31", "✗": "31", "∅": "33", "?": "33"}

# --- output -------------------------------------------------------------------------------------


def _mark(s: DraftSentence) -> str:
    if s.verdict == "supported" and s.proposed:
        return DRAFT_MARKS["proposed"]
    return DRAFT_MARKS[s.verdict]


def render_draft_table(report: DraftReport, width: int = 110, color: bool = False) -> str:
    """The report as a terminal table: line, mark, sentence, source, quote (the reason under a
    flagged row), then notices and the summary line."""
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
        if s.flagged or s.proposed:
            label = "proposed" if s.verdict == "supported" else VERDICT_LABELS[s.verdict]
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


def draft_markdown(text: str, report: DraftReport) -> str:
    """The draft written back with a Markdown footnote ``[^n]`` for every verified citation,
    written (the ``[file:line]`` is replaced) or proposed (added after the sentence); each
    footnote reads ``file, lines N-M: "exact quote"``. Citations that failed stay as written.
    Citation footnotes from an earlier run are renumbered; other footnotes are kept."""
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
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for label, (a, b) in parsed.citation_footnotes.items():
        if label not in still_used:  # rewritten below under a new number
            edits.append((a, b + 1 if text[b : b + 1] == "\n" else b, ""))
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
                edits.append((a, mark.end, ref if k == 0 else ""))
        elif not s.citation_written:
            end = ps.end if ps is not None else s.char_end
            edits.append((end, end, ref))
    pieces: list[str] = []
    pos = 0
    for a, b, new in sorted(edits):
        if a < pos:
            continue
        pieces.append(text[pos:a])
        pieces.append(new)
        pos = b
    pieces.append(text[pos:])
    body = "".join(pieces).rstrip() + "\n"
    if notes:
        body += "\n" + "\n".join(notes) + "\n"
    return body
