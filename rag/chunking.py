"""Sentence splitting and chunking that keep the exact way back to the source.

Every sentence and chunk records its file, 1-based first and last line and 0-based character
offsets such that ``text[char_start:char_end]`` is exactly its text. Sentences are found inside very
long lines, across hard-wrapped lines, and in Chinese (。！？). Chunks are runs of whole sentences of
one file, about ``chunk_size`` characters long, overlapping by ``chunk_overlap`` sentences.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable, Iterator

from rag.formats import HEADING_SEPARATOR, Layout
from rag.schema import Chunk, Sentence

SPLITTER = 5
"""Version of the sentence splitter; an index whose chunks were split by another is re-chunked
(and re-embedded) by the next ``rag index``. 2: a wrapped line goes on after a colon, a
semicolon or an abbreviation before a word in lower case, and behind an emphasis mark. 3: a
list item's number stays with its item ("3. Open the vent."); a sentence may start in lower
case after a full stop that closes a word ("... the file. grep prints ..."); a heading in
capitals over indented text ("SYNOPSIS") stands alone. 4: a plain-text sentence knows the
headings it sits under (:func:`text_sections`), as one of a converted document does; a web
page's list items keep their marks ("2. ", "• ") and a definition's term heads it (the
documents are converted again). 5: a line that ends in a comma or a word no sentence or title
ends with ("a", "the", "of") goes on in the next line, however short."""
MAX_SENTENCE_CHARS = 600
"""Longer runs without a sentence end (tables, lists without punctuation) are cut at whitespace."""

_CLOSERS = "\"'”’»)]」』）】"
_LIST_OR_HEADING = re.compile(r"\s*(?:[-*+•·]\s|\d{1,3}[.)]\s|#{1,6}\s|>\s?|\|)")
_LINE_END_TERMINAL = re.compile(r"[.!?。！？…:：;；][" + re.escape(_CLOSERS) + r"]*\s*$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# A sentence ends at CJK terminators (no space needed) or at latin terminators followed by space.
_CJK_END = re.compile(r"[。！？][" + re.escape(_CLOSERS) + r"]*")
_LATIN_END = re.compile(r"(?:[.!?]+|…)[" + re.escape(_CLOSERS) + r"]*(?=\s)")
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n no inc ltd co corp dept est fig
    approx jan feb mar apr jun jul aug sep sept oct nov dec mt gen col lt sgt rev op vol ed
    """.split()
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_LOWER_ABBREVIATIONS = frozenset(
    """
    al cf esp incl excl resp viz ibid min max sec ca approx misc govt dept pp ch sq ft lb lbs oz
    hr hrs yr yrs mo wk av ave bros abbr adj adv pl sing div max nr tel ext ref refs eq eqs pt
    pts cit loc seq ff
    """.split()
)
"""Abbreviations written in lower case that a word in lower case may follow ("et al. found",
"cf. the", "incl. tax"), besides those of :data:`_ABBREVIATIONS`."""
_ITEM_NUMBER = re.compile(r"[ \t]*(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[ivxlc]{1,5}|[IVXLC]{1,5})")
"""A list item's number at the start of its line, before its full stop ("3." / "iv." / "b.")."""


def line_starts(text: str) -> list[int]:
    """Offsets at which each line begins (line ``i+1`` starts at ``result[i]``)."""
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def line_of(starts: list[int], offset: int) -> int:
    """1-based line number holding character ``offset``."""
    return bisect.bisect_right(starts, offset)


_SPEAKER_WORD = r"[A-Z](?:[a-zà-ÿ'’.-]*|[A-Z'’.-]*)"
_SPEAKER = re.compile(
    # an optional time stamp ("[00:12:03]", "00:12"), then one to three capitalised or upper-case
    # words and a colon: "ALICE:", "Q:", "Bob Lee:"; not "ZeroDivisionError:" (no name is
    # written in camel case)
    r"^[ \t]*(?:[\[(]?\d{1,2}(?::\d\d){1,2}(?:[.,]\d+)?[\])]?[ \t]+)?"
    rf"({_SPEAKER_WORD}(?:[ ]{_SPEAKER_WORD}){{0,2}}):[ \t]+(?=\S)",
    re.M,
)


