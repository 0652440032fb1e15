"""What a citation points at, ready to be shown: the numbered lines of its source file around the
cited span, with the span marked, as plain data (:func:`source_view`) or as escaped HTML
(:func:`source_html`).

A citation is re-read from the file as it is now. When the file has changed since it was indexed,
the view says so: the quote found elsewhere in the file (``found == "moved"``) or not at all
(``found == "missing"``). Very long lines (a whole article on one line) are clipped to a window
around the cited characters so the highlight is in sight; ``context_lines=None`` shows the whole
document unclipped.

Every piece of document text that reaches HTML goes through :func:`html.escape`: a document that
holds ``<script>`` or ``<img onerror=...>`` is shown literally, never rendered.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from rag.chunking import line_of, line_starts
from rag.schema import Span

CONTEXT_LINES = 3
"""Lines shown above and below the cited ones."""
LONG_LINE = 480
"""A shown line longer than this many characters is clipped (around the highlight if it has one)."""
WINDOW = 220
"""Characters kept on each side of the highlight when a long line is clipped."""
ELLIPSIS = "…"

Found = Literal["exact", "moved", "missing"]


class SourceError(ValueError):
    """The cited file cannot be shown (gone, unreadable, outside the corpus): one-line message."""


class SourceLine(BaseModel):
    """One shown line of a source file (without its line break)."""

    number: int
    """1-based line number in the file."""
    text: str
    """The shown text: the whole line, or a window of it when clipped."""
    offset: int
    """Offset in the file of ``text[0]``."""
    length: int
    """Length of the whole line, clipped or not."""
    cited: bool
    """Whether the line lies in the cited line range."""
    highlight: tuple[int, int] | None = None
    """``[start, end)`` within ``text`` of the cited characters on this line."""
    clipped_start: bool = False
    clipped_end: bool = False

    def pieces(self) -> list[tuple[str, bool]]:
        """``(text, highlighted)`` runs of the shown text, in order, empty runs left out."""
        if self.highlight is None:
            return [(self.text, False)] if self.text else []
        a, b = self.highlight
        runs = [(self.text[:a], False), (self.text[a:b], True), (self.text[b:], False)]
        return [r for r in runs if r[0]]


class SourceView(BaseModel):
    """A cited span of a source file with numbered lines of context around it."""

    file: str
    """Path relative to the corpus folder (as in the citation)."""
    path: str
    """Absolute path of the file."""
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    """Where the cited text is in the file now (see ``found``)."""
    quote: str
    """The cited text."""
    found: Found
    """``exact``: the quote is at the cited offsets; ``moved``: the file changed and the quote is
    elsewhere in it (the view shows where); ``missing``: the file no longer holds the quote."""
    cited_lines: str
    """The line range the citation gave: ``3`` or ``3-5``."""
    total_lines: int
    lines: list[SourceLine]

    @property
    def lines_label(self) -> str:
        if self.line_start == self.line_end:
            return f"line {self.line_start}"
        return f"lines {self.line_start}-{self.line_end}"

    @property
    def location(self) -> str:
        """``file:3-5``."""
        span = (
            str(self.line_start)
            if self.line_start == self.line_end
            else f"{self.line_start}-{self.line_end}"
        )
        return f"{self.file}:{span}"

    @property
    def note(self) -> str | None:
        """A one-line warning when the file no longer matches the citation, else ``None``."""
        if self.found == "moved":
            return (
                f"{self.file} has changed since it was indexed: the quote is now at "
                f"{self.lines_label} (cited as line {self.cited_lines}); re-index to update"
            )
        if self.found == "missing":
            return (
                f"{self.file} has changed since it was indexed: the cited text is no longer "
                f"in it; re-index, and treat this citation as unverified"
            )
        return None

    @property
    def highlighted_text(self) -> str:
        """The highlighted characters of the shown lines, joined (what the reader sees marked)."""
        return "\n".join(
            "".join(t for t, on in ln.pieces() if on) for ln in self.lines if ln.highlight
        )


def _read(corpus_dir: Path, file: str) -> tuple[Path, str]:
    root = Path(corpus_dir).expanduser().resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root):
        raise SourceError(f"the citation points outside the corpus folder: {file}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{file} is no longer in {root}: re-index") from None
    except OSError as exc:
        raise SourceError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        return path, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{file} is no longer valid UTF-8 (byte {exc.start}): re-index") from None


def _locate(text: str, span: Span, quote: str | None) -> tuple[int, int, Found]:
    """Where the cited text is now: the cited offsets, or the quote's new place."""
    cs, ce = span.char_start, span.char_end
    if quote is None:
        return (cs, ce, "exact") if ce <= len(text) else (0, 0, "missing")
    if text[cs:ce] == quote:
        return cs, ce, "exact"
    if quote:
        # the nearest occurrence to the cited place
        hits: list[int] = []
        pos = text.find(quote)
        while pos != -1 and len(hits) < 50:
            hits.append(pos)
            pos = text.find(quote, pos + 1)
        if hits:
            best = min(hits, key=lambda p: abs(p - cs))
            return best, best + len(quote), "moved"
    return min(cs, len(text)), min(ce, len(text)), "missing"


