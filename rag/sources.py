"""What a citation points at, ready to be shown: the numbered lines of its source file around the
cited span, with the span marked, as plain data (:func:`source_view`) or as escaped HTML
(:func:`source_html`).

A citation is re-read from the file as it is now. When the file has changed since it was indexed,
the view says so: the quote found elsewhere in the file (``found == "moved"``) or not at all
(``found == "missing"``). Very long lines (a whole article on one line) are clipped to a window
around the cited characters so the highlight is in sight; ``context_lines=None`` shows the whole
document unclipped.

A PDF, web page or Word document is shown as the text snapshot the index kept for it (the text
its citations point into, read through :func:`rag.corpus.read_source`); for a PDF,
:func:`page_png` also draws the cited page with the cited characters highlighted.

Every piece of document text that reaches HTML goes through :func:`html.escape`: a document that
holds ``<script>`` or ``<img onerror=...>`` is shown literally, never rendered.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel

from rag.chunking import (
    heading_finder,
    line_of,
    line_starts,
    sentence_spans,
    speaker_turns,
    split_sentences,
    turn_start,
)
from rag.corpus import (
    CorpusError,
    Source,
    list_files,
    read_original,
    read_source,
    source_or_none,
    text_or_none,
)
from rag.errors import SourceError
from rag.formats import Layout, Unreadable, pdf_page_png
from rag.safety import instruction_spans, overlaps_any
from rag.schema import Citation, Sentence, Span

CONTEXT_LINES = 3
"""Lines shown above and below the cited ones."""
LONG_LINE = 480
"""A shown line longer than this many characters is clipped (around the highlight if it has one)."""
WINDOW = 220
"""Characters kept on each side of the highlight when a long line is clipped."""
ELLIPSIS = "…"

Found = Literal["exact", "moved", "missing"]


WHOLE_SPAN_CHARS = 700
"""Cited lines up to this long are also tested as a whole (besides sentence by sentence)."""
MAX_WINDOWS = 80
"""Most candidate sentence windows tested within one written citation."""


TITLE_CHARS = 90
"""A document title longer than this is cut at a word boundary (with an ellipsis)."""
TITLE_SCAN_LINES = 12
"""A Markdown heading among this many first non-blank lines is the title."""
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MARKUP = re.compile(r"\*\*|__|~~|`|^>\s*|^[-*+]\s+")
_HTML_TAG = re.compile(
    r"<!--.*?(?:-->|$)|</?(?:a|abbr|b|big|blockquote|br|center|code|del|details|div|em|"
    r"figcaption|figure|font|h[1-6]|hr|i|img|ins|kbd|mark|p|picture|pre|s|small|source|span|"
    r"strike|strong|sub|summary|sup|svg|table|tbody|td|th|thead|tr|u|video)\b[^<>]*>",
    re.I,
)
"""An HTML tag of the kind a README opens with (``<p align="center"><img …></p>``): tags of
real HTML elements only, so ``<one line to give the program's name>`` in a licence stays."""
_MD_IMAGE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")
_MD_LINK = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*\S")


def _title_text(line: str) -> str:
    """A title candidate without its markup (HTML tags, images, link targets, emphasis): empty
    when the line is only markup (a logo, a row of badges, an empty tag)."""
    if _LINK_DEFINITION.match(line):
        return ""
    text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(" ", _HTML_TAG.sub(" ", line)))
    text = " ".join(_MARKUP.sub("", html.unescape(text)).split())
    return text if re.search(r"\w", text) else ""


