"""Reading a writer's draft and finding its sentences and the citations they carry.

A draft is Markdown or plain text, or a Word document (.docx, read as its text). Citations are
written ``[file:line]`` or ``[file:line-line]`` (``file`` relative to the corpus root, or a unique
prefix of its name: ``[003:31]``), several in one bracket separated by ``;`` or ``,``
(``[003:31; 001:4-5]``), or as Markdown footnotes whose definition reads
``[^1]: file, lines 4-5: "..."`` (what :func:`rag.drafts.render.draft_markdown` writes, so a
footnoted draft can be checked again). A PDF is cited by page: ``[report.pdf:p12]`` (the whole
page) or ``[report.pdf:p12:3-5]`` (lines 3-5 of page 12).

A bracket that is meant as a citation but names no lines (``[003:]``, ``[:31]``, ``[003:abc]``,
``[report.pdf:p1:]``, a ``[003:31`` left open, a footnote ``[^9]`` with no definition) is a
citation with an error, never text of the sentence; the good citations of a bracket that mixes
both are kept. The marks and footnotes :func:`rag.drafts.render.draft_markdown` adds
(``⚠[^check-1]`` and its definition) are the checker's own: they are no part of any sentence,
so a footnoted draft reads as the draft it was made from.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import line_of, line_starts, sentence_spans
from rag.citations import SPACE_BEFORE_PUNCT
from rag.corpus import read_bounded
from rag.drafts.schema import DRAFT_MARKS
from rag.errors import DraftError
from rag.formats import Unreadable, docx_to_text, sniff
from rag.render import FLAG_LABEL
from rag.verify import is_claim

MAX_DRAFT_BYTES = 5_000_000
"""Drafts larger than this are refused (a book is not a draft; split it)."""
_FILE_MAGIC = {
    b"%PDF": "a PDF file",
    b"\xd0\xcf\x11\xe0": "an old Word/Office document",
    b"{\\rtf": "an RTF document",
}


# --- reading ------------------------------------------------------------------------------------


def decode_draft(data: bytes, name: str = "draft") -> str:
    """The text of a draft from its bytes, or :class:`DraftError` saying why it is not text."""
    if len(data) > MAX_DRAFT_BYTES:
        raise DraftError(
            f"{name}: the draft is {len(data) / 1e6:.1f} MB; the limit is "
            f"{MAX_DRAFT_BYTES / 1e6:.0f} MB: check it in parts"
        )
    for magic, kind in _FILE_MAGIC.items():
        if data.startswith(magic):
            raise DraftError(
                f"{name}: this is {kind}, not text: save the draft as .md, .txt or .docx"
            )
    if data.startswith(b"PK\x03\x04"):
        return _docx_draft(data, name)
    nul = data.find(b"\x00", 0, 65536)
    if nul != -1:
        raise DraftError(f"{name}: the draft is binary, not text (NUL byte at byte {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DraftError(
            f"{name}: draft is not valid UTF-8 (byte {exc.start}): save it as UTF-8 text"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DraftError(f"{name}: the draft is empty")
    return text


def _docx_draft(data: bytes, name: str) -> str:
    """The text of a Word draft (paragraphs, one per line, blank lines between)."""
    try:
        if sniff(data, name) != "docx":
            raise Unreadable("not a Word document")
        return docx_to_text(data).text
    except Unreadable as exc:
        raise DraftError(
            f"{name}: this zip file is {exc}: save the draft as .md, .txt or .docx"
        ) from None


def read_draft(path: Path) -> str:
    """The text of the draft file ``path`` (UTF-8 text, or a .docx), or :class:`DraftError` with a
    one-line reason: missing file, a folder, empty, binary, not UTF-8, too large."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DraftError(f"draft not found: {path}")
    if path.is_dir():
        raise DraftError(f"{path} is a folder, not a draft file")
    try:
        size = path.stat().st_size
        if size > MAX_DRAFT_BYTES:
            raise DraftError(
                f"{path}: the draft is {size / 1e6:.1f} MB; the limit is "
                f"{MAX_DRAFT_BYTES / 1e6:.0f} MB: check it in parts"
            )
        data = read_bounded(path, MAX_DRAFT_BYTES)  # a FIFO or a device is refused, not read
    except OSError as exc:
        raise DraftError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_DRAFT_BYTES:
        raise DraftError(
            f"{path}: the draft is over the limit of {MAX_DRAFT_BYTES / 1e6:.0f} MB: check it in parts"
        )
    return decode_draft(data, str(path))


# --- parsing ------------------------------------------------------------------------------------

