"""The errors a user can fix: each carries a one-line message that names the fix.

Every surface (the CLI, the chat, the server, the evaluation) maps exactly these to a message with
:func:`user_message`; anything else is a bug and is reported as such.
"""

from __future__ import annotations


class RagError(Exception):
    """Base of every user-facing error; ``str(exc)`` is the message."""


class CorpusError(RagError, ValueError):
    """The corpus folder itself is unusable (missing, a file, empty)."""


class StoreError(RagError, RuntimeError):
    """The index cannot be read or written as asked."""


class IndexMissingError(StoreError):
    """There is no index yet."""


class ModelMismatchError(StoreError):
    """The index was built with another embedding model."""


class IndexLockedError(StoreError):
    """Another build holds the index lock."""


class EmptyCorpusError(StoreError):
    """The corpus has no readable document."""


class QuestionError(RagError, ValueError):
    """The question cannot be asked as given."""


class LLMError(RagError, RuntimeError):
    """A language model cannot answer (not installed, not reachable, not pulled, too long)."""


class WeightsError(RagError, RuntimeError):
    """The embedded model's weights cannot be found or built."""


class EmbeddingModelError(RagError, RuntimeError):
    """The embedding model cannot be found or loaded."""


class DraftError(RagError, ValueError):
    """The draft cannot be read or checked as given."""


class EvalError(RagError, ValueError):
    """The evaluation cannot run as asked."""


class SourceError(RagError, ValueError):
    """A cited source cannot be shown."""


class ServerError(RagError, RuntimeError):
    """``rag serve`` cannot start as asked, or a running server answered with an error."""


def user_errors() -> tuple[type[BaseException], ...]:
    """What a surface reports as a one-line message (everything else is a bug)."""
    from pydantic import ValidationError

    return (RagError, ValidationError, OSError)


def user_message(exc: BaseException) -> str:
    """The one-line message for a user-facing error."""
    text = str(exc).strip()
    if type(exc).__name__ == "ValidationError":
        return "invalid setting: " + " ".join(text.split())[:300]
    return text.splitlines()[0] if text else repr(exc)