def _snap_left(line: str, pos: int) -> int:
    """Move a clip start right to a word start (a few characters at most)."""
    for i in range(pos, min(pos + 24, len(line))):
        if i == 0 or line[i - 1].isspace():
            return i
    return pos


def _snap_right(line: str, pos: int) -> int:
    """Move a clip end left to a word end (a few characters at most)."""
    for i in range(pos, max(pos - 24, 0), -1):
        if i >= len(line) or line[i].isspace():
            return i
    return pos


def _clip(line: str, hl: tuple[int, int] | None, keep: str, limit: int) -> tuple[int, int]:
    """The ``[a, b)`` window of a long line to show: around the highlight, else its head or tail."""
    if len(line) <= limit:
        return 0, len(line)
    if hl is not None:
        a = max(0, hl[0] - WINDOW)
        b = min(len(line), hl[1] + WINDOW)
        a = _snap_left(line, a) if a > 0 else 0
        b = _snap_right(line, b) if b < len(line) else len(line)
        return min(a, hl[0]), max(b, hl[1])
    if keep == "tail":
        return _snap_left(line, len(line) - limit), len(line)
    return 0, _snap_right(line, limit)


def source_view(
    corpus_dir: Path,
    citation: Span,
    context_lines: int | None = CONTEXT_LINES,
    *,
    quote: str | None = None,
    max_line_chars: int | None = LONG_LINE,
) -> SourceView:
    """The cited lines of ``citation`` (a :class:`~rag.schema.Citation` or any span) with
    ``context_lines`` numbered lines above and below (``None``: the whole document, unclipped).

    ``quote`` defaults to ``citation.quote`` when the citation has one; it is looked up in the file
    as it is now, so a file edited since indexing is noticed (``found``). Raises
    :class:`SourceError` when the file cannot be read.
    """
    if quote is None:
        quote = getattr(citation, "quote", None)
    path, text = _read(corpus_dir, citation.file)
    cs, ce, found = _locate(text, citation, quote)
    starts = line_starts(text)
    n_lines = len(starts)
    if n_lines > 1 and text.endswith("\n"):
        n_lines -= 1  # the empty "line" after a final newline is not shown
    first = line_of(starts, cs)
    last = line_of(starts, max(ce - 1, cs))
    if context_lines is None:
        lo, hi, limit = 1, n_lines, None
    else:
        lo, hi, limit = (
            max(1, first - context_lines),
            min(n_lines, last + context_lines),
            max_line_chars,
        )
    lines: list[SourceLine] = []
    for number in range(lo, hi + 1):
        a = starts[number - 1]
        b = starts[number] - 1 if number < len(starts) else len(text)  # without the "\n"
        line = text[a:b]
        if line.endswith("\r"):
            line = line[:-1]
        hl: tuple[int, int] | None = None
        if ce > cs and cs < a + len(line) and ce > a:
            hl = (max(cs, a) - a, min(ce, a + len(line)) - a)
        wa, wb = (
            (0, len(line))
            if limit is None
            else _clip(line, hl, "tail" if number < first else "head", limit)
        )
        shown_hl = (hl[0] - wa, hl[1] - wa) if hl is not None else None
        lines.append(
            SourceLine(
                number=number,
                text=line[wa:wb],
                offset=a + wa,
                length=len(line),
                cited=first <= number <= last,
                highlight=shown_hl,
                clipped_start=wa > 0,
                clipped_end=wb < len(line),
            )
        )
    return SourceView(
        file=citation.file,
        path=str(path),
        line_start=first,
        line_end=last,
        char_start=cs,
        char_end=ce,
        quote=quote if quote is not None else text[cs:ce],
        found=found,
        cited_lines=citation.lines,
        total_lines=n_lines,
        lines=lines,
    )


