"""Rendering answers and citations as text: terminal footnotes and Markdown with footnotes.

Nothing is cut unless a width is given (a terminal's): text written to a file or a pipe is whole.
Sources are named by their document title (:func:`rag.sources.source_title`) when the corpus
folder is known, with the file name and lines beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.citations import CitedSentence
from rag.safety import one_line
from rag.schema import Answer, Citation, SentenceCheck
from rag.sources import source_title

MARKS = {"supported": "✓", "unsupported": "⚠", "contradicted": "✗", "uncited": "?"}
_COLORS = {"supported": "32", "unsupported": "33", "contradicted": "31", "uncited": "33"}
TENTATIVE_MARK = "≈"
"""The mark of a supported sentence on a close call (:attr:`SentenceCheck.tentative`)."""
TENTATIVE_NOTE = "supported on a close call: read the quote before relying on it"
"""What a tentative mark means, in answers, drafts and the draft page alike."""


def capitalised(text: str) -> str:
    """``text`` with its first letter in upper case (a heading constant at the start of a line)."""
    return text[:1].upper() + text[1:]


def mark_of(s: SentenceCheck) -> str:
    """A sentence's mark: its verdict's, or ``≈`` when it is supported but tentative."""
    return TENTATIVE_MARK if s.verdict == "supported" and s.tentative else MARKS[s.verdict]


def verdict_words(s: SentenceCheck) -> str:
    """``supported``, ``supported, tentative``, ``unsupported`` ..."""
    return "supported, tentative" if s.verdict == "supported" and s.tentative else s.verdict


REMOVED_HEADING = "removed: not supported by the sources"
TRANSLATION_HEADING = "translation by the model, not checked (the checks are for the answer above)"
"""Heads :attr:`rag.schema.Answer.translation` wherever it is shown."""
FLAG_LABEL = "check-"
"""Footnote labels of the checker's notes on flagged sentences (``[^check-1]``)."""

TitleFn = Callable[[str], str | None]


def shorten(text: str, width: int | None = 160) -> str:
    """``text`` on one line, cut to ``width`` characters at a word boundary (``None``: whole)."""
    flat = " ".join(text.split())
    if width is None or len(flat) <= width:
        return flat
    cut = flat[: max(width - 1, 1)]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def titles_for(corpus_dir: Path | None) -> TitleFn:
    """A file name → document title lookup for ``corpus_dir`` (none without a folder)."""
    if corpus_dir is None:
        return lambda _file: None
    root = Path(corpus_dir)

    def title(file: str) -> str | None:
        t = source_title(root, file)
        return None if t == Path(file).name else t

    return title


def where_in_original(c: Citation) -> str:
    """``page 12`` (PDF) or ``§ Part › Section`` (HTML/Word), else empty."""
    if c.page is not None:
        return f"page {c.page}"
    return f"§ {c.heading}" if c.heading else ""


def citation_location(c: Citation) -> str:
    """``file:12-14`` plus the character span: ``file:1 (chars 247-456)``; for a converted
    document the page or heading too: ``report.pdf:40-41 (page 12, chars 5210-5301)``."""
    where = where_in_original(c)
    return f"{one_line(c.file)}:{c.lines} ({where + ', ' if where else ''}chars {c.char_start}-{c.char_end})"


def footnote(c: Citation, width: int | None = None, title: str | None = None) -> str:
    """``[n] Title — file:3 (chars …) "quote"``, the quote cut to fit ``width`` when given; a
    stale citation (its quote no longer in the file) says so."""
    head = f"[{c.n}] " + (f"{title} — " if title else "") + citation_location(c)
    room = None if width is None else max(24, width - len(head) - 3)
    stale = " (stale: no longer in the file; re-index)" if c.stale else ""
    if c.instruction:
        stale += " (addresses the assistant: quoted, not evidence)"
    return f'{head} "{shorten(c.quote, room)}"{stale}'


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _named(c: Citation, title: TitleFn) -> str:
    t = title(c.file)
    return f"{t} — {c.file}:{c.lines}" if t else f"{c.file}:{c.lines}"


