"""The checker looks at meaning, not topic: rules for names/numbers/dates, then the judge."""

from __future__ import annotations

import pytest

from rag.schema import Citation, SentenceCheck
from rag.verify import (
    Checker,
    check_rules,
    dates_in,
    faithfulness,
    find_conflicts,
    is_claim,
    numbers_in,
)

LEFT = "Junyang Lin, the technical lead of Alibaba's Qwen team, stepped down on March 4, 2026."


def cite(n: int, quote: str, file: str = "a.txt") -> Citation:
    return Citation(
        n=n, file=file, line_start=1, line_end=1, char_start=0, char_end=len(quote), quote=quote
    )


def test_number_formats() -> None:
    assert 262000.0 in numbers_in("a context of 262K tokens")
    assert 262000.0 in numbers_in("262,000 tokens")
    assert 6e8 in numbers_in("over 600 million downloads")
    assert 4.0 in numbers_in("four ranks")
    assert 1234567.0 in numbers_in("1,234,567 rows")


def test_csv_fields_are_no_thousands() -> None:
    """In a CSV record "2019-07-06,2021-08-14" the comma separates two dates: the years are
    2019 and 2021, not a number 6,202."""
    row = "11,Falcon,falcon,2019-07-06,2021-08-14,2024-08-14"
    assert {2019.0, 2021.0, 2024.0} <= numbers_in(row)
    assert 6202.0 not in numbers_in(row)
    assert check_rules("Falcon was released on 14 August 2021.", row).ok


def test_date_formats() -> None:
    assert dates_in("on March 3") == {(3, 3)} == dates_in("on 3 March") == dates_in("Mar. 3rd")
    assert dates_in("released 2026-03-03") == {(3, 3)}  # ISO, as changelogs and tables write it
    assert dates_in("version 2026-13-40 of 12-03-2026") == set()  # no month 13; not ISO


@pytest.mark.parametrize(
    ("claim", "ok"),
    [
        ("Release 4.2 came out on 9 May 2024.", True),
        ("Release 4.2 came out on May 9, 2024.", True),
        ("Release 4.2 came out on 2024-05-09.", True),
        ("Release 4.2 came out on 9 May 2023.", False),  # another year
        ("Release 4.2 came out on 10 May 2024.", False),  # another day
        # the day and month of an ISO date are no numbers of their own
        ("Release 9 came out in 2024.", False),
        ("Release 4.2 came out after 5 betas in 2024.", False),
    ],
)
def test_iso_dates_in_the_text_are_dates(claim: str, ok: bool) -> None:
    """A changelog's or a table's "2024-05-09" is the day a writer calls 9 May 2024."""
    assert check_rules(claim, "* Changes in release 4.2 (2024-05-09) [stable]").ok is ok


@pytest.mark.parametrize(
    ("claim", "ok"),
    [
        ("Junyang Lin stepped down on March 4.", True),
        ("Junyang Lin stepped down on 4 March 2026.", True),
        ("Junyang Lin stepped down on March 5.", False),  # wrong date
        ("Binyuan Hui stepped down on March 4.", False),  # wrong person
        ("Lin joined Alibaba in 2019.", False),  # a number the text does not hold
    ],
)
def test_rules(claim: str, ok: bool) -> None:
    assert check_rules(claim, LEFT).ok is ok


def test_rules_only_checker_catches_topic_match_without_support() -> None:
    checker = Checker(judge=None)
    assert checker.check("Lin joined Alibaba in 2019.", [cite(1, LEFT)]).verdict == "unsupported"
    good = checker.check("Junyang Lin stepped down on March 4, 2026.", [cite(1, LEFT)])
    assert good.verdict == "supported" and good.best_citation == 1
    assert checker.check("Junyang Lin stepped down.", []).verdict == "uncited"


class FixedJudge:
    def __init__(self, p: float) -> None:
        self.p = p
        self.calls = 0

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        self.calls += 1
        return self.p


