"""Checking a writer's draft: every sentence that states a fact is tested against the source lines
it cites, and a sentence that cites nothing is looked up in the corpus.

A draft is Markdown or plain text. Citations are written ``[file:line]`` or ``[file:line-line]``
(``file`` relative to the corpus root, or a unique prefix of its name: ``[003:31]``), several in
one bracket separated by ``;`` or ``,`` (``[003:31; 001:4-5]``), or as Markdown footnotes whose
definition reads ``[^1]: file, lines 4-5: "..."`` (what :func:`draft_markdown` writes, so a
footnoted draft can be checked again).

For each claim sentence:

- cited: the cited lines are read from the corpus file and the claim is tested against the best
  sentence (or pair of sentences) within them, or all of them when they are short
  (:class:`rag.verify.Checker`). A file that does not exist, an ambiguous file prefix or a line
  past the end is a ``bad_citation``, never a crash. When the cited lines do not support the claim,
  the corpus is searched for lines that do (``alternative``).
- uncited: the corpus is searched (the hybrid retrieval of :mod:`rag.retrieval`) and the best few
  evidence sentences are tested; the first that supports the claim is proposed as its source
  (verdict ``supported``, ``citation_written=None``), else the verdict is ``not_found``.

Work per sentence is bounded (a few chunks, a few evidence sentences, at most a few judge calls),
so a draft of thousands of sentences takes time linear in its length.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from rag.chunking import line_of, line_starts, sentence_spans, split_sentences
from rag.citations import CorpusContext
from rag.config import Settings
from rag.render import shorten
from rag.schema import Citation, Sentence
from rag.verify import MIN_COVERAGE, Checker, Judge, check_rules, is_claim

DraftVerdict = Literal["supported", "unsupported", "uncited", "bad_citation", "not_found"]
ProgressFn = Callable[[int, int], None]

MAX_DRAFT_BYTES = 5_000_000
"""Drafts larger than this are refused (a book is not a draft; split it)."""
WHOLE_SPAN_CHARS = 700
"""Cited lines up to this long are also tested as a whole (besides sentence by sentence)."""
MAX_WINDOWS = 80
"""Most candidate sentence windows tested within one written citation."""
MAX_CITATIONS = 3
"""Most written citations of one sentence that are tested (the checker reads three)."""
SEARCH_CHUNKS = 8
"""Chunks retrieved per uncited sentence (the question-answering default is 12)."""
SEARCH_EVIDENCE = 4
"""Evidence sentences tested per uncited sentence."""
JUDGE_CALLS = 2
"""Most judge calls spent looking for a source of one sentence."""
ALTERNATIVE_JUDGE_CALLS = 1
"""Most judge calls spent looking for other lines when what a sentence cites fails."""
EMBED_BATCH = 32
"""Uncited sentences embedded together (one batch is much cheaper than one call each)."""

_FILE_MAGIC = {
    b"%PDF": "a PDF file",
    b"PK\x03\x04": "a zip archive (a .docx or .odt document?)",
    b"\xd0\xcf\x11\xe0": "an old Word/Office document",
    b"{\\rtf": "an RTF document",
}


class DraftError(ValueError):
    """The draft cannot be read or checked as given (one-line message)."""


class DraftSentence(BaseModel):
    """One claim sentence of a draft and what the check made of it."""

    text: str
    """The sentence as checked: citations and Markdown markup removed."""
    line: int = Field(ge=1)
    """1-based line of the draft on which the sentence starts."""
    citation_written: str | None
    """The citation(s) as written in the draft (``[003:31]``), or None."""
    verdict: DraftVerdict
    source: str | None = None
    """``file:12-14`` of the lines the verdict rests on (written, or proposed when uncited)."""
    citation: Citation | None = None
    """Those lines as a citation: exact character span and verbatim quote."""
    quote: str | None = None
    """Exact source text the verdict rests on (the best sentence(s) of the cited lines)."""
    score: float = Field(0.0, ge=0.0, le=1.0)
    reason: str = ""
    char_start: int = Field(0, ge=0)
    """Where the sentence starts in the draft text (0-based character offset)."""
    char_end: int = Field(0, ge=0)
    alternative: Citation | None = None
    """Lines of the corpus that support the sentence when what it cites does not."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def proposed(self) -> bool:
        """Whether ``source`` is a proposal for an uncited sentence (not written in the draft)."""
        return self.citation_written is None and self.source is not None

    @property
    def flagged(self) -> bool:
        return self.verdict != "supported"