def render_answer_terminal(
    answer: Answer,
    corpus_dir: Path | None = None,
    color: bool = False,
    width: int | None = None,
) -> str:
    """The checked answer: one line per sentence with its verdict, the sentences taken out, then
    footnotes naming each source by title. ``width`` (a terminal's columns) cuts long quotes to
    fit; without it nothing is cut."""
    title = titles_for(corpus_dir)
    lines: list[str] = []
    if answer.searched_for:
        lines.append(f"searched for: {answer.searched_for}")
    if answer.abstained:
        lines.append(answer.answer)
        off_target = [s for s in answer.rejected if s.verdict == "supported"]
        unsupported = [s for s in answer.rejected if s.verdict != "supported"]
        for header, group in (
            ("Written, but the cited passages do not support:", unsupported),
            ("In the passages, but not what was asked:", off_target),
        ):
            if group:
                lines.append("")
                lines.append(header)
                lines.extend(f"  {MARKS[s.verdict]} {s.text}  ({s.reason})" for s in group)
        if answer.closest:
            lines.append("")
            lines.append("Closest passages found:")
            lines.extend("  " + footnote(c, width, title(c.file)) for c in answer.closest)
    else:
        if answer.sentences:
            for s in answer.sentences:
                marks = "".join(f"[{n}]" for n in s.citations)
                tone = "33" if s.tentative else _COLORS[s.verdict]
                mark = _paint(mark_of(s), tone, color)
                lines.append(
                    f"{mark} {s.text} {marks}  ({verdict_words(s)}, {s.score:.2f})".rstrip()
                )
                if s.verdict != "supported" or "found by the checker" in s.reason or s.tentative:
                    lines.append(f"    └ {s.reason}")
                if s.contradiction is not None:
                    c = s.contradiction
                    lines.append(
                        f"    └ contradicted by {_named(c, title)}: "
                        f'"{shorten(c.quote, None if width is None else max(24, width - 40))}"'
                    )
        else:
            lines.append(answer.answer)
        if answer.faithfulness is not None:
            lines.append(f"faithfulness {answer.faithfulness:.0%} of claim sentences supported")
        if answer.translation:
            lines += ["", f"{TRANSLATION_HEADING}:", f"  {answer.translation}"]
        if answer.removed:
            lines.append("")
            lines.append("removed: not supported by the sources")
            for s in answer.removed:
                mark = _paint(MARKS[s.verdict], _COLORS[s.verdict], color)
                lines.append(f"  {mark} {s.text}  ({s.verdict}: {s.reason})")
                if s.contradiction is not None:
                    lines.append(
                        f"    └ {citation_location(s.contradiction)}: "
                        f'"{shorten(s.contradiction.quote, 140)}"'
                    )
        for conflict in answer.conflicts:
            lines.append("")
            lines.append("⚠ The sources disagree:")
            for side in conflict.sides:
                refs = "".join(f"[{n}]" for n in side.citations)
                room = None if width is None else max(40, width - 30)
                lines.append(f"  - {', '.join(side.files)}: {shorten(side.statement, room)} {refs}")
    if answer.removed:
        lines.append("")
        lines.append(f"{REMOVED_HEADING}:")
        for s in answer.removed:
            mark = _paint(MARKS[s.verdict], _COLORS[s.verdict], color)
            lines.append(
                f"  {mark} {s.text}  ({s.verdict}: {s.reason})"
                if s.reason
                else f"  {mark} {s.text}"
            )
    if answer.citations and not answer.abstained:
        lines.append("")
        lines.extend(footnote(c, width, title(c.file)) for c in answer.citations)
    for notice in answer.notices:
        lines.append(f"note: {notice}")
    t = answer.timings_ms
    lines.append(f"[{answer.backend}: {answer.model}; {t.get('total', 0) / 1000:.1f} s]")
    return "\n".join(lines)


# --- Markdown ---------------------------------------------------------------------------------

_END = ".!?。！？…"


def _md_sentence(text: str, refs: str, flag: str = "") -> str:
    """A sentence with its footnote refs after its closing punctuation (never inside a word)."""
    body = text.rstrip()
    return f"{flag}{body}{refs}"


def _why(s: SentenceCheck, label: str, title: TitleFn) -> str:
    words = {
        "unsupported": "not supported by the cited lines",
        "contradicted": "contradicted by the sources",
        "uncited": "cites no source",
    }
    if s.verdict == "supported":  # tentative
        words["supported"] = TENTATIVE_NOTE
    note = f"[^{label}]: {mark_of(s)} Checker: {words.get(s.verdict, s.verdict)}"
    if s.reason:
        note += f" ({' '.join(s.reason.split())})"
    if s.contradiction is not None:
        c = s.contradiction
        note += f'. Contradicted by {_named_md(c, title)}: "{" ".join(c.quote.split())}"'
    return note + "."


