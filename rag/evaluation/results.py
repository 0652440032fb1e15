"""What a run produces: a backend's run over the questions, the checker's run over the claims,
and the saved file that holds runs (``rag eval --out``/``--load``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from rag.evaluation.data import FORMAT
from rag.evaluation.metrics import QuestionRecord


class EvalRun(BaseModel):
    """One backend over one list of questions: settings, figures and every record."""

    backend: str
    requested_backend: str
    model: str
    checker: str
    judge_flag: bool = False
    subset: str | None = None
    corpus: str = ""
    """The labelled corpus asked (``news``, ``licenses``); empty in runs saved before it was
    recorded."""
    limit: int | None = None
    stopped_early: bool = False
    started_at: str
    seconds: float
    warmup_seconds: float = 0.0
    """Loading the index, embedder and model before the first question (not in latencies)."""
    settings: dict[str, Any] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    records: list[QuestionRecord] = Field(default_factory=list)

    def metric(self, name: str) -> float | None:
        value = self.metrics.get(name)
        return float(value) if isinstance(value, int | float) else None


class ClaimRecord(BaseModel):
    id: str
    kind: str
    label: str
    predicted: str
    """supported, unsupported or contradicted (contradicted counts as caught)."""
    split: str = "dev"
    corpus: str = ""
    correct: bool
    score: float
    reason: str
    stage: str
    """``rules`` (a number/date/name is missing), ``coverage`` (too few words) or ``judge``."""
    claim: str
    tentative: bool = False
    """Predicted supported on a close call (see :attr:`rag.schema.SentenceCheck.tentative`)."""


class ClaimsRun(BaseModel):
    """The checker on the claims set: balanced accuracy, per-kind accuracy, every claim."""

    checker: str
    model: str
    threshold: float
    started_at: str
    seconds: float
    balanced_accuracy: float | None
    accuracy: float | None
    true_positive_rate: float | None
    true_negative_rate: float | None
    per_kind: dict[str, dict[str, float]]
    records: list[ClaimRecord]
    sweep: list[dict[str, Any]] = Field(default_factory=list)
    """The checker at other judge thresholds, per split (same scores; judge mode only): see
    :func:`rag.evaluation.claims.threshold_sweep`. Runs saved before the tenth session hold
    balanced accuracy over all claims only, without ``split``."""
    by_split: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per split (test is the headline): balanced accuracy, supported kept, unsupported caught,
    contradicted recognised (on negation, opposite-verb and role-reversal claims), per kind."""


class EvalFile(BaseModel):
    """What ``rag eval --out`` saves and ``--compare`` reads."""

    format: str = FORMAT
    created: str = Field(default_factory=lambda: now())
    questions_file: str = ""
    runs: list[EvalRun] = Field(default_factory=list)
    claims: list[ClaimsRun] = Field(default_factory=list)
    gate: list[str] | None = None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Progress = Callable[[int, int, str], None]
