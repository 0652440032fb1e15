"""Hybrid retrieval: dense search in Chroma plus BM25, fused by reciprocal rank, then the best
sentences of the best chunks become the numbered evidence the model reads.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import speaker_turns, statements, turn_start
from rag.config import Settings
from rag.documents import DocumentNames, frequent_names, label, name_tokens
from rag.embeddings import Embedder, get_embedder
from rag.errors import IndexMissingError, StoreError
from rag.index import store
from rag.index.reader import open_generation
from rag.lexical import LexicalIndex, tokenize
from rag.questions import (
    LAST,
    asked_position,
    asked_slot,
    at_place,
    carries,
    item_numbers,
    language,
    position_words,
    said_of,
)
from rag.schema import Chunk, Evidence, Sentence

RRF_K = 60
"""Reciprocal-rank-fusion constant (Cormack et al. 2009)."""

BOILERPLATE = re.compile(
    r"^(leave a reply|want to join the discussion|your email address will not be published"
    r"|recent posts|tags?:|viral phrases|share this|related posts|comments?$|required fields)",
    re.IGNORECASE,
)
_CONSEQUENCE = (
    r"thus|hence|therefore|consequently|otherwise|in (?:that|this|which) case|"
    r"note that (?:this|it|these|those|they|such)"
)
"""What opens a consequence or a caveat of what was just said ("Thus, ...", "Note that this
is ...")."""
_CONTEXT_OPENERS = re.compile(
    r"^(he|she|it|they|his|her|its|their|this|that|these|those|the company|the team|but|yet|"
    rf"however|meanwhile|{_CONSEQUENCE})\b",
    re.IGNORECASE,
)
_QUALIFIERS = re.compile(rf"^(this|these|such|{_CONSEQUENCE})\b", re.IGNORECASE)
"""What opens a sentence that qualifies the one before it ("This is incompatible with ...",
"Such description must be placed in ..."): the sentence it qualifies is read with it too."""
QUALIFIED_CHARS = 700
"""At most this many characters of a sentence and the one that leans on it, read as one."""
_MIN_WORDS = 4
QUESTION_PENALTY = 0.15
"""Rhetorical questions and question titles rarely state a fact."""
SLOT_BONUS = 0.08
"""Added to a sentence that carries the kind of fact asked for (a date for "when", a number
for "how many", a name for "who"; :mod:`rag.questions`), said of what the question asks about
(:func:`rag.questions.said_of`)."""
ROW_BONUS = 0.1
"""Added to a table row or record with a cell the question names in full (:func:`names_row`):
the row of the asked thing, above rows that share only a column's words."""
ITEM_BONUS = 0.1
"""Added to a numbered list item (or a list holding it) whose number is the place the question
asks about ("3. Open the vent" for "What is the third step?";
:func:`rag.questions.asked_position`)."""
MAX_EMBEDDED_CANDIDATES = 32
"""Candidate sentences embedded per query (the rest are ranked out by words and chunk rank)."""
FILE_REPEAT_PENALTY = 0.03
"""Per sentence already taken from the same file, when picking evidence."""
MIN_PASSAGES = 3
"""Passages always given, whatever their length (``evidence_tokens`` limits the rest)."""
NAMED_RRF = 1.0 / (RRF_K + 1)
"""Added (times how clearly it is named) to the fused score of a chunk of a document the
question names (:mod:`rag.documents`): as much as a first place in one of the two rankings."""
NAMED_BONUS = 0.1
"""Added (times how clearly it is named) to a sentence of a document the question names."""
NAMED_DEPTH = 4
"""With a named document, each ranking is read this many times deeper, so that the named
document's best chunks are among those fused."""
SEARCH_FIRSTS = 2
"""The first chunks of each search (BM25, dense) that are always retrieved, whatever their rank
in the other: the best match and its twin (the same passage in another version of a document,
or the rest of it in the next chunk)."""
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass
class Retrieved:
    """A chunk found for a query, with its fused score and the ranks that made it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass
class IndexHandle:
    """A loaded generation of the index: chunks, lexical index and the Chroma collection."""

    settings: Settings
    generation: str
    gen_dir: Path
    manifest: store.Manifest
    chunks: store.ChunkTable
    lexical: LexicalIndex
    collection: Any
    lease: store.Lease | None = None
    """Held while the handle is in use: no build removes this generation meanwhile."""
    by_id: Mapping[str, Chunk] = field(default_factory=dict)
    _names: DocumentNames | None = None
    _language: str | None = None
    _frequent_names: list[str] | None = None
    _sentence_cache: dict[tuple[str, int, int], np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = self.chunks.by_id

    @property
    def embedder(self) -> Embedder:
        return get_embedder(self.settings.embed_model, self.settings.embed_batch_size)

    def dense(self, query_embedding: list[float], k: int) -> list[tuple[str, float]]:
        """``(chunk id, similarity)`` of the ``k`` nearest chunks (:func:`store.nearest`)."""
        return store.nearest(self.collection, self.gen_dir, query_embedding, min(k, len(self.chunks)))  # fmt: skip

    def document_names(self) -> DocumentNames:
        """The names of this generation's documents (:mod:`rag.documents`), read once."""
        if self._names is None:
            names: dict[str, set[str]] = {}
            labels: dict[str, str] = {}
            file_of: dict[int, str] = {}
            for file, entry in self.manifest.files.items():
                first = self.by_id.get(entry.chunks[0]) if entry.chunks else None
                text = first.text if first else ""
                names[file] = name_tokens(text, file)
                labels[file] = label(text, file)
                for cid in entry.chunks:
                    pos = self.chunks.position(cid)
                    if pos is not None:
                        file_of[pos] = file
            in_texts = {
                t: len({file_of.get(int(p)) for p in self.lexical.holding(t)} - {None})
                for t in set().union(*names.values())
            }
            self._names = DocumentNames(names, labels, in_texts)
        return self._names

    def language(self) -> str:
        """The documents' main language (:func:`rag.questions.language`): the language of most
        of the text, judged over up to :data:`LANGUAGE_SAMPLE` chunks spread over the index,
        read once."""
        if self._language is None:
            n = len(self.chunks)
            step = max(1, n // LANGUAGE_SAMPLE)
            weight: dict[str, int] = {}
            for i in range(0, n, step):
                text = self.chunks[i].text[:LANGUAGE_CHARS]
                lang = language(text)
                weight[lang] = weight.get(lang, 0) + len(text)
            self._language = max(weight, key=lambda k: weight[k]) if weight else "en"
        return self._language

    def frequent_names(self) -> list[str]:
        """The names the documents use most (:func:`rag.documents.frequent_names`), over up to
        :data:`NAMES_SAMPLE` chunks spread over the index, read once."""
        if self._frequent_names is None:
            step = max(1, len(self.chunks) // NAMES_SAMPLE)
            texts = (self.chunks[i].text for i in range(0, len(self.chunks), step))
            self._frequent_names = frequent_names(texts)
        return self._frequent_names

    def sentence_vectors(self, sentences: list[Sentence]) -> np.ndarray:
        """Embeddings of sentences (cached per handle)."""
        keys = [(s.file, s.char_start, s.char_end) for s in sentences]
        missing = [s for s, k in zip(sentences, keys, strict=True) if k not in self._sentence_cache]
        if missing:
            vecs = self.embedder.encode([s.text for s in missing])
            for s, v in zip(missing, vecs, strict=True):
                self._sentence_cache[(s.file, s.char_start, s.char_end)] = np.asarray(v)
        return np.stack([self._sentence_cache[k] for k in keys]) if keys else np.zeros((0, 1))


LANGUAGE_SAMPLE = 200
"""Chunks read to tell the documents' main language ..."""
LANGUAGE_CHARS = 400
"""... and the characters read of each."""
NAMES_SAMPLE = 2000
"""Chunks read for the documents' frequent names."""

_handles: dict[tuple[str, str, str | None], IndexHandle] = {}
_handles_lock = threading.Lock()


def close_indexes() -> None:
    """Drop every loaded generation of this process and release its lease (the next question
    opens the live one again)."""
    with _handles_lock:
        for handle in _handles.values():
            if handle.lease is not None:
                handle.lease.release()
        _handles.clear()


OPEN_TRIES = 5
"""Times a reader reads ``CURRENT`` again when the generation it named went away meanwhile."""


def open_index(settings: Settings) -> IndexHandle:
    """The live generation of the index, loaded once per process (and again after a rebuild).

    The handle pins its generation: it holds a lease on it (:class:`rag.index.store.Lease`), so a
    build that swaps in a new one never removes this one while a question uses it; each handle
    has its own Chroma client (one per generation folder). Files that do not match the
    manifest's checksums are a one-line :class:`StoreError`."""
    index_dir = settings.index_dir
    for _ in range(OPEN_TRIES):
        generation = store.current_generation(index_dir)
        if generation is None:
            raise IndexMissingError(f"no index in {index_dir}: run `rag index` first")
        key = (str(index_dir), generation, settings.chroma_host)
        with _handles_lock:
            if key in _handles:
                return _handles[key]
            gen_dir = index_dir / generation
            lease = store.take_lease(gen_dir)
            if lease is None:  # removed since CURRENT was read: read it again
                continue
            try:
                handle = _load(settings, generation, gen_dir, lease)
            except BaseException:
                lease.release()
                raise
            for old in [k for k in _handles if k[0] == key[0]]:
                stale = _handles.pop(old)
                if stale.lease is not None:
                    stale.lease.release()
            _handles[key] = handle
            return handle
    raise StoreError(f"the index in {index_dir} keeps changing: try again")


def _load(settings: Settings, generation: str, gen_dir: Path, lease: store.Lease) -> IndexHandle:
    opened = open_generation(settings, gen_dir)  # checked, chunks and BM25 mapped
    handle = IndexHandle(
        settings=settings,
        generation=generation,
        gen_dir=gen_dir,
        manifest=opened.manifest,
        chunks=opened.chunks,
        lexical=opened.lexical,
        collection=opened.collection,
        lease=lease,
    )
    manifest = opened.manifest
    store.check_model(
        manifest.embed_model, manifest.embed_dim, settings.embed_model, handle.embedder.dim
    )
    return handle


def retrieve_chunks(
    handle: IndexHandle,
    query: str,
    k: int,
    query_embedding: list[float] | None = None,
    named: Mapping[str, float] | None = None,
) -> list[Retrieved]:
    """Dense and BM25 results fused by reciprocal rank; the best ``k`` chunks, always with the
    first :data:`SEARCH_FIRSTS` of each search. ``named``: the documents the question names, whose chunks are lifted
    (:data:`NAMED_RRF`)."""
    if query_embedding is None:
        query_embedding = handle.embedder.embed_query(query)
    depth = max(k * 3, 20) * (NAMED_DEPTH if named else 1)
    fused: dict[str, Retrieved] = {}
    for rank, (cid, _sim) in enumerate(handle.dense(query_embedding, depth), start=1):
        if cid in handle.by_id:
            r = fused.setdefault(cid, Retrieved(handle.by_id[cid], 0.0))
            r.dense_rank = rank
            r.score += 1.0 / (RRF_K + rank)
    for rank, (pos, _score) in enumerate(handle.lexical.search(query, depth), start=1):
        chunk = handle.chunks[pos]
        r = fused.setdefault(chunk.id, Retrieved(chunk, 0.0))
        r.lexical_rank = rank
        r.score += 1.0 / (RRF_K + rank)
    if named:
        for r in fused.values():
            r.score += NAMED_RRF * named.get(r.chunk.file, 0.0)
    ranked = sorted(fused.values(), key=lambda r: -r.score)
    # the first of either search are always kept: a chunk that holds the question's words best
    # (or is closest in meaning) but ranks low in the other search is not crowded out by chunks
    # middling in both
    firsts = [
        r
        for r in ranked[k:]
        if min(r.lexical_rank or k + 1, r.dense_rank or k + 1) <= SEARCH_FIRSTS
    ]
    return ranked[: max(k - len(firsts), 0)] + firsts[:k]


_MARKUP = re.compile(
    r"<[^<>]*>"  # HTML tags
    r"|!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])"  # Markdown images, badges
    r"|^\s*\[[^\]]+\]:\s*\S.*$"  # Markdown link definitions ("[zlib]: https://...")
    r"|\[[^\]]*\]\(#[^)]*\)"  # links within the page: a table of contents' entries
    r"|\w+://\S+",  # bare addresses
    re.MULTILINE,
)
_HEADING_LINE = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
"""A Markdown heading ("## Benchmarks")."""
_RULE_LINE = re.compile(r"([=\-*~^#+])\1{2,}")
"""A line of one repeated mark ("-----"), as underlines a heading in plain text."""
_UNDERLINED = re.compile(r"\n[ \t]*" + _RULE_LINE.pattern + r"[ \t]*$")
"""A heading underlined on the next line ("Usage\n=====", reStructuredText and Markdown)."""
_MAN_TITLE = re.compile(r"[\w.:+-]+\(\d\w*\)")
"""A manual page's name and section, "GZIP(1)", as its running header and footer carry it."""


def is_markup(text: str) -> bool:
    """A line that is only markup: a logo ``<p><img ...></p>``, badges, link definitions, a
    table's ``| --- |`` rule, a table of contents (links to the page's own headings); nothing is
    left to read once tags, images, addresses and such links go."""
    return not re.search(r"\w", _MARKUP.sub(" ", text))


def is_heading(text: str, heading: str | None = None) -> bool:
    """A heading line: Markdown ``#`` or underlined, or the whole text of the section heading a
    converted document puts the sentence under (``heading``: its path, ``Part › Section``)."""
    if _HEADING_LINE.match(text) or _UNDERLINED.search(text.rstrip()):
        return True
    if not heading:
        return False
    return " ".join(text.split()) == " ".join(heading.split("›")[-1].split())


def is_underlined(chunk: Chunk, i: int) -> bool:
    """Whether sentence ``i`` of ``chunk`` is a heading underlined on the next line, the
    underline split off as a sentence of its own ("Termination" then "-----------")."""
    sentences = chunk.sentences
    if i + 1 >= len(sentences) or "\n" in sentences[i].text.strip():
        return False
    nxt = sentences[i + 1]
    between = chunk.text[
        sentences[i].char_end - chunk.char_start : nxt.char_start - chunk.char_start
    ]
    return between.count("\n") == 1 and _RULE_LINE.fullmatch(nxt.text.strip()) is not None


def is_running_head(text: str) -> bool:
    """A manual page's header or footer: one line, spread out in columns, opening or closing
    with the page's name and section ("GZIP(1)   General Commands Manual   GZIP(1)")."""
    line = text.strip()
    if "\n" in line or not re.search(r"\S\s{5,}\S", line):
        return False
    words = line.split()
    return bool(_MAN_TITLE.fullmatch(words[0]) or _MAN_TITLE.fullmatch(words[-1]))


_CELLS = re.compile(r"\s*\|\s*|\t|(?<=\S)[,;](?=\S)")
"""What separates a table row's or a record's cells: ``|``, a tab, a comma or semicolon with no
space after it (as in a CSV file, not in prose)."""
_NAMED_OR_COUNTED = re.compile(r"\d|\b[A-Z][^\W\d_]+")
_OPTION_LINE = re.compile(r"-{1,2}[^\W_][\w-]*(?:=\S+)?(?:,?\s+-{1,2}[^\W_][\w-]*(?:=\S+)?)*,?")
"""A command's option as a manual lists it, on a line of its own ("-k --keep")."""


def cells(text: str) -> list[str]:
    """The non-empty cells of a table row or a record ("Lab manager | Tomás Ortega | 4803",
    "3,Mei Chen,harbour master,2015"); empty for a line that is neither."""
    line = text.strip()
    if "\n" in line:
        return []
    parts = [p.strip() for p in _CELLS.split(line)]
    found = [p for p in parts if p]
    return found if len(found) >= 2 else []


def is_record(text: str) -> bool:
    """A short line that still says something: a table row or record whose cells hold a number
    or a name, or a command option line (the description that follows is read with it)."""
    if _OPTION_LINE.fullmatch(text.strip()):
        return True
    row = cells(text)
    return bool(row) and any(_NAMED_OR_COUNTED.search(c) for c in row)


def is_boilerplate(text: str, heading: str | None = None) -> bool:
    """Page furniture that is never evidence: comment prompts, tag lists, short list items,
    heading lines, a manual page's running header and footer, lines of markup only. A table
    row, a record or an option line is evidence however short (:func:`is_record`)."""
    stripped = text.strip().lstrip("-*•# ").strip()
    if BOILERPLATE.match(stripped):
        return True
    if is_markup(text) or is_heading(text, heading) or is_running_head(text):
        return True
    words = stripped.split()
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in stripped)
    return not has_cjk and len(words) < _MIN_WORDS and not is_record(text)


def lexical_coverage(lexical: LexicalIndex, query_tokens: list[str], text: str) -> float:
    """Share of the query's IDF weight whose tokens appear in ``text`` (0..1)."""
    if not query_tokens:
        return 0.0
    have = set(tokenize(text))
    weights = {t: lexical.idf(t) for t in set(query_tokens)}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in have) / total if total else 0.0


def _joined(chunk: Chunk, first: Sentence, last: Sentence) -> Sentence:
    """The text of ``chunk`` from ``first`` to ``last`` as one sentence."""
    a, b = first.char_start - chunk.char_start, last.char_end - chunk.char_start
    return Sentence(
        file=first.file,
        line_start=first.line_start,
        line_end=last.line_end,
        char_start=first.char_start,
        char_end=last.char_end,
        text=chunk.text[a:b],
        page=first.page,
        heading=first.heading,
    )


INTRODUCED_CHARS = 600
"""At most this many characters of a sentence ending in ":" and the list items or code lines
it introduces, read as one piece of evidence."""
_ITEM = re.compile(r"[-*•]\s|\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)]\s")


def _introduced(chunk: Chunk, i: int) -> int:
    """The index of the last list item or indented code line that sentence ``i`` introduces
    ("The only lines that can appear before it are:" / "the following code prints 42:"), or
    ``i`` itself. Items stand at the start of their line, indented or behind a bullet or a
    number."""
    sentences = chunk.sentences
    text = sentences[i].text.rstrip()
    if not text.endswith(":") or len(text.split()) < _MIN_WORDS:
        return i  # not an introduction, or a label ("Definitions:") whose items stand alone
    last = i
    for j in range(i + 1, len(sentences)):
        nxt = sentences[j]
        if nxt.char_end - sentences[i].char_start > INTRODUCED_CHARS:
            break
        at = nxt.char_start - chunk.char_start
        line_start = chunk.text.rfind("\n", 0, at) + 1
        lead = chunk.text[line_start:at]
        if lead.strip() or not (lead or _ITEM.match(nxt.text)):
            break  # not at the start of its own line, or a plain paragraph
        last = j
    return last


def _introducer(chunk: Chunk, i: int) -> int:
    """The sentence that introduces sentence ``i`` as one of its list items or code lines, or
    ``i`` itself."""
    base = i
    for h in range(i - 1, max(-1, i - 12), -1):  # the outermost: "code follows:" / "def f():"
        if chunk.sentences[h].text.rstrip().endswith(":") and _introduced(chunk, h) >= i:
            base = h
    return base


def is_option(text: str) -> bool:
    """A command option on a line of its own, as a manual lists it ("-k --keep")."""
    return _OPTION_LINE.fullmatch(text.strip()) is not None


_OPTION_LEAD = re.compile(rf"\s*({_OPTION_LINE.pattern})(?:[ ]{{2,}}|\t)\S")


def option_of(text: str) -> str | None:
    """The option a manual's entry describes: its first line when that is an option line
    (:func:`is_option`), or the option before a wide gap that opens it ("-t     Test the
    integrity ..."); None for other text."""
    first = text.strip().split("\n", 1)[0]
    if is_option(first):
        return first
    m = _OPTION_LEAD.match(first)
    return m.group(1) if m else None


def _column(chunk: Chunk, sentence: Sentence) -> int | None:
    """How far in its line a sentence of ``chunk`` starts, or None when it goes on a line after
    another sentence (or its line starts before the chunk)."""
    at = sentence.char_start - chunk.char_start
    line_start = chunk.text.rfind("\n", 0, at) + 1
    if line_start == 0 or chunk.text[line_start:at].strip():
        return None
    return at - line_start


def _description_end(chunk: Chunk, i: int) -> int:
    """The last sentence of the description of option line ``i``: the sentences after it that
    start on a line at least as indented as the description's first line, or go on a line of
    the description ("Keep the input files. They are not deleted."), up to the next option line
    and within :data:`INTRODUCED_CHARS` (only the first, when the description is not indented
    under the option); ``i`` when no sentence follows."""
    sentences = chunk.sentences
    if i + 1 >= len(sentences):
        return i
    indent = _column(chunk, sentences[i + 1])
    if indent is None or is_option(sentences[i + 1].text):
        return i
    own = _column(chunk, sentences[i])
    if own is not None and indent <= own:
        return i + 1  # not indented under the option: its first sentence only
    last = i + 1
    for j in range(i + 2, len(sentences)):
        nxt = sentences[j]
        if nxt.char_end - sentences[i].char_start > INTRODUCED_CHARS or is_option(nxt.text):
            break
        column = _column(chunk, nxt)
        if column is not None and column < indent:
            break
        last = j
    return last


def _described(chunk: Chunk, i: int) -> tuple[int, int]:
    """An option line and the sentences that describe it, read as one: for sentence ``i``,
    either, the indices of the option line and the last of its description
    (:func:`_description_end`); else ``(i, i)``."""
    if is_option(chunk.sentences[i].text):
        return i, _description_end(chunk, i)
    for h in range(i - 1, max(-1, i - 12), -1):
        if is_option(chunk.sentences[h].text):
            end = _description_end(chunk, h)
            return (h, end) if end >= i else (i, i)
    return i, i


def _turn_opener(chunk: Chunk, s: Sentence, end: int) -> Sentence:
    """In a conversation, the sentence of ``chunk`` that opens the speaker's turn that ``s``
    goes on (its label: "DEV: We can't. I'd propose ..."), when the text from it to ``end`` is
    within :data:`QUALIFIED_CHARS`: a sentence quoted without its speaker does not say who
    said it. ``s`` itself otherwise."""
    opened = turn_start(speaker_turns(chunk.text, turns=1), s.char_start - chunk.char_start)
    if opened is None or end - (chunk.char_start + opened) > QUALIFIED_CHARS:
        return s
    at = chunk.char_start + opened
    return next((o for o in chunk.sentences if o.char_start <= at < o.char_end), s)


def _with_context(chunk: Chunk, i: int) -> Sentence:
    """The sentence, joined to the one before when it leans on it ("He ...", "This ..."), and to
    the one after when that one qualifies it ("This is incompatible with ...", "Thus, ...",
    :data:`_QUALIFIERS`); a sentence that introduces a list or code lines, with them, and such
    an item, with its introduction and the other items (:func:`_introduced`); an option line
    with the sentence that describes it (:func:`_described`)."""
    sentences = chunk.sentences
    s = sentences[i]
    start, end = _described(chunk, i)
    if (start, end) != (i, i):
        return _joined(chunk, sentences[start], sentences[end])
    base = _introducer(chunk, i)
    first, last = sentences[base], sentences[_introduced(chunk, base)]
    if base > 0 and _CONTEXT_OPENERS.match(first.text):
        prev = sentences[base - 1]
        if (
            not is_boilerplate(prev.text, prev.heading)
            and first.char_end - prev.char_start <= QUALIFIED_CHARS
        ):
            first = prev
    first = _turn_opener(chunk, first, last.char_end)
    after = _introduced(chunk, base) + 1
    if after < len(sentences) and _QUALIFIERS.match(sentences[after].text):
        nxt = sentences[after]
        if nxt.char_end - first.char_start <= QUALIFIED_CHARS:
            last = nxt
    last = _answered(chunk, first, last)
    return s if first is s and last is s else _joined(chunk, first, last)


def _answered(chunk: Chunk, first: Sentence, last: Sentence) -> Sentence:
    """A question standing on its own lines (an FAQ's "Q: Do you ship abroad?": the text read
    from ``first`` to ``last`` starts a line and ends with the question) read on to the first
    sentence of its answer on the lines after it ("A: No."), within :data:`QUALIFIED_CHARS`: a
    question alone states nothing. ``last`` otherwise."""
    sentences = chunk.sentences
    j = sentences.index(last) + 1
    if statements(last.text).strip() or _column(chunk, first) is None:
        return last
    while j < len(sentences) and sentences[j].char_end - first.char_start <= QUALIFIED_CHARS:
        nxt = sentences[j]
        between = chunk.text[last.char_end - chunk.char_start : nxt.char_start - chunk.char_start]
        if "\n" not in between and j == sentences.index(last) + 1:
            return last  # the question goes on in its paragraph: no FAQ's
        if statements(nxt.text).strip():
            return nxt
        j += 1
    return last


def select_evidence(
    handle: IndexHandle,
    query: str,
    retrieved: list[Retrieved],
    k: int,
    query_embedding: list[float] | None = None,
    named: Mapping[str, float] | None = None,
) -> list[Evidence]:
    """The ``k`` sentences of the retrieved chunks that best answer ``query``, numbered from 1;
    those of a document the question names (``named``) lifted by :data:`NAMED_BONUS`."""
    named = named or {}
    q_tokens = tokenize(query)
    if named:
        # the words that name the document say where to look, not what to find: a sentence
        # that only repeats the document's name ("Version 2.0, January 2004") matches none
        naming = set().union(*(handle.document_names().names.get(f, set()) for f in named))
        q_tokens = [t for t in q_tokens if t not in naming] or q_tokens
    if query_embedding is None:
        query_embedding = handle.embedder.embed_query(query)
    q = np.asarray(query_embedding)
    seen: dict[tuple[str, int], int] = {}
    candidates: list[tuple[Sentence, Chunk, float]] = []
    for rank, r in enumerate(retrieved):
        sentences = r.chunk.sentences
        for i, s in enumerate(sentences):
            if is_boilerplate(s.text, s.heading) or is_underlined(r.chunk, i):
                continue
            if i == 0 and _is_title(handle, r.chunk):
                continue  # the document's title names it, it states nothing
            read = _with_context(r.chunk, i)
            at = seen.get((s.file, s.char_start))
            if at is not None:
                # a sentence two chunks share is read where more of its context is: an option
                # line at the end of one chunk has its description in the next, and a later
                # chunk may hold the sentence that qualifies this one
                old, _, prior = candidates[at]
                if read.char_start <= old.char_start and read.char_end > old.char_end:
                    candidates[at] = (read, r.chunk, prior)
                continue
            seen[(s.file, s.char_start)] = len(candidates)
            prior = 0.05 * (1.0 - rank / max(len(retrieved), 1))
            candidates.append((read, r.chunk, prior))
    if not candidates:
        return []
    # a sentence is read under its headings ("Approved by Dr. Helena Varga" under "Cold Room
    # Shutdown Procedure"): what they name counts for its words, though they are never evidence
    # and a numbered item under the place it has ("3. Open the vent" is the "third")
    position = asked_position(query)
    # only "the last step" reads an item as the last: other questions match words as before
    ends = [position == LAST and ends_list(handle, c[1], c[0]) for c in candidates]
    lexical = [
        lexical_coverage(handle.lexical, q_tokens, _read_as(c[0], last))
        for c, last in zip(candidates, ends, strict=True)
    ]
    if len(candidates) > MAX_EMBEDDED_CANDIDATES:
        # embedding sentences is most of the cost: embed only the likeliest ones (word overlap,
        # then the rank of their chunk)
        order = sorted(range(len(candidates)), key=lambda i: -(lexical[i] + 4 * candidates[i][2]))[
            :MAX_EMBEDDED_CANDIDATES
        ]
        keep = sorted(order)
        candidates = [candidates[i] for i in keep]
        lexical = [lexical[i] for i in keep]
        ends = [ends[i] for i in keep]
    vecs = handle.sentence_vectors([c[0] for c in candidates])
    dense = vecs @ q
    slot = asked_slot(query)
    scored = []
    for (sent, chunk, prior), sim, lex, last in zip(candidates, dense, lexical, ends, strict=True):
        question_penalty = QUESTION_PENALTY if sent.text.rstrip().endswith(("?", "？")) else 0.0
        # a value of the asked kind counts when it is said of what is asked ("joined the
        # project in April 2023" for "when did she start on the project"; not "born in 1993")
        bound = slot is not None and carries(slot, sent.text) and said_of(query, sent.text)
        fits = SLOT_BONUS if bound else 0.0
        fits += NAMED_BONUS * named.get(sent.file, 0.0)
        fits += ROW_BONUS if names_row(query, sent.text) else 0.0
        fits += ITEM_BONUS if position is not None and at_place(position, sent.text, last) else 0.0
        scored.append((0.6 * float(sim) + 0.4 * lex + prior + fits - question_penalty, sent, chunk))
    return _diverse_top(scored, k)


OPTION_WORDS = "option flag switch"
"""What a question calls a command's option ("What does the -k option do?"): words an option
line is read with, as its section heading would say ("OPTIONS")."""


def _read_as(sentence: Sentence, last: bool = False) -> str:
    """A sentence's text as its words are matched with a question's: under its headings, a
    numbered list item with the place it has (:func:`rag.questions.position_words`; ``last``:
    it ends its list), and an option line (with its description) as an option
    (:data:`OPTION_WORDS`)."""
    text = sentence.text
    option = OPTION_WORDS if option_of(text) is not None else ""
    return f"{sentence.heading or ''}\n{position_words(text, last)} {option}\n{text}"


def ends_list(handle: IndexHandle, chunk: Chunk, sentence: Sentence) -> bool:
    """Whether ``sentence`` holds the last item of a numbered list: the next item of its chunk
    is not numbered one more, and something follows it there (or its chunk is the document's
    last), so the list does not go on in the next chunk."""
    numbers = item_numbers(sentence.text)
    if not numbers:
        return False
    after = chunk.text[max(sentence.char_end - chunk.char_start, 0) :]
    following = item_numbers(after)
    if following:
        return following[0] != numbers[-1] + 1
    entry = handle.manifest.files.get(chunk.file)
    return bool(after.strip()) or (entry is not None and entry.chunks[-1:] == [chunk.id])


TITLE_MAX_WORDS = 16


def _is_title(handle: IndexHandle, chunk: Chunk) -> bool:
    """Whether the first sentence of ``chunk`` is its document's title line: the document's
    first sentence, on one line, short and without a sentence's end ("Minutes of the Harbour
    Trust Board Meeting"); a document that opens with a sentence keeps it."""
    entry = handle.manifest.files.get(chunk.file)
    if entry is None or not entry.chunks or entry.chunks[0] != chunk.id or not chunk.sentences:
        return False
    text = chunk.sentences[0].text.strip()
    return (
        "\n" not in text
        and len(text.split()) <= TITLE_MAX_WORDS
        and not text.endswith((".", "!", "?", "…", "。", "！", "？", ":", ";"))
    )


_TERM = re.compile(r"-*[^\W_][\w.+=/-]*")


def _terms(text: str) -> set[str]:
    """Lower-case words of a cell or a question, numbers and options as written ("1.5.1",
    "-1", "--fast=1"), a final "s" and full stop dropped."""
    out = set()
    for t in _TERM.findall(text.lower()):
        t = t.rstrip(".")
        out.add(t[:-1] if len(t) > 3 and t.endswith("s") and t[:-1].isalpha() else t)
    return out


def names_row(question: str, text: str) -> bool:
    """Whether ``text`` is a table row or record with a cell the question names in full ("Lab
    manager" for "Who is the lab manager?", "zstd 1.5.1 -1" but not "zstd 1.5.1 --fast=1" for
    "What ratio does zstd 1.5.1 -1 achieve?"): the row about what is asked; or an option line
    (with its description) whose option the question names ("-k" in "What does -k do?")."""
    asked = _terms(question)
    option = option_of(text)
    if option is not None:
        return bool(_terms(option) & asked)
    row = cells(text)
    if not row:
        return False
    for cell in row:
        words = _terms(cell)
        if words and any(ch.isalpha() for ch in cell) and words <= asked:
            return True
    return False


def _diverse_top(scored: list[tuple[float, Sentence, Chunk]], k: int) -> list[Evidence]:
    """Greedy pick of the best sentences, without overlaps, nudged towards several files
    (so that where sources disagree, each side is in the evidence)."""
    picked: list[tuple[float, Sentence, Chunk]] = []
    remaining = list(scored)
    while remaining and len(picked) < k:
        per_file: dict[str, int] = {}
        for p in picked:
            per_file[p[1].file] = per_file.get(p[1].file, 0) + 1
        best_i, best_val = -1, -1e9
        for i, (score, s, _chunk) in enumerate(remaining):
            overlaps = any(
                p[1].file == s.file
                and p[1].char_start < s.char_end
                and s.char_start < p[1].char_end
                for p in picked
            )
            val = score - FILE_REPEAT_PENALTY * per_file.get(s.file, 0)
            if not overlaps and val > best_val:
                best_i, best_val = i, val
        if best_i < 0:
            break
        picked.append(remaining.pop(best_i))
    return [
        Evidence(**s.model_dump(), n=i, score=round(score, 4), chunk_id=chunk.id)
        for i, (score, s, chunk) in enumerate(picked, start=1)
    ]


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate of a text's model tokens: about four characters per token in
    Latin script, one per character elsewhere (CJK)."""
    wide = len(_NON_ASCII.findall(text))
    return (len(text) - wide) // 4 + wide + 1


def within_budget(evidence: list[Evidence], tokens: int) -> list[Evidence]:
    """The best passages that fit about ``tokens`` tokens as the model reads them (on one
    line): the first :data:`MIN_PASSAGES` always, then each further one, in rank order, that
    still fits; renumbered from 1. ``tokens`` 0: all of them."""
    if tokens <= 0 or len(evidence) <= MIN_PASSAGES:
        return evidence
    kept: list[Evidence] = []
    total = 0
    for e in evidence:
        cost = approx_tokens(" ".join(e.text.split()))
        if len(kept) < MIN_PASSAGES or total + cost <= tokens:
            kept.append(e)
            total += cost
    return [e if e.n == i else e.model_copy(update={"n": i}) for i, e in enumerate(kept, 1)]


@dataclass
class RetrievalResult:
    evidence: list[Evidence]
    chunks: list[Retrieved]
    timings_ms: dict[str, float]
    named: dict[str, float] = field(default_factory=dict)
    """The documents the question names (:meth:`DocumentNames.named`)."""
    labels: dict[str, str] = field(default_factory=dict)
    """When it names some: every evidence file's :func:`rag.documents.label`, for the model to
    tell the documents apart."""


def documents_language(settings: Settings) -> str:
    """The main language of the live index's documents (:meth:`IndexHandle.language`)."""
    return open_index(settings).language()


def documents_names(settings: Settings) -> list[str]:
    """The names the live index's documents use most (:meth:`IndexHandle.frequent_names`)."""
    return open_index(settings).frequent_names()


def retrieve(
    settings: Settings, query: str, k: int | None = None, meaning: str | None = None
) -> RetrievalResult:
    """Chunks and evidence sentences for ``query`` from the live index. ``meaning``: the text
    whose embedding is searched, when not the whole query (a question's translation: the
    words of both languages are matched, but an English-only embedding model reads only one)."""
    handle = open_index(settings)
    t0 = time.perf_counter()
    q = handle.embedder.embed_query(meaning or query)
    named = handle.document_names().named(query)
    chunks = retrieve_chunks(handle, query, settings.top_k, q, named)
    t1 = time.perf_counter()
    evidence = within_budget(
        select_evidence(handle, query, chunks, k or settings.evidence_k, q, named),
        settings.evidence_tokens,
    )
    t2 = time.perf_counter()
    labels = handle.document_names().labels if named else {}
    return RetrievalResult(
        evidence,
        chunks,
        {"retrieve": (t1 - t0) * 1000, "evidence": (t2 - t1) * 1000},
        named,
        {e.file: labels[e.file] for e in evidence if e.file in labels},
    )