class DraftReport(BaseModel):
    """The check of a whole draft."""

    sentences: list[DraftSentence] = Field(default_factory=list)
    checked: int = 0
    supported: int = 0
    flagged: int = 0
    seconds: float = 0.0
    checker: str = "rules"
    proposed: int = 0
    """Supported sentences whose source was found by searching (they cited nothing)."""
    counts: dict[str, int] = Field(default_factory=dict)
    """Sentences per verdict."""
    notices: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """One line: how many sentences were checked, supported, flagged, and how."""
        if not self.checked:
            return f"no sentence of the draft states a fact to check ({self.seconds:.1f} s)"
        head = (
            f"{self.checked} sentence{'s' if self.checked != 1 else ''} checked in "
            f"{self.seconds:.1f} s ({self.checker}): {self.supported} supported"
        )
        if self.proposed:
            head += f" ({self.proposed} with a proposed source)"
        head += f", {self.flagged} flagged"
        parts = [
            f"{self.counts[v]} {VERDICT_LABELS[v]}"
            for v in ("unsupported", "bad_citation", "not_found", "uncited")
            if self.counts.get(v)
        ]
        return head + (": " + ", ".join(parts) if parts else "")


VERDICT_LABELS = {
    "supported": "supported",
    "unsupported": "unsupported",
    "uncited": "uncited",
    "bad_citation": "bad citation",
    "not_found": "not found",
}
DRAFT_MARKS = {
    "supported": "✓",
    "proposed": "+",
    "unsupported": "⚠",
    "bad_citation": "✗",
    "not_found": "∅",
    "uncited": "?",
}
_MARK_COLORS = {"✓": "32", "+": "36", "⚠": "33", "✗": "31", "∅": "33", "?": "33"}


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
            raise DraftError(f"{name}: this is {kind}, not text: save the draft as .md or .txt")
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


def read_draft(path: Path) -> str:
    """The text of the draft file ``path`` (UTF-8), or :class:`DraftError` with a one-line reason:
    missing file, a folder, empty, binary, not UTF-8, too large."""
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
        data = path.read_bytes()
    except OSError as exc:
        raise DraftError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_draft(data, str(path))


# --- parsing ------------------------------------------------------------------------------------

_BRACKET = re.compile(r"\[([^\[\]\n]{1,400})\](?!\()")
_REF = re.compile(
    r"^\s*(?:(?P<file>[^\s:\[\]^][^\s:\[\]]*)\s*:\s*)?(?:lines?\s*|l\.?\s*)?(?P<a>\d{1,7})"
    r"(?:\s*[-–—]\s*(?:l\.?\s*)?(?P<b>\d{1,7}))?\s*$",
    re.I,
)
_NUMERIC_MARKER = re.compile(r"^\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*$")
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]{1,40})\](?!:)")
_FOOTNOTE_DEF = re.compile(r"^[ \t]{0,3}\[\^([^\]\s]{1,40})\]:[ \t]*(.*)$", re.M)
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
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?。！？])")


@dataclass
class Ref:
    """One written citation: a file name (as written) and a line range."""

    file: str
    line_start: int
    line_end: int
    raw: str

    @property
    def label(self) -> str:
        lines = (
            str(self.line_start)
            if self.line_start == self.line_end
            else f"{self.line_start}-{self.line_end}"
        )
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


def _parse_refs(body: str) -> list[Ref] | None:
    """The citations in a bracket's body, or None when it is not a citation bracket."""
    refs: list[Ref] = []
    last_file: str | None = None
    for part in re.split(r"[;,]", body):
        m = _REF.match(part)
        if not m:
            return None
        name = m.group("file") or last_file
        if name is None:
            return None
        name = name.strip()
        a = int(m.group("a"))
        b = int(m.group("b")) if m.group("b") else a
        refs.append(Ref(name, a, b, part.strip()))
        last_file = name
    return refs or None


def _footnote_citations(text: str) -> dict[str, tuple[Ref, int, int]]:
    out: dict[str, tuple[Ref, int, int]] = {}
    for m in _FOOTNOTE_DEF.finditer(text):
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
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip()