# --- HTML -----------------------------------------------------------------------------------

SOURCE_CSS = """
.rag-src{border:1px solid #d9d4c7;border-radius:8px;background:#fffdf7;overflow:hidden;
  font-family:"Source Serif","Source Serif 4","Source Serif Pro",Georgia,"Times New Roman",serif;}
.rag-src-head{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;
  padding:.45rem .8rem;background:#f4efe2;border-bottom:1px solid #e4ddca;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.85rem;}
.rag-src-file{font-weight:600;color:#2b2a27;word-break:break-all;}
.rag-src-loc{color:#6b6657;}
.rag-src-note{padding:.4rem .8rem;background:#fff1d6;color:#7a4b00;font-size:.85rem;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;border-bottom:1px solid #f0d9a8;}
.rag-src-body{max-height:26rem;overflow:auto;padding:.35rem 0;}
.rag-ln{display:flex;gap:.75rem;padding:.1rem .8rem .1rem 0;line-height:1.55;font-size:.95rem;
  color:#55524a;}
.rag-ln.cited{background:#fff6cc;color:#1f1e1b;box-shadow:inset 3px 0 0 #e0a800;}
.rag-no{flex:0 0 3.2rem;text-align:right;color:#a39e8f;user-select:none;
  font-family:"Source Code Pro",ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem;padding-top:.15rem;}
.rag-ln.cited .rag-no{color:#8a6d00;font-weight:600;}
.rag-tx{flex:1;white-space:pre-wrap;overflow-wrap:anywhere;min-width:0;}
.rag-tx mark{background:#ffd84d;color:#1a1200;padding:0 .08em;border-radius:2px;
  box-shadow:0 0 0 1px #e6b800;}
.rag-clip{color:#a39e8f;}
"""
"""Styles of :func:`source_html` (classes prefixed ``rag-``)."""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def source_html(view: SourceView, *, title: str | None = None) -> str:
    """The view as an HTML fragment (styled by :data:`SOURCE_CSS`); all document text escaped.

    Cited lines carry the class ``cited``; the cited characters are wrapped in ``<mark>``.
    ``title`` replaces the file name in the header (it is escaped too)."""
    chars = f"chars {view.char_start}-{view.char_end}"
    head = (
        f'<div class="rag-src-head"><span class="rag-src-file">{_esc(title or view.file)}</span>'
        f'<span class="rag-src-loc">{_esc(view.lines_label)} · {chars} · '
        f"{view.total_lines} line{'s' if view.total_lines != 1 else ''} in file</span></div>"
    )
    note = f'<div class="rag-src-note">⚠ {_esc(view.note)}</div>' if view.note else ""
    rows = []
    for ln in view.lines:
        parts = []
        if ln.clipped_start:
            parts.append(f'<span class="rag-clip">{ELLIPSIS}</span>')
        for text, on in ln.pieces():
            parts.append(f"<mark>{_esc(text)}</mark>" if on else _esc(text))
        if ln.clipped_end:
            parts.append(f'<span class="rag-clip">{ELLIPSIS}</span>')
        body = "".join(parts) or "&#8203;"
        cls = "rag-ln cited" if ln.cited else "rag-ln"
        rows.append(
            f'<div class="{cls}" data-line="{ln.number}"><span class="rag-no">{ln.number}</span>'
            f'<span class="rag-tx">{body}</span></div>'
        )
    return f'<div class="rag-src">{head}{note}<div class="rag-src-body">{"".join(rows)}</div></div>'