def document_title(text: str, file: str) -> str:
    """What a person would call a document: its first Markdown heading (among the first lines),
    else its first non-blank line, tidied (HTML tags and Markdown markup taken out; a line that
    is only markup, like a logo, skipped) and cut at a word boundary; the file name when the text
    has neither."""
    body = text
    if body.startswith("---"):  # YAML front matter is not the title
        end = body.find("\n---", 3)
        if end != -1:
            body = body[end + 4 :]
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()][:TITLE_SCAN_LINES]
    chosen = ""
    for ln in lines:
        m = _HEADING.match(ln)
        if m:
            chosen = _title_text(m.group(1))
            if chosen:
                break
    if not chosen:
        chosen = next((t for ln in lines if (t := _title_text(ln.lstrip("#").strip()))), "")
    chosen = chosen.rstrip(" ,;")  # a first line that runs on: "Zstandard, or zstd, is …,"
    if not chosen:
        return PurePosixPath(file).name
    if len(chosen) <= TITLE_CHARS:
        return chosen
    cut = chosen[: TITLE_CHARS - 1]
    space = cut.rfind(" ")
    if space >= TITLE_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


_TITLES: dict[tuple[str, str], tuple[int, int, str]] = {}


def source_title(corpus_dir: Path, file: str) -> str:
    """The title of the corpus file ``file`` (:func:`document_title`), computed once per file
    version (its size and modification time) and process; the file name when it cannot be read."""
    root = Path(corpus_dir).expanduser().resolve()
    try:
        st = (root / file).stat()
    except OSError:
        return PurePosixPath(file).name
    key = (str(root), file)
    seen = _TITLES.get(key)
    if seen is not None and seen[:2] == (st.st_mtime_ns, st.st_size):
        return seen[2]
    text = text_or_none(root, file)
    title = document_title(text or "", file)
    _TITLES[key] = (st.st_mtime_ns, st.st_size, title)
    return title


