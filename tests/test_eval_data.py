"""Validate the hand-labelled evaluation data in ``eval/``.

``eval/questions.jsonl`` holds QA questions with key facts and gold source lines;
``eval/claims.jsonl`` holds (claim, cited text) pairs labelled for a citation checker.
Every quote must be an exact substring of its corpus file lying within the stated 1-based
lines (lines are ``text.split("\\n")``). Only the stdlib and pytest are used.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
EVAL = REPO / "eval"
QUESTIONS = EVAL / "questions.jsonl"
CLAIMS = EVAL / "claims.jsonl"

QUESTION_TYPES = {"single", "multi", "conflict", "unanswerable", "non_english"}
QUESTION_MINIMUMS = {"multi": 8, "conflict": 5, "unanswerable": 7, "non_english": 3}
MIN_QUESTIONS = 44

SUPPORTED_KINDS = {"exact", "paraphrase", "summary", "inference"}
UNSUPPORTED_KINDS = {
    "wrong_number",
    "wrong_person",
    "wrong_source",
    "negation",
    "changed_verb",
    "stitched",
    "unsupported_detail",
}
UNSUPPORTED_MINIMUMS = {kind: 4 for kind in UNSUPPORTED_KINDS} | {"unsupported_detail": 3}
SUPPORTED_MINIMUM = 3  # each supported kind
MIN_CLAIMS = 64
MAX_QUOTE_CHARS = 400  # "one or two sentences", the way an answer cites a sentence

QUESTION_FIELDS = {"id", "question", "type", "key_facts", "gold", "notes"}
CLAIM_FIELDS = {"id", "claim", "evidence", "label", "kind"}
SPAN_FIELDS = {"file", "line_start", "line_end", "quote"}


# --------------------------------------------------------------------------- helpers


def _read_corpus() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir()) if p.is_file()}


def _read_jsonl(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines with their 1-based line numbers (blank lines are reported separately)."""
    text = path.read_text(encoding="utf-8")
    return [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _load(path: Path) -> list[dict]:
    rows = []
    for _, line in _read_jsonl(path):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            rows.append({})  # reported by the JSON test; keep the others loadable
    return rows


CORPUS_TEXT = _read_corpus()
QUESTION_ROWS = _load(QUESTIONS)
CLAIM_ROWS = _load(CLAIMS)


def quote_line_ranges(text: str, quote: str) -> list[tuple[int, int]]:
    """(first_line, last_line), 1-based, of every occurrence of ``quote`` in ``text``."""
    ranges = []
    start = text.find(quote)
    while start >= 0:
        end = start + len(quote)  # exclusive
        first = text.count("\n", 0, start) + 1
        last = text.count("\n", 0, max(start, end - 1)) + 1
        ranges.append((first, last))
        start = text.find(quote, start + 1)
    return ranges


def check_span(span: object, where: str) -> None:
    """A gold/evidence span: known file, sane line numbers, quote found within those lines."""
    assert isinstance(span, dict), f"{where}: span must be an object"
    missing = SPAN_FIELDS - span.keys()
    assert not missing, f"{where}: span lacks {sorted(missing)}"
    name = span["file"]
    assert isinstance(name, str) and name in CORPUS_TEXT, f"{where}: unknown corpus file {name!r}"
    text = CORPUS_TEXT[name]
    n_lines = len(text.split("\n"))
    ls, le = span["line_start"], span["line_end"]
    assert isinstance(ls, int) and not isinstance(ls, bool), f"{where}: line_start must be int"
    assert isinstance(le, int) and not isinstance(le, bool), f"{where}: line_end must be int"
    assert 1 <= ls <= le <= n_lines, f"{where}: bad line range {ls}-{le} ({name} has {n_lines})"
    quote = span["quote"]
    assert isinstance(quote, str) and quote.strip(), f"{where}: empty quote"
    ranges = quote_line_ranges(text, quote)
    assert ranges, f"{where}: quote is not an exact substring of {name}: {quote!r}"
    assert any(ls <= first and last <= le for first, last in ranges), (
        f"{where}: quote in {name} lies at lines {ranges}, not within {ls}-{le}"
    )


def _ids(rows: list[dict]) -> list[str]:
    return [str(r.get("id")) for r in rows]


# --------------------------------------------------------------------------- corpus


def test_corpus_present() -> None:
    assert len(CORPUS_TEXT) == 5, sorted(CORPUS_TEXT)


def test_quote_line_ranges_helper() -> None:
    text = "alpha\nbeta gamma\nbeta\n"
    assert quote_line_ranges(text, "beta") == [(2, 2), (3, 3)]
    assert quote_line_ranges(text, "alpha\nbeta") == [(1, 2)]
    assert quote_line_ranges(text, "gamma\n") == [(2, 2)]
    assert quote_line_ranges(text, "delta") == []


# --------------------------------------------------------------------------- both files


@pytest.mark.parametrize("path", [QUESTIONS, CLAIMS], ids=["questions", "claims"])
def test_jsonl_is_valid(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]  # trailing newline
    assert lines, f"{path.name} is empty"
    for n, line in enumerate(lines, 1):
        assert line.strip(), f"{path.name}:{n}: blank line"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path.name}:{n}: invalid JSON: {exc}")
        assert isinstance(row, dict), f"{path.name}:{n}: not a JSON object"


