"""The checker alone on the labelled claims: balanced accuracy, per kind, and which stage decided."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.evaluation.data import CONTRADICTION_KINDS, Claim, EvalCorpus, locate_gold
from rag.evaluation.metrics import balanced_accuracy, share
from rag.evaluation.results import ClaimRecord, ClaimsRun, Progress, now
from rag.llm.base import Judge

# --- the checker on claims ---------------------------------------------------------------------


def _stage(reason: str) -> str:
    if reason.startswith("not in the cited text"):
        return "rules"
    if not reason.startswith(("the judge", "the cited text is about", "few words", "words and")):
        return "alignment"
    if reason.startswith(("the cited text is about something else", "few words")):
        return "coverage"
    if reason.startswith("words and names"):
        return "coverage"
    return "judge"


def evaluate_claims(
    claims: Sequence[Claim],
    checker: Any,
    *,
    model: str = "none",
    progress: Progress | None = None,
    corpus_dir: Path | None = None,
    corpus: str = "",
    records_before: Sequence[ClaimRecord] = (),
) -> ClaimsRun:
    """Run ``checker.assess(claim, cited text, context)`` on every claim and score it; the
    context (sentences before the quote, for names behind pronouns) is read from ``corpus_dir``.
    ``records_before``: records of other corpora to score together with these."""
    t0 = time.perf_counter()
    started = now()
    records: list[ClaimRecord] = list(records_before)
    for i, c in enumerate(claims):
        if progress:
            progress(i, len(claims), c.id)
        context = claim_context(c, corpus_dir) if corpus_dir is not None else ""
        assess = getattr(checker, "assess", None)
        if assess is not None:
            a = assess(c.claim, c.cited_text, context)
            predicted, score, reason = a.verdict, a.score, a.reason
            tentative = bool(getattr(a, "tentative", False))
        else:  # a checker that only says supported or not
            ok, score, reason = checker.support(c.claim, c.cited_text, context)
            predicted = "supported" if ok else "unsupported"
            tentative = False
        records.append(
            ClaimRecord(
                id=c.id,
                kind=c.kind,
                label=c.label,
                predicted=predicted,
                correct=(predicted == "supported") == (c.label == "supported"),
                score=float(score),
                reason=reason,
                stage=_stage(reason),
                claim=c.claim,
                split=c.split,
                corpus=corpus,
                tentative=tentative and predicted == "supported",
            )
        )
    if progress:
        progress(len(claims), len(claims), "")
    figures = claim_figures(records)
    threshold = float(getattr(checker, "threshold", 0.5))
    run = ClaimsRun(
        checker=str(getattr(checker, "mode", "rules")),
        model=model,
        threshold=threshold,
        started_at=started,
        seconds=round(time.perf_counter() - t0, 1),
        balanced_accuracy=figures["balanced_accuracy"],
        accuracy=figures["accuracy"],
        true_positive_rate=figures["true_positive_rate"],
        true_negative_rate=figures["true_negative_rate"],
        per_kind=figures["per_kind"],
        records=records,
        by_split={
            split: claim_figures([r for r in records if r.split == split])
            for split in ("test", "dev")
            if any(r.split == split for r in records)
        },
    )
    if getattr(checker, "judge", None) is not None:
        run.sweep = threshold_sweep(records)
    return run


def claim_figures(records: Sequence[ClaimRecord]) -> dict[str, Any]:
    """Balanced accuracy, supported kept, unsupported caught (contradicted counts as caught),
    contradicted recognised on the kinds whose source states the opposite, per kind, and the
    sure marks: the share of supported claims, and of unsupported ones (the marks a writer must
    not trust), that are marked supported and not tentative."""
    labels = [r.label == "supported" for r in records]
    preds = [r.predicted == "supported" for r in records]
    pos = [p for y, p in zip(labels, preds, strict=True) if y]
    neg = [p for y, p in zip(labels, preds, strict=True) if not y]
    opposite = [r for r in records if r.label != "supported" and r.kind in CONTRADICTION_KINDS]
    per_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({r.kind for r in records}):
        group = [r for r in records if r.kind == kind]
        per_kind[kind] = {
            "n": float(len(group)),
            "accuracy": sum(r.correct for r in group) / len(group),
            "label_supported": float(group[0].label == "supported"),
            "contradicted": sum(r.predicted == "contradicted" for r in group) / len(group),
        }
    return {
        "n": len(records),
        "balanced_accuracy": balanced_accuracy(labels, preds),
        "accuracy": share(sum(r.correct for r in records), len(records)),
        "true_positive_rate": share(sum(pos), len(pos)),
        "true_negative_rate": share(sum(not p for p in neg), len(neg)),
        "contradicted_recognised": share(
            sum(r.predicted == "contradicted" for r in opposite), len(opposite)
        ),
        "sure_supported": share(len(marked_sure(records, True)), len(pos)),
        "sure_unsupported": share(len(marked_sure(records, False)), len(neg)),
        "per_kind": per_kind,
    }


def marked_sure(records: Sequence[ClaimRecord], label_supported: bool) -> list[ClaimRecord]:
    """The records with this label that were marked supported and not tentative."""
    return [
        r
        for r in records
        if (r.label == "supported") == label_supported
        and r.predicted == "supported"
        and not r.tentative
    ]


SWEEP_THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
"""Judge thresholds the sweep tries (``RAG_SUPPORT_THRESHOLD`` is one of them by default)."""


def threshold_sweep(
    records: Sequence[ClaimRecord], thresholds: Sequence[float] = SWEEP_THRESHOLDS
) -> list[dict[str, Any]]:
    """What the checker would have decided at other judge thresholds, per split (test first,
    dev, then all claims): balanced accuracy, supported kept and unsupported caught. A
    judge-stage score is the judge's P(yes); a claim the rules or the alignment decided keeps
    its verdict whatever the threshold. Empty when no claim reached the judge."""
    if not any(r.stage == "judge" for r in records):
        return []
    groups = [(s, [r for r in records if r.split == s]) for s in ("test", "dev")]
    groups = [(s, g) for s, g in groups if g and len(g) < len(records)] + [("all", list(records))]
    out: list[dict[str, Any]] = []
    for split, group in groups:
        labels = [r.label == "supported" for r in group]
        for t in thresholds:
            preds = [
                r.score >= t if r.stage == "judge" else r.predicted == "supported" for r in group
            ]
            pos = [p for y, p in zip(labels, preds, strict=True) if y]
            neg = [p for y, p in zip(labels, preds, strict=True) if not y]
            ba = balanced_accuracy(labels, preds)
            out.append(
                {
                    "split": split,
                    "threshold": t,
                    "balanced_accuracy": ba if ba is not None else float("nan"),
                    "supported_kept": sum(pos) / len(pos) if pos else float("nan"),
                    "unsupported_caught": (
                        sum(not p for p in neg) / len(neg) if neg else float("nan")
                    ),
                }
            )
    return out


def claims_checker(settings: Settings, judge: bool, backend: str = "embedded") -> tuple[Any, str]:
    """The checker the claims set is run with: rules only, or rules + the ``backend`` LLM as
    judge (the embedded model by default), chosen as ``ask`` chooses it. A judge that cannot run
    is an error here: a rules-only figure must never be reported as the judge's."""
    from rag.llm import LLMError, choose_judge
    from rag.verify import Checker

    if not judge:
        return Checker(None, settings.support_threshold, sure=settings.sure_threshold), "none"
    chosen, notices = choose_judge(
        settings, "embedded" if backend == "extractive" else backend, use=True
    )
    if chosen is None:
        raise LLMError("; ".join(notices) or "no judge model")
    judge_llm = CachingJudge(chosen)
    return (
        Checker(judge_llm, settings.support_threshold, sure=settings.sure_threshold),
        judge_llm.model,
    )


