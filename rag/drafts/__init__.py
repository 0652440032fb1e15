"""Checking a writer's draft: every sentence that states a fact is tested against the source lines
it cites, and a sentence that cites nothing is looked up in the corpus (``rag check``).

``parse`` reads the draft and its citations, ``check`` settles each sentence, ``render`` writes
the table and the footnoted Markdown.
"""

from __future__ import annotations

from rag.drafts.check import check_draft
from rag.drafts.parse import (
    MAX_DRAFT_BYTES,
    DraftError,
    ParsedDraft,
    ParsedSentence,
    decode_draft,
    parse_draft,
    read_draft,
)
from rag.drafts.render import DRAFT_MARKS, draft_markdown, render_draft_table
from rag.drafts.schema import VERDICT_LABELS, DraftReport, DraftSentence, DraftVerdict

__all__ = [
    "DRAFT_MARKS",
    "MAX_DRAFT_BYTES",
    "VERDICT_LABELS",
    "DraftError",
    "DraftReport",
    "DraftSentence",
    "DraftVerdict",
    "ParsedDraft",
    "ParsedSentence",
    "check_draft",
    "decode_draft",
    "draft_markdown",
    "parse_draft",
    "read_draft",
    "render_draft_table",
]
