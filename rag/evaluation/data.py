"""The labelled sets: questions (with key facts and gold lines) and claims (with cited text), their
subsets, splits and corpora.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.corpus import text_or_none
from rag.errors import EvalError, QuestionError
from rag.schema import Span

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
QUESTIONS_FILE = EVAL_DIR / "questions.jsonl"
CLAIMS_FILE = EVAL_DIR / "claims.jsonl"
SUBSETS_FILE = EVAL_DIR / "subset.txt"
THRESHOLDS_FILE = EVAL_DIR / "thresholds.json"
FORMAT = "rag-eval/1"

CONTRADICTION_KINDS = frozenset({"negation", "opposite_verb", "role_reversal"})
"""Claim kinds whose source states the opposite: the checker should call them contradicted."""

NON_ENGLISH = "non_english"
"""The question type of questions asked in another language than the documents'."""


class EvalCorpus(BaseModel):
    """A corpus with its labelled sets: the shipped news articles, the licence texts, or the Python
    reference topics."""

    name: str
    corpus_dir: Path
    questions_file: Path
    claims_file: Path
    description: str = ""


def _beside(name: str, description: str) -> EvalCorpus:
    """A corpus laid out as ``eval/<name>/``: its texts in ``corpus/``, its sets beside them."""
    folder = EVAL_DIR / name
    return EvalCorpus(
        name=name,
        corpus_dir=folder / "corpus",
        questions_file=folder / "questions.jsonl",
        claims_file=folder / "claims.jsonl",
        description=description,
    )


CORPORA: dict[str, EvalCorpus] = {
    "news": EvalCorpus(
        name="news",
        corpus_dir=EVAL_DIR.parent / "corpus",
        questions_file=QUESTIONS_FILE,
        claims_file=CLAIMS_FILE,
        description="five news articles (the shipped corpus/)",
    ),
    "licenses": _beside(
        "licenses", "nine software licences (Debian base-files; eval/licenses/build.py)"
    ),
    "pydocs": _beside(
        "pydocs",
        "ten Python language reference topics (Debian libpython3.11-stdlib; eval/pydocs/build.py)",
    ),
}
SPLITS = ("dev", "test")
DEFAULT_CORPUS = "news"
"""The corpus questions are asked of unless another is named: the shipped ``corpus/``."""


def eval_corpus(name: str) -> EvalCorpus:
    """The labelled corpus called ``name``; :class:`EvalError` names the choices."""
    if name not in CORPORA:
        raise EvalError(f"no evaluation corpus {name!r}: choose from {', '.join(CORPORA)}")
    return CORPORA[name]


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
    split: Literal["dev", "test"] = "dev"
    """``dev`` (tune on it) or ``test`` (report only, never tune on it)."""

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


class Claim(BaseModel):
    id: str
    claim: str
    evidence: list[GoldQuote]
    label: Literal["supported", "unsupported"]
    kind: str
    split: Literal["dev", "test"] = "dev"
    pair: str | None = None

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


def questions_by_id(ids: Sequence[str], path: Path | None = None) -> list[Question]:
    """The questions with these ids, in the order given; :class:`QuestionError` names any that
    the set does not have."""
    path = Path(path or QUESTIONS_FILE)
    by_id = {q.id: q for q in load_questions(path)}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise QuestionError(f"no question with id {', '.join(missing)} in {path}")
    return [by_id[i] for i in ids]


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
    split: str | None = None,
) -> list[Question]:
    """The questions to run: one split (``dev``/``test``; ``None``: both), a named subset
    and/or explicit ids, then the first ``limit``."""
    if split is not None and split not in SPLITS:
        raise EvalError(f"no split {split!r}: choose dev or test")
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
    if split is not None:
        chosen = [q for q in chosen if q.split == split]
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

    text = text_or_none(Path(corpus_dir), gold.file)
    if text is None:
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