class CorpusFiles:
    """The corpus as the citations see it: file names, exact texts, lines and sentences.
    ``snapshots`` is the live index generation's snapshot folder (``index.status.snapshot_dir``):
    converted documents (PDF, HTML, Word) are read from it."""

    def __init__(
        self, root: Path, snapshots: Path | None = None, follow_symlinks: bool = False
    ) -> None:
        self.root = Path(root)
        self.snapshots = snapshots
        self.follow_symlinks = follow_symlinks
        self._listed: tuple[list[str], str | None] | None = None
        self._sources: dict[str, Source | None] = {}
        self._starts: dict[str, list[int]] = {}
        self._sentences: dict[str, list[Sentence]] = {}
        self._headings: dict[str, Callable[[int], str | None]] = {}
        self._instructions: dict[str, list[tuple[int, int]]] = {}
        self._turns: dict[str, list[tuple[int, int]]] = {}

    def _listing(self) -> tuple[list[str], str | None]:
        if self._listed is None:
            try:
                self._listed = (
                    [f.path for f in list_files(self.root, self.follow_symlinks).files],
                    None,
                )
            except CorpusError as exc:
                self._listed = ([], str(exc))
        return self._listed

    @property
    def files(self) -> list[str]:
        """The corpus files (listed on first use)."""
        return self._listing()[0]

    @property
    def error(self) -> str | None:
        """Why the corpus folder cannot be listed, if it cannot."""
        return self._listing()[1]

    def resolve(self, name: str) -> tuple[str | None, str]:
        """``(path, "")`` for a written file name, or ``(None, reason)``."""
        if self.error:
            return None, self.error
        wanted = name.strip().replace("\\", "/").removeprefix("./")
        if wanted in self.files:
            return wanted, ""
        names = {PurePosixPath(f).name: f for f in self.files}
        if wanted in names:
            return names[wanted], ""
        found = [
            f
            for f in self.files
            if f.startswith(wanted) or PurePosixPath(f).name.startswith(wanted)
        ]
        if len(found) == 1:
            return found[0], ""
        if found:
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            return None, f"ambiguous file name {name!r}: matches {shown}"
        return None, f"no such file: {name}"

    def source(self, path: str) -> Source | None:
        """The file as citations see it (read once), or ``None`` when it cannot be read."""
        if path not in self._sources:
            self._sources[path] = source_or_none(
                self.root, path, self.snapshots, self.follow_symlinks
            )
        return self._sources[path]

    def text(self, path: str) -> str | None:
        """The file's exact text as it is now (a converted document's snapshot), or ``None``."""
        source = self.source(path)
        return source.text if source is not None else None

    def layout(self, path: str) -> Layout | None:
        """Pages and headings of a converted document (``None`` for plain text)."""
        source = self.source(path)
        return source.layout if source is not None else None

    def title(self, path: str) -> str:
        """The document's title (:func:`source_title`)."""
        return source_title(self.root, path)

    def context(self, citation: Span) -> str:
        """What a reader of a citation knows besides its words: the document's name (its title
        and file name: "under the GPL", "the article says") and the sentences before it (names
        behind its pronouns). The checker's ``context_of``."""
        text = self.text(citation.file)
        if not text:
            return ""
        name = f"{self.title(citation.file)}\n{PurePosixPath(citation.file).name}"
        # in a conversation, what was said before the cited turn is another speaker's: a name
        # there (another speaker's label, someone addressed) says nothing of who said this
        if citation.file not in self._turns:
            self._turns[citation.file] = speaker_turns(text)
        since = turn_start(self._turns[citation.file], citation.char_start) or 0
        return f"{name}\n{context_before(text, citation.char_start, since=since)}"

    def quote_is_exact(self, citation: Span, quote: str) -> bool:
        """Whether ``quote`` is exactly the file's text at the citation's offsets and lines."""
        text = self.text(citation.file)
        if text is None or text[citation.char_start : citation.char_end] != quote:
            return False
        starts = self.starts(citation.file)
        return (
            line_of(starts, citation.char_start) == citation.line_start
            and line_of(starts, max(citation.char_end - 1, citation.char_start))
            == citation.line_end
        )

    def addresses_assistant(self, path: str, a: int, b: int) -> bool:
        """Whether characters ``[a, b)`` of ``path`` lie in a passage that addresses the
        assistant (:func:`rag.safety.instruction_spans`)."""
        if path not in self._instructions:
            self._instructions[path] = instruction_spans(self.text(path) or "")
        return overlaps_any(self._instructions[path], a, b)

    def starts(self, path: str) -> list[int]:
        if path not in self._starts:
            self._starts[path] = line_starts(self.text(path) or "")
        return self._starts[path]

    def n_lines(self, path: str) -> int:
        text = self.text(path) or ""
        n = len(self.starts(path))
        return n - 1 if text.endswith("\n") else n

    def sentences(self, path: str) -> list[Sentence]:
        if path not in self._sentences:
            self._sentences[path] = split_sentences(path, self.text(path) or "", self.layout(path))
        return self._sentences[path]

    def citation(self, path: str, a: int, b: int, n: int = 1) -> Citation:
        """The exact text at characters ``[a, b)`` of ``path`` as a citation."""
        text = self.text(path) or ""
        starts = self.starts(path)
        layout = self.layout(path)
        if path not in self._headings:
            self._headings[path] = heading_finder(text, layout)
        return Citation(
            n=n,
            file=path,
            line_start=line_of(starts, a),
            line_end=line_of(starts, max(a, b - 1)),
            char_start=a,
            char_end=b,
            quote=text[a:b],
            page=layout.page_of(a) if layout else None,
            heading=self._headings[path](a),
        )

    def lines(
        self, name: str, line_start: int, line_end: int, n: int = 1, *, page: int | None = None
    ) -> tuple[Citation | None, str]:
        """Lines ``line_start..line_end`` of the file written ``name`` as one citation (trimmed
        of surrounding blanks), or ``(None, reason)``. With ``page`` (PDFs): the lines are
        counted within that page, and ``line_start == 0`` cites the whole page."""
        path, why = self.resolve(name)
        if path is None:
            return None, why
        text = self.text(path)
        if text is None:
            return None, f"cannot read {path} as a document"
        offset = 0
        where = path
        if page is not None:
            layout = self.layout(path)
            if layout is None or not layout.pages:
                return None, f"{path} has no pages (only PDFs do): cite its lines"
            if not 1 <= page <= len(layout.pages):
                return None, f"page {page} does not exist ({path} has {len(layout.pages)} pages)"
            offset, end = layout.page_span(page, len(text))
            text = text[offset:end]
            where = f"page {page} of {path}"
            if line_start == 0 and line_end == 0:
                line_start, line_end = 1, max(1, text.count("\n") + 1)
        starts = line_starts(text) if page is not None else self.starts(path)
        total = len(starts) - 1 if text.endswith("\n") else len(starts)
        if page is None:
            total = self.n_lines(path)
        a, b = line_start, line_end
        if a < 1 or b < 1:
            return None, "line 0 does not exist: lines are numbered from 1"
        if b < a:
            return None, f"line range {a}-{b} runs backwards"
        if a > total or b > total:
            past = a if a > total else b
            return None, f"line {past} is past the end ({where} has {total} lines)"
        lo = starts[a - 1]
        hi = starts[b] - 1 if b < len(starts) else len(text)
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if lo >= hi:
            return None, f"the cited lines of {where} are blank"
        return self.citation(path, offset + lo, offset + hi, n), ""

    def windows(self, span: Citation) -> list[Citation]:
        """The sentences (and pairs of neighbouring sentences) inside a cited span, clipped to it;
        the span itself when it is short."""
        text = self.text(span.file) or ""
        inside: list[tuple[int, int]] = []
        for s in self.sentences(span.file):
            if s.char_end <= span.char_start:
                continue
            if s.char_start >= span.char_end:
                break
            inside.append((max(s.char_start, span.char_start), min(s.char_end, span.char_end)))
        out: list[Citation] = []
        if len(span.quote) <= WHOLE_SPAN_CHARS or not inside:
            out.append(span)
        if len(inside) > 1:
            for i, (a, b) in enumerate(inside):
                if text[a:b].strip():
                    out.append(self.citation(span.file, a, b, span.n))
                if i + 1 < len(inside):
                    out.append(self.citation(span.file, a, inside[i + 1][1], span.n))
                if len(out) >= MAX_WINDOWS:
                    break
        return out


