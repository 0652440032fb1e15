"""What a file is (sniffed from its bytes, never from its name alone) and, for documents that are
not plain text, their conversion to a text snapshot that citations can point into exactly.

* **text**: any UTF-8 file without NUL bytes, whatever its name (``.txt``, ``.rst``, ``.csv``,
  ``LICENSE`` ...): used as it is on disk.
* **pdf**: the text layer, page by page (pypdfium2); a PDF with no text layer at all (a scan) is
  refused with that reason, as are encrypted and corrupt ones.
* **html**: the main text (``<main>``/``<article>`` when there is one), without scripts, styles,
  navigation, headers, footers and forms; one paragraph per line, headings kept as a path.
* **docx**: paragraphs and tables in order (python-docx), headings kept as a path.

A converted document is a :class:`Converted`: the snapshot ``text`` and its :class:`Layout`
(where each PDF page and each heading's section begins in the snapshot). The index keeps both
(:func:`save_snapshot`, keyed by the original file's sha256) and citations are read back from
them (:func:`load_snapshot`), so ``quote == snapshot[char_start:char_end]`` holds exactly even if
a converter library changes later. :func:`pdf_page_png` draws a PDF page with the characters of a
snapshot span highlighted.
"""

from __future__ import annotations

import bisect
import functools
import io
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, Field

Kind = Literal["text", "pdf", "html", "docx"]
CONVERTED_KINDS: frozenset[str] = frozenset({"pdf", "html", "docx"})

MAX_DOCX_XML_BYTES = 200_000_000
"""A .docx whose document part unpacks to more than this is refused (a zip bomb, not a text)."""
HEADING_SEPARATOR = " › "
PAGE_BREAK = "\n\n"
"""What separates two PDF pages in the snapshot (a blank line: no sentence runs across it)."""