def speaker_turns(text: str, speakers: int = 2, turns: int = 2) -> list[tuple[int, int]]:
    """Where the turns of a conversation (a transcript, an interview) start: ``(offset of the
    line, offset after its speaker's label)`` of each line that opens with a label ("ALICE:
    ...", "Q: ...", "[00:12:03] Bob Lee: ..."). Empty unless ``text`` reads as a conversation:
    at least ``speakers`` labels each open at least ``turns`` lines (a single "Note: ..." line
    is no turn of a conversation)."""
    found = [(m.start(), m.end(), m.group(1)) for m in _SPEAKER.finditer(text)]
    opened: dict[str, int] = {}
    for _, _, label in found:
        opened[label.upper()] = opened.get(label.upper(), 0) + 1
    if sum(1 for n in opened.values() if n >= turns) < speakers:
        return []
    return [(a, b) for a, b, _ in found]


_QUESTION_END = re.compile(r"[?？][\s\"'”’»)\]]*$")


def statements(text: str) -> str:
    """``text`` without its questions: what it states ("Q: Do they ship abroad? A: No." ->
    "A: No."); empty when it only asks (an FAQ's question line states nothing)."""
    return " ".join(
        text[a:b] for a, b in sentence_spans(text) if not _QUESTION_END.search(text[a:b])
    )


def speaker_of(text: str) -> str | None:
    """The label of the speaker whose turn ``text`` opens ("DEV" for "DEV: We can't ...", "Bob
    Lee" for "[00:12:03] Bob Lee: ..."), or None."""
    m = _SPEAKER.match(text)
    return m.group(1) if m else None


def turn_start(turns: list[tuple[int, int]], offset: int) -> int | None:
    """The offset of the line that opens the turn holding ``offset`` (of :func:`speaker_turns`),
    or None before the first turn."""
    i = bisect.bisect_right([a for a, _ in turns], offset)
    return turns[i - 1][0] if i else None


def _hard_break(line: str, next_line: str) -> bool:
    """Whether the newline between two non-blank lines ends a sentence."""
    stripped = line.strip()
    if _LIST_OR_HEADING.match(next_line) or stripped.startswith("#"):
        return True
    if _record(line) and _record(next_line):
        return True  # one table row or CSV record a line, however long
    nxt = next_line.lstrip()
    if _LINE_END_TERMINAL.search(stripped):
        return not _runs_on(line, stripped, next_line)
    if _CJK.match(stripped[-1:]) and _CJK.match(nxt[:1]):
        return False  # Chinese wrapped mid-sentence
    if stripped.isupper() and _indent(next_line) > _indent(line):
        return True  # a heading in capitals over indented text: a manual's "SYNOPSIS"
    # A line with no closing punctuation is wrapped prose if it is long, if it stops on a comma
    # or a word no sentence or title ends with ("... an active exception, a / "RuntimeError"
    # ..."), or if the next goes on in lower case (behind any emphasis or quote mark:
    # "*expression*, the ..."); a short one followed by a capital is a title or a label.
    if stripped.endswith(",") or _last_word(stripped) in _NEVER_LAST:
        return False
    return not (len(stripped) >= 60 or nxt.lstrip(_MARKUP)[:1].islower())


_NEVER_LAST = frozenset(
    "a an the of to for with from by at in on into onto and or nor but than as that which whose "
    "whether if when while because is are was were be been has have had its their his her our "
    "your my this these those such no not".split()
)
"""Words a wrapped line may stop on but no sentence or title ends with."""


def _last_word(line: str) -> str:
    """The line's last word when written in lower case ("Vitamin A" ends on no article)."""
    m = re.search(r"(?<![A-Za-z])([a-z]+)\W*$", line)
    return m.group(1) if m else ""


_MARKUP = "*_`\"“‘'"
"""Emphasis, code and quote marks a wrapped word may start with (``*expression*``)."""


def _record(line: str) -> bool:
    """A line of a table: cells split by tabs, or a CSV record (commas, hardly any spaces)."""
    commas = line.count(",")
    return "\t" in line.strip() or (commas >= 2 and line.count(" ") < commas)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _runs_on(line: str, stripped: str, next_line: str) -> bool:
    """Whether a line that ends in a stop goes on in the next, wrapped at the same indent: a
    colon or a semicolon before a clause in lower case ("the same as for any import statement:
    / there is a module ..."), or an abbreviation ("(e.g. / by appending ...)")."""
    word = next_line.lstrip().lstrip(_MARKUP)
    if not word[:1].islower() or _indent(next_line) != _indent(line):
        return False
    if stripped.endswith((":", ";")):
        return True
    return stripped.endswith(".") and _is_abbreviation(stripped, len(stripped) - 1)