_BRACKET = re.compile(r"\[([^\[\]\n]{1,400})\](?!\()")
_REF = re.compile(
    r"^\s*(?:(?P<file>[^\s:\[\]^][^\s:\[\]]*)\s*:\s*)?(?:lines?\s*|l\.?\s*)?(?P<a>\d{1,7})"
    r"(?:\s*[-–—]\s*(?:l\.?\s*)?(?P<b>\d{1,7}))?\s*$",
    re.I,
)
_PAGE_REF = re.compile(
    r"^\s*(?:(?P<file>[^\s:\[\]^][^\s:\[\]]*)\s*:\s*)?(?:p\.?|page\s*)\s*(?P<page>\d{1,6})"
    r"(?:\s*:\s*(?:lines?\s*|l\.?\s*)?(?P<a>\d{1,7})(?:\s*[-–—]\s*(?:l\.?\s*)?(?P<b>\d{1,7}))?)?\s*$",
    re.I,
)
_BAD_REF = re.compile(
    r"^\s*[^\s:\[\]^][^\s:\[\]]*\s*:\s*(?:lines?\s*|l\.?\s*)?[-+−–—.,;:\d\s]*\d[-+−–—.,;:\d\s]*$",
    re.I,
)
"""``[003:-5]``, ``[003:2.5]``: a citation whose line numbers are not whole numbers from 1."""
_CITATION_SHAPE = re.compile(r"^\s*(?P<file>[^\s:\[\]^]*)\s*:(?P<gap>\s*)(?P<rest>[^\s\[\]]*)\s*$")
"""``file:something`` (either side may be empty): written as a citation, whatever it names."""
_LINE_START = re.compile(r"(?:p\.?\s*|page\s*|lines?\s*|l\.?\s*)?[-+−–—]?\d", re.I)
_UNCLOSED = re.compile(
    r"\[(?!\^)(?P<body>[^\s:\[\]^]*:[^\s\[\]]*?)[.,;:!?)]*(?=\s|\Z)(?![^\[\]\n]*\])"
)
"""``[003:31`` with no ``]`` before the end of the word (nor later on its line): a citation left
open."""
_NUMERIC_MARKER = re.compile(r"^\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*$")
_MARKS = re.escape("".join(DRAFT_MARKS.values()))
FLAG_REF = re.compile(r"[ \t]?[" + _MARKS + r"]\[\^" + re.escape(FLAG_LABEL) + r"\d+\]")
"""A flagged sentence's mark and footnote, as :func:`rag.drafts.render.draft_markdown` writes
it after the sentence (``⚠[^check-1]``)."""
CHECKER_MARK = re.compile(
    FLAG_REF.pattern + r"|(?<=[.!?。！？\])])[ \t]+[✓⚠≠✗∅](?=\s|\Z)"
    r"|(?:^|(?<=\s))\*\*[✓⚠≠✗?]\*\*[ \t]",
    re.M,
)
"""What the checker writes into a draft or an answer it exports, and is no part of a sentence:
a verdict mark with its footnote after a sentence (``⚠[^check-1]``, ``≠[^check-2]``), a bare
verdict mark after a sentence (``… the end. ✓``), and an answer's bold mark before a sentence
(``**⚠** ``)."""
FOOTNOTE_DEF = re.compile(r"^[ \t]{0,3}\[\^([^\]\s]{1,40})\]:[ \t]*(.*)$", re.M)
_FOOTNOTE_CITATION = re.compile(
    r"^\s*[`*_]*(?P<file>[^,\s`*_][^,`]*?)[`*_]*\s*,\s*lines?\s+(?P<a>\d{1,7})"
    r"(?:\s*[-–—]\s*(?P<b>\d{1,7}))?\b",
    re.I,
)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.M | re.S)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_ATX_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t].*)?$", re.M)
_SETEXT_HEADING = re.compile(r"^[^\n]*\S[^\n]*\n[ \t]{0,3}(?:=+|-{2,})[ \t]*$", re.M)
_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.M)
_TABLE_ROW = re.compile(r"^[ \t]*\|.*$", re.M)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"(\[)([^\[\]\n]+)(\]\([^)\s\n]*(?:\s+\"[^\"\n]*\")?\))")
_AUTOLINK = re.compile(r"<(?:https?|mailto):[^>\s]+>|https?://\S+")
_LINE_PREFIX = re.compile(r"^\s*(?:>\s?)*(?:[-*+•·]\s+|\d{1,3}[.)]\s+)?")
_EMPHASIS = re.compile(r"\*\*|__|~~|`|(?<!\w)[*_]+|[*_]+(?!\w)")


@dataclass
class Ref:
    """One written citation: a file name (as written) and a line range; with ``page`` (a PDF)
    the lines are counted within that page, and ``line_start == 0`` means the whole page."""

    file: str
    line_start: int
    line_end: int
    raw: str
    page: int | None = None

    @property
    def label(self) -> str:
        lines = (
            str(self.line_start)
            if self.line_start == self.line_end
            else f"{self.line_start}-{self.line_end}"
        )
        if self.page is not None:
            return f"{self.file}:p{self.page}" + (f":{lines}" if self.line_start else "")
        return f"{self.file}:{lines}"