def context_before(
    text: str, char_start: int, chars: int = 1200, sentences: int = 5, since: int = 0
) -> str:
    """Up to ``sentences`` whole sentences of ``text`` just before ``char_start`` (within
    ``chars`` characters, and from ``since`` on): where the names behind "he", "the team", "this
    lineup" usually are."""
    lo = max(since, char_start - chars)
    spans = [(a + lo, b + lo) for a, b in sentence_spans(text[lo:char_start])]
    kept = [text[a:b] for a, b in spans if a > lo or lo == since][-sentences:]
    return " ".join(kept)


def quote_is_exact(
    corpus_dir: Path, citation: Span, quote: str, snapshots: Path | None = None
) -> bool:
    """Whether ``quote`` is exactly the current file text (a converted document's snapshot) at
    the citation's offsets and lines."""
    return CorpusFiles(corpus_dir, snapshots).quote_is_exact(citation, quote)


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
    kind: str = "text"
    """``text``, or the format the shown snapshot was converted from: ``pdf``, ``html``, ``docx``."""
    page: int | None = None
    """PDF: the page the cited text begins on."""
    pages: int | None = None
    """PDF: number of pages."""
    page_spans: list[tuple[int, int]] = []
    """PDF: the cited characters as offsets into that page's text (what :func:`page_png` marks)."""
    heading: str | None = None
    """HTML/Word: the heading path of the cited text."""
    instruction: bool = False
    """The cited text lies in a passage that addresses the assistant (an instruction, not a
    statement of fact): marked in the view, never support on its own."""

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
        if self.instruction:
            return (
                "this passage addresses the assistant (it tells a model what to say or cite): "
                "it is quoted material, not evidence"
            )
        return None

    @property
    def highlighted_text(self) -> str:
        """The highlighted characters of the shown lines, joined (what the reader sees marked)."""
        return "\n".join(
            "".join(t for t, on in ln.pieces() if on) for ln in self.lines if ln.highlight
        )