def _segments(text: str) -> Iterator[tuple[int, int]]:
    """Runs of text between hard breaks (blank lines, titles, list items, finished lines)."""
    starts = line_starts(text)
    ends = [s - 1 for s in starts[1:]] + [len(text)]
    seg_start: int | None = None
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        line = text[a:b]
        if not line.strip():
            if seg_start is not None:
                yield seg_start, a
                seg_start = None
            continue
        if seg_start is None:
            seg_start = a
        if i + 1 < len(starts):
            nxt = text[starts[i + 1] : ends[i + 1]]
            if nxt.strip() and not _hard_break(line, nxt):
                continue
        yield seg_start, b
        seg_start = None
    if seg_start is not None:
        yield seg_start, len(text)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the ``.`` at ``dot`` closes an abbreviation or an initial (``Dr.``, ``J.``)."""
    m = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if not m:
        return False
    word = m.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial
    return word.lower().rstrip(".") in _ABBREVIATIONS


def _closes_word(text: str, stop: re.Match[str]) -> bool:
    """Whether a full stop before a word in lower case ends a sentence: it closes a word that is
    no abbreviation ("the file. grep prints ..."), not "p.m.", "e.g.", "et al." or "3."."""
    if text[stop.start() : stop.end()].rstrip(_CLOSERS) != ".":
        return False  # "?", "!", "..." before a word in lower case go on
    m = _WORD_BEFORE.search(text, max(0, stop.start() - 20), stop.start())
    word = m.group(1) if m else ""
    if not word.isalpha() or len(word) < 2 or not re.search(r"[aeiouy]", word, re.I):
        return False  # "p.m", "3", "pp", "ft": abbreviations and numbers
    low = word.lower()
    return low not in _ABBREVIATIONS and low not in _LOWER_ABBREVIATIONS


def _boundaries(text: str, a: int, b: int) -> list[int]:
    """Offsets inside ``[a, b)`` right after each sentence end."""
    cuts: set[int] = set()
    for m in _CJK_END.finditer(text, a, b):
        cuts.add(m.end())
    for m in _LATIN_END.finditer(text, a, b):
        if (
            text[m.start()] == "."
            and m.end() - m.start() == 1
            and _is_abbreviation(text, m.start())
        ):
            continue
        line = text.rfind("\n", 0, m.start()) + 1
        if text[m.start()] == "." and _ITEM_NUMBER.fullmatch(text, line, m.start()):
            continue  # "3. Open the vent": the number of a list item, not a sentence
        nxt = text[m.end() : b].lstrip()[:1]
        if nxt and (nxt.islower() and not _CJK.match(nxt)) and not _closes_word(text, m):
            continue  # "e.g. the" / "3 p.m. on": not a sentence start
        cuts.add(m.end())
    return sorted(c for c in cuts if a < c < b)


def _blank(ch: str) -> bool:
    return ch.isspace() or ch in "\ufeff\u200b"


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and _blank(text[a]):
        a += 1
    while b > a and _blank(text[b - 1]):
        b -= 1
    return a, b


def _cap(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    """Cut a run longer than MAX_SENTENCE_CHARS at whitespace."""
    while b - a > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", a + MAX_SENTENCE_CHARS // 2, a + MAX_SENTENCE_CHARS)
        if cut <= a:
            cut = a + MAX_SENTENCE_CHARS
        yield a, cut
        a = cut
        while a < b and text[a].isspace():
            a += 1
    if a < b:
        yield a, b


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(char_start, char_end)`` of every sentence of ``text``, trimmed of surrounding space."""
    spans: list[tuple[int, int]] = []
    for seg_a, seg_b in _segments(text):
        prev = seg_a
        for cut in [*_boundaries(text, seg_a, seg_b), seg_b]:
            a, b = _trim(text, prev, cut)
            prev = cut
            if a < b:
                spans.extend(_cap(text, a, b))
    return spans


_ATX = re.compile(r"[ ]{0,3}(#{1,6})[ \t]+(\S.*?)[ \t#]*$")
_SETEXT = re.compile(r"[ ]{0,3}(=+|-+)[ \t]*$")
_OUTLINE = re.compile(r"(\*{1,4})[ \t]+(\S.*?)\s*$")
_FENCE = re.compile(r"[ ]{0,3}(```|~~~)")
_NOT_A_TITLE = re.compile(r"\s|[-*+•·>|#]|\d{1,3}[.)]\s|.*[.,;:!?]\s*$")
MAX_HEADING_WORDS = 12
WRAPPED_LINE = 60
"""A line this long, with the next indented right under it, is a paragraph's first line."""
INDENT_HEADING_LEVEL = 7
"""A line over an indented block heads it below the document's marked headings (a definition's
term under "1. Definitions")."""