def run_claims(
    settings: Settings,
    corpora: Sequence[tuple[EvalCorpus, Sequence[Claim]]],
    *,
    judge: bool = False,
    backend: str = "embedded",
    progress_for: Callable[[str], Progress | None] | None = None,
) -> list[ClaimsRun]:
    """The checker on the claims of each corpus (scored together; ``by_split`` and the records
    tell them apart): rules only, and (``judge``) rules + the LLM judge."""
    out = []
    for with_judge in (False, True) if judge else (False,):
        checker, model = claims_checker(settings, with_judge, backend)
        records: list[ClaimRecord] = []
        run: ClaimsRun | None = None
        for corpus, claims in corpora:
            progress = progress_for(f"{checker.mode} {corpus.name}") if progress_for else None
            run = evaluate_claims(
                claims,
                checker,
                model=model,
                progress=progress,
                corpus_dir=corpus.corpus_dir,
                corpus=corpus.name,
                records_before=records,
            )
            records = run.records
        if run is not None:
            out.append(run)
    return out


class CachingJudge(Judge):
    """A judge that remembers ``yes_probability`` per chat, so that checker variants measured on
    the same claims never pay twice for the same question to the model."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.model = str(getattr(judge, "model", "judge"))
        self.memo: dict[str, float] = {}
        self.calls = 0

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        key = json.dumps(messages, ensure_ascii=False)
        if key not in self.memo:
            self.calls += 1
            self.memo[key] = float(self.judge.yes_probability(messages))
        return self.memo[key]


# --- context of a claim ---------------------------------------------------------------------


def claim_context(claim: Claim, corpus_dir: Path) -> str:
    """The sentences of the cited file just before the claim's first quote (names behind "he",
    "the models", "the project"), as ``rag ask`` gives them to the checker."""
    from rag.sources import CorpusFiles

    if not claim.evidence:
        return ""
    span = locate_gold(claim.evidence[0], corpus_dir)
    return CorpusFiles(corpus_dir).context(span) if span is not None else ""
