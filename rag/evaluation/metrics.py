"""Per-answer metrics and their aggregation: the one definition of every figure ``rag eval``
prints, saves, compares and gates.

Metric definitions (all shares in 0..1; ``None`` when nothing was there to measure, never NaN):

- ``retrieval_recall``: answerable questions whose retrieved evidence (the ``evidence_k``
  sentences ``rag.retrieval.retrieve`` gives the model, the same call ``ask`` makes) overlaps at
  least one gold quote's character span. ``retrieval_gold_coverage`` averages the share of gold
  quotes overlapped; ``chunk_recall`` does the same test on the ``top_k`` chunks (so a miss can be
  blamed on search or on sentence selection).
- ``answer_correctness``: key-fact groups found in the answers of answerable questions over all
  their groups (a group is found when any alternative occurs in the answer, case-insensitive,
  curly quotes/apostrophes/dashes and whitespace normalised). An abstention finds nothing.
  ``answer_complete``: answerable questions with every group found.
- ``citation_validity``: citations whose quote is exactly the file text at the cited offsets and
  lines (``rag.sources.quote_is_exact``) over all citations of all answers.
- ``citation_recall`` / ``citation_precision``: ALCE (Gao et al. 2023, "Enabling Large Language
  Models to Generate Text with Citations"), judged by the project's checker
  (``Checker.support``) with the run's own judge. A claim sentence has recall 1 when it cites
  something and its citations taken together support it. A citation is precise when its sentence
  is supported and it is not irrelevant; it is irrelevant when it alone does not support the
  sentence *and* the sentence's other citations still support it without it. Citations of an
  unsupported sentence are not precise. As in ALCE, at most 3 citations per sentence are used,
  scores are averaged per answer and then over answers (answers that make at least one claim);
  ``*_micro`` pool all sentences/citations instead.
- ``faithfulness``: claim sentences the run's checker found supported over all claim sentences
  of answers that were not abstentions (``Answer.sentences``). Abstentions make no claims and are
  counted by the abstention figures instead; ``answers_without_claims`` reports non-abstained
  answers with no claim sentence.
- ``unanswerable_declined``: unanswerable questions answered with an abstention.
  ``answerable_answered``: answerable questions *not* declined (1 - false abstention rate).
  Abstentions are also split by cause: the model declined, or the checker supported no sentence.
- latency: p50/p95 (and mean) of each stage of ``Answer.timings_ms`` over the questions.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rag.citations import strip_markers
from rag.evaluation.data import NON_ENGLISH, Question, locate_gold
from rag.questions import language
from rag.schema import Answer, Citation, Span
from rag.sources import quote_is_exact
from rag.stats import percentile

ALCE_MAX_CITATIONS = 3
"""ALCE scores at most this many citations per sentence (``at_most_citations=3``)."""
STAGES = ("retrieve", "evidence", "generate", "first_token", "check", "total")
CHECKER_NO_SUPPORT = "no sentence of the answer is supported"
"""The notice ``ask`` adds when it abstains because the checker supported no sentence."""

ANCHORS: dict[str, dict[str, float]] = {
    "ALCE ChatGPT (ASQA)": {"citation_recall": 0.736, "citation_precision": 0.725},
    "ALCE best (ASQA)": {"citation_recall": 0.848, "citation_precision": 0.816},
}
"""Published reference points (Gao et al. 2023, ASQA) for the citation figures."""
TARGETS: dict[str, float] = {
    "citation_recall": 0.90,
    "citation_precision": 0.90,
    "answer_correctness": 0.85,
    "unanswerable_declined": 1.0,
    "citation_validity": 1.0,
}
"""Project targets for the embedded backend."""
CLAIMS_TARGET = 0.90
"""Target balanced accuracy of the checker with the embedded judge."""
CLAIMS_KEPT_TARGET = 0.85
"""Target share of supported claims the checker keeps (issue #11)."""
CLAIMS_CAUGHT_TARGET = 0.90
"""Target share of unsupported claims the checker catches (contradicted counts as caught)."""

HEADLINE = (
    "retrieval_recall",
    "answer_correctness",
    "citation_validity",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "unanswerable_declined",
    "answerable_answered",
)
"""The metrics shown first, plotted and gated (all: higher is better)."""
LABELS: dict[str, str] = {
    "retrieval_recall": "retrieval recall@k",
    "retrieval_gold_coverage": "gold lines retrieved",
    "chunk_recall": "chunk recall@top_k",
    "answer_correctness": "answer correctness (facts)",
    "answer_complete": "answers with every fact",
    "citation_validity": "citation validity",
    "citation_recall": "citation recall (ALCE)",
    "citation_precision": "citation precision (ALCE)",
    "citation_recall_micro": "citation recall, per sentence",
    "citation_precision_micro": "citation precision, per citation",
    "faithfulness": "faithfulness",
    "unanswerable_declined": "unanswerable declined",
    "answerable_answered": "answerable answered",
    "false_abstention_rate": "answerable wrongly declined",
    "answered_in_question_language": "non-English answers in the question's language",
}


# --- per-question metrics --------------------------------------------------------------------

_FOLD = str.maketrans(
    {
        "’": "'", "‘": "'", "‛": "'", "`": "'", "´": "'",
        "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
        "–": "-", "—": "-", "‑": "-", "‐": "-", "−": "-",
    }
)  # fmt: skip


def normalise(text: str) -> str:
    """Text for fact matching: NFKC, curly quotes and dashes folded, case-folded, one space."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    return " ".join(text.split())


def match_facts(
    answer_text: str, key_facts: Sequence[Sequence[str]]
) -> tuple[list[str], list[str]]:
    """``(found, missing)``: for each fact group, the alternative found in the answer, or the
    group's first alternative when none is there."""
    hay = normalise(strip_markers(answer_text))
    found, missing = [], []
    for group in key_facts:
        hit = next((alt for alt in group if normalise(alt) and normalise(alt) in hay), None)
        if hit is None:
            missing.append(group[0] if group else "")
        else:
            found.append(hit)
    return found, missing


def spans_overlap(a: Span, b: Span) -> bool:
    return a.file == b.file and a.char_start < b.char_end and b.char_start < a.char_end


def gold_hits(retrieved: Sequence[Span], gold: Sequence[Span]) -> list[bool]:
    """For each gold span, whether some retrieved span overlaps it."""
    return [any(spans_overlap(r, g) for r in retrieved) for g in gold]


SupportFn = Callable[[str, str], bool]


class SupportCache:
    """``Checker.support`` reduced to a yes/no and remembered per (claim, text): the same
    judgement is never paid for twice. ``seed`` records verdicts already made by the run."""

    def __init__(self, checker: Any) -> None:
        self.checker = checker
        self.memo: dict[tuple[str, str], bool] = {}
        self.calls = 0

    def seed(self, claim: str, text: str, ok: bool) -> None:
        self.memo.setdefault((claim, text), ok)

    def __call__(self, claim: str, text: str) -> bool:
        key = (claim, text)
        if key not in self.memo:
            self.calls += 1
            self.memo[key] = bool(self.checker.support(claim, text)[0])
        return self.memo[key]


def alce_sentence(claim: str, quotes: Sequence[str], support: SupportFn) -> tuple[bool, list[bool]]:
    """ALCE citation recall (0/1) of one sentence and the precision flag of each citation used.

    Recall: the sentence cites something and its citations together support it. A citation is
    imprecise when the sentence is unsupported, or when it alone does not support the sentence
    while the other citations still do without it (ALCE's "irrelevant" citation).
    """
    quotes = list(quotes)[:ALCE_MAX_CITATIONS]
    if not quotes:
        return False, []
    if not support(claim, " ".join(quotes)):
        return False, [False] * len(quotes)
    if len(quotes) == 1:
        return True, [True]
    precise = []
    for i, quote in enumerate(quotes):
        if support(claim, quote):
            precise.append(True)
            continue
        rest = " ".join(quotes[:i] + quotes[i + 1 :])
        precise.append(not support(claim, rest))
    return True, precise


class CitationRecord(BaseModel):
    n: int
    file: str
    lines: str
    char_start: int
    char_end: int
    quote: str
    valid: bool


class SentenceRecord(BaseModel):
    text: str
    citations: list[int]
    verdict: str
    score: float
    reason: str
    alce_supported: bool
    precise: list[bool]


class QuestionRecord(BaseModel):
    """Everything measured about one question in one run."""

    id: str
    type: str
    question: str
    answerable: bool
    answer: str
    abstained: bool
    split: str = "dev"
    translation: str | None = None
    """The model's translation of the answer into the question's language (not checked)."""
    abstain_cause: str | None = None
    """``answerer`` (the backend declined), ``checker`` (no sentence supported) or ``no_evidence``."""
    citations: list[CitationRecord] = Field(default_factory=list)
    sentences: list[SentenceRecord] = Field(default_factory=list)
    facts_found: list[str] = Field(default_factory=list)
    facts_missing: list[str] = Field(default_factory=list)
    fact_share: float | None = None
    recall_hit: bool | None = None
    gold_coverage: float | None = None
    chunk_hit: bool | None = None
    gold_unresolved: int = 0
    evidence: list[str] = Field(default_factory=list)
    """The evidence the model was given, as ``file:lines`` (gold hits marked ``*``)."""
    top_score: float | None = None
    """Retrieval score of the best evidence sentence (what abstention thresholds compare)."""
    gold_score: float | None = None
    """Best retrieval score among evidence sentences that hit a gold quote."""
    citation_recall: float | None = None
    citation_precision: float | None = None
    faithfulness: float | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    error: str | None = None
    failures: list[str] = Field(default_factory=list)

    @property
    def severity(self) -> float:
        """How bad this record is (higher first in reports)."""
        s = 3.0 * len([f for f in self.failures if f.startswith(("invalid", "error"))])
        if self.answerable:
            s += 2.0 * (1.0 - (self.fact_share if self.fact_share is not None else 0.0))
        elif not self.abstained:
            s += 2.0
        s += 1.0 - (self.citation_recall if self.citation_recall is not None else 1.0)
        s += 0.5 * (self.recall_hit is False)
        return s


def abstain_cause(answer: Answer) -> str | None:
    if not answer.abstained:
        return None
    if any(CHECKER_NO_SUPPORT in n for n in answer.notices):
        return "checker"
    if not answer.closest:
        return "no_evidence"
    return "answerer"


def score_answer(
    question: Question,
    answer: Answer,
    corpus_dir: Path,
    support: SupportFn,
    *,
    evidence: Sequence[Span] | None = None,
    chunks: Sequence[Span] | None = None,
    snapshots: Path | None = None,
) -> QuestionRecord:
    """Measure one answer (from ``ask``, or hand-made in tests) against its question.

    ``evidence``/``chunks`` are what retrieval returned for the question (``None``: retrieval
    not measured). ``support(claim, text)`` is the judge for the ALCE citation figures.
    ``snapshots``: the index's snapshot folder, where converted documents' texts are read.
    """
    rec = QuestionRecord(
        id=question.id,
        split=question.split,
        type=question.type,
        question=question.question,
        answerable=question.answerable,
        answer=answer.answer,
        abstained=answer.abstained,
        translation=answer.translation,
        abstain_cause=abstain_cause(answer),
        timings_ms=dict(answer.timings_ms),
        notices=list(answer.notices),
    )
    corpus_dir = Path(corpus_dir)
    by_n: dict[int, Citation] = {c.n: c for c in answer.citations}
    for c in answer.citations:
        rec.citations.append(
            CitationRecord(
                n=c.n,
                file=c.file,
                lines=c.lines,
                char_start=c.char_start,
                char_end=c.char_end,
                quote=c.quote,
                valid=quote_is_exact(corpus_dir, c, c.quote, snapshots),
            )
        )
    # facts
    if question.answerable:
        text = "" if answer.abstained else answer.answer
        rec.facts_found, rec.facts_missing = match_facts(text, question.key_facts)
        total = len(question.key_facts)
        rec.fact_share = len(rec.facts_found) / total if total else None
    # retrieval
    gold = [locate_gold(g, corpus_dir) for g in question.gold]
    resolved = [g for g in gold if g is not None]
    rec.gold_unresolved = len(gold) - len(resolved)
    if evidence is not None:
        rec.evidence = [
            f"{e.file}:{e.lines}" + ("*" if any(spans_overlap(e, g) for g in resolved) else "")
            for e in evidence
        ]
    scores = [getattr(e, "score", None) for e in evidence or []]
    if scores and scores[0] is not None:
        rec.top_score = float(scores[0])
        gold_scores = [
            float(sc)
            for e, sc in zip(evidence or [], scores, strict=True)
            if sc is not None and any(spans_overlap(e, g) for g in resolved)
        ]
        rec.gold_score = max(gold_scores) if gold_scores else None
    if resolved and evidence is not None:
        hits = gold_hits(evidence, resolved)
        rec.recall_hit = any(hits)
        rec.gold_coverage = sum(hits) / len(hits)
    if resolved and chunks is not None:
        rec.chunk_hit = any(gold_hits(chunks, resolved))
    # sentences: the run's verdicts and ALCE
    rec_sum, prec_sum, n_cites = 0, 0, 0
    for s in answer.sentences:
        cited = [by_n[n] for n in s.citations if n in by_n]
        quotes = [c.quote for c in cited]
        if len(quotes) == 1 and isinstance(support, SupportCache):
            # the run's checker judged exactly this (claim, quote) pair
            support.seed(s.text, quotes[0], s.verdict == "supported")
        ok, precise = alce_sentence(s.text, quotes, support)
        rec.sentences.append(
            SentenceRecord(
                text=s.text,
                citations=s.citations,
                verdict=s.verdict,
                score=s.score,
                reason=s.reason,
                alce_supported=ok,
                precise=precise,
            )
        )
        rec_sum += ok
        prec_sum += sum(precise)
        n_cites += len(precise)
    if rec.sentences:
        rec.citation_recall = rec_sum / len(rec.sentences)
        rec.citation_precision = prec_sum / n_cites if n_cites else 0.0
        rec.faithfulness = sum(s.verdict == "supported" for s in rec.sentences) / len(rec.sentences)
    rec.failures = failure_reasons(rec)
    return rec


def failure_reasons(rec: QuestionRecord) -> list[str]:
    """Short human reasons why a record is not perfect (empty: nothing wrong)."""
    out: list[str] = []
    if rec.error:
        out.append(f"error: {rec.error}")
    bad = [c.n for c in rec.citations if not c.valid]
    if bad:
        out.append("invalid citation " + " ".join(f"[{n}]" for n in bad))
    if rec.answerable:
        if rec.abstained:
            out.append(f"declined an answerable question ({rec.abstain_cause})")
        elif rec.facts_missing:
            out.append("missing " + ", ".join(repr(f) for f in rec.facts_missing))
        if rec.recall_hit is False:
            where = "chunks hit, sentence selection missed" if rec.chunk_hit else "not in chunks"
            out.append(f"gold not retrieved ({where})")
    elif not rec.abstained:
        out.append("answered an unanswerable question")
    unsupported = [i for i, s in enumerate(rec.sentences, 1) if s.verdict != "supported"]
    if unsupported:
        out.append("unsupported sentence " + ", ".join(f"#{i}" for i in unsupported))
    not_alce = [i for i, s in enumerate(rec.sentences, 1) if not s.alce_supported]
    if not_alce and not_alce != unsupported:
        out.append(
            "citations do not jointly support sentence " + ", ".join(f"#{i}" for i in not_alce)
        )
    if any(not p for s in rec.sentences if s.alce_supported for p in s.precise):
        out.append("irrelevant citation")
    if rec.gold_unresolved:
        out.append(f"{rec.gold_unresolved} gold quote(s) not found in the corpus")
    return out


# --- aggregation -----------------------------------------------------------------------------


def share(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def mean_of(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def in_question_language(rec: QuestionRecord) -> bool:
    """Whether the answer can be read in the question's language: written in it, or translated
    into it (:attr:`rag.schema.Answer.translation`)."""
    asked = language(rec.question)
    return any(
        language(strip_markers(text), default="") == asked
        for text in (rec.answer, rec.translation or "")
    )


def aggregate(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """All run-level figures from the per-question records (see the module docstring)."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    answered = [r for r in records if not r.abstained]
    with_claims = [r for r in answered if r.sentences]
    sentences = [s for r in answered for s in r.sentences]
    precise = [p for r in answered for s in r.sentences for p in s.precise]
    citations = [c for r in records for c in r.citations]
    retrieval = [r for r in answerable if r.recall_hit is not None]
    chunked = [r for r in answerable if r.chunk_hit is not None]
    n_facts = sum(len(r.facts_found) + len(r.facts_missing) for r in answerable)
    m: dict[str, Any] = {
        "retrieval_recall": share(sum(bool(r.recall_hit) for r in retrieval), len(retrieval)),
        "retrieval_gold_coverage": mean_of(r.gold_coverage for r in retrieval),
        "chunk_recall": share(sum(bool(r.chunk_hit) for r in chunked), len(chunked)),
        "answer_correctness": share(sum(len(r.facts_found) for r in answerable), n_facts),
        "answer_complete": share(
            sum(bool(r.facts_found) and not r.facts_missing for r in answerable), len(answerable)
        ),
        "citation_validity": share(sum(c.valid for c in citations), len(citations)),
        "citation_recall": mean_of(r.citation_recall for r in with_claims),
        "citation_precision": mean_of(r.citation_precision for r in with_claims),
        "citation_recall_micro": share(sum(s.alce_supported for s in sentences), len(sentences)),
        "citation_precision_micro": share(sum(precise), len(precise)),
        "faithfulness": share(sum(s.verdict == "supported" for s in sentences), len(sentences)),
        "unanswerable_declined": share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "answerable_answered": share(sum(not r.abstained for r in answerable), len(answerable)),
        "false_abstention_rate": share(sum(r.abstained for r in answerable), len(answerable)),
    }
    foreign = [r for r in answered if r.type == NON_ENGLISH]
    m["answered_in_question_language"] = share(
        sum(in_question_language(r) for r in foreign), len(foreign)
    )
    causes = Counter(r.abstain_cause for r in records if r.abstained)
    m["counts"] = {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered": len(answered),
        "abstained": len(records) - len(answered),
        "abstained_by_answerer": causes.get("answerer", 0),
        "abstained_by_checker": causes.get("checker", 0),
        "abstained_no_evidence": causes.get("no_evidence", 0),
        "answers_without_claims": len(answered) - len(with_claims),
        "claim_sentences": len(sentences),
        "unsupported_sentences": sum(s.verdict == "unsupported" for s in sentences),
        "uncited_sentences": sum(s.verdict == "uncited" for s in sentences),
        "citations": len(citations),
        "invalid_citations": sum(not c.valid for c in citations),
        "key_facts": n_facts,
        "key_facts_found": sum(len(r.facts_found) for r in answerable),
        "retrieval_hits": sum(bool(r.recall_hit) for r in retrieval),
        "retrieval_measured": len(retrieval),
        "errors": sum(r.error is not None for r in records),
    }
    m["latency_ms"] = latency_summary(records)
    by_type: dict[str, dict[str, Any]] = {}
    for t in sorted({r.type for r in records}):
        group = [r for r in records if r.type == t]
        sub = aggregate_small(group)
        by_type[t] = sub
    m["by_type"] = by_type
    m["by_split"] = {
        split: aggregate_small([r for r in records if r.split == split])
        for split in ("test", "dev")
        if any(r.split == split for r in records)
    }
    return m


def aggregate_small(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """The headline figures of a group of records (per question type)."""
    answerable = [r for r in records if r.answerable]
    answered_claims = [r for r in records if not r.abstained and r.sentences]
    retrieval = [r for r in answerable if r.recall_hit is not None]
    n_facts = sum(len(r.facts_found) + len(r.facts_missing) for r in answerable)
    unanswerable = [r for r in records if not r.answerable]
    citations = [c for r in records for c in r.citations]
    return {
        "n": len(records),
        "retrieval_recall": share(sum(bool(r.recall_hit) for r in retrieval), len(retrieval)),
        "chunk_recall": share(
            sum(bool(r.chunk_hit) for r in answerable if r.chunk_hit is not None),
            sum(r.chunk_hit is not None for r in answerable),
        ),
        "answer_correctness": share(sum(len(r.facts_found) for r in answerable), n_facts),
        "citation_recall": mean_of(r.citation_recall for r in answered_claims),
        "citation_precision": mean_of(r.citation_precision for r in answered_claims),
        "abstained": sum(r.abstained for r in records),
        "unanswerable_declined": share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "false_abstention_rate": share(sum(r.abstained for r in answerable), len(answerable)),
        "citation_validity": share(sum(c.valid for c in citations), len(citations)),
    }


def latency_summary(records: Sequence[QuestionRecord]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for stage in STAGES:
        vals = [r.timings_ms[stage] for r in records if stage in r.timings_ms]
        if not vals:
            continue
        out[stage] = {
            "n": float(len(vals)),
            "p50": _round(percentile(vals, 50)),
            "p95": _round(percentile(vals, 95)),
            "mean": _round(sum(vals) / len(vals)),
            "max": _round(max(vals)),
        }
    return out


def _round(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def balanced_accuracy(labels: Sequence[bool], predicted: Sequence[bool]) -> float | None:
    """Mean of the true-positive and true-negative rates (``None`` if a class is absent)."""
    pos = [p for y, p in zip(labels, predicted, strict=True) if y]
    neg = [p for y, p in zip(labels, predicted, strict=True) if not y]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(not p for p in neg) / len(neg)) / 2