@dataclass
class Mark:
    """A citation written in the draft: where it is and what it names (``error`` when it cannot
    name lines at all, like a bare ``[3]``)."""

    start: int
    end: int
    raw: str
    refs: list[Ref] = field(default_factory=list)
    error: str | None = None


@dataclass
class ParsedSentence:
    start: int
    end: int
    text: str
    line: int
    marks: list[Mark] = field(default_factory=list)

    @property
    def written(self) -> str | None:
        return " ".join(m.raw for m in self.marks) if self.marks else None


@dataclass
class ParsedDraft:
    text: str
    sentences: list[ParsedSentence]
    claims: list[ParsedSentence]
    citation_footnotes: dict[str, tuple[int, int]]
    """Footnote labels whose definition is a citation, with the span of that definition line."""


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


_HOW = "write [file:line] or [file:line-line] (a PDF page: [file:pN] or [file:pN:line])"


def _read_part(part: str, last_file: str | None) -> tuple[Ref | None, str | None, bool]:
    """One ``;``/``,``-separated part of a bracket: its citation, or what is wrong with it, and
    whether it is written as a citation (names a file, or has the ``file:line`` shape)."""
    pm = _PAGE_REF.match(part)
    if pm:
        name = pm.group("file") or last_file
        if name is not None:
            a = int(pm.group("a")) if pm.group("a") else 0
            b = int(pm.group("b")) if pm.group("b") else a
            ref = Ref(name.strip(), a, b, part.strip(), page=int(pm.group("page")))
            return ref, None, True
    m = _REF.match(part)
    if m:
        name = m.group("file") or last_file
        if name is None:
            return None, "names no file", False
        a = int(m.group("a"))
        b = int(m.group("b")) if m.group("b") else a
        return Ref(name.strip(), a, b, part.strip()), None, bool(m.group("file"))
    if not part.strip():
        return None, "is empty", False
    if _BAD_REF.match(part):
        return None, "line numbers are whole numbers from 1", True
    shape = _CITATION_SHAPE.match(part)
    if shape is None or shape.group("rest").startswith("//"):  # not file:…, or a URL
        return None, "is not a citation", False
    file, rest = shape.group("file"), shape.group("rest")
    if not file and not rest:
        return None, "is not a citation", False
    if shape.group("gap") and rest and not _LINE_START.match(rest):
        return None, "is not a citation", False  # [Note: see], prose with a colon
    if not file:
        return None, "names no file", True
    if not rest or re.fullmatch(r"(?:p\.?|page)\s*\d{1,6}\s*:", rest, re.I):
        return None, "names no line", True
    return None, f"{rest} is not a line number", True


def _read_bracket(body: str) -> tuple[list[Ref], list[tuple[str, str]], bool]:
    """A bracket's citations, its parts that are no citation with what is wrong with each
    (``("zstd:", "names no line")``), and whether the bracket is written as a citation at all:
    one part of it names a file or has the ``file:line`` shape."""
    refs: list[Ref] = []
    problems: list[tuple[str, str]] = []
    cited = False
    last_file: str | None = None
    for part in re.split(r"[;,]", body):
        ref, problem, shaped = _read_part(part, last_file)
        cited = cited or shaped
        if ref is not None:
            refs.append(ref)
            last_file = ref.file
        elif problem is not None:
            problems.append((part.strip(), problem))
    return refs, problems, cited


def _malformed(raw: str, problems: list[tuple[str, str]]) -> str:
    """The error of a citation bracket ``raw`` some part of which names no lines."""
    if len(problems) == 1 and problems[0][1].startswith("line numbers"):
        return (
            f"{raw}: line numbers are whole numbers from 1: write [file:line] or [file:line-line]"
        )
    if len(problems) == 1 and raw.strip("[]").strip() == problems[0][0]:
        return f"{raw}: malformed citation ({problems[0][1]}): {_HOW}"
    what = "; ".join(
        dict.fromkeys(
            f"[{part}] {problem}" if part else "an empty part between separators"
            for part, problem in problems
        )
    )
    return f"{raw}: malformed citation: {what}: {_HOW}"


def _footnote_citations(text: str) -> dict[str, tuple[Ref, int, int]]:
    out: dict[str, tuple[Ref, int, int]] = {}
    for m in FOOTNOTE_DEF.finditer(text):
        c = _FOOTNOTE_CITATION.match(m.group(2))
        if c:
            a = int(c.group("a"))
            b = int(c.group("b")) if c.group("b") else a
            raw = f"{c.group('file').strip()}:{a}" + (f"-{b}" if b != a else "")
            out[m.group(1)] = (Ref(c.group("file").strip(), a, b, raw), m.start(), m.end())
    return out