def text_sections(text: str) -> list[tuple[int, str]]:
    """``(offset, heading path)`` of the sections of a plain-text file: from ``offset`` on (the
    line after a heading), the text sits under that path (``Part › Section``), as in a converted
    document's :class:`~rag.formats.Layout`. A heading is a Markdown one (``## Bug fixes``, or
    underlined with ``===``/``---``), an outline star line over indented text or deeper stars
    (``* Changes in release 2.1``, ``** Bug fixes``: release notes), or a short line at the
    margin, not closed by punctuation, over an indented block (a changelog entry's
    ``package (1.2-1) unstable; urgency=low``, a manual's ``OPTIONS``). The heading line itself
    sits under the headings above its own level (an empty path: none)."""
    lines = text.split("\n")
    starts = line_starts(text)
    path: list[tuple[int, str, bool]] = []
    """``(level, title, indented)``: ``indented``, a heading whose body is indented (outline
    stars, a changelog entry): a line at the margin that is no heading ends its section."""
    sections: list[tuple[int, str]] = []

    def joined() -> str:
        return HEADING_SEPARATOR.join(t for _, t, _ in path)

    fenced = False

    def next_nonblank(i: int) -> tuple[int, str] | None:
        for j in range(i + 1, min(len(lines), i + 3)):
            if lines[j].strip():
                return j, lines[j]
        return None

    table_end = -1  # the line after the table whose header heads the lines before it
    for i, line in enumerate(lines):
        if i == table_end:  # what follows a table is under the headings above it again
            path = [p for p in path if p[0] < TABLE_HEADER_LEVEL]
            sections.append((starts[i], joined()))
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced or not line.strip() or i < table_end:
            continue
        end = _table_end(lines, i)
        if end:
            # a table's header row names its columns: its rows are read under it, and it is no
            # value of its own (it sits under itself, as a heading line does)
            path = [p for p in path if p[0] < TABLE_HEADER_LEVEL]
            path.append((TABLE_HEADER_LEVEL, " ".join(line.split()), False))
            sections.append((starts[i], joined()))
            table_end = end
            continue
        heading: tuple[int, str] | None = None
        below = i + 1
        m = _ATX.match(line)
        if (
            m
            and not (i > 0 and lines[i - 1].strip())
            and not _ATX.match(lines[i + 1] if i + 1 < len(lines) else "")
        ):
            heading = (len(m.group(1)), m.group(2))
        elif (
            i + 1 < len(lines)
            and _SETEXT.match(lines[i + 1])
            and len(lines[i + 1].strip()) >= 3
            and not _NOT_A_TITLE.match(line[:1])
            and not (i > 0 and lines[i - 1].strip())  # a paragraph's last line over a rule
        ):
            heading = (1 if lines[i + 1].strip()[0] == "=" else 2, line.strip())
            below = i + 2
        elif (
            (o := _OUTLINE.match(line))
            and _titled(o.group(2))
            and i + 1 < len(lines)
            and not lines[i + 1].strip()
        ):
            nxt = next_nonblank(i)
            deeper = nxt is not None and (
                _indent(nxt[1]) >= 2
                or (n := _OUTLINE.match(nxt[1])) is not None
                and len(n.group(1)) > len(o.group(1))
            )
            if deeper:
                heading = (len(o.group(1)), o.group(2))
        elif (
            not _NOT_A_TITLE.match(line)
            and _titled(line)
            and not (i > 0 and lines[i - 1].strip())
            and (nxt := next_nonblank(i)) is not None
            and _indent(nxt[1]) >= 2
            and not (nxt[0] == i + 1 and len(line) >= WRAPPED_LINE)  # a hanging indent
        ):
            heading = (INDENT_HEADING_LEVEL, line.strip())
        if heading is None:
            if not line[:1].isspace() and not _OUTLINE.match(line) and any(p[2] for p in path):
                # text at the margin under headings whose bodies are indented: another part
                # of the file ("Major changes from 0.7 to 0.8:" after the outline's releases)
                path = [p for p in path if not p[2]]
                sections.append((starts[i], joined()))
            continue
        level, title = heading
        title = " ".join(title.split())
        path = [p for p in path if p[0] < level]
        sections.append((starts[i], joined()))
        path.append((level, title, bool(m is None and below == i + 1)))
        if below < len(starts):
            sections.append((starts[below], joined()))
    return sections


