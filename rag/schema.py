"""The data that flows through the pipeline: corpus -> chunks -> evidence -> answer -> checks.

Every located object carries the way back to its source: ``file`` (relative to the corpus root,
POSIX separators), 1-based inclusive ``line_start``/``line_end`` and 0-based ``char_start``/
``char_end`` such that ``file_text[char_start:char_end]`` is exactly its text. For a PDF, web page
or Word document ``file_text`` is the text snapshot the index keeps (:mod:`rag.formats`), and
``page`` (PDF) and ``heading`` (the heading path, HTML/Word) say where in the original it is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["supported", "unsupported", "contradicted", "uncited"]
"""``contradicted``: the cited (or another retrieved) text states the opposite of the sentence."""


class Span(BaseModel):
    """A located piece of one source file."""

    file: str
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    page: int | None = Field(default=None, ge=1)
    """PDF: the 1-based page the span begins on (lines and characters are the snapshot's)."""
    heading: str | None = None
    """HTML/Word: the heading path the span sits under (``Part › Section``), when there is one."""

    @property
    def lines(self) -> str:
        """``12`` or ``12-14``."""
        if self.line_end == self.line_start:
            return str(self.line_start)
        return f"{self.line_start}-{self.line_end}"

    @property
    def location(self) -> str:
        """``file:12-14``; ``report.pdf:40-41 (p.12)`` for a PDF."""
        page = f" (p.{self.page})" if self.page is not None else ""
        return f"{self.file}:{self.lines}{page}"


class Sentence(Span):
    """One sentence of a source file, verbatim."""

    text: str


class Chunk(Span):
    """A run of whole sentences of one file: the unit that is embedded and stored."""

    id: str
    text: str
    file_hash: str
    sentences: list[Sentence]


class Evidence(Sentence):
    """A sentence shown to the model as a numbered passage ``[n]``."""

    n: int = Field(ge=1)
    score: float
    chunk_id: str
    instruction: bool = False
    """The sentence lies in a passage that addresses the assistant (see :mod:`rag.safety`): shown
    to the model as quoted material only, never support on its own."""


class Citation(Span):
    """What an answer's ``[n]`` resolves to; ``quote == file_text[char_start:char_end]``."""

    n: int = Field(ge=1)
    quote: str
    stale: bool = False
    """The quoted text is no longer in the file (changed or deleted since it was indexed): never
    shown as supported."""
    instruction: bool = False
    """The quote lies in a passage that addresses the assistant: not evidence on its own."""


class SentenceCheck(BaseModel):
    """One answer (or draft) sentence and what the checker made of it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    verdict: Verdict
    score: float = Field(ge=0.0, le=1.0)
    best_citation: int | None = None
    reason: str = ""
    contradiction: Citation | None = None
    """With ``contradicted``: the text that states the opposite, located exactly."""
    tentative: bool = False
    """Supported, but on a close call: the judge's probability is below the sure threshold
    (``RAG_SURE_THRESHOLD``), or no judge ran and the words and names merely match. Shown with
    its own mark: read the quote before relying on it."""


class ConflictSide(BaseModel):
    """One side of a disagreement: what a source says, with its citation numbers."""

    statement: str
    files: list[str]
    citations: list[int]


class Conflict(BaseModel):
    """Cited sources that disagree on the asked fact."""

    claim: str
    sides: list[ConflictSide]


class Answer(BaseModel):
    """The product of ``rag.ask``: text with ``[n]`` markers, citations, checks and timings."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    sentences: list[SentenceCheck] = Field(default_factory=list)
    faithfulness: float | None = None
    conflicts: list[Conflict] = Field(default_factory=list)
    closest: list[Citation] = Field(default_factory=list)
    rejected: list[SentenceCheck] = Field(default_factory=list)
    """On abstention: the sentences written but not kept (for inspection): those the checker did
    not find supported, and supported ones that do not give what was asked."""
    removed: list[SentenceCheck] = Field(default_factory=list)
    """Sentences taken out of the answer because the sources do not support them (or contradict
    them), each with its reason: shown apart as "removed: not supported by the sources"."""
    searched_for: str | None = None
    """The standalone question retrieval searched for, when it differs from ``question`` (a
    follow-up rewritten from the conversation)."""
    translation: str | None = None
    """The answer in the question's language, translated by the model when it wrote in another
    (the documents'): for reading only. The checks hold for ``answer``, not for this."""
    backend: str
    model: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    dropped_markers: list[str] = Field(default_factory=list)
    stale: list[int] = Field(default_factory=list)
    """Citation numbers whose quoted text is no longer in the file as it is now (re-index)."""
