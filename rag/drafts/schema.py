"""What a draft check produces: a verdict per claim sentence, and the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from rag.schema import Citation

DraftVerdict = Literal[
    "supported", "unsupported", "contradicted", "uncited", "bad_citation", "not_found"
]
ProgressFn = Callable[[int, int], None]


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
    conflict: Citation | None = None
    """Lines of the corpus that state otherwise (another number or date about the same thing)
    when nothing supports the sentence: shown as a conflict."""
    tentative: bool = False
    """Supported on a close call (:attr:`rag.schema.SentenceCheck.tentative`): marked ``≈``,
    with a note to read the quote."""

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
    tentative: int = 0
    """Supported sentences marked tentative (a close call: read the quote)."""
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
        extra = [f"{self.proposed} with a proposed source"] if self.proposed else []
        extra += [f"{self.tentative} tentative"] if self.tentative else []
        if extra:
            head += f" ({', '.join(extra)})"
        head += f", {self.flagged} flagged"
        parts = [
            f"{self.counts[v]} {VERDICT_LABELS[v]}"
            for v in ("contradicted", "unsupported", "bad_citation", "not_found", "uncited")
            if self.counts.get(v)
        ]
        return head + (": " + ", ".join(parts) if parts else "")


VERDICT_LABELS = {
    "supported": "supported",
    "unsupported": "unsupported",
    "contradicted": "contradicted",
    "uncited": "uncited",
    "bad_citation": "bad citation",
    "not_found": "not found",
}

DRAFT_MARKS = {
    "supported": "✓",
    "tentative": "≈",
    "proposed": "+",
    "unsupported": "⚠",
    "contradicted": "≠",
    "bad_citation": "✗",
    "not_found": "∅",
    "uncited": "?",
}
"""The mark of each verdict in the report and in a footnoted draft (``tentative``: supported on a
close call; ``proposed``: supported by a source the checker found for an uncited sentence)."""