def _named_md(c: Citation, title: TitleFn) -> str:
    t = title(c.file)
    where_pdf = where_in_original(c)
    where = f"{one_line(c.file)}, line {c.lines}" + (f" ({where_pdf})" if where_pdf else "")
    return f"*{one_line(t)}* ({where})" if t else where


def answer_markdown(
    answer: Answer, corpus_dir: Path | None = None, *, label: str = "", heading: str = "**Q:**"
) -> str:
    """The answer as Markdown with footnotes ``[^n]`` quoting each source (named by title when
    ``corpus_dir`` is given). A sentence the checker flagged starts with its mark (⚠, ✗, ?) and
    carries a footnote saying why; footnote marks follow a sentence's closing punctuation, never
    split a word. Sentences taken out of the answer are listed apart with their reasons.
    ``label`` prefixes every footnote label (several answers in one document)."""
    title = titles_for(corpus_dir)
    out = [f"{heading} {answer.question}", ""]
    if answer.searched_for:
        out += [f"*Searched for:* {answer.searched_for}", ""]
    notes: list[str] = []

    def refs(numbers: Sequence[int]) -> str:
        return "".join(f"[^{label}{n}]" for n in numbers)

    if answer.abstained:
        out += [answer.answer, ""]
    else:
        body = answer.answer
        pieces: list[str] = []
        pos = 0
        flags = 0
        for s in answer.sentences:
            rendered = CitedSentence(s.text, list(s.citations)).render()
            at = body.find(rendered, pos)
            if at == -1:
                continue
            pieces.append(_markers(body[pos:at], label))
            flag = ""
            extra = ""
            if s.verdict != "supported" or s.tentative:
                flags += 1
                flag_label = f"{label}{FLAG_LABEL}{flags}"
                flag = f"**{mark_of(s)}** "
                extra = f"[^{flag_label}]"
                notes.append(_why(s, flag_label, title))
            pieces.append(_md_sentence(s.text, refs(s.citations) + extra, flag))
            pos = at + len(rendered)
        pieces.append(_markers(body[pos:], label))
        out += ["".join(pieces).strip(), ""]
        if answer.translation:
            out += [
                f"*{capitalised(TRANSLATION_HEADING)}:* {_markers(answer.translation, label)}",
                "",
            ]
    if answer.conflicts:
        for conflict in answer.conflicts:
            out.append(f"> **⚠ The sources disagree** on: {conflict.claim}")
            for side in conflict.sides:
                out.append(f"> - {', '.join(side.files)}: {side.statement}{refs(side.citations)}")
            out.append("")
    if answer.removed:
        out.append(f"**{capitalised(REMOVED_HEADING)}**")
        for s in answer.removed:
            why = f" ({' '.join(s.reason.split())})" if s.reason else ""
            out.append(f"- {MARKS[s.verdict]} {s.text}{why}")
        out.append("")
    if not answer.abstained:
        for c in answer.citations:
            out.append(f'[^{label}{c.n}]: {_named_md(c, title)}: "{" ".join(c.quote.split())}"')
    out.extend(notes)
    if answer.abstained and answer.closest:
        out.append("Closest passages:")
        out.extend(
            f'- {_named_md(c, title)}: "{" ".join(c.quote.split())}"' for c in answer.closest
        )
    return "\n".join(out).rstrip() + "\n"


def _markers(text: str, label: str) -> str:
    """``[n]`` markers of text between checked sentences as footnote refs after the sentence."""
    return re.sub(r"\s*\[(\d+)\]", lambda m: f"[^{label}{m.group(1)}]", text)


def conversation_markdown(
    answers: Sequence[Answer], corpus_dir: Path | None = None, title: str | None = None
) -> str:
    """A whole conversation as one Markdown document: every question, its checked answer and
    all its citations (footnote labels kept apart per turn: ``[^2-1]``)."""
    parts = [f"# {title or 'Conversation'}", ""]
    for i, answer in enumerate(answers, start=1):
        parts.append(
            answer_markdown(answer, corpus_dir, label=f"{i}-", heading=f"## {i}.").rstrip()
        )
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def slug(text: str, width: int = 48, fallback: str = "answer") -> str:
    """A file name stem from ``text``: lower-case words joined by ``-``, whole words only, at
    most ``width`` characters (a first word longer than that is the only one cut)."""
    words = re.findall(r"[^\W_]+", text.lower())
    out = ""
    for w in words:
        nxt = f"{out}-{w}" if out else w
        if len(nxt) > width:
            break
        out = nxt
    if not out and words:
        out = words[0][:width]
    return out or fallback