def test_judge_decides_after_rules() -> None:
    yes, no = FixedJudge(0.9), FixedJudge(0.1)
    claim = "Junyang Lin stepped down on March 4, 2026."
    assert Checker(yes).check(claim, [cite(1, LEFT)]).verdict == "supported"
    assert Checker(no).check(claim, [cite(1, LEFT)]).verdict == "unsupported"
    # rules fail first: the judge is not even asked
    fast = FixedJudge(0.99)
    assert Checker(fast).check("Lin left on March 9.", [cite(1, LEFT)]).verdict == "unsupported"
    assert fast.calls == 0


def test_the_likeliest_citation_is_judged_first_and_the_rest_not_at_all() -> None:
    claim = "Junyang Lin, the technical lead, stepped down on March 4, 2026."
    partial = cite(1, "Junyang Lin stepped down on March 4, 2026.", "b.txt")
    yes = FixedJudge(0.9)
    checked = Checker(yes).check(claim, [partial, cite(2, LEFT)])
    # the citation that holds more of the claim's words is read first; it supports the claim,
    # so the judge is not asked about the other one
    assert checked.verdict == "supported" and checked.best_citation == 2 and yes.calls == 1
    no = FixedJudge(0.1)
    assert Checker(no).check(claim, [partial, cite(2, LEFT)]).verdict == "unsupported"
    assert no.calls == 3  # each citation, then both read together


def test_is_claim_and_faithfulness() -> None:
    assert not is_claim("The documents do not answer this question.")
    assert is_claim("Lin left Alibaba in March.")
    assert is_claim("DE Germany")  # a two-column table row, quoted as it stands
    assert not is_claim("See above.")
    checks = [
        SentenceCheck(text="Lin left Alibaba.", verdict="supported", score=0.9),
        SentenceCheck(text="He joined in 2019 too.", verdict="unsupported", score=0.1),
    ]
    assert faithfulness(checks) == 0.5
    assert faithfulness([]) is None


def test_conflicts_between_files() -> None:
    c1 = cite(
        1, "Besides Lin, Yubo Wen and Huibin Yuan also announced their resignations.", "002.txt"
    )
    c2 = cite(
        2,
        "Besides Junyang Lin, core members like Binyuan Hui and Kaixin Li have also departed.",
        "003.txt",
    )
    checks = [
        SentenceCheck(
            text="Yubo Wen and Huibin Yuan also resigned.",
            citations=[1],
            verdict="supported",
            score=0.9,
        ),
        SentenceCheck(
            text="Binyuan Hui and Kaixin Li also departed.",
            citations=[2],
            verdict="supported",
            score=0.9,
        ),
    ]
    conflicts = find_conflicts("Who else left besides Lin?", checks, [c1, c2])
    assert len(conflicts) == 1
    assert [s.files for s in conflicts[0].sides] == [["002.txt"], ["003.txt"]]
    same = find_conflicts("Who else left besides Lin?", checks[:1], [c1, c2])
    assert same == []


def test_sides_that_share_a_value_agree() -> None:
    """One source giving the birth year and an age, another only the birth year: they agree (one
    says less), so no conflict; two different dates for one event are a conflict."""
    c1 = cite(1, "Born in 1990, Ana Ruiz became director at 32.", "a.txt")
    c2 = cite(2, "Ana Ruiz, born in 1990, took office on March 3.", "b.txt")
    c3 = cite(3, "Ana Ruiz took office on May 5, in Lima.", "c.txt")

    def ok(text: str, n: int) -> SentenceCheck:
        return SentenceCheck(text=text, citations=[n], verdict="supported", score=0.9)

    question = "When was Ana Ruiz born, and how old was she when she became director?"
    agree = [
        ok("Ana Ruiz was born in 1990 and became director at 32.", 1),
        ok("She was born in 1990.", 2),
    ]
    assert find_conflicts(question, agree, [c1, c2, c3]) == []
    disagree = [ok("She took office on March 3.", 2), ok("She took office on May 5.", 3)]
    conflicts = find_conflicts("When did Ana Ruiz take office?", disagree, [c1, c2, c3])
    assert len(conflicts) == 1 and len(conflicts[0].sides) == 2