_BINARY_MAGIC: dict[bytes, str] = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "a program (ELF)",
    b"\xd0\xcf\x11\xe0": "an old Office document (.doc/.xls): save it as .docx",
    b"{\\rtf": "an RTF document: save it as .docx or .txt",
    b"SQLite format 3": "an SQLite database",
}
_HTML_START = re.compile(
    r"\A(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_HTML_TAGS = re.compile(r"<(?:html|head|body|p|div|article|main|h[1-6]|title|meta)\b", re.I)
_HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
_PDFIUM_LOCK = threading.RLock()
"""pdfium is not thread-safe: the chat draws pages while a build may convert PDFs."""
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _one_at_a_time(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _PDFIUM_LOCK:
            return fn(*args, **kwargs)

    return wrapper


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


class Unreadable(Exception):
    """A file that cannot be used as a document; ``str(exc)`` is the one-line reason."""


class Layout(BaseModel):
    """Where things are in a snapshot: PDF pages and the sections under each heading."""

    kind: Kind
    pages: list[int] = Field(default_factory=list)
    """Offset in the snapshot where each page begins (PDF): page ``i+1`` starts at ``pages[i]``."""
    sections: list[tuple[int, str]] = Field(default_factory=list)
    """``(offset, heading path)``: from ``offset`` on, the text sits under that heading."""
    notes: list[str] = Field(default_factory=list)
    """What the conversion left out, for ``rag index`` and ``rag status``."""

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset`` (PDFs), else ``None``."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))

    def heading_of(self, offset: int) -> str | None:
        """The heading path the character ``offset`` sits under, if any."""
        if not self.sections:
            return None
        i = bisect.bisect_right([s[0] for s in self.sections], offset) - 1
        return self.sections[i][1] if i >= 0 and self.sections[i][1] else None

    def page_span(self, page: int, text_length: int) -> tuple[int, int]:
        """``[start, end)`` of page ``page`` in the snapshot (without the break after it)."""
        a = self.pages[page - 1]
        b = self.pages[page] - len(PAGE_BREAK) if page < len(self.pages) else text_length
        return a, max(a, b)


@dataclass(frozen=True)
class Converted:
    """A document as text: the snapshot and its layout."""

    text: str
    layout: Layout


# --- sniffing -------------------------------------------------------------------------------


def sniff(data: bytes, name: str = "") -> Kind:
    """What ``data`` is, from its bytes (``name`` only tells HTML fragments from text). Raises
    :class:`Unreadable` for what is neither text nor a known format."""
    head = data[:8]
    if data[:1024].lstrip(b"\x00\t\r\n \xef\xbb\xbf").startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise Unreadable(f"{what}, not a document")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unreadable("UTF-16 text: save it as UTF-8")
    if b"\x00" in data[:65536]:
        raise Unreadable("binary file (NUL bytes), not a document")
    try:
        text_head = data[:4096].decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < 4090 or len(data) <= 4096:  # not a character cut at the 4096 boundary
            raise Unreadable(_not_utf8(data, exc.start)) from None
        text_head = data[: exc.start].decode("utf-8")
    if _HTML_START.match(text_head):
        return "html"
    if name.lower().endswith(_HTML_SUFFIXES) and _HTML_TAGS.search(text_head):
        return "html"
    return "text"


def _not_utf8(data: bytes, start: int) -> str:
    return f"neither a known format nor UTF-8 text (byte {start} is not UTF-8)"


def _zip_kind(data: bytes) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names:
                return "docx"
            mimetype = (
                zf.read("mimetype")[:80].decode("ascii", "replace") if "mimetype" in names else ""
            )
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError, EOFError):
        raise Unreadable("a damaged zip archive (not a readable .docx)") from None
    if "opendocument" in mimetype:
        raise Unreadable("an OpenDocument file: save it as .docx")
    if "epub" in mimetype:
        raise Unreadable("an EPUB book: not supported")
    if "xl/workbook.xml" in names:
        raise Unreadable("an Excel workbook: not supported")
    if "ppt/presentation.xml" in names:
        raise Unreadable("a PowerPoint file: not supported")
    raise Unreadable("a zip archive, not a Word document (no word/document.xml)")


def decode_text(data: bytes) -> str:
    """Exact UTF-8 text (newlines as on disk), or :class:`Unreadable`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(_not_utf8(data, exc.start)) from None


# --- conversion -----------------------------------------------------------------------------


def convert(data: bytes, kind: Kind, *, max_pages: int | None = None) -> Converted:
    """The text snapshot of a PDF, HTML or Word document. Raises :class:`Unreadable`."""
    if kind == "pdf":
        return pdf_to_text(data, max_pages=max_pages)
    if kind == "html":
        return html_to_text(data)
    if kind == "docx":
        return docx_to_text(data)
    return Converted(decode_text(data), Layout(kind="text"))


def _clean_pdf(raw: str) -> tuple[str, list[int]]:
    """Page text as pdfium gives it → snapshot text, and for each snapshot character the index
    of the raw character it came from (``\\r\\n`` becomes one ``\\n``; controls become spaces)."""
    out: list[str] = []
    index: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\r":
            out.append("\n")
            index.append(i)
            i += 2 if i + 1 < n and raw[i + 1] == "\n" else 1
            continue
        if ch in "\ufffe\x02":  # pdfium's hyphen at a line end
            ch = "-"
        elif ch != "\n" and ch != "\t" and (ch < " " or ch == "\x7f" or ch == "\ufeff"):
            ch = " "
        out.append(ch)
        index.append(i)
        i += 1
    return "".join(out), index


def _open_pdf(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg:
            raise Unreadable("an encrypted PDF (it needs a password)") from None
        raise Unreadable("a damaged PDF (pdfium cannot open it)") from None


def _page_text(page: Any) -> tuple[str, str]:
    """``(raw, cleaned)`` text of one page."""
    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_range()
    finally:
        textpage.close()
    return raw, _clean_pdf(raw)[0]


@_one_at_a_time
def pdf_to_text(data: bytes, *, max_pages: int | None = None) -> Converted:
    """The text layer of a PDF, pages separated by a blank line. Raises :class:`Unreadable` for an
    encrypted, damaged or scanned (no text) PDF, or one with more than ``max_pages`` pages."""
    pdf = _open_pdf(data)
    try:
        n = len(pdf)
        if n == 0:
            raise Unreadable("a PDF without pages")
        if max_pages is not None and n > max_pages:
            raise Unreadable(
                f"a PDF of {n} pages is over the limit of {max_pages} (RAG_MAX_PDF_PAGES)"
            )
        parts: list[str] = []
        starts: list[int] = []
        blank = 0
        offset = 0
        for i in range(n):
            page = pdf[i]
            try:
                text = _page_text(page)[1].rstrip()
            except Exception:  # one broken page is left empty, not the whole document
                text = ""
            finally:
                page.close()
            if not text.strip():
                blank += 1
                text = ""
            if i:
                parts.append(PAGE_BREAK)
                offset += len(PAGE_BREAK)
            starts.append(offset)
            parts.append(text)
            offset += len(text)
    finally:
        pdf.close()
    if blank == n:
        raise Unreadable(
            f"a scanned PDF: none of its {n} pages has a text layer (OCR is not supported)"
        )
    notes = [f"{blank} of {n} pages have no text layer (scanned?)"] if blank else []
    return Converted("".join(parts), Layout(kind="pdf", pages=starts, notes=notes))


@_one_at_a_time
def pdf_page_png(
    data: bytes,
    page: int,
    spans: list[tuple[int, int]],
    *,
    width: int = 900,
    around: bool = False,
) -> bytes:
    """Page ``page`` (1-based) of a PDF as PNG, ``width`` pixels wide, with the characters at
    ``spans`` (offsets into that page's snapshot text) highlighted; with ``around``, only the
    part of the page around them (readable in a narrow column). Raises :class:`Unreadable`."""
    from PIL import Image, ImageDraw

    pdf = _open_pdf(data)
    try:
        if not 1 <= page <= len(pdf):
            raise Unreadable(f"the PDF has no page {page}")
        pg = pdf[page - 1]
        try:
            w, h = pg.get_size()
            scale = width / w if w else 1.0
            image = pg.render(scale=scale).to_pil().convert("RGBA")
            boxes = _char_boxes(pg, spans)
            left, bottom, _right, top = pg.get_cropbox()
        finally:
            pg.close()
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    rects = [
        (
            (x0 - left) * scale - 1,
            (top - y1) * scale - 1,
            (x1 - left) * scale + 1,
            (top - y0) * scale + 1,
        )
        for x0, y0, x1, y1 in _merge_boxes(boxes)
    ]
    for rect in rects:
        draw.rectangle(rect, fill=(255, 210, 0, 110), outline=(224, 168, 0, 255))
    drawn = Image.alpha_composite(image, overlay).convert("RGB")
    if around and rects:
        drawn = drawn.crop(_window(rects, drawn.size))
    out = io.BytesIO()
    drawn.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _window(
    rects: list[tuple[float, float, float, float]], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A crop of the page around the highlighted rectangles: at least 60% of the page wide,
    3:5 high to wide, kept inside the page."""
    w, h = size
    x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
    x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
    pad = 0.06 * w
    cw = min(w, max(x1 - x0 + 2 * pad, 0.6 * w))
    ch = min(h, max(y1 - y0 + 2 * pad, 0.6 * cw))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a = min(max(0.0, cx - cw / 2), w - cw)
    b = min(max(0.0, cy - ch / 2), h - ch)
    return int(a), int(b), int(a + cw), int(b + ch)


def _char_boxes(page: Any, spans: list[tuple[int, int]]) -> list[tuple[float, float, float, float]]:
    """Boxes (PDF units) of the characters of a page's snapshot text at ``spans``."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_range()
        _text, index = _clean_pdf(raw)
        n_chars = textpage.count_chars()
        same = len(raw) == n_chars
        boxes = []
        for a, b in spans:
            for k in range(max(0, a), min(b, len(index))):
                t = index[k]
                c = t if same else pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, t)
                if c < 0 or c >= n_chars or raw[t].isspace():
                    continue
                box = textpage.get_charbox(c)
                if box[2] > box[0] and box[3] > box[1]:
                    boxes.append(box)
        return boxes
    finally:
        textpage.close()


def _merge_boxes(
    boxes: list[tuple[float, float, float, float]],
) -> list[tuple[float, float, float, float]]:
    """Neighbouring character boxes on one line joined into one rectangle per run."""
    merged: list[list[float]] = []
    for x0, y0, x1, y1 in boxes:
        if merged:
            m = merged[-1]
            height = max(m[3] - m[1], y1 - y0)
            same_line = abs((m[1] + m[3]) / 2 - (y0 + y1) / 2) < height * 0.6
            if same_line and -height < x0 - m[2] < height * 1.5:
                m[0], m[1], m[2], m[3] = min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)
                continue
        merged.append([x0, y0, x1, y1])
    return [(m[0], m[1], m[2], m[3]) for m in merged]


# --- HTML -----------------------------------------------------------------------------------

_SKIP_TAGS = frozenset(
    "script style noscript template svg math nav header footer aside form iframe head "
    "button select textarea object canvas dialog".split()
)
_SKIP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "complementary"})
_BLOCK_TAGS = frozenset(
    "p div section article main li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr dl dt dd "
    "figure figcaption hr address details summary caption body html".split()
)
_VOID_TAGS = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SPACES = re.compile(r"\s+")
_PILCROW = re.compile(r"\s*¶$")
"""The anchor mark documentation generators put after a heading or a term ("ffi_type_void ¶")."""
TERM_LEVEL = 7
"""A definition list's term (``<dt>``) heads its definitions below any ``<h1>``–``<h6>``."""


class _HtmlText(HTMLParser):
    """Streaming HTML → paragraphs: no tree is built, so a large page costs little memory."""

    def __init__(self, main_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.main_only = main_only
        self.main_depth = 0
        self.skip: list[str] = []
        self.stack: list[str] = []
        self.pre = 0
        self.paragraphs: list[tuple[str, int | None]] = []
        """``(text, heading level or None)``."""
        self.current: list[str] = []
        self.heading: int | None = None
        self.cells = 0
        self.lists: list[list[int]] = []
        """Open lists, innermost last: ``[numbered, count]`` (``numbered``: 1 for ``<ol>``)."""
        self.marker = ""
        """The mark of the list item whose first paragraph comes next ("3. ", "• ")."""

    def flush(self) -> None:
        raw = "".join(self.current)
        self.current = []
        if self.pre:
            lines = [ln.rstrip() for ln in raw.split("\n")]
            text = "\n".join(ln for ln in lines if ln.strip())
        else:
            text = _PILCROW.sub("", _SPACES.sub(" ", raw).strip())
        if text:
            self.paragraphs.append((self.marker + text, self.heading))
            self.marker = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag == "br" and not self.skip:
                self.current.append("\n" if self.pre else " ")
            return
        a = dict(attrs)
        hidden = "hidden" in a or a.get("aria-hidden") == "true"
        if self.skip or tag in _SKIP_TAGS or hidden or (a.get("role") or "") in _SKIP_ROLES:
            self.skip.append(tag)
            return
        self.stack.append(tag)
        if tag in ("main", "article") or a.get("role") == "main":
            self.main_depth += 1
        if tag in _BLOCK_TAGS:
            self.flush()
            if tag[0] == "h" and tag[1:].isdigit():
                self.heading = int(tag[1:])
            if tag == "dt":
                self.heading = TERM_LEVEL
            if tag in ("ul", "ol"):
                start = a.get("start") or "1"
                first = int(start) if tag == "ol" and start.strip().isdigit() else 1
                self.lists.append([int(tag == "ol"), first - 1])
            if tag == "li" and self.lists:
                numbered, count = self.lists[-1]
                self.lists[-1][1] = count + 1
                self.marker = f"{count + 1}. " if numbered else "• "
            if tag == "pre":
                self.pre += 1
            if tag == "tr":
                self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.current.append(" | ")
            self.cells += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag not in self.stack:
            return
        while self.stack:
            open_tag = self.stack.pop()
            self.close_tag(open_tag)
            if open_tag == tag:
                break

    def close_tag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.flush()
            if (tag[0] == "h" and tag[1:].isdigit()) or tag == "dt":
                self.heading = None
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            if tag == "li":
                self.marker = ""
            if tag == "dl":
                self.paragraphs.append(("", TERM_LEVEL))  # the terms' section ends here
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        if tag in ("main", "article"):
            self.main_depth = max(0, self.main_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip or (self.main_only and not self.main_depth):
            return
        self.current.append(data)


def _html_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        m = _CHARSET.search(data[:4096])
        if m:
            try:
                return data.decode(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                pass
        raise Unreadable(_not_utf8(data, exc.start)) from None


def html_to_text(data: bytes) -> Converted:
    """The main text of a web page, one paragraph per line (blank lines between), with the
    heading path of every section. Raises :class:`Unreadable` when no text is left."""
    source = _html_decode(data).removeprefix("\ufeff")
    low = source.lower()
    main_only = "<main" in low or "<article" in low or 'role="main"' in low
    paragraphs = _html_paragraphs(source, main_only)
    if main_only and not paragraphs:
        paragraphs = _html_paragraphs(source, False)
    if not paragraphs:
        raise Unreadable("a web page without text (after dropping scripts and navigation)")
    return _assemble(paragraphs, "html")


def _html_paragraphs(source: str, main_only: bool) -> list[tuple[str, int | None]]:
    parser = _HtmlText(main_only)
    try:
        parser.feed(source)
        parser.close()
    except (AssertionError, ValueError):
        raise Unreadable("a web page the HTML parser cannot read") from None
    parser.flush()
    return parser.paragraphs


def _assemble(paragraphs: list[tuple[str, int | None]], kind: Kind) -> Converted:
    """Paragraphs → snapshot text (blank line between paragraphs) with heading sections."""
    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    path: list[tuple[int, str]] = []
    offset = 0
    for text, level in paragraphs:
        if not text:  # the end of a definition list: what follows is under no term
            if level is not None and any(p[0] >= level for p in path):
                path = [p for p in path if p[0] < level]
                sections.append((offset, HEADING_SEPARATOR.join(p[1] for p in path)))
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        if level is not None:
            path = [p for p in path if p[0] < level] + [(level, " ".join(text.split()))]
            sections.append((offset, HEADING_SEPARATOR.join(p[1] for p in path)))
        parts.append(text)
        offset += len(text)
    out = "".join(parts) + "\n"
    return Converted(out, Layout(kind=kind, sections=sections))


# --- Word -----------------------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.I)


def docx_to_text(data: bytes) -> Converted:
    """Paragraphs and tables of a .docx in document order, headings as sections. Raises
    :class:`Unreadable` for a zip that is not a Word document, or one that unpacks too large."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo("word/document.xml")
            if info.file_size > MAX_DOCX_XML_BYTES:
                raise Unreadable(
                    f"a .docx whose text part unpacks to {info.file_size / 1e6:.0f} MB (zip bomb?)"
                )
    except KeyError:
        raise Unreadable("a zip archive, not a Word document (no word/document.xml)") from None
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        raise Unreadable("a damaged zip archive (not a readable .docx)") from None
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = list(_docx_paragraphs(document))
    except Unreadable:
        raise
    except Exception as exc:  # python-docx raises many kinds on a broken package
        raise Unreadable(f"a damaged Word document ({type(exc).__name__})") from None
    if not paragraphs:
        raise Unreadable("a Word document without text")
    return _assemble(paragraphs, "docx")


def _docx_numbering(document: Any) -> Callable[[Any], str]:
    """A function giving each paragraph its list number as Word shows it ("3. " for the third
    item of a numbered list, counted per list and level), "" for other paragraphs and bullets.
    Word keeps the number out of the paragraph's text, so "the third step" could not be found
    without it."""
    from docx.oxml.ns import qn

    formats: dict[tuple[str, int], tuple[str, int]] = {}
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        root = None
    if root is not None:
        abstract = {a.get(qn("w:abstractNumId")): a for a in root.findall(qn("w:abstractNum"))}
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            a = abstract.get(ref.get(qn("w:val"))) if ref is not None else None
            for lvl in a.findall(qn("w:lvl")) if a is not None else []:
                fmt = lvl.find(qn("w:numFmt"))
                start = lvl.find(qn("w:start"))
                formats[(num.get(qn("w:numId")), int(lvl.get(qn("w:ilvl"), "0")))] = (
                    fmt.get(qn("w:val")) if fmt is not None else "decimal",
                    int(start.get(qn("w:val"))) if start is not None else 1,
                )
    counters: dict[tuple[str, int], int] = {}

    def number(paragraph: Any) -> str:
        numpr = None
        for owner in (
            paragraph.paragraph_format.element,
            getattr(paragraph.style, "element", None),
        ):
            ppr = owner.pPr if owner is not None else None
            if ppr is not None and ppr.numPr is not None and ppr.numPr.numId is not None:
                numpr = ppr.numPr
                break
        if numpr is None:
            return ""
        num_id = str(numpr.numId.val)
        level = int(numpr.ilvl.val) if numpr.ilvl is not None else 0
        fmt, start = formats.get((num_id, level), ("", 1))
        if fmt != "decimal":
            return ""
        for key in [k for k in counters if k[0] == num_id and k[1] > level]:
            del counters[key]  # a deeper list starts again under the next item
        counters[(num_id, level)] = counters.get((num_id, level), start - 1) + 1
        return f"{counters[(num_id, level)]}. "

    return number


def _docx_paragraphs(document: Any) -> Any:
    from docx.table import Table

    number = _docx_numbering(document)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(cell.text.split())
                    if not cells or cells[-1] != text:  # merged cells repeat
                        cells.append(text)
                line = " | ".join(cells).strip(" |")
                if line:
                    yield line, None
            continue
        text = "\n".join(ln.strip() for ln in block.text.split("\n") if ln.strip())
        text = text.replace("\t", " ")
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level: int | None = None
        m = _HEADING_STYLE.match(style.strip())
        if m:
            level = int(m.group(1))
        elif style.strip().lower() == "title":
            level = 0
        if level is None:
            text = number(block) + text
        yield text, level


# --- snapshots ------------------------------------------------------------------------------


def snapshot_paths(folder: Path, sha256: str) -> tuple[Path, Path]:
    """The text and layout files of the snapshot of the document with hash ``sha256``."""
    return folder / f"{sha256}.txt", folder / f"{sha256}.json"


def save_snapshot(folder: Path, sha256: str, converted: Converted) -> None:
    """Write a snapshot (text exactly, newlines untranslated; layout beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    text_path, layout_path = snapshot_paths(folder, sha256)
    text_path.write_bytes(converted.text.encode("utf-8"))
    layout_path.write_text(converted.layout.model_dump_json(), encoding="utf-8")


def load_snapshot(folder: Path | None, sha256: str) -> Converted | None:
    """The snapshot saved for ``sha256`` in ``folder``, or ``None`` when there is none."""
    if folder is None:
        return None
    text_path, layout_path = snapshot_paths(Path(folder), sha256)
    try:
        text = text_path.read_bytes().decode("utf-8")
        layout = Layout.model_validate_json(layout_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return Converted(text, layout)