def _clean(sentence: str) -> str:
    lines = [_LINE_PREFIX.sub("", line, count=1) for line in sentence.split("\n")]
    text = _EMPHASIS.sub("", " ".join(lines))
    text = " ".join(text.split())
    return SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def _is_question(text: str) -> bool:
    return text.rstrip(" \"'”’)»").endswith(("?", "？"))


def parse_draft(text: str) -> ParsedDraft:
    """Sentences of a draft (Markdown structure, code and citations masked out, offsets kept) and
    the citations written for each."""
    masked = text
    for pattern in (_FRONT_MATTER, _FENCE, _HTML_COMMENT, FOOTNOTE_DEF, CHECKER_MARK):
        masked = pattern.sub(lambda m: _blank(m.group(0)), masked)
    footnotes = _footnote_citations(text)
    defined = {m.group(1) for m in FOOTNOTE_DEF.finditer(text)}
    marks: list[Mark] = []

    def bracket(m: re.Match[str]) -> str:
        body = m.group(1)
        if body.startswith("^"):
            label = body[1:]
            if label in footnotes:
                ref = footnotes[label][0]
                marks.append(Mark(m.start(), m.end(), m.group(0), [ref]))
            elif label not in defined and not label.startswith(FLAG_LABEL):
                marks.append(
                    Mark(
                        m.start(),
                        m.end(),
                        m.group(0),
                        error=f"{m.group(0)}: footnote {label} is not defined: add a line "
                        f'[^{label}]: file, lines N-M: "…" (or write [file:line])',
                    )
                )
            return _blank(m.group(0))
        refs, problems, cited = _read_bracket(body)
        if refs and not problems:
            marks.append(Mark(m.start(), m.end(), m.group(0), refs))
            return _blank(m.group(0))
        if cited:
            error = _malformed(m.group(0), problems)
            marks.append(Mark(m.start(), m.end(), m.group(0), refs, error=error))
            return _blank(m.group(0))
        if _NUMERIC_MARKER.match(body):
            marks.append(
                Mark(
                    m.start(),
                    m.end(),
                    m.group(0),
                    error=f"{m.group(0)} names no file and line: write [file:line]",
                )
            )
            return _blank(m.group(0))
        return m.group(0)

    masked = _BRACKET.sub(bracket, masked)

    def unclosed(m: re.Match[str]) -> str:
        raw = m.group(0)[: m.end("body") - m.start()]
        refs, problems, cited = _read_bracket(m.group("body"))
        if not cited:
            return m.group(0)
        error = f"{raw}: the citation is not closed: write {raw}]"
        if problems:
            error = f"{raw}: the citation is not closed, and {_malformed(raw + ']', problems)}"
        marks.append(Mark(m.start(), m.start() + len(raw), raw, refs, error=error))
        return _blank(raw) + m.group(0)[len(raw) :]

    masked = _UNCLOSED.sub(unclosed, masked)
    for pattern in (_ATX_HEADING, _SETEXT_HEADING, _RULE, _TABLE_ROW, _IMAGE, _AUTOLINK):
        masked = pattern.sub(lambda m: _blank(m.group(0)), masked)
    masked = _LINK.sub(lambda m: " " + m.group(2) + _blank(m.group(3)), masked)
    marks.sort(key=lambda mk: mk.start)

    starts = line_starts(text)
    sentences: list[ParsedSentence] = []
    for a, b in sentence_spans(masked):
        clean = _clean(masked[a:b])
        if clean:
            sentences.append(ParsedSentence(a, b, clean, line_of(starts, a)))
    _attach(text, sentences, marks)
    claims = [
        s
        for s in sentences
        if not _is_question(s.text)
        and (is_claim(s.text) or (s.marks and len(re.findall(r"\w+", s.text)) >= 2))
    ]
    return ParsedDraft(text, sentences, claims, {k: (v[1], v[2]) for k, v in footnotes.items()})


def _attach(text: str, sentences: list[ParsedSentence], marks: list[Mark]) -> None:
    """Give each written citation to its sentence: the one it sits in, else the one before it in
    the same paragraph (``... end. [003:31]``), else the one after it."""
    if not sentences:
        return
    begins = [s.start for s in sentences]
    for mark in marks:
        i = bisect.bisect_right(begins, mark.start) - 1
        if i >= 0 and mark.start < sentences[i].end:
            sentences[i].marks.append(mark)
            continue
        if i >= 0 and not re.search(r"\n[ \t]*\n", text[sentences[i].end : mark.start]):
            sentences[i].marks.append(mark)
        elif i + 1 < len(sentences):
            sentences[i + 1].marks.append(mark)
        elif i >= 0:
            sentences[i].marks.append(mark)
