"""Sure and tentative marks: a supported sentence passed on a close call (a judge P(yes) under
the sure threshold, or matching words alone without a judge) is marked ``≈``, not ``✓``, in
every surface, and the claims evaluation counts what a sure mark is worth."""

from __future__ import annotations

from pathlib import Path

from rag.citations import CitedSentence
from rag.drafts import DraftReport, DraftSentence, draft_markdown, render_draft_table
from rag.evaluation import ClaimRecord, claim_figures
from rag.render import answer_markdown, render_answer_terminal
from rag.schema import Answer, Citation, SentenceCheck
from rag.verify import Checker

TEXT = "The museum in Lima reopened in May 2004 after a two-year restoration of its east wing."
CLAIM = "The museum's east wing was restored for two years before it reopened in May 2004."


class FixedJudge:
    def __init__(self, p: float) -> None:
        self.p = p

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        return self.p


def cite(quote: str = TEXT) -> Citation:
    return Citation(
        n=1, file="a.txt", line_start=1, line_end=1, char_start=0, char_end=len(quote), quote=quote
    )


def test_a_close_call_of_the_judge_is_supported_but_tentative() -> None:
    sure = Checker(FixedJudge(0.9), 0.5, sure=0.7).check(CLAIM, [cite()])
    assert sure.verdict == "supported" and not sure.tentative
    close = Checker(FixedJudge(0.6), 0.5, sure=0.7).check(CLAIM, [cite()])
    assert close.verdict == "supported" and close.tentative
    assert "only just" in close.reason
    # below the support threshold it is unsupported, never tentative
    low = Checker(FixedJudge(0.3), 0.5, sure=0.7).check(CLAIM, [cite()])
    assert low.verdict == "unsupported" and not low.tentative
    # the sure threshold is a setting: at 0.55 the same 0.6 is sure
    assert not Checker(FixedJudge(0.6), 0.5, sure=0.55).check(CLAIM, [cite()]).tentative


def test_without_a_judge_matching_words_are_tentative_and_a_quote_is_sure() -> None:
    rules = Checker(None)
    paraphrase = rules.check(
        "The museum in Lima reopened in May 2004 after a restoration.", [cite()]
    )
    assert paraphrase.verdict == "supported" and paraphrase.tentative
    assert "no judge" in paraphrase.reason
    quoted = rules.check(TEXT, [cite()])
    assert quoted.verdict == "supported" and not quoted.tentative


def answer_with(*checks: SentenceCheck) -> Answer:
    text = " ".join(CitedSentence(c.text, c.citations).render() for c in checks)
    return Answer(
        question="When did the museum reopen?",
        answer=text,
        abstained=False,
        backend="extractive",
        model="none",
        citations=[cite()],
        sentences=list(checks),
    )


SURE = SentenceCheck(text="It reopened in May 2004.", citations=[1], verdict="supported", score=0.9)
CLOSE = SentenceCheck(
    text="The restoration took two years.",
    citations=[1],
    verdict="supported",
    score=0.6,
    tentative=True,
    reason="the judge finds it stated, but only just: read the quote",
)


def test_answers_show_the_tentative_mark_in_the_terminal_and_in_markdown() -> None:
    answer = answer_with(SURE, CLOSE)
    lines = render_answer_terminal(answer).splitlines()
    assert lines[0].startswith("✓ It reopened") and "(supported, 0.90)" in lines[0]
    assert lines[1].startswith("≈ The restoration") and "(supported, tentative, 0.60)" in lines[1]
    assert "only just" in lines[2]
    md = answer_markdown(answer)
    assert "**≈** The restoration took two years." in md
    assert "**✓**" not in md and "It reopened in May 2004." in md
    assert "≈ Checker: supported on a close call: read the quote" in md
    # JSON carries the flag
    assert '"tentative":true' in answer.model_dump_json()


def test_the_chat_tints_a_tentative_sentence_apart(tmp_path: Path) -> None:
    from rag.ui.components import sentences_html

    body = sentences_html(answer_with(SURE, CLOSE), "t1", tmp_path)
    assert 'class="rag-sent v-supported"' in body
    assert 'class="rag-sent v-tentative"' in body
    assert "supported, tentative · 0.60" in body


def draft_sentence(text: str, start: int, tentative: bool) -> DraftSentence:
    return DraftSentence(
        text=text,
        line=1,
        citation_written="[a.txt:1]",
        verdict="supported",
        source="a.txt:1",
        citation=cite(),
        quote=TEXT,
        score=0.6 if tentative else 0.9,
        reason="the judge finds it stated, but only just: read the quote" if tentative else "",
        char_start=start,
        char_end=start + len(text),
        tentative=tentative,
    )


