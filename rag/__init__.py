"""rag: local question answering over a folder of documents, every sentence cited to its lines.

The public API, imported lazily (``import rag`` loads no model and changes nothing in the host
process)::

    from rag import Settings, build_index, ask, check_draft

    settings = Settings(corpus_dir="my-docs").resolved()
    build_index(settings)
    answer = ask("Who signed the agreement?", settings)
    for c in answer.citations:
        print(c.n, c.file, c.line_start, c.quote)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # settings
    "Settings": "rag.config",
    "get_settings": "rag.config",
    # data
    "Answer": "rag.schema",
    "Chunk": "rag.schema",
    "Citation": "rag.schema",
    "Conflict": "rag.schema",
    "Evidence": "rag.schema",
    "Sentence": "rag.schema",
    "SentenceCheck": "rag.schema",
    "Span": "rag.schema",
    # the pipeline
    "build_index": "rag.index.build",
    "BuildReport": "rag.index.build",
    "index_status": "rag.index.status",
    "retrieve": "rag.retrieval",
    "ask": "rag.answering",
    "Checker": "rag.verify",
    "check_draft": "rag.drafts",
    "DraftReport": "rag.drafts",
    "source_view": "rag.sources",
    # errors
    "RagError": "rag.errors",
    "user_message": "rag.errors",
}

__all__ = [
    "Answer",
    "BuildReport",
    "Checker",
    "Chunk",
    "Citation",
    "Conflict",
    "DraftReport",
    "Evidence",
    "RagError",
    "Sentence",
    "SentenceCheck",
    "Settings",
    "Span",
    "ask",
    "build_index",
    "check_draft",
    "get_settings",
    "index_status",
    "retrieve",
    "source_view",
    "user_message",
]

if TYPE_CHECKING:
    from rag.answering import ask
    from rag.config import Settings, get_settings
    from rag.drafts import DraftReport, check_draft
    from rag.errors import RagError, user_message
    from rag.index.build import BuildReport, build_index
    from rag.index.status import index_status
    from rag.retrieval import retrieve
    from rag.schema import (
        Answer,
        Chunk,
        Citation,
        Conflict,
        Evidence,
        Sentence,
        SentenceCheck,
        Span,
    )
    from rag.sources import source_view
    from rag.verify import Checker


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