def _is_question(text: str) -> bool:
    return text.rstrip(" \"'”’)»").endswith(("?", "？"))


def parse_draft(text: str) -> ParsedDraft:
    """Sentences of a draft (Markdown structure, code and citations masked out, offsets kept) and
    the citations written for each."""
    masked = text
    for pattern in (_FRONT_MATTER, _FENCE, _HTML_COMMENT, _FOOTNOTE_DEF):
        masked = pattern.sub(lambda m: _blank(m.group(0)), masked)
    footnotes = _footnote_citations(text)
    marks: list[Mark] = []

    def bracket(m: re.Match[str]) -> str:
        body = m.group(1)
        if body.startswith("^"):
            label = body[1:]
            if label in footnotes:
                ref = footnotes[label][0]
                marks.append(Mark(m.start(), m.end(), m.group(0), [ref]))
            return _blank(m.group(0))
        refs = _parse_refs(body)
        if refs is not None:
            marks.append(Mark(m.start(), m.end(), m.group(0), refs))
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


# --- the corpus ---------------------------------------------------------------------------------


class CorpusFiles:
    """The corpus as the citations see it: file names, exact texts, lines and sentences."""

    def __init__(self, root: Path) -> None:
        from rag.loading import CorpusError, list_files

        self.root = Path(root)
        self.error: str | None = None
        try:
            self.files = [f.path for f in list_files(self.root).files]
        except CorpusError as exc:
            self.files = []
            self.error = str(exc)
        self._names = {PurePosixPath(f).name: f for f in self.files}
        self._texts = CorpusContext(self.root)
        self._starts: dict[str, list[int]] = {}
        self._sentences: dict[str, list[Sentence]] = {}

    def resolve(self, name: str) -> tuple[str | None, str]:
        """``(path, "")`` for a written file name, or ``(None, reason)``."""
        if self.error:
            return None, self.error
        wanted = name.strip().replace("\\", "/").removeprefix("./")
        if wanted in self.files:
            return wanted, ""
        if wanted in self._names:
            return self._names[wanted], ""
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

    def text(self, path: str) -> str | None:
        return self._texts.text(path)

    def context(self, citation: Citation) -> str:
        """The sentences before a citation (names behind its pronouns)."""
        return self._texts(citation)

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
            self._sentences[path] = split_sentences(path, self.text(path) or "")
        return self._sentences[path]

    def citation(self, path: str, a: int, b: int, n: int = 1) -> Citation:
        """The exact text at characters ``[a, b)`` of ``path`` as a citation."""
        text = self.text(path) or ""
        starts = self.starts(path)
        return Citation(
            n=n,
            file=path,
            line_start=line_of(starts, a),
            line_end=line_of(starts, max(a, b - 1)),
            char_start=a,
            char_end=b,
            quote=text[a:b],
        )

    def lines(self, ref: Ref, n: int = 1) -> tuple[Citation | None, str]:
        """The cited lines as one citation (trimmed of surrounding blanks), or a reason."""
        path, why = self.resolve(ref.file)
        if path is None:
            return None, why
        text = self.text(path)
        if text is None:
            return None, f"cannot read {path} as UTF-8 text"
        total = self.n_lines(path)
        a, b = ref.line_start, ref.line_end
        if a < 1 or b < 1:
            return None, "line 0 does not exist: lines are numbered from 1"
        if b < a:
            return None, f"line range {a}-{b} runs backwards"
        if a > total or b > total:
            past = a if a > total else b
            return None, f"line {past} is past the end ({path} has {total} lines)"
        starts = self.starts(path)
        lo = starts[a - 1]
        hi = starts[b] - 1 if b < len(starts) else len(text)
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if lo >= hi:
            return None, f"the cited lines of {path} are blank"
        return self.citation(path, lo, hi, n), ""

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


def _rule_key(claim: str, c: Citation) -> tuple[bool, float, int]:
    r = check_rules(claim, c.quote)
    return (r.ok, r.coverage, -len(c.quote))


def _narrowest(claim: str, candidates: list[Citation]) -> Citation:
    """The candidate whose text best holds the claim by the rules (shortest of equals)."""
    return max(candidates, key=lambda c: _rule_key(claim, c))


# --- searching ----------------------------------------------------------------------------------