_TABLE_RULE = re.compile(r"\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$")
"""The line under a Markdown table's header row (``|---|:--:|``)."""
TABLE_HEADER_LEVEL = 8
"""A table's header row heads its rows, below every other heading."""
MIN_TABLE_ROWS = 2


def _table_end(lines: list[str], i: int) -> int:
    """When line ``i`` is the header row of a table (a Markdown one over its ``|---|`` rule; a
    first line of comma- or tab-separated column names, without digits, over records with the
    same separator), the index of the line after the table; else 0."""
    line = lines[i]
    if i + 1 < len(lines) and "|" in line and _TABLE_RULE.match(lines[i + 1]):
        j = i + 2
        while j < len(lines) and "|" in lines[j] and lines[j].strip():
            j += 1
        return j
    if re.search(r"\d", line) or (i > 0 and lines[i - 1].strip() and "\t" not in line):
        return 0
    for sep, least in (("\t", 1), (",", 2)):
        if line.count(sep) < least or (sep == "," and line.count(" ") > line.count(",")):
            continue
        j = i + 1
        while j < len(lines) and lines[j].count(sep) >= least:
            j += 1
        if j - i - 1 >= MIN_TABLE_ROWS:
            return j
    return 0


def _titled(line: str) -> bool:
    """Whether a line may title what follows: short, not closed by punctuation, and not prose
    that goes on ("is equivalent to"): a line in lower case must hold a number, as a release's
    name does ("procps (2:4.0.2-1) unstable")."""
    words = line.split()
    return (
        0 < len(words) <= MAX_HEADING_WORDS
        and not re.search(r"[.,;:!?]\s*$", line)
        and (not line.lstrip()[:1].islower() or bool(re.search(r"\d", line)))
    )


def heading_finder(text: str, layout: Layout | None = None) -> Callable[[int], str | None]:
    """The heading path a character offset of a file sits under: a converted document's
    (:meth:`Layout.heading_of`), or a plain-text file's (:func:`text_sections`)."""
    if layout is not None:
        return layout.heading_of
    sections = text_sections(text)
    offsets = [s[0] for s in sections]  # once per file, not once per sentence

    def heading_of(offset: int) -> str | None:
        i = bisect.bisect_right(offsets, offset) - 1
        return sections[i][1] or None if i >= 0 else None

    return heading_of


def split_sentences(path: str, text: str, layout: Layout | None = None) -> list[Sentence]:
    """The sentences of one file, each located by lines and characters (and by the headings it
    sits under; for a converted document, by page)."""
    starts = line_starts(text)
    heading_of = heading_finder(text, layout)
    return [
        Sentence(
            file=path,
            line_start=line_of(starts, a),
            line_end=line_of(starts, b - 1),
            char_start=a,
            char_end=b,
            text=text[a:b],
            page=layout.page_of(a) if layout else None,
            heading=heading_of(a),
        )
        for a, b in sentence_spans(text)
    ]


def chunk_id(path: str, file_hash: str, char_start: int, char_end: int) -> str:
    key = f"{path}\x00{file_hash}\x00{char_start}\x00{char_end}"
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def chunk_document(
    path: str,
    text: str,
    file_hash: str,
    chunk_size: int = 500,
    chunk_overlap: int = 1,
    layout: Layout | None = None,
) -> list[Chunk]:
    """Group the sentences of one file into chunks of about ``chunk_size`` characters."""
    sentences = split_sentences(path, text, layout)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        while j < len(sentences) and sentences[j].char_end - sentences[i].char_start <= chunk_size:
            j += 1
        group = sentences[i:j]
        a, b = group[0].char_start, group[-1].char_end
        chunks.append(
            Chunk(
                id=chunk_id(path, file_hash, a, b),
                file=path,
                line_start=group[0].line_start,
                line_end=group[-1].line_end,
                char_start=a,
                char_end=b,
                text=text[a:b],
                file_hash=file_hash,
                sentences=group,
                page=group[0].page,
                heading=group[0].heading,
            )
        )
        if j >= len(sentences):
            break
        i = max(i + 1, j - chunk_overlap)
    return chunks