def test_a_draft_report_marks_and_counts_tentative_sentences() -> None:
    first = "It reopened in May 2004."
    second = "The restoration took two years."
    draft = f"{first} [a.txt:1] {second} [a.txt:1]\n"
    report = DraftReport(
        sentences=[
            draft_sentence(first, 0, False),
            draft_sentence(second, draft.index(second), True),
        ],
        checked=2,
        supported=2,
        tentative=1,
        counts={"supported": 2},
    )
    assert "2 supported (1 tentative), 0 flagged" in report.summary()
    table = render_draft_table(report, width=120)
    rows = table.splitlines()
    assert rows[1].split()[1] == "✓" and rows[2].split()[1] == "≈"
    assert "↳ tentative:" in rows[3]
    assert "≈ tentative" in table  # the legend
    md = draft_markdown(draft, report)
    # both citations verified (footnotes quoting the source); the close call gains its own note
    assert md.count('a.txt, line 1: "') == 1
    assert f"{second}[^1] ≈[^check-1]" in md
    assert "≈ Tentative: supported on a close call" in md
    # checked again, the old tentative note is replaced, not doubled
    again = draft_markdown(md, report)
    assert again.count("≈[^check-") == 1


def test_the_claims_evaluation_counts_what_a_sure_mark_is_worth() -> None:
    def rec(i: int, label: str, predicted: str, tentative: bool) -> ClaimRecord:
        return ClaimRecord(
            id=f"c{i}", kind="paraphrase" if label == "supported" else "negation", label=label,
            predicted=predicted, correct=(predicted == "supported") == (label == "supported"),
            score=0.6, reason="the judge", stage="judge", claim="x", tentative=tentative,
        )  # fmt: skip

    records = [
        rec(1, "supported", "supported", False),
        rec(2, "supported", "supported", True),
        rec(3, "supported", "unsupported", False),
        rec(4, "unsupported", "supported", True),  # a false claim under a tentative mark
        rec(5, "unsupported", "supported", False),  # a false claim under a sure mark
        rec(6, "unsupported", "unsupported", False),
        rec(7, "unsupported", "contradicted", False),
        rec(8, "unsupported", "unsupported", False),
    ]
    f = claim_figures(records)
    assert f["true_positive_rate"] == 2 / 3 and f["sure_supported"] == 1 / 3
    assert f["true_negative_rate"] == 3 / 5 and f["sure_unsupported"] == 1 / 5


def test_the_report_shows_how_true_and_false_claims_are_marked(tmp_path: Path) -> None:
    from rag.evaluation import ClaimsRun, EvalFile
    from rag.evaluation.report import mark_shares, write_report

    def rec(i: int, label: str, predicted: str, tentative: bool, split: str) -> ClaimRecord:
        return ClaimRecord(
            id=f"c{i}", kind="paraphrase" if label == "supported" else "negation", label=label,
            predicted=predicted, correct=(predicted == "supported") == (label == "supported"),
            score=0.6, reason="the judge", stage="judge", claim="x", tentative=tentative,
            split=split,
        )  # fmt: skip

    records = [
        rec(1, "supported", "supported", False, "test"),
        rec(2, "supported", "supported", True, "test"),
        rec(3, "unsupported", "supported", False, "test"),
        rec(4, "unsupported", "unsupported", False, "test"),
        rec(5, "unsupported", "contradicted", False, "dev"),
        rec(6, "supported", "supported", True, "dev"),
    ]
    assert mark_shares(records[:2]) == (0.5, 0.5, 0.0)
    assert mark_shares(records[2:4]) == (0.5, 0.0, 0.5)
    f = claim_figures(records)
    run = ClaimsRun(
        checker="rules+llm", model="m", threshold=0.5, started_at="", seconds=1.0,
        balanced_accuracy=f["balanced_accuracy"], accuracy=f["accuracy"],
        true_positive_rate=f["true_positive_rate"], true_negative_rate=f["true_negative_rate"],
        per_kind=f["per_kind"], records=records,
        by_split={s: claim_figures([r for r in records if r.split == s]) for s in ("test", "dev")},
    )  # fmt: skip
    text = write_report(EvalFile(claims=[run]), tmp_path).read_text(encoding="utf-8")
    assert "| rules+llm | test | 50.0% | 50.0% |" in text
    assert (tmp_path / "claims_marks.png").stat().st_size > 1000
    assert "claims_marks.png" in text