class _Searcher:
    """Looks sentences up in the index: embeddings made in batches, a few chunks per sentence,
    each distinct sentence searched once."""

    def __init__(self, settings: Settings, corpus: CorpusFiles) -> None:
        self.settings = settings
        self.corpus = corpus
        self.vectors: dict[str, list[float]] = {}
        self.found: dict[str, list[Citation]] = {}
        self.handle: Any = None
        self.error: str | None = None
        self.stale = False
        self._opened = False

    def _open(self) -> bool:
        if not self._opened:
            self._opened = True
            from rag.retrieval import open_index
            from rag.store import StoreError

            try:
                self.handle = open_index(self.settings)
            except StoreError as exc:
                self.error = str(exc).splitlines()[0]
        return self.handle is not None

    def _vector(self, claim: str, upcoming: list[str]) -> list[float]:
        if claim not in self.vectors:
            todo = [c for c in dict.fromkeys([claim, *upcoming]) if c not in self.vectors]
            todo = todo[:EMBED_BATCH]
            vecs = self.handle.embedder.encode(todo)
            for c, v in zip(todo, vecs, strict=True):
                self.vectors[c] = [float(x) for x in v]
        return self.vectors.pop(claim)

    def candidates(self, claim: str, upcoming: list[str]) -> list[Citation] | None:
        """Evidence for ``claim`` as exact citations (None when there is no index);
        ``upcoming``: sentences about to be searched, embedded in the same batch."""
        if not self._open():
            return None
        if claim in self.found:
            return self.found[claim]
        from rag.retrieval import retrieve_chunks, select_evidence

        vector = self._vector(claim, upcoming)
        chunks = retrieve_chunks(self.handle, claim, SEARCH_CHUNKS, vector)
        evidence = select_evidence(self.handle, claim, chunks, SEARCH_EVIDENCE, vector)
        out: list[Citation] = []
        for e in evidence:
            text = self.corpus.text(e.file)
            if text is None or text[e.char_start : e.char_end] != e.text:
                self.stale = True  # the file changed (or went) since the index was built
                continue
            out.append(self.corpus.citation(e.file, e.char_start, e.char_end, len(out) + 1))
        self.found[claim] = out
        return out


def _overlaps(a: Citation, b: Citation) -> bool:
    return a.file == b.file and a.char_start < b.char_end and b.char_start < a.char_end


def _find_support(
    checker: Checker,
    claim: str,
    candidates: list[Citation],
    judge_calls: int = JUDGE_CALLS,
    tested: list[Citation] | None = None,
) -> tuple[bool, float, str, Citation | None]:
    """The best of ``candidates`` for ``claim``: rules rank them, the judge (when there is one)
    reads at most ``judge_calls`` of them; text overlapping ``tested`` is not read again."""
    ranked = sorted(
        (c for c in candidates if not any(_overlaps(c, t) for t in tested or [])),
        key=lambda c: _rule_key(claim, c),
        reverse=True,
    )
    best: tuple[bool, float, str, Citation | None] = (False, -1.0, "nothing found", None)
    judged = 0
    for c in ranked:
        rules = check_rules(claim, c.quote)
        if checker.judge is not None and rules.ok and rules.coverage >= MIN_COVERAGE:
            if judged >= judge_calls:
                break
            judged += 1
        ok, score, reason = checker.support(claim, c.quote)
        if (ok, score) > (best[0], best[1]):
            best = (ok, score, reason, c)
        if ok:
            break
    return best


# --- checking -----------------------------------------------------------------------------------


def draft_judge(
    settings: Settings, use_judge: bool | None = None
) -> tuple[Judge | None, list[str]]:
    """The LLM judge for checking a draft and notices for the user; ``(None, ...)`` means rules
    only. ``use_judge=None``: a judge unless ``settings.checker`` is ``rules``. When no model can
    run, the notice says so and checking falls back to the rules."""
    if use_judge is None:
        use_judge = settings.checker != "rules"
    if not use_judge:
        return None, []
    from rag.generation import LLMError, get_judge_llm, get_llm

    try:
        llm, notices = get_llm(settings, "auto")
        judge: Any = get_judge_llm(settings, llm)
    except LLMError as exc:
        return None, [f"{exc}; checking with rules only"]
    return judge, notices