@pytest.mark.parametrize(
    ("rows", "prefix"), [(QUESTION_ROWS, "q"), (CLAIM_ROWS, "c")], ids=["questions", "claims"]
)
def test_ids_unique_and_well_formed(rows: list[dict], prefix: str) -> None:
    ids = _ids(rows)
    dupes = [i for i, k in Counter(ids).items() if k > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    bad = [i for i in ids if not re.fullmatch(rf"{prefix}\d{{2,}}", i)]
    assert not bad, f"ids not of the form {prefix}NN: {bad}"


# --------------------------------------------------------------------------- questions


def test_question_counts() -> None:
    types = Counter(r.get("type") for r in QUESTION_ROWS)
    assert len(QUESTION_ROWS) >= MIN_QUESTIONS, f"{len(QUESTION_ROWS)} questions"
    for typ, minimum in QUESTION_MINIMUMS.items():
        assert types[typ] >= minimum, f"{typ}: {types[typ]} < {minimum}"
    assert types["single"] == max(types.values()), f"'single' should be the largest type: {types}"


def test_questions_unique() -> None:
    texts = [str(r.get("question", "")).strip().lower() for r in QUESTION_ROWS]
    dupes = [t for t, k in Counter(texts).items() if k > 1]
    assert not dupes, f"duplicate questions: {dupes}"


@pytest.mark.parametrize("row", QUESTION_ROWS, ids=_ids(QUESTION_ROWS))
def test_question_row(row: dict) -> None:
    qid = row.get("id")
    missing = QUESTION_FIELDS - row.keys()
    assert not missing, f"{qid}: missing fields {sorted(missing)}"
    assert row["type"] in QUESTION_TYPES, f"{qid}: bad type {row['type']!r}"
    assert isinstance(row["question"], str) and row["question"].strip(), f"{qid}: empty question"
    assert isinstance(row["notes"], str), f"{qid}: notes must be a string"

    facts = row["key_facts"]
    assert isinstance(facts, list), f"{qid}: key_facts must be a list"
    for group in facts:
        assert isinstance(group, list) and group, f"{qid}: empty key_fact group"
        for alt in group:
            assert isinstance(alt, str) and alt.strip(), f"{qid}: bad key_fact {alt!r}"
    gold = row["gold"]
    assert isinstance(gold, list), f"{qid}: gold must be a list"

    if row["type"] == "unanswerable":
        assert facts == [], f"{qid}: unanswerable questions have no key_facts"
        assert gold == [], f"{qid}: unanswerable questions have no gold"
        return

    assert facts, f"{qid}: answerable question without key_facts"
    assert gold, f"{qid}: answerable question without gold"
    for i, span in enumerate(gold):
        check_span(span, f"{qid} gold[{i}]")

    files = {span["file"] for span in gold}
    if row["type"] in {"multi", "conflict"}:
        assert len(files) >= 2, f"{qid}: {row['type']} question needs gold from >= 2 files"
    if row["type"] == "conflict":
        assert len(facts) >= 2, f"{qid}: conflict question must require both sides"
    if row["type"] == "non_english":
        assert not row["question"].isascii(), f"{qid}: non_english question is plain ASCII"

    # Every fact group is grounded: some alternative appears in the gold quotes.
    gold_text = " ".join(span["quote"] for span in gold).lower()
    for group in facts:
        assert any(alt.lower() in gold_text for alt in group), (
            f"{qid}: no alternative of {group} appears in its gold quotes"
        )


# --------------------------------------------------------------------------- claims


def test_claim_counts() -> None:
    labels = Counter(r.get("label") for r in CLAIM_ROWS)
    kinds = Counter(r.get("kind") for r in CLAIM_ROWS)
    assert len(CLAIM_ROWS) >= MIN_CLAIMS, f"{len(CLAIM_ROWS)} claims"
    assert labels["supported"] == labels["unsupported"], f"labels not balanced: {labels}"
    assert labels["supported"] + labels["unsupported"] == len(CLAIM_ROWS), labels
    for kind, minimum in UNSUPPORTED_MINIMUMS.items():
        assert kinds[kind] >= minimum, f"{kind}: {kinds[kind]} < {minimum}"
    for kind in SUPPORTED_KINDS:
        assert kinds[kind] >= SUPPORTED_MINIMUM, f"{kind}: {kinds[kind]} < {SUPPORTED_MINIMUM}"


def test_claims_unique() -> None:
    texts = [str(r.get("claim", "")).strip().lower() for r in CLAIM_ROWS]
    dupes = [t for t, k in Counter(texts).items() if k > 1]
    assert not dupes, f"duplicate claims: {dupes}"


@pytest.mark.parametrize("row", CLAIM_ROWS, ids=_ids(CLAIM_ROWS))
def test_claim_row(row: dict) -> None:
    cid = row.get("id")
    missing = CLAIM_FIELDS - row.keys()
    assert not missing, f"{cid}: missing fields {sorted(missing)}"
    claim = row["claim"]
    assert isinstance(claim, str) and claim.strip(), f"{cid}: empty claim"
    assert not re.search(r"\[\d+\]", claim), f"{cid}: claim contains a citation marker"
    label, kind = row["label"], row["kind"]
    assert label in {"supported", "unsupported"}, f"{cid}: bad label {label!r}"
    allowed = SUPPORTED_KINDS if label == "supported" else UNSUPPORTED_KINDS
    assert kind in allowed, f"{cid}: kind {kind!r} not allowed for label {label!r}"

    evidence = row["evidence"]
    assert isinstance(evidence, list) and evidence, f"{cid}: evidence must be a non-empty list"
    for i, span in enumerate(evidence):
        check_span(span, f"{cid} evidence[{i}]")
        assert len(span["quote"]) <= MAX_QUOTE_CHARS, f"{cid} evidence[{i}]: quote too long"
    cited = " ".join(span["quote"] for span in evidence)
    assert cited.strip().lower() != claim.strip().lower() or label == "supported", (
        f"{cid}: claim identical to its cited text cannot be unsupported"
    )
