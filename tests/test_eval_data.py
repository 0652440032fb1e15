"""Validate the hand-labelled evaluation data in ``eval/``.

Two corpora, each with its own sets:

- news (``corpus/``): ``eval/questions.jsonl`` and ``eval/claims.jsonl``;
- licences (``eval/licenses/corpus/``): ``eval/licenses/questions.jsonl`` and
  ``eval/licenses/claims.jsonl``;
- Python reference topics (``eval/pydocs/corpus/``): ``eval/pydocs/questions.jsonl`` and
  ``eval/pydocs/claims.jsonl``.

Question sets hold QA questions with key facts and gold source lines; claim sets hold (claim,
cited text) pairs labelled for a citation checker. Every quote must be an exact substring of its
own corpus's file lying within the stated 1-based lines (lines are ``text.split("\\n")``).
Only the stdlib and pytest are used (``rag`` is not imported).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
EVAL = REPO / "eval"
QUESTIONS = EVAL / "questions.jsonl"
CLAIMS = EVAL / "claims.jsonl"
LICENSES = EVAL / "licenses"
LICENSE_CORPUS = LICENSES / "corpus"
LICENSE_QUESTIONS = LICENSES / "questions.jsonl"
LICENSE_CLAIMS = LICENSES / "claims.jsonl"
PYDOCS = EVAL / "pydocs"
PYDOCS_CORPUS = PYDOCS / "corpus"
PYDOCS_QUESTIONS = PYDOCS / "questions.jsonl"
PYDOCS_CLAIMS = PYDOCS / "claims.jsonl"
PYDOCS_FILES = {
    f"{name}.txt"
    for name in (
        "try",
        "raise",
        "exceptions",
        "with",
        "for",
        "import",
        "execmodel",
        "function",
        "class",
        "debugger",
    )
}
LICENSE_FILES = {
    f"{name}.txt"
    for name in (
        "GPL-2",
        "GPL-3",
        "LGPL-2.1",
        "LGPL-3",
        "Apache-2.0",
        "MPL-2.0",
        "BSD",
        "CC0-1.0",
        "Artistic",
    )
}

SPLITS = {"dev", "test"}

QUESTION_TYPES = {"single", "multi", "conflict", "unanswerable", "non_english"}
QUESTION_MINIMUMS = {"multi": 8, "conflict": 5, "unanswerable": 7, "non_english": 3}  # news
MIN_QUESTIONS = 44  # news
LICENSE_QUESTION_MINIMUMS = {"unanswerable": 6}
LICENSE_MIN_QUESTIONS = 40
LICENSE_MIN_CONFLICT_PLUS_MULTI = 4

SUPPORTED_KINDS = {"exact", "paraphrase", "summary", "inference"}
OLD_UNSUPPORTED_KINDS = {
    "wrong_number",
    "wrong_person",
    "wrong_source",
    "negation",
    "changed_verb",
    "stitched",
    "unsupported_detail",
}
# failure classes added with the licences claims (``negation`` is shared with the old kinds)
NEW_UNSUPPORTED_KINDS = {
    "wrong_binding",
    "negation",
    "opposite_verb",
    "role_reversal",
    "scope_inflation",
    "unsupported_cause",
    "wrong_unit",
}
UNSUPPORTED_KINDS = OLD_UNSUPPORTED_KINDS | NEW_UNSUPPORTED_KINDS
# old rules, checked only on the 80 frozen claims (dev rows c01..c80 of eval/claims.jsonl)
UNSUPPORTED_MINIMUMS = {kind: 4 for kind in OLD_UNSUPPORTED_KINDS} | {"unsupported_detail": 3}
SUPPORTED_MINIMUM = 3  # each supported kind
MIN_CLAIMS = 64
FROZEN_CLAIM_ID = re.compile(r"c(0[1-9]|[1-7]\d|80)")
# new rules, over both claim files together
NEW_KIND_MINIMUM = 25
MIN_CLAIMS_TOTAL = 240
MAX_QUOTE_CHARS = 400  # "one or two sentences", the way an answer cites a sentence

QUESTION_FIELDS = {"id", "question", "type", "key_facts", "gold", "notes", "split"}
CLAIM_FIELDS = {"id", "claim", "evidence", "label", "kind", "split"}  # optional: "pair"
SPAN_FIELDS = {"file", "line_start", "line_end", "quote"}


# --------------------------------------------------------------------------- helpers


def _read_corpus(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}


def _read_jsonl(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines with their 1-based line numbers (blank lines are reported separately)."""
    text = path.read_text(encoding="utf-8")
    return [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _load(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for _, line in _read_jsonl(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = {}  # reported by the JSON test; keep the others loadable
        rows.append(row if isinstance(row, dict) else {})
    return rows


_CURLY = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")


def _fold(text: str) -> str:
    """Lower case with curly quotes folded to straight ones (for matching key facts only)."""
    return text.translate(_CURLY).lower()


@dataclass
class DataSet:
    """One jsonl file, the corpus its quotes point into, and the form of its ids."""

    name: str
    path: Path
    corpus: dict[str, str]
    id_pattern: str
    optional: bool = False  # may be missing (being written): its checks are skipped
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = _load(self.path)

    @property
    def present(self) -> bool:
        return self.path.is_file()

    def require(self) -> None:
        if not self.present:
            if self.optional:
                pytest.skip(f"{self.path.relative_to(REPO)} does not exist yet")
            pytest.fail(f"{self.path.relative_to(REPO)} is missing")


CORPUS_TEXT = _read_corpus(CORPUS)
LICENSE_TEXT = _read_corpus(LICENSE_CORPUS)

NEWS_QUESTIONS = DataSet("news-questions", QUESTIONS, CORPUS_TEXT, r"q\d{2,}")
LICENSE_QUESTION_SET = DataSet("licenses-questions", LICENSE_QUESTIONS, LICENSE_TEXT, r"l\d{2,}")
NEWS_CLAIMS = DataSet("news-claims", CLAIMS, CORPUS_TEXT, r"c\d{2,}")
LICENSE_CLAIM_SET = DataSet(
    "licenses-claims", LICENSE_CLAIMS, LICENSE_TEXT, r"lc\d{3,}", optional=True
)
PYDOCS_TEXT = _read_corpus(PYDOCS_CORPUS)
PYDOCS_QUESTION_SET = DataSet("pydocs-questions", PYDOCS_QUESTIONS, PYDOCS_TEXT, r"p\d{2,}")
PYDOCS_CLAIM_SET = DataSet("pydocs-claims", PYDOCS_CLAIMS, PYDOCS_TEXT, r"pc\d{3,}")

QUESTION_SETS = [NEWS_QUESTIONS, LICENSE_QUESTION_SET, PYDOCS_QUESTION_SET]
CLAIM_SETS = [NEWS_CLAIMS, LICENSE_CLAIM_SET, PYDOCS_CLAIM_SET]
ALL_SETS = QUESTION_SETS + CLAIM_SETS

# kept for readers of the old module-level names
QUESTION_ROWS = NEWS_QUESTIONS.rows
CLAIM_ROWS = NEWS_CLAIMS.rows


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


def check_span(span: object, where: str, corpus: dict[str, str] | None = None) -> None:
    """A gold/evidence span: known file, sane line numbers, quote found within those lines."""
    corpus = CORPUS_TEXT if corpus is None else corpus
    assert isinstance(span, dict), f"{where}: span must be an object"
    missing = SPAN_FIELDS - span.keys()
    assert not missing, f"{where}: span lacks {sorted(missing)}"
    name = span["file"]
    assert isinstance(name, str) and name in corpus, f"{where}: unknown corpus file {name!r}"
    text = corpus[name]
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


def _row_params(sets: list[DataSet]) -> list:
    return [pytest.param(ds, row, id=str(row.get("id"))) for ds in sets for row in ds.rows]


# --------------------------------------------------------------------------- corpus


def test_corpus_present() -> None:
    assert len(CORPUS_TEXT) == 5, sorted(CORPUS_TEXT)


def test_license_corpus_present() -> None:
    assert set(LICENSE_TEXT) == LICENSE_FILES, sorted(LICENSE_TEXT)


def test_pydocs_corpus_present() -> None:
    assert set(PYDOCS_TEXT) == PYDOCS_FILES, sorted(PYDOCS_TEXT)


def test_quote_line_ranges_helper() -> None:
    text = "alpha\nbeta gamma\nbeta\n"
    assert quote_line_ranges(text, "beta") == [(2, 2), (3, 3)]
    assert quote_line_ranges(text, "alpha\nbeta") == [(1, 2)]
    assert quote_line_ranges(text, "gamma\n") == [(2, 2)]
    assert quote_line_ranges(text, "delta") == []


# --------------------------------------------------------------------------- every file


@pytest.mark.parametrize("ds", ALL_SETS, ids=[ds.name for ds in ALL_SETS])
def test_jsonl_is_valid(ds: DataSet) -> None:
    ds.require()
    path = ds.path
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


@pytest.mark.parametrize("ds", ALL_SETS, ids=[ds.name for ds in ALL_SETS])
def test_ids_unique_and_well_formed(ds: DataSet) -> None:
    ds.require()
    ids = _ids(ds.rows)
    dupes = [i for i, k in Counter(ids).items() if k > 1]
    assert not dupes, f"{ds.name}: duplicate ids: {dupes}"
    bad = [i for i in ids if not re.fullmatch(ds.id_pattern, i)]
    assert not bad, f"{ds.name}: ids not of the form {ds.id_pattern}: {bad}"


# --------------------------------------------------------------------------- questions


def test_question_counts() -> None:
    """News set (eval/questions.jsonl)."""
    rows = NEWS_QUESTIONS.rows
    types = Counter(r.get("type") for r in rows)
    assert len(rows) >= MIN_QUESTIONS, f"{len(rows)} questions"
    for typ, minimum in QUESTION_MINIMUMS.items():
        assert types[typ] >= minimum, f"{typ}: {types[typ]} < {minimum}"
    assert types["single"] == max(types.values()), f"'single' should be the largest type: {types}"


@pytest.mark.parametrize(
    "ds", [LICENSE_QUESTION_SET, PYDOCS_QUESTION_SET], ids=["licenses", "pydocs"]
)
def test_license_question_counts(ds: DataSet) -> None:
    """The licences and Python-reference sets share the second corpus's minimums."""
    ds.require()
    rows = ds.rows
    types = Counter(r.get("type") for r in rows)
    assert len(rows) >= LICENSE_MIN_QUESTIONS, f"{len(rows)} questions"
    for typ, minimum in LICENSE_QUESTION_MINIMUMS.items():
        assert types[typ] >= minimum, f"{typ}: {types[typ]} < {minimum}"
    both = types["conflict"] + types["multi"]
    assert both >= LICENSE_MIN_CONFLICT_PLUS_MULTI, (
        f"conflict + multi: {both} < {LICENSE_MIN_CONFLICT_PLUS_MULTI}"
    )
    assert types["single"] == max(types.values()), f"'single' should be the largest type: {types}"


@pytest.mark.parametrize("ds", QUESTION_SETS, ids=[ds.name for ds in QUESTION_SETS])
def test_questions_unique(ds: DataSet) -> None:
    ds.require()
    texts = [str(r.get("question", "")).strip().lower() for r in ds.rows]
    dupes = [t for t, k in Counter(texts).items() if k > 1]
    assert not dupes, f"{ds.name}: duplicate questions: {dupes}"


@pytest.mark.parametrize("ds", QUESTION_SETS, ids=[ds.name for ds in QUESTION_SETS])
def test_question_splits_cover_every_type(ds: DataSet) -> None:
    """Every type with >= 2 questions has both a dev and a test question."""
    ds.require()
    by_type: dict[str, set[str]] = {}
    for row in ds.rows:
        by_type.setdefault(str(row.get("type")), set()).add(str(row.get("split")))
    counts = Counter(str(r.get("type")) for r in ds.rows)
    for typ, splits in by_type.items():
        if counts[typ] >= 2:
            assert splits >= SPLITS, (
                f"{ds.name}: type {typ!r} has splits {sorted(splits)}, needs dev and test"
            )


@pytest.mark.parametrize(("ds", "row"), _row_params(QUESTION_SETS))
def test_question_row(ds: DataSet, row: dict) -> None:
    qid = row.get("id")
    missing = QUESTION_FIELDS - row.keys()
    assert not missing, f"{qid}: missing fields {sorted(missing)}"
    assert row["type"] in QUESTION_TYPES, f"{qid}: bad type {row['type']!r}"
    assert row["split"] in SPLITS, f"{qid}: bad split {row['split']!r}"
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
        check_span(span, f"{qid} gold[{i}]", ds.corpus)
        if (
            ds is not NEWS_QUESTIONS
        ):  # the licences and pydocs sets keep gold quotes short, like claim evidence
            assert len(span["quote"]) <= MAX_QUOTE_CHARS, f"{qid} gold[{i}]: quote too long"

    files = {span["file"] for span in gold}
    if row["type"] in {"multi", "conflict"}:
        assert len(files) >= 2, f"{qid}: {row['type']} question needs gold from >= 2 files"
    if row["type"] == "conflict":
        assert len(facts) >= 2, f"{qid}: conflict question must require both sides"
    if row["type"] == "non_english":
        assert not row["question"].isascii(), f"{qid}: non_english question is plain ASCII"

    # Every fact group is grounded: some alternative appears in the gold quotes.
    gold_text = _fold(" ".join(span["quote"] for span in gold))
    for group in facts:
        assert any(_fold(alt) in gold_text for alt in group), (
            f"{qid}: no alternative of {group} appears in its gold quotes"
        )


# --------------------------------------------------------------------------- claims


def _frozen_claims() -> list[dict]:
    """The 80 original claims: dev rows c01..c80 of eval/claims.jsonl (the checker was tuned on them)."""
    return [
        r
        for r in NEWS_CLAIMS.rows
        if r.get("split") == "dev" and FROZEN_CLAIM_ID.fullmatch(str(r.get("id")))
    ]


def test_claim_counts() -> None:
    """The old per-kind rules, on the frozen claims only."""
    rows = _frozen_claims()
    labels = Counter(r.get("label") for r in rows)
    kinds = Counter(r.get("kind") for r in rows)
    assert len(rows) >= MIN_CLAIMS, f"{len(rows)} frozen claims"
    assert labels["supported"] == labels["unsupported"], f"frozen labels not balanced: {labels}"
    assert labels["supported"] + labels["unsupported"] == len(rows), labels
    for kind, minimum in UNSUPPORTED_MINIMUMS.items():
        assert kinds[kind] >= minimum, f"{kind}: {kinds[kind]} < {minimum}"
    for kind in SUPPORTED_KINDS:
        assert kinds[kind] >= SUPPORTED_MINIMUM, f"{kind}: {kinds[kind]} < {SUPPORTED_MINIMUM}"


@pytest.mark.parametrize("ds", CLAIM_SETS, ids=[ds.name for ds in CLAIM_SETS])
def test_claim_labels_balanced(ds: DataSet) -> None:
    ds.require()
    labels = Counter(r.get("label") for r in ds.rows)
    assert labels["supported"] == labels["unsupported"], f"{ds.name}: labels not balanced: {labels}"
    assert labels["supported"] + labels["unsupported"] == len(ds.rows), f"{ds.name}: {labels}"


def _both_claim_files() -> list[dict]:
    if not LICENSE_CLAIM_SET.present:
        pytest.skip(
            f"{LICENSE_CLAIMS.relative_to(REPO)} does not exist yet: the counts over both claim files "
            "are checked once it does"
        )
    return NEWS_CLAIMS.rows + LICENSE_CLAIM_SET.rows


def test_claim_total_over_both_files() -> None:
    rows = _both_claim_files()
    assert len(rows) >= MIN_CLAIMS_TOTAL, f"{len(rows)} claims in both files < {MIN_CLAIMS_TOTAL}"


@pytest.mark.parametrize("kind", sorted(NEW_UNSUPPORTED_KINDS))
def test_claim_new_failure_classes_over_both_files(kind: str) -> None:
    rows = _both_claim_files()
    n = sum(1 for r in rows if r.get("kind") == kind)
    assert n >= NEW_KIND_MINIMUM, f"{kind}: {n} rows in both files < {NEW_KIND_MINIMUM}"


@pytest.mark.parametrize("ds", CLAIM_SETS, ids=[ds.name for ds in CLAIM_SETS])
def test_claims_unique(ds: DataSet) -> None:
    ds.require()
    texts = [str(r.get("claim", "")).strip().lower() for r in ds.rows]
    dupes = [t for t, k in Counter(texts).items() if k > 1]
    assert not dupes, f"{ds.name}: duplicate claims: {dupes}"


@pytest.mark.parametrize(("ds", "row"), _row_params(CLAIM_SETS))
def test_claim_row(ds: DataSet, row: dict) -> None:
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
    assert row["split"] in SPLITS, f"{cid}: bad split {row['split']!r}"

    if "pair" in row:
        pair = row["pair"]
        by_id = {str(r.get("id")): r for r in ds.rows}
        assert isinstance(pair, str) and pair != cid, f"{cid}: bad pair {pair!r}"
        assert pair in by_id, f"{cid}: pair {pair!r} is not an id in {ds.path.name}"
        assert by_id[pair].get("split") == row["split"], (
            f"{cid}: pair {pair} is in split {by_id[pair].get('split')!r}, not {row['split']!r}"
        )

    evidence = row["evidence"]
    assert isinstance(evidence, list) and evidence, f"{cid}: evidence must be a non-empty list"
    for i, span in enumerate(evidence):
        check_span(span, f"{cid} evidence[{i}]", ds.corpus)
        assert len(span["quote"]) <= MAX_QUOTE_CHARS, f"{cid} evidence[{i}]: quote too long"
    cited = " ".join(span["quote"] for span in evidence)
    assert cited.strip().lower() != claim.strip().lower() or label == "supported", (
        f"{cid}: claim identical to its cited text cannot be unsupported"
    )