def _judge_errors() -> tuple[type[BaseException], ...]:
    from rag.generation import LLMError
    from rag.gguf import WeightsError

    return (LLMError, WeightsError)


def corpus_root(settings: Settings) -> tuple[Path, list[str]]:
    """The folder citations point into: ``settings.corpus_dir``, or the folder the index was
    built from when that setting names no folder (with a notice when the two differ)."""
    from rag import store

    root = Path(settings.corpus_dir)
    try:
        generation = store.current_generation(settings.index_dir)
        indexed = (
            Path(store.read_manifest(settings.index_dir / generation).corpus_dir)
            if generation
            else None
        )
    except (OSError, ValueError):
        indexed = None
    if indexed is None or indexed.resolve() == root.resolve():
        return root, []
    if not root.is_dir() and indexed.is_dir():
        return indexed, []
    return root, [
        f"the index was built from {indexed}; citations are read from {root}: "
        "pass --corpus-dir (or RAG_CORPUS_DIR) to match them"
    ]


class _Guard:
    """The checker, switched to rules only (with a notice) the first time the judge fails."""

    def __init__(
        self, judge: Any, threshold: float, context_of: Callable[[Citation], str] | None = None
    ) -> None:
        self.checker = Checker(judge, threshold, context_of)
        self.threshold = threshold
        self.context_of = context_of
        self.notices: list[str] = []

    def run(self, fn: Callable[..., DraftSentence], *args: Any) -> DraftSentence:
        """``fn(checker, *args)``, once more with rules only if the judge fails."""
        try:
            return fn(self.checker, *args)
        except _judge_errors() as exc:
            if self.checker.judge is None:
                raise
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            self.notices.append(f"the judge failed ({message}); checking with rules only")
            self.checker = Checker(None, self.threshold, self.context_of)
            return fn(self.checker, *args)


def check_draft(
    text: str,
    settings: Settings,
    *,
    judge: Any = None,
    progress: ProgressFn | None = None,
) -> DraftReport:
    """Check every claim sentence of a draft against what it cites, or find it a source.

    ``judge=None`` checks with the rules only (fast); pass an LLM (see :func:`draft_judge`) for
    meaning. ``progress(done, total)`` is called as sentences are settled (cited ones first, then
    those that needed a search). Raises :class:`DraftError` for an empty draft; bad citations
    are verdicts, not errors.
    """
    t0 = time.perf_counter()
    if text is None or not text.strip():
        raise DraftError("the draft is empty")
    parsed = parse_draft(text)
    root, notices = corpus_root(settings)
    corpus = CorpusFiles(root)
    guard = _Guard(judge, settings.support_threshold, corpus.context)
    if corpus.error:
        notices.append(corpus.error)
    claims = parsed.claims
    results: list[DraftSentence | None] = [None] * len(claims)
    done = 0

    def settle(i: int, result: DraftSentence) -> None:
        nonlocal done
        results[i] = result
        done += 1
        if progress:
            progress(done, len(claims))

    # 1. sentences that cite: tested against their lines
    pending: dict[int, tuple[DraftSentence, list[Citation]]] = {}
    to_search: list[int] = []
    for i, claim in enumerate(claims):
        if not claim.marks:
            to_search.append(i)
            continue
        tested: list[Citation] = []
        result = guard.run(_check_cited, claim, corpus, tested)
        if result.verdict == "supported":
            settle(i, result)
        else:
            pending[i] = (result, tested)
            to_search.append(i)
    # 2. sentences that cite nothing, or cite what does not hold them: looked up in the index
    searcher = _Searcher(settings, corpus)
    for k, i in enumerate(to_search):
        upcoming = [claims[j].text for j in to_search[k + 1 : k + EMBED_BATCH]]
        if i in pending:
            failed, tested = pending[i]
            result = guard.run(
                _with_alternative, claims[i].text, failed, tested, searcher, upcoming
            )
        else:
            result = guard.run(_check_uncited, claims[i], searcher, upcoming)
        settle(i, result)
    out = [r for r in results if r is not None]
    notices.extend(guard.notices)
    if searcher.error and any(s.verdict == "uncited" for s in out):
        notices.append(f"{searcher.error}; uncited sentences were not looked up")
    if searcher.stale:
        notices.append(
            "the index is older than the corpus (some passages no longer match): run `rag index`"
        )
    counts: dict[str, int] = {}
    for s in out:
        counts[s.verdict] = counts.get(s.verdict, 0) + 1
    supported = counts.get("supported", 0)
    return DraftReport(
        sentences=out,
        checked=len(out),
        supported=supported,
        flagged=len(out) - supported,
        seconds=round(time.perf_counter() - t0, 3),
        checker=guard.checker.mode,
        proposed=sum(1 for s in out if s.verdict == "supported" and s.proposed),
        counts=counts,
        notices=notices,
    )