@pytest.mark.slow
def test_embedded_judge_catches_changed_verb(embedded_llm: object) -> None:
    checker = Checker(judge=embedded_llm)  # type: ignore[arg-type]
    evidence = [cite(1, LEFT)]
    # both pass the name/number rules; only meaning separates them
    assert (
        checker.check("Junyang Lin stepped down on March 4, 2026.", evidence).verdict == "supported"
    )
    assert (
        checker.check("Junyang Lin was promoted on March 4, 2026.", evidence).verdict
        == "unsupported"
    )


def test_missing_names_are_listed_in_the_order_the_claim_gives_them() -> None:
    from rag.verify import check_rules

    result = check_rules(
        "Tom Berg, Ana Silva and Ole Lund signed the deal on May 4.", "The deal was signed."
    )
    names = [m for m in result.missing if not m.startswith(("date", "number"))]
    assert names == sorted(names, key=lambda n: "Tom Berg, Ana Silva and Ole Lund".find(n))
    assert result.missing[0] == "date 5/4"


def test_a_number_read_as_a_difference_of_the_texts_numbers_is_not_missing() -> None:
    text = "She joined the firm in 2019 and became a partner in 2023."
    assert check_rules("She worked there for four years before becoming a partner.", text).ok
    assert not check_rules("She worked there for five years before becoming a partner.", text).ok
    text = "The new method raised accuracy from 23% to 27%."
    assert check_rules("Accuracy rose by about 4 points.", text).ok
    assert check_rules("Accuracy rose by about 6 points.", text).missing == ["number 6"]


def test_a_whole_quoted_sentence_needs_no_judge() -> None:
    from rag.verify import quotes_whole_sentence

    text = "The board met in May. It is false that the museum closed in June. It reopened in the autumn."
    assert quotes_whole_sentence("The board met in May.", text)
    assert quotes_whole_sentence("It reopened in the autumn", text)
    # part of a sentence is no quote: its context may deny it
    assert not quotes_whole_sentence("the museum closed in June", text)

    class NoJudge:
        def yes_probability(self, messages: object) -> float:
            raise AssertionError("a quote was sent to the judge")

    check = Checker(judge=NoJudge()).check("The board met in May.", [cite(1, text)])  # type: ignore[arg-type]
    assert check.verdict == "supported" and "quotes" in check.reason


def test_a_multiple_the_text_does_not_give_is_missing() -> None:
    text = "Copies may be sold for no more than the cost of distribution."
    assert check_rules(
        "Copies may be sold for up to twice the cost of distribution.", text
    ).missing == ["twice"]
    assert check_rules("Copies may be sold for no more than the cost of distribution.", text).ok
    # the same factor as a word or as a number
    text = "Membership doubled in 2024, while fees stayed at half the old rate."
    assert check_rules("Membership doubled in 2024.", text).ok
    assert check_rules("Fees were halved.", text).ok
    assert check_rules("Fees were cut by 50%.", "Fees were cut by 50% in 2024.").ok
    assert check_rules("Fees were halved.", "Fees were cut by 50% in 2024.").ok
    assert check_rules("Membership tripled.", text).missing == ["tripled"]


@pytest.mark.parametrize(
    ("name", "text", "spelled"),
    [
        ("GPL", "the GNU General Public License, version 3", True),
        ("MPL", "MOZILLA PUBLIC LICENSE Version 2.0", True),
        ("GPL", "the Lesser General License", False),
        ("UK", "the United Kingdom", True),
        ("Kim", "Karl Ivo Moe", False),  # a name, not an abbreviation
    ],
)
def test_an_abbreviation_the_text_spells_out_is_named(name: str, text: str, spelled: bool) -> None:
    claim = f"The {name} covers the work."
    missing = check_rules(claim, f"{text} covers the work.").missing
    assert (name not in missing) is spelled


@pytest.mark.parametrize(
    ("claim", "ok"),
    [
        ("The app had more than 200 million users.", True),
        ("The app had over 200 million users.", True),
        ("The app had about 200 million users.", True),
        ("The app had more than 300 million users.", False),
        ("The app had fewer than 200 million users.", False),
        ("The app had 200 million users.", False),  # an exact figure must be the text's
        ("The app had about 2 billion users.", False),  # another magnitude
    ],
)
def test_a_bound_or_round_figure_the_texts_number_makes_true(claim: str, ok: bool) -> None:
    assert check_rules(claim, "The app ranked third with 203 million users.").ok is ok


