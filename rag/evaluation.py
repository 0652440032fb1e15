"""Evaluating the pipeline end to end (``eval/questions.jsonl``) and the checker alone
(``eval/claims.jsonl``).

Everything ``rag eval`` prints, saves, compares and gates is computed here, so the CLI, the tests
and any notebook share one definition of every figure.

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
  lines (``rag.citations.quote_is_exact``) over all citations of all answers.
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

import json
import math
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.citations import quote_is_exact, strip_markers
from rag.config import Settings
from rag.schema import Answer, Citation, Span
from rag.verify import Judge

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
QUESTIONS_FILE = EVAL_DIR / "questions.jsonl"
CLAIMS_FILE = EVAL_DIR / "claims.jsonl"
SUBSETS_FILE = EVAL_DIR / "subset.txt"
THRESHOLDS_FILE = EVAL_DIR / "thresholds.json"
FORMAT = "rag-eval/1"

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
CLAIMS_TARGET = 0.85
"""Target balanced accuracy of the checker with the embedded judge."""

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
}


class EvalError(ValueError):
    """The evaluation cannot run as asked (one-line message)."""


# --- the data sets -------------------------------------------------------------------------


class GoldQuote(BaseModel):
    file: str
    line_start: int
    line_end: int
    quote: str


class Question(BaseModel):
    id: str
    question: str
    type: str
    key_facts: list[list[str]] = Field(default_factory=list)
    gold: list[GoldQuote] = Field(default_factory=list)
    notes: str = ""

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


class Claim(BaseModel):
    id: str
    claim: str
    evidence: list[GoldQuote]
    label: Literal["supported", "unsupported"]
    kind: str

    @property
    def cited_text(self) -> str:
        """What the claim cites: its quotes joined by one space (as the checker joins them)."""
        return " ".join(e.quote for e in self.evidence)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise EvalError(f"no evaluation file at {path}")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{i}: not valid JSON ({exc.msg})") from None
    return rows


def load_questions(path: Path | None = None) -> list[Question]:
    """The question set (default ``eval/questions.jsonl``)."""
    return [Question.model_validate(r) for r in _read_jsonl(Path(path or QUESTIONS_FILE))]


def load_claims(path: Path | None = None) -> list[Claim]:
    """The checker set (default ``eval/claims.jsonl``)."""
    return [Claim.model_validate(r) for r in _read_jsonl(Path(path or CLAIMS_FILE))]


def load_subsets(path: Path | None = None) -> dict[str, list[str]]:
    """Named subsets from ``eval/subset.txt``: lines ``name: q01 q02 ...`` (``#`` comments)."""
    path = Path(path or SUBSETS_FILE)
    if not path.is_file():
        raise EvalError(f"no subset file at {path}")
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, ids = line.partition(":")
        if not sep:
            raise EvalError(f"{path}: expected 'name: id id ...', got {line!r}")
        out.setdefault(name.strip(), []).extend(ids.replace(",", " ").split())
    return out


def select_questions(
    questions: Sequence[Question],
    *,
    subset: str | None = None,
    limit: int | None = None,
    ids: Iterable[str] | None = None,
    subsets_file: Path | None = None,
) -> list[Question]:
    """The questions to run: a named subset and/or explicit ids, then the first ``limit``."""
    chosen = list(questions)
    by_id = {q.id: q for q in questions}
    wanted: list[str] | None = None
    if subset:
        subsets = load_subsets(subsets_file)
        if subset not in subsets:
            raise EvalError(
                f"no subset {subset!r} in the subset file: choose from {', '.join(sorted(subsets))}"
            )
        wanted = subsets[subset]
    if ids:
        given = list(ids)
        wanted = [i for i in wanted if i in given] if wanted is not None else given
    if wanted is not None:
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise EvalError(f"unknown question id(s): {', '.join(unknown)}")
        chosen = [by_id[i] for i in wanted]
    if limit is not None:
        chosen = chosen[: max(0, limit)]
    return chosen


def interleave_by_type(questions: Sequence[Question]) -> list[Question]:
    """Round-robin over question types, so that any prefix covers every type."""
    groups: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        groups[q.type].append(q)
    out: list[Question] = []
    while any(groups.values()):
        for t in list(groups):
            if groups[t]:
                out.append(groups[t].pop(0))
    return out


def locate_gold(gold: GoldQuote, corpus_dir: Path) -> Span | None:
    """The character span of a gold quote: an occurrence lying within its stated lines."""
    from rag.chunking import line_of, line_starts

    try:
        text = (Path(corpus_dir) / gold.file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    starts = line_starts(text)
    pos = text.find(gold.quote)
    while pos != -1:
        end = pos + len(gold.quote)
        first, last = line_of(starts, pos), line_of(starts, max(end - 1, pos))
        if gold.line_start <= first and last <= gold.line_end:
            return Span(
                file=gold.file, line_start=first, line_end=last, char_start=pos, char_end=end
            )
        pos = text.find(gold.quote, pos + 1)
    return None


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
) -> QuestionRecord:
    """Measure one answer (from ``ask``, or hand-made in tests) against its question.

    ``evidence``/``chunks`` are what retrieval returned for the question (``None``: retrieval
    not measured). ``support(claim, text)`` is the judge for the ALCE citation figures.
    """
    rec = QuestionRecord(
        id=question.id,
        type=question.type,
        question=question.question,
        answerable=question.answerable,
        answer=answer.answer,
        abstained=answer.abstained,
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
                valid=quote_is_exact(corpus_dir, c, c.quote),
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


def _share(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); ``None`` for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


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
        "retrieval_recall": _share(sum(bool(r.recall_hit) for r in retrieval), len(retrieval)),
        "retrieval_gold_coverage": _mean(r.gold_coverage for r in retrieval),
        "chunk_recall": _share(sum(bool(r.chunk_hit) for r in chunked), len(chunked)),
        "answer_correctness": _share(sum(len(r.facts_found) for r in answerable), n_facts),
        "answer_complete": _share(
            sum(bool(r.facts_found) and not r.facts_missing for r in answerable), len(answerable)
        ),
        "citation_validity": _share(sum(c.valid for c in citations), len(citations)),
        "citation_recall": _mean(r.citation_recall for r in with_claims),
        "citation_precision": _mean(r.citation_precision for r in with_claims),
        "citation_recall_micro": _share(sum(s.alce_supported for s in sentences), len(sentences)),
        "citation_precision_micro": _share(sum(precise), len(precise)),
        "faithfulness": _share(sum(s.verdict == "supported" for s in sentences), len(sentences)),
        "unanswerable_declined": _share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "answerable_answered": _share(sum(not r.abstained for r in answerable), len(answerable)),
        "false_abstention_rate": _share(sum(r.abstained for r in answerable), len(answerable)),
    }
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
    return m


def aggregate_small(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """The headline figures of a group of records (per question type)."""
    answerable = [r for r in records if r.answerable]
    answered_claims = [r for r in records if not r.abstained and r.sentences]
    retrieval = [r for r in answerable if r.recall_hit is not None]
    n_facts = sum(len(r.facts_found) + len(r.facts_missing) for r in answerable)
    unanswerable = [r for r in records if not r.answerable]
    return {
        "n": len(records),
        "retrieval_recall": _share(sum(bool(r.recall_hit) for r in retrieval), len(retrieval)),
        "answer_correctness": _share(sum(len(r.facts_found) for r in answerable), n_facts),
        "citation_recall": _mean(r.citation_recall for r in answered_claims),
        "citation_precision": _mean(r.citation_precision for r in answered_claims),
        "abstained": sum(r.abstained for r in records),
        "unanswerable_declined": _share(sum(r.abstained for r in unanswerable), len(unanswerable)),
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


# --- running ---------------------------------------------------------------------------------


class EvalRun(BaseModel):
    """One backend over one list of questions: settings, figures and every record."""

    backend: str
    requested_backend: str
    model: str
    checker: str
    judge_flag: bool = False
    subset: str | None = None
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
    correct: bool
    score: float
    reason: str
    stage: str
    """``rules`` (a number/date/name is missing), ``coverage`` (too few words) or ``judge``."""
    claim: str


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
    sweep: list[dict[str, float]] = Field(default_factory=list)
    """Balanced accuracy at other judge thresholds (same scores; judge mode only)."""


class EvalFile(BaseModel):
    """What ``rag eval --out`` saves and ``--compare`` reads."""

    format: str = FORMAT
    created: str = Field(default_factory=lambda: _now())
    questions_file: str = ""
    runs: list[EvalRun] = Field(default_factory=list)
    claims: list[ClaimsRun] = Field(default_factory=list)
    gate: list[str] | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Progress = Callable[[int, int, str], None]


def eval_settings(settings: Settings, judge: bool) -> Settings:
    """``settings`` for an evaluation run: ``judge`` forces the LLM judge on (even for the
    extractive backend), as ``RAG_CHECKER=llm`` would."""
    return settings.model_copy(update={"checker": "llm"}) if judge else settings


def run_eval(
    settings: Settings,
    questions: Sequence[Question],
    backend: str = "extractive",
    *,
    judge: bool = False,
    subset: str | None = None,
    limit: int | None = None,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    on_record: Callable[[EvalRun], None] | None = None,
) -> EvalRun:
    """Ask every question through ``rag.answering.ask`` with ``backend`` and measure it.

    Retrieval recall comes from ``rag.retrieval.retrieve`` called with the same cleaned question
    (the call ``ask`` makes). ``max_seconds``: start no new question after that long (the run is
    marked ``stopped_early``). ``on_record`` sees the run after each question (for saving
    partial results).
    """
    from rag.answering import QuestionError, ask, choose_backends, clean_question
    from rag.retrieval import retrieve
    from rag.verify import Checker

    settings = eval_settings(settings, judge)
    chosen = choose_backends(settings, backend, True)
    checker = Checker(chosen.judge, settings.support_threshold)  # type: ignore[arg-type]
    support = SupportCache(checker)
    run = EvalRun(
        backend=chosen.name,
        requested_backend=backend,
        model=chosen.model,
        checker=checker.mode,
        judge_flag=judge,
        subset=subset,
        limit=limit,
        started_at=_now(),
        seconds=0.0,
        settings=_settings_summary(settings),
        notices=list(chosen.notices),
    )
    # load the index, the embedder and the model first: cold start is not a question's latency
    t_warm = time.perf_counter()
    retrieve(settings, "warm up")
    if chosen.llm is not None and hasattr(chosen.llm, "load"):
        chosen.llm.load()
    run.warmup_seconds = round(time.perf_counter() - t_warm, 1)
    t0 = time.perf_counter()
    total = len(questions)
    for i, q in enumerate(questions):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            run.stopped_early = True
            break
        if progress:
            progress(i, total, q.id)
        try:
            answer = ask(q.question, settings, backend=backend)
        except QuestionError as exc:
            answer = Answer(
                question=q.question, answer="", abstained=True, backend=chosen.name, model=""
            )
            error: str | None = str(exc)
        else:
            error = None
        try:
            found = retrieve(settings, clean_question(q.question))
            evidence: list[Span] | None = list(found.evidence)
            chunks: list[Span] | None = [r.chunk for r in found.chunks]
        except QuestionError:
            evidence = chunks = None
        rec = score_answer(
            q, answer, settings.corpus_dir, support, evidence=evidence, chunks=chunks
        )
        if error:
            rec.error = error
            rec.failures = failure_reasons(rec)
        run.records.append(rec)
        run.seconds = round(time.perf_counter() - t0, 1)
        if on_record:
            run.metrics = aggregate(run.records)
            on_record(run)
    if progress:
        progress(len(run.records), total, "")
    run.seconds = round(time.perf_counter() - t0, 1)
    run.metrics = aggregate(run.records)
    run.metrics["judge_calls_for_metrics"] = support.calls
    return run


def _settings_summary(settings: Settings) -> dict[str, Any]:
    from rag import store

    out: dict[str, Any] = {
        k: getattr(settings, k)
        for k in (
            "top_k", "evidence_k", "embed_model", "chunk_size", "chunk_overlap", "max_tokens",
            "temperature", "checker", "support_threshold", "strict", "llm_threads", "llm_ctx",
        )
    }  # fmt: skip
    out["corpus_dir"] = str(settings.corpus_dir)
    out["index_dir"] = str(settings.index_dir)
    try:
        out["index_generation"] = store.current_generation(settings.index_dir)
    except Exception:  # pragma: no cover - status is informative only
        out["index_generation"] = None
    return out


def run_backends(
    settings: Settings,
    questions: Sequence[Question],
    backends: Sequence[str],
    *,
    judge: bool = False,
    subset: str | None = None,
    limit: int | None = None,
    max_seconds: float | None = None,
    progress_for: Callable[[str], Progress | None] | None = None,
    on_update: Callable[[EvalFile], None] | None = None,
    questions_file: Path | None = None,
) -> EvalFile:
    """``run_eval`` for each backend in turn, collected in one :class:`EvalFile`.

    ``max_seconds`` applies per backend; with it, questions are interleaved by type so that a run
    cut short still covers every type. ``on_update`` sees the file after every question.
    """
    if max_seconds is not None:
        questions = interleave_by_type(questions)
    data = EvalFile(questions_file=str(questions_file or QUESTIONS_FILE))
    for backend in backends:
        done = list(data.runs)

        def update(run: EvalRun, done: list[EvalRun] = done) -> None:
            if on_update:
                data.runs = [*done, run]
                on_update(data)

        run = run_eval(
            settings,
            questions,
            backend,
            judge=judge,
            subset=subset,
            limit=limit,
            max_seconds=max_seconds,
            progress=progress_for(backend) if progress_for else None,
            on_record=update,
        )
        data.runs = [*done, run]
        if on_update:
            on_update(data)
    return data


# --- the checker on claims ---------------------------------------------------------------------


def _stage(reason: str) -> str:
    if reason.startswith("not in the cited text"):
        return "rules"
    if reason.startswith(("the cited text is about something else", "few words")):
        return "coverage"
    if reason.startswith("words and names"):
        return "coverage"
    return "judge"


def balanced_accuracy(labels: Sequence[bool], predicted: Sequence[bool]) -> float | None:
    """Mean of the true-positive and true-negative rates (``None`` if a class is absent)."""
    pos = [p for y, p in zip(labels, predicted, strict=True) if y]
    neg = [p for y, p in zip(labels, predicted, strict=True) if not y]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(not p for p in neg) / len(neg)) / 2


def evaluate_claims(
    claims: Sequence[Claim],
    checker: Any,
    *,
    model: str = "none",
    progress: Progress | None = None,
    corpus_dir: Path | None = None,
) -> ClaimsRun:
    """Run ``checker.support(claim, cited text, context)`` on every claim and score it; the
    context (sentences before the quote, for names behind pronouns) is read from ``corpus_dir``."""
    t0 = time.perf_counter()
    started = _now()
    records: list[ClaimRecord] = []
    for i, c in enumerate(claims):
        if progress:
            progress(i, len(claims), c.id)
        context = claim_context(c, corpus_dir) if corpus_dir is not None else ""
        ok, score, reason = checker.support(c.claim, c.cited_text, context)
        predicted = "supported" if ok else "unsupported"
        records.append(
            ClaimRecord(
                id=c.id,
                kind=c.kind,
                label=c.label,
                predicted=predicted,
                correct=predicted == c.label,
                score=float(score),
                reason=reason,
                stage=_stage(reason),
                claim=c.claim,
            )
        )
    if progress:
        progress(len(claims), len(claims), "")
    labels = [r.label == "supported" for r in records]
    preds = [r.predicted == "supported" for r in records]
    pos = [p for y, p in zip(labels, preds, strict=True) if y]
    neg = [p for y, p in zip(labels, preds, strict=True) if not y]
    per_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({r.kind for r in records}):
        group = [r for r in records if r.kind == kind]
        per_kind[kind] = {
            "n": float(len(group)),
            "accuracy": sum(r.correct for r in group) / len(group),
            "label_supported": float(group[0].label == "supported"),
        }
    threshold = float(getattr(checker, "threshold", 0.5))
    run = ClaimsRun(
        checker=str(getattr(checker, "mode", "rules")),
        model=model,
        threshold=threshold,
        started_at=started,
        seconds=round(time.perf_counter() - t0, 1),
        balanced_accuracy=balanced_accuracy(labels, preds),
        accuracy=_share(sum(r.correct for r in records), len(records)),
        true_positive_rate=_share(sum(pos), len(pos)),
        true_negative_rate=_share(sum(not p for p in neg), len(neg)),
        per_kind=per_kind,
        records=records,
    )
    if getattr(checker, "judge", None) is not None:
        run.sweep = threshold_sweep(records)
    return run


def threshold_sweep(
    records: Sequence[ClaimRecord], thresholds: Sequence[float] | None = None
) -> list[dict[str, float]]:
    """Balanced accuracy had the judge threshold been different (judge-stage scores are the
    judge's P(yes); claims stopped by the rules stay unsupported)."""
    labels = [r.label == "supported" for r in records]
    out = []
    for t in thresholds or (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        preds = [r.stage == "judge" and r.score >= t for r in records]
        ba = balanced_accuracy(labels, preds)
        out.append({"threshold": t, "balanced_accuracy": ba if ba is not None else float("nan")})
    return out


def claims_checker(settings: Settings, judge: bool, backend: str = "embedded") -> tuple[Any, str]:
    """The checker the claims set is run with: rules only, or rules + the ``backend`` LLM as
    judge (the embedded model by default), as ``ask`` would build it."""
    from rag.generation import get_judge_llm, get_llm
    from rag.verify import Checker

    if not judge:
        return Checker(None, settings.support_threshold), "none"
    llm, _ = get_llm(settings, "embedded" if backend == "extractive" else backend)
    judge_llm = CachingJudge(get_judge_llm(settings, llm))
    return Checker(judge_llm, settings.support_threshold), judge_llm.model


def run_claims(
    settings: Settings,
    claims: Sequence[Claim],
    *,
    judge: bool = False,
    backend: str = "embedded",
    progress_for: Callable[[str], Progress | None] | None = None,
) -> list[ClaimsRun]:
    """The checker on the claims set: rules only, and (``judge``) rules + the LLM judge."""
    out = []
    for with_judge in (False, True) if judge else (False,):
        checker, model = claims_checker(settings, with_judge, backend)
        progress = progress_for(checker.mode) if progress_for else None
        out.append(
            evaluate_claims(
                claims, checker, model=model, progress=progress, corpus_dir=settings.corpus_dir
            )
        )
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


def claim_context(claim: Claim, corpus_dir: Path, chars: int = 400) -> str:
    """Up to ``chars`` characters of the cited file just before the claim's first quote (whole
    sentences): where the names behind "he", "the models", "the project" usually are."""
    from rag.chunking import sentence_spans

    if not claim.evidence:
        return ""
    span = locate_gold(claim.evidence[0], corpus_dir)
    if span is None:
        return ""
    text = (Path(corpus_dir) / span.file).read_text(encoding="utf-8")
    lo = max(0, span.char_start - chars)
    spans = [(a + lo, b + lo) for a, b in sentence_spans(text[lo : span.char_start])]
    kept = [text[a:b] for a, b in spans if a > lo or lo == 0][-3:]
    return " ".join(kept)


# --- gate and comparison -------------------------------------------------------------------------


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or THRESHOLDS_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"no thresholds file at {path}") from None
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected an object of backends")
    return data


def thresholds_for(
    thresholds: dict[str, Any], backend: str, subset: str | None
) -> dict[str, float]:
    """The minimums for ``backend`` on ``subset`` (``full`` when the run used no subset);
    a backend's ``full`` entry is the fallback for subsets it does not list."""
    entry = thresholds.get(backend)
    if not isinstance(entry, dict):
        raise EvalError(f"no thresholds for backend {backend!r}")
    key = subset or "full"
    chosen = entry.get(key, entry.get("full"))
    if not isinstance(chosen, dict):
        raise EvalError(f"no thresholds for backend {backend!r} on subset {key!r}")
    return {k: float(v) for k, v in chosen.items() if not k.startswith("_")}


def check_gate(run: EvalRun, thresholds: dict[str, Any]) -> list[str]:
    """``metric value < minimum`` for every failing metric of ``run`` (empty: the gate passes).
    A metric that could not be measured (``None``) fails."""
    failing = []
    for name, minimum in thresholds_for(thresholds, run.backend, run.subset).items():
        value = run.metric(name)
        if value is None:
            failing.append(f"{name} n/a (min {minimum:.3f})")
        elif value + 1e-9 < minimum:
            failing.append(f"{name} {value:.3f} < {minimum:.3f}")
    return failing


def check_claims_gate(run: ClaimsRun, thresholds: dict[str, Any]) -> list[str]:
    """The claims gate: ``thresholds["claims"][checker mode]["balanced_accuracy"]``."""
    entry = (thresholds.get("claims") or {}).get(run.checker)
    if not isinstance(entry, dict):
        raise EvalError(f"no claims thresholds for checker {run.checker!r}")
    failing = []
    for name, minimum in entry.items():
        if name.startswith("_"):
            continue
        value = getattr(run, name, None)
        if value is None:
            failing.append(f"{name} n/a (min {float(minimum):.3f})")
        elif value + 1e-9 < float(minimum):
            failing.append(f"{name} {value:.3f} < {float(minimum):.3f}")
    return failing


def gate_line(data: EvalFile, thresholds: dict[str, Any]) -> tuple[bool, str]:
    """``(passed, one line)`` over every run and claims run of ``data``."""
    parts, passed = [], []
    for run in data.runs:
        failing = check_gate(run, thresholds)
        if failing:
            parts.append(f"{run.backend}: " + ", ".join(failing))
        passed.append(f"{run.backend} ({len(run.records)} questions)")
    for claims in data.claims:
        if "[" in claims.checker and claims.checker not in (thresholds.get("claims") or {}):
            continue  # experimental variant: measured, not gated
        failing = check_claims_gate(claims, thresholds)
        if failing:
            parts.append(f"checker {claims.checker}: " + ", ".join(failing))
        passed.append(f"checker {claims.checker}")
    if parts:
        return False, "gate failed: " + "; ".join(parts)
    return True, "gate passed: " + ", ".join(passed)


class Comparison(BaseModel):
    backend_a: str
    backend_b: str
    metrics: list[dict[str, Any]]
    changes: list[dict[str, Any]]


def _record_key(r: QuestionRecord) -> dict[str, Any]:
    return {
        "facts": r.fact_share,
        "abstained": r.abstained,
        "recall_hit": r.recall_hit,
        "citation_recall": r.citation_recall,
        "citation_precision": r.citation_precision,
        "faithfulness": r.faithfulness,
    }


def compare_runs(a: EvalRun, b: EvalRun) -> Comparison:
    """Per-metric deltas (b - a) and the questions whose outcome changed."""
    names = [*HEADLINE, "answer_complete", "chunk_recall", "citation_recall_micro"]
    metrics = []
    for name in names:
        va, vb = a.metric(name), b.metric(name)
        delta = None if va is None or vb is None else vb - va
        metrics.append({"metric": name, "a": va, "b": vb, "delta": delta})
    for stage in ("total", "generate", "check"):
        la = (a.metrics.get("latency_ms") or {}).get(stage, {}).get("p50")
        lb = (b.metrics.get("latency_ms") or {}).get(stage, {}).get("p50")
        if la is not None or lb is not None:
            delta = None if la is None or lb is None else lb - la
            metrics.append({"metric": f"latency_{stage}_p50_ms", "a": la, "b": lb, "delta": delta})
    by_a = {r.id: r for r in a.records}
    changes: list[dict[str, Any]] = []
    for rb in b.records:
        ra = by_a.get(rb.id)
        if ra is None:
            continue
        ka, kb = _record_key(ra), _record_key(rb)
        diff = {k: (ka[k], kb[k]) for k in ka if ka[k] != kb[k]}
        if diff:
            better = _record_score(rb) - _record_score(ra)
            changes.append(
                {"id": rb.id, "type": rb.type, "changed": diff, "direction": _sign(better)}
            )
    changes.sort(key=lambda c: ({"worse": 0, "mixed": 1, "better": 2}[c["direction"]], c["id"]))
    return Comparison(backend_a=a.backend, backend_b=b.backend, metrics=metrics, changes=changes)


def _record_score(r: QuestionRecord) -> float:
    base = (r.fact_share or 0.0) + 0.5 * bool(r.recall_hit) if r.answerable else 1.5 * r.abstained
    return base + 0.5 * (r.citation_recall if r.citation_recall is not None else 0.0)


def _sign(x: float) -> str:
    return "better" if x > 1e-9 else "worse" if x < -1e-9 else "mixed"


def pair_runs(a: EvalFile, b: EvalFile) -> list[tuple[EvalRun, EvalRun]]:
    """Runs of the two files to compare: same backend, or the only run of each."""
    if len(a.runs) == 1 and len(b.runs) == 1:
        return [(a.runs[0], b.runs[0])]
    by_backend = {r.backend: r for r in a.runs}
    pairs = [(by_backend[r.backend], r) for r in b.runs if r.backend in by_backend]
    if not pairs:
        raise EvalError("the two files have no backend in common to compare")
    return pairs


def read_eval_file(path: Path) -> EvalFile:
    try:
        return EvalFile.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"no saved run at {path}") from None
    except ValueError as exc:
        raise EvalError(
            f"{path} is not a saved `rag eval` run ({str(exc).splitlines()[0]})"
        ) from None


def merge_eval_files(paths: Sequence[Path]) -> EvalFile:
    """The runs and claims runs of several saved files, in order, as one file."""
    merged = EvalFile()
    for path in paths:
        data = read_eval_file(path)
        merged.runs.extend(data.runs)
        merged.claims.extend(data.claims)
        merged.questions_file = merged.questions_file or data.questions_file
    return merged


def write_eval_file(data: EvalFile, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)


# --- text output -----------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def format_run(run: EvalRun) -> str:
    """The figures of one run as plain text (what ``rag eval`` prints)."""
    m, c = run.metrics, run.metrics.get("counts", {})
    head = (
        f"backend {run.backend} ({run.model}), checker {run.checker}, "
        f"{c.get('questions', 0)} questions"
        + (f" [subset {run.subset}]" if run.subset else "")
        + f", {run.seconds:.0f} s"
        + (" (stopped at the time limit)" if run.stopped_early else "")
    )
    k = run.settings.get("evidence_k", "k")
    extra = {
        "retrieval_recall": f"{c.get('retrieval_hits', 0)}/{c.get('retrieval_measured', 0)}; "
        f"chunks@{run.settings.get('top_k', '')} {pct(m.get('chunk_recall'))}, "
        f"gold lines {pct(m.get('retrieval_gold_coverage'))}",
        "answer_correctness": f"{c.get('key_facts_found', 0)}/{c.get('key_facts', 0)} facts; "
        f"complete answers {pct(m.get('answer_complete'))}",
        "citation_validity": f"{c.get('citations', 0) - c.get('invalid_citations', 0)}"
        f"/{c.get('citations', 0)} citations exact",
        "citation_recall": f"per sentence {pct(m.get('citation_recall_micro'))}",
        "citation_precision": f"per citation {pct(m.get('citation_precision_micro'))}",
        "faithfulness": f"{c.get('claim_sentences', 0) - c.get('unsupported_sentences', 0) - c.get('uncited_sentences', 0)}"
        f"/{c.get('claim_sentences', 0)} claim sentences; "
        f"{c.get('answers_without_claims', 0)} answers without claims",
        "unanswerable_declined": f"of {c.get('unanswerable', 0)}",
        "answerable_answered": f"{c.get('abstained', 0)} abstentions in all "
        f"(answerer {c.get('abstained_by_answerer', 0)}, checker {c.get('abstained_by_checker', 0)}, "
        f"no evidence {c.get('abstained_no_evidence', 0)})",
    }
    lines = [head]
    for name in HEADLINE:
        label = LABELS[name].replace("@k", f"@{k}")
        lines.append(f"  {label:<30} {pct(m.get(name)):>7}   {extra.get(name, '')}")
    lat = m.get("latency_ms") or {}
    if lat:
        lines.append("  latency ms" + " " * 21 + "    p50      p95")
        for stage, v in lat.items():
            lines.append(f"    {stage:<28} {v['p50']:>7.0f}  {v['p95']:>7.0f}")
    by_type = m.get("by_type") or {}
    if by_type:
        lines.append("  by type          n  recall  facts  cit.rec  cit.prec  abstained")
        for t, v in by_type.items():
            lines.append(
                f"    {t:<13} {v['n']:>3}  {pct(v['retrieval_recall']):>6} "
                f"{pct(v['answer_correctness']):>6} {pct(v['citation_recall']):>8} "
                f"{pct(v['citation_precision']):>9}  {v['abstained']:>5}"
            )
    for n in run.notices:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


def worst_records(run: EvalRun, n: int = 10) -> list[QuestionRecord]:
    """The records with failures, worst first."""
    bad = [r for r in run.records if r.failures]
    return sorted(bad, key=lambda r: (-r.severity, r.id))[:n]


def format_failures(run: EvalRun, n: int = 10) -> str:
    worst = worst_records(run, n)
    if not worst:
        return "  no failures"
    return "\n".join(f"  {r.id} ({r.type}): {'; '.join(r.failures)}" for r in worst)


def format_claims(run: ClaimsRun) -> str:
    lines = [
        f"checker {run.checker}"
        + (f" (judge {run.model})" if run.model != "none" else "")
        + f" on {len(run.records)} claims, {run.seconds:.0f} s",
        f"  balanced accuracy {pct(run.balanced_accuracy)}  (supported recognised "
        f"{pct(run.true_positive_rate)}, unsupported rejected {pct(run.true_negative_rate)}; "
        f"target {pct(CLAIMS_TARGET)} with the embedded judge)",
        "  per kind:",
    ]
    for kind, v in run.per_kind.items():
        side = "supported" if v["label_supported"] else "unsupported"
        lines.append(f"    {kind:<20} {side:<12} {pct(v['accuracy']):>7}  (n={v['n']:.0f})")
    stages = Counter((r.stage, r.correct) for r in run.records)
    lines.append(
        "  decided by: "
        + ", ".join(
            f"{s} {stages[(s, True)] + stages[(s, False)]} ({stages[(s, False)]} wrong)"
            for s in ("rules", "coverage", "judge")
            if stages[(s, True)] + stages[(s, False)]
        )
    )
    if run.sweep:
        lines.append(
            "  judge threshold sweep: "
            + ", ".join(f"{s['threshold']:.1f}→{pct(s['balanced_accuracy'])}" for s in run.sweep)
        )
    wrong = [r for r in run.records if not r.correct]
    if wrong:
        lines.append("  wrong:")
        for r in wrong:
            lines.append(f"    {r.id} {r.kind:<18} {r.score:.2f} {r.reason[:60]}")
    return "\n".join(lines)


def format_comparison(cmp: Comparison) -> str:
    lines = [f"compare {cmp.backend_a} (A) -> {cmp.backend_b} (B)"]
    lines.append(f"  {'metric':<32} {'A':>8} {'B':>8} {'delta':>8}")
    for row in cmp.metrics:
        name = row["metric"]
        if name.startswith("latency"):
            a = "n/a" if row["a"] is None else f"{row['a']:.0f}"
            b = "n/a" if row["b"] is None else f"{row['b']:.0f}"
            d = "" if row["delta"] is None else f"{row['delta']:+.0f}"
        else:
            a, b = pct(row["a"]), pct(row["b"])
            d = "" if row["delta"] is None else f"{100 * row['delta']:+.1f}"
        lines.append(f"  {LABELS.get(name, name):<32} {a:>8} {b:>8} {d:>8}")
    if cmp.changes:
        lines.append(f"  {len(cmp.changes)} question(s) changed:")
        for ch in cmp.changes:
            what = ", ".join(f"{k} {_fmt(v[0])}→{_fmt(v[1])}" for k, v in ch["changed"].items())
            lines.append(f"    {ch['direction']:<6} {ch['id']} ({ch['type']}): {what}")
    else:
        lines.append("  no question changed")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)
