"""Rendering answers and citations as text: terminal footnotes and Markdown with footnotes."""

from __future__ import annotations

from pathlib import Path

from rag.safety import one_line
from rag.schema import Answer, Citation

MARKS = {"supported": "✓", "unsupported": "⚠", "contradicted": "✗", "uncited": "?"}
_COLORS = {"supported": "32", "unsupported": "33", "contradicted": "31", "uncited": "33"}


def shorten(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def citation_location(c: Citation) -> str:
    """``file:12-14`` plus the character span: ``file:1 (chars 247-456)``."""
    return f"{one_line(c.file)}:{c.lines} (chars {c.char_start}-{c.char_end})"


def footnote(c: Citation, width: int = 160) -> str:
    stale = " (stale: no longer in the file; re-index)" if c.stale else ""
    if c.instruction:
        stale += " (addresses the assistant: quoted, not evidence)"
    return f'[{c.n}] {citation_location(c)} "{shorten(c.quote, width)}"{stale}'


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def render_answer_terminal(
    answer: Answer, corpus_dir: Path | None = None, color: bool = False
) -> str:
    """The checked answer: one line per sentence with its verdict, then footnotes."""
    lines: list[str] = []
    if answer.abstained:
        lines.append(answer.answer)
        if answer.rejected:
            lines.append("")
            lines.append("The model wrote, but the cited passages do not support:")
            lines.extend(
                f"  {MARKS['unsupported']} {s.text}  ({s.reason})" for s in answer.rejected
            )
        if answer.closest:
            lines.append("")
            lines.append("Closest passages found:")
            lines.extend("  " + footnote(c) for c in answer.closest)
    else:
        if answer.sentences:
            for s in answer.sentences:
                marks = "".join(f"[{n}]" for n in s.citations)
                mark = _paint(MARKS[s.verdict], _COLORS[s.verdict], color)
                lines.append(f"{mark} {s.text} {marks}  ({s.verdict}, {s.score:.2f})")
                if s.verdict != "supported" or "found by the checker" in s.reason:
                    lines.append(f"    └ {s.reason}")
        else:
            lines.append(answer.answer)
        if answer.faithfulness is not None:
            lines.append(f"faithfulness {answer.faithfulness:.0%} of claim sentences supported")
        for conflict in answer.conflicts:
            lines.append("")
            lines.append("⚠ The sources disagree:")
            for side in conflict.sides:
                refs = "".join(f"[{n}]" for n in side.citations)
                lines.append(f"  - {', '.join(side.files)}: {shorten(side.statement, 120)} {refs}")
        if answer.citations:
            lines.append("")
            lines.extend(footnote(c) for c in answer.citations)
    for notice in answer.notices:
        lines.append(f"note: {notice}")
    t = answer.timings_ms
    lines.append(f"[{answer.backend}: {answer.model}; {t.get('total', 0) / 1000:.1f} s]")
    return "\n".join(lines)


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown with footnotes ``[^n]`` quoting each source."""
    import re

    body = re.sub(r"\[(\d+)\]", r"[^\1]", answer.answer)
    out = [f"**Q:** {answer.question}", "", body, ""]
    for c in answer.citations:
        out.append(f'[^{c.n}]: {one_line(c.file)}, line {c.lines}: "{" ".join(c.quote.split())}"')
    if answer.abstained and answer.closest:
        out.append("Closest passages:")
        out.extend(
            f'- {one_line(c.file)}, line {c.lines}: "{shorten(c.quote, 300)}"'
            for c in answer.closest
        )
    return "\n".join(out).rstrip() + "\n"