def test_a_product_named_with_its_version() -> None:
    text = "Changed in version 3.11: starred elements are now allowed."
    assert check_rules("Starred elements are allowed from Orion 3.11 on.", text).ok
    assert not check_rules("Starred elements are allowed from Orion 3.12 on.", text).ok
    # without "version", the product's own name must be there (the text or its document's name)
    text = "Since 4.2, starred elements are allowed."
    assert not check_rules("Starred elements are allowed since Orion 4.2.", text).ok
    assert check_rules("Starred elements are allowed since Orion 4.2.", text, "Orion manual").ok


def test_a_name_typed_without_its_accents_is_the_same_name() -> None:
    from rag.lexical import fold_accents, tokenize

    assert fold_accents("Tomás Müller, naïve") == "Tomas Muller, naive"
    assert fold_accents("が 阿里") == "が 阿里"  # other scripts keep their marks
    assert tokenize("Tomás Ortega") == tokenize("Tomas Ortega")
    row = "Lab manager | Tomás Ortega | 4803"
    assert check_rules("Tomas Ortega is the lab manager.", row).ok
    assert check_rules("Tomás Ortega is the lab manager.", row.replace("á", "a")).ok
    assert not check_rules("Tomasz is the lab manager.", row).ok


def test_every_part_of_an_accented_name_is_compared_without_accents() -> None:
    # the text's accents are folded, so the claim's name parts must be too: a hyphenated name
    # whose parts are both there, and an accented first word that the text uses in lower case
    assert check_rules("Jean-Ángel leads the lab.", "Jean and Ángel lead the lab.").ok
    assert check_rules("Éclairs were sold out.", "By noon the éclairs were sold out.").ok
    assert not check_rules("Jean-Ángel leads the lab.", "Jean leads the lab.").ok


@pytest.mark.parametrize(
    ("claim", "text"),
    [
        # an ordinary word capitalised only by its place at the start of the claim
        ("Operators close the main gas valve first.", "1. Close the main gas valve."),
        (
            "Staff must record the shutdown time in the logbook.",
            "5. Record the shutdown time in the logbook.",
        ),  # fmt: skip
        ("Afterwards the board approved the budget.", "The board then approved the budget."),
        (
            "Members approved the budget for next year.",
            "The board approved the budget for next year.",
        ),  # fmt: skip
        (
            "Compressed files get the extension .sq.",
            "Each file is replaced by one with the extension .sq.",
        ),  # fmt: skip
        ('"Next, open the vent on the tank."', "3. Open the vent on the tank."),
        ("Step 3 is to open the vent on the tank.", "3. Open the vent on the tank."),
        # German: words that open a sentence, and a noun in another case or number
        ("Die Sitzung wurde um 18 Uhr beendet.", "Um 18 Uhr wurde die Sitzung geschlossen."),
        ("Im Haushalt sind die Pumpen enthalten.", "Der Haushalt enthält eine Pumpe."),
        ("Die Kosten des Vorstandes wurden genehmigt.", "Der Vorstand genehmigte die Kosten."),
    ],
)
def test_an_ordinary_word_capitalised_by_its_place_is_no_name(claim: str, text: str) -> None:
    assert check_rules(claim, text).missing == []


@pytest.mark.parametrize(
    ("claim", "text", "missing"),
    [
        ("Anna Berg approved the budget.", "The board approved the budget.", ["Anna", "Berg"]),
        ("Smith approved the budget.", "The board approved the budget.", ["Smith"]),
        (
            "Victor Hugo approved the budget.",
            "The board approved the budget.",
            ["Victor", "Hugo"],
        ),  # fmt: skip
        ("The budget was approved by Berg.", "The board approved the budget.", ["Berg"]),
        (
            "Frau Berg genehmigte den Haushalt.",
            "Der Vorstand genehmigte den Haushalt.",
            ["Frau", "Berg"],
        ),  # fmt: skip
    ],
)
def test_a_person_the_text_does_not_name_still_fails(
    claim: str, text: str, missing: list[str]
) -> None:
    assert check_rules(claim, text).missing == missing