def _base(claim: ParsedSentence) -> dict[str, Any]:
    return {
        "text": claim.text,
        "line": claim.line,
        "citation_written": claim.written,
        "char_start": claim.start,
        "char_end": claim.end,
    }


def _check_uncited(
    checker: Checker, claim: ParsedSentence, searcher: _Searcher, upcoming: list[str]
) -> DraftSentence:
    found = searcher.candidates(claim.text, upcoming)
    if found is None:
        why = searcher.error or "no index"
        return DraftSentence(
            **_base(claim),
            verdict="uncited",
            reason=f"no citation, and no index to search ({why})",
        )
    ok, score, reason, best = _find_support(checker, claim.text, found)
    if ok and best is not None:
        return DraftSentence(
            **_base(claim),
            verdict="supported",
            source=best.location,
            citation=best.model_copy(update={"n": 1}),
            quote=best.quote,
            score=max(0.0, min(1.0, score)),
            reason=f"no citation; proposed source: {reason}",
        )
    closest = f" (closest: {best.location}, {reason})" if best is not None else ""
    return DraftSentence(
        **_base(claim),
        verdict="not_found",
        score=max(0.0, min(1.0, score)),
        reason=f"no citation, and nothing in the corpus supports it{closest}",
    )


def _check_cited(
    checker: Checker, claim: ParsedSentence, corpus: CorpusFiles, tested: list[Citation]
) -> DraftSentence:
    """The verdict on a sentence from the lines it cites; ``tested`` receives the text read."""
    spans: list[Citation] = []
    problems: list[str] = []
    for mark in claim.marks:
        if mark.error:
            problems.append(mark.error)
            continue
        for ref in mark.refs:
            span, why = corpus.lines(ref, n=len(spans) + 1)
            if span is None:
                problems.append(f"[{ref.label}]: {why}")
            else:
                spans.append(span)
    result: DraftSentence | None = None
    if spans:
        narrowed = [_narrowest(claim.text, corpus.windows(s)) for s in spans[:MAX_CITATIONS]]
        tested[:] = narrowed
        check = checker.check(claim.text, narrowed)
        by_n = {c.n: c for c in narrowed}
        best = by_n.get(check.best_citation or 0) or _narrowest(claim.text, narrowed)
        result = DraftSentence(
            **_base(claim),
            verdict=check.verdict if check.verdict != "uncited" else "unsupported",
            source=best.location,
            citation=best.model_copy(update={"n": 1}),
            quote=best.quote,
            score=check.score,
            reason=check.reason,
        )
    if not problems:
        assert result is not None
        return result
    reason = "; ".join(problems)
    if result is None:
        return DraftSentence(**_base(claim), verdict="bad_citation", reason=reason)
    reason += f" (the other citation: {result.verdict}, {result.reason})"
    return result.model_copy(update={"verdict": "bad_citation", "reason": reason})


def _with_alternative(
    checker: Checker,
    claim: str,
    result: DraftSentence,
    tested: list[Citation],
    searcher: _Searcher,
    upcoming: list[str],
) -> DraftSentence:
    """``result`` (flagged) with the lines of the corpus that do support the sentence, if any."""
    found = searcher.candidates(claim, upcoming)
    if not found:
        return result
    ok, _score, _why, alt = _find_support(
        checker, claim, found, judge_calls=ALTERNATIVE_JUDGE_CALLS, tested=tested
    )
    if not ok or alt is None:
        return result
    return result.model_copy(
        update={
            "alternative": alt.model_copy(update={"n": 1}),
            "reason": f"{result.reason}; {alt.location} supports it",
        }
    )


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
    return f'{c.file}, {lines}: "{" ".join(quote.split())}"'


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
    taken = {m.group(1) for m in _FOOTNOTE_DEF.finditer(text)}
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
