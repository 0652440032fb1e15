"""What the pipeline needs from a language model: :class:`ChatLLM` (answers) and :class:`Judge`
(says how likely the answer to a chat is "Yes"), and reading Yes/No from token log-probabilities.

Every failure the user can fix is raised as :class:`rag.errors.LLMError` with a one-line message
that names the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rag.errors import LLMError

Messages = list[dict[str, str]]

# How many alternatives to read for the first token when judging (Ollama accepts 0-20).
TOP_LOGPROBS = 20
_YES = "yes"
_NO = "no"

__all__ = [
    "TOP_LOGPROBS",
    "ChatLLM",
    "Judge",
    "LLMError",
    "Messages",
    "TokenLogprob",
    "yes_no_from_text",
    "yes_no_probability",
]


@runtime_checkable
class Judge(Protocol):
    """Anything that can say how likely the answer to a chat is "Yes": the claim-support judge."""

    def yes_probability(self, messages: Messages) -> float:
        """P("Yes") / (P("Yes") + P("No")) for the first generated token."""
        ...


@runtime_checkable
class ChatLLM(Judge, Protocol):
    """What the pipeline needs from a chat model (every chat model is also a judge)."""

    name: str  # "embedded" or "ollama"
    model: str  # model name for display / JSON output
    last_usage: dict[str, float]  # prompt_tokens, completion_tokens (+ timings) of the last call

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer as text deltas."""
        ...

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> str:
        """The whole answer."""
        ...


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)


def _norm_answer_token(token: str) -> str:
    return token.strip().strip("_-*\"'.,:!").lower()


def yes_no_probability(top: list[tuple[str, float]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over first-token alternatives (``Yes``, `` Yes``, ``yes``...).

    ``None`` when neither a yes nor a no variant is among them.
    """
    p_yes = p_no = 0.0
    seen: set[str] = set()
    for token, logprob in top:
        if token in seen:  # some servers repeat the chosen token in the alternatives
            continue
        seen.add(token)
        word = _norm_answer_token(token)
        if word == _YES:
            p_yes += math.exp(logprob)
        elif word == _NO:
            p_no += math.exp(logprob)
    if p_yes + p_no <= 0.0:
        return None
    return p_yes / (p_yes + p_no)


def yes_no_from_text(text: str) -> float:
    """1.0 for an answer starting with yes, 0.0 for no or anything else (not counted as support)."""
    words = text.strip().split()
    return 1.0 if words and _norm_answer_token(words[0]) == _YES else 0.0