def test_a_strict_bound_needs_more_than_the_very_number() -> None:
    """ "Fewer than four" is not what "at least four" says (the claim's first word had hidden
    this by being read as a name); "more than three" is, and "90,000+" says "more than
    90,000"."""
    assert check_rules("Fewer than four people left.", "At least four people left.").missing == [
        "fewer than 4"
    ]
    assert check_rules("More than three people left.", "At least four people left.").ok
    assert check_rules("More than 90,000 firms use it.", "The 90,000+ firms use it.").ok
    assert check_rules("Fewer than ten people came.", "Fewer than ten people came.").ok
    assert not check_rules("More than 200 people came.", "200 people came.").ok


def test_a_version_or_date_in_the_heading_of_the_cited_item() -> None:
    """ "Dark mode came with release 2.3" citing the item "Dark mode is available in the viewer."
    under the heading "Changes in release 2.3 (2023-11-02)" is what the lines say; another
    version is not."""
    item = "Dark mode is available in the viewer."
    heading = "Noteworthy changes in release 2.3 (2023-11-02) [stable] › New features"
    assert not check_rules("Release 2.3 made dark mode available in the viewer.", item).ok
    assert check_rules("Release 2.3 made dark mode available in the viewer.", item, "", heading).ok
    assert check_rules("On 2 November 2023 dark mode became available.", item, "", heading).ok
    assert not check_rules(
        "Release 2.4 made dark mode available in the viewer.", item, "", heading
    ).ok
    checker = Checker(judge=None)
    cited = cite(1, item).model_copy(update={"heading": heading})
    claim = "In 2.3, dark mode is available in the viewer."
    assert checker.check(claim, [cited]).verdict == "supported"
    assert checker.check(claim, [cite(1, item)]).verdict == "unsupported"  # no heading
    assert checker.check(claim.replace("2.3", "2.4"), [cited]).verdict == "unsupported"


def test_a_date_whose_day_is_written_in_words() -> None:
    """ "the ninth of November" is 9 November: the claim's date is checked against it."""
    text = "They sailed for the island on the ninth of November, in a borrowed boat."
    assert dates_in(text) == {(11, 9)}
    assert dates_in("its last entry dated the twenty-second of August") == {(8, 22)}
    assert check_rules("They sailed for the island on 9 November.", text).ok
    assert check_rules("They sailed for the island on November 9.", text).ok
    assert check_rules("They sailed for the island on 19 November.", text).missing == ["date 11/19"]


def test_a_question_states_nothing() -> None:
    """An FAQ's question ("Do they ship abroad?") neither supports nor contradicts a claim; its
    answer is what says so, and the words a claim shares only with the question are not said."""
    checker = Checker(judge=None)
    question = "Q: Does the shop ship parcels abroad?"
    for claim in ("The shop ships parcels abroad.", "The shop does not ship parcels abroad."):
        a = checker.assess(claim, question)
        assert a.verdict == "unsupported" and "asks" in a.reason
    answered = f"{question}\n\nA: No. Only within the country, by post."
    assert checker.assess("The shop ships parcels abroad.", answered).verdict == "unsupported"
    # what the answer says stands as before
    answered = f"{question}\n\nA: No. The shop sends its parcels by post within the country."
    assert checker.assess("The shop sends parcels by post within the country.", answered).ok


def test_words_given_to_a_named_speaker_are_not_anothers() -> None:
    """In a story, '"...," said her father' names who spoke: a claim that someone named in the
    sentences before said it fails; "he said" still takes the name from before."""
    text = '"You will want it by spring," said her father. "Everyone wants the boat by spring."'
    before = '"I do not want it," said Elsbeth.'
    assert not check_rules("Elsbeth said that everyone wants the boat by spring.", text, before).ok
    assert check_rules("Her father said that everyone wants the boat by spring.", text, before).ok
    told = '"It is from the city," he said. "Nobody here gets letters from the city."'
    assert check_rules("Corwin said nobody there gets letters from the city.", told, "Corwin").ok