def _read(
    corpus_dir: Path, file: str, snapshots: Path | None, follow_symlinks: bool = False
) -> tuple[Path, Source]:
    root = Path(corpus_dir).expanduser().resolve()
    return root / file, read_source(root, file, snapshots, follow_symlinks)


def locate(text: str, span: Span, quote: str | None) -> tuple[int, int, Found]:
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
    snapshots: Path | None = None,
    follow_symlinks: bool = False,
) -> SourceView:
    """The cited lines of ``citation`` (a :class:`~rag.schema.Citation` or any span) with
    ``context_lines`` numbered lines above and below (``None``: the whole document, unclipped).

    ``quote`` defaults to ``citation.quote`` when the citation has one; it is looked up in the file
    as it is now, so a file edited since indexing is noticed (``found``). A converted document is
    shown as its snapshot (from ``snapshots``, the live generation's folder). Raises
    :class:`SourceError` when the file cannot be read.
    """
    if quote is None:
        quote = getattr(citation, "quote", None)
    path, source = _read(corpus_dir, citation.file, snapshots, follow_symlinks)
    text = source.text
    cs, ce, found = locate(text, citation, quote)
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
        **_located(source.layout, len(text), cs, ce),
        instruction=found != "missing"
        and overlaps_any(instruction_spans(text), cs, max(ce, cs + 1)),
    )


def _located(layout: Layout | None, length: int, cs: int, ce: int) -> dict[str, object]:
    """Page or heading of the shown span, for a converted document."""
    if layout is None:
        return {}
    out: dict[str, object] = {"kind": layout.kind, "heading": layout.heading_of(cs)}
    page = layout.page_of(cs)
    if page is not None:
        pa, pb = layout.page_span(page, length)
        out.update(page=page, pages=len(layout.pages))
        if ce > cs and cs < pb:
            out["page_spans"] = [(cs - pa, min(ce, pb) - pa)]
    return out


def page_png(
    corpus_dir: Path, view: SourceView, *, width: int = 900, around: bool = False
) -> bytes | None:
    """The PDF page of ``view`` as PNG with the cited characters highlighted (with ``around``:
    the part of the page around them), or ``None`` when the view is not of a PDF. Raises
    :class:`SourceError` when the page cannot be drawn."""
    if view.kind != "pdf" or view.page is None:
        return None
    data = read_original(Path(corpus_dir).expanduser().resolve(), view.file)
    try:
        return pdf_page_png(data, view.page, list(view.page_spans), width=width, around=around)
    except Unreadable as exc:
        raise SourceError(f"cannot draw page {view.page} of {view.file}: {exc}") from None


# --- HTML -----------------------------------------------------------------------------------

SOURCE_CSS = """
.rag-src{border:1px solid #d9d4c7;border-radius:8px;background:#fffdf7;overflow:hidden;
  font-family:"Source Serif","Source Serif 4","Source Serif Pro",Georgia,"Times New Roman",serif;}
.rag-src-head{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;
  padding:.45rem .8rem;background:#f4efe2;border-bottom:1px solid #e4ddca;
  font-family:"Source Sans","Source Sans Pro",ui-sans-serif,system-ui,sans-serif;font-size:.85rem;}
.rag-src-title{font-weight:600;color:#2b2a27;}
.rag-src-file{color:#6b6657;word-break:break-all;font-family:"Source Code Pro",ui-monospace,monospace;
  font-size:.78rem;}
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
    ``title`` (the document's title) heads the panel, the file name beside it (escaped too)."""
    chars = f"chars {view.char_start}-{view.char_end}"
    if view.page is not None:
        chars = f"page {view.page} of {view.pages} · {chars}"
    if view.heading:
        chars = f"{chars} · {_esc(view.heading)}"
    named = f'<span class="rag-src-title">{_esc(title)}</span>' if title else ""
    head = (
        f'<div class="rag-src-head">{named}<span class="rag-src-file">{_esc(view.file)}</span>'
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
