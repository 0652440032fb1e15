"""The checker's claim-to-clause alignment (rag.alignment) and the contradicted verdict, on
minimal pairs written for these tests (not taken from the labelled sets): each false claim
changes one thing, and its true twin must pass."""

from __future__ import annotations

import pytest

from rag.alignment import inspect, stem
from rag.render import render_answer_terminal
from rag.schema import Answer, Citation, SentenceCheck
from rag.verify import Checker

CASES = [
    # (kind, true claim, false claim, source)
    (
        "negation",
        "The board did not approve the merger.",
        "The board approved the merger.",
        "After a long meeting, the board did not approve the merger with the rival firm.",
    ),
    (
        "opposite",
        "The reviewers praised the new design.",
        "The reviewers criticized the new design.",
        "The reviewers praised the new design for its clarity.",
    ),
    (
        "opposite",
        "You must retain the attribution notices.",
        "You must remove the attribution notices.",
        "You must retain all attribution notices in every copy you distribute.",
    ),
    (
        "binding",
        "She became head of the lab in May 2021.",
        "She became head of the lab in June 2018.",
        "She joined the institute in June 2018 and became head of the lab in May 2021.",
    ),
    (
        "roles",
        "Maria Keller thanked Tom Berg for the review.",
        "Tom Berg thanked Maria Keller for the review.",
        "Maria Keller thanked Tom Berg for the review of her thesis.",
    ),
    (
        "roles",
        "Product managers must learn to think like engineers.",
        "Engineers must learn to think like product managers.",
        "Product managers must learn to think like engineers, the director said.",
    ),
    (
        "roles",
        "Northwind folded Acme Labs into Beta Works.",
        "Northwind folded Beta Works into Acme Labs.",
        "In 2020 Northwind folded Acme Labs into Beta Works to save costs.",
    ),
    (
        "binding",
        "The festival director Ana Ruiz opened the show.",
        "The festival director Tom Berg opened the show.",
        "The festival director Ana Ruiz opened the show, and the curator Tom Berg closed it.",
    ),
    (
        "scope",
        "Some of the volunteers stayed overnight.",
        "All of the volunteers stayed overnight.",
        "Some of the volunteers stayed overnight at the shelter.",
    ),
    (
        "cause",
        "The bridge was closed on Monday.",
        "The bridge was closed on Monday because of flooding.",
        "The bridge was closed on Monday, the city said.",
    ),
    (
        "unit",
        "The battery lasts twelve hours.",
        "The battery lasts twelve days.",
        "The battery lasts twelve hours on a single charge.",
    ),
    (
        "unit",
        "Three members left the choir over the past year.",
        "Three members left the choir over the past month.",
        "Over the past year, three members left the choir.",
    ),
]


@pytest.mark.parametrize(("kind", "true", "false", "source"), CASES)
def test_each_change_is_found_and_its_true_twin_passes(
    kind: str, true: str, false: str, source: str
) -> None:
    assert inspect(true, source).findings == []
    found = inspect(false, source).findings
    assert found and found[0].kind == kind, found


def test_negation_reads_by_clause_and_by_word() -> None:
    # "not based" negates one word, "does not bring" the clause
    source = "A work not based on the program does not bring the other work under this licence."
    assert inspect("A separate work is not brought under this licence.", source).findings == []
    assert inspect("A separate work is brought under this licence.", source).findings
    # a text that states a word both ways flips nothing
    source = "You may charge a fee for support. You may not charge a fee for the program itself."
    assert inspect("Charging for support is allowed.", source).findings == []
    # a negated claim word agrees with the opposite word: "not voluntary" is "involuntary"
    source = "The move was described as involuntary by people close to him."
    assert inspect("The move was not voluntary.", source).findings == []
    assert inspect("The move was voluntary.", source).findings


def test_contracted_far_from_and_adverbs_do_not_hide_a_negation() -> None:
    def negated(claim: str, source: str) -> bool:
        return any(f.kind == "negation" for f in inspect(claim, source).findings)

    # "wasn’t your choice": past the determiner to the word denied (curly apostrophe too)
    assert negated(
        "The coach said that leaving was her own choice.", "He said: “Leaving wasn’t your choice.”"
    )
    # "it's not immediately clear": "it's" is "it is"; the adverb is skipped
    source = "It’s not immediately clear whether the mayor has also resigned."
    assert negated("It is clear that the mayor has also resigned.", source)
    assert not negated("It is not clear whether the mayor resigned.", source)
    # "far from" denies what follows
    source = "The merger was far from a friendly agreement."
    assert negated("The merger was a friendly agreement.", source)
    assert not negated("The merger was not a friendly agreement.", source)
    # "no more than" is a bound, not a denial
    source = "Copies may be sold at no more than the cost of distribution."
    assert not negated("Copies may be sold for at most the cost of distribution.", source)


def test_a_claim_that_gives_each_value_its_own_word_is_not_a_binding_error() -> None:
    source = "The old method reached 23%, while the new one reached 27%."
    assert inspect("The old method reached 23% and the new one reached 27%.", source).findings == []


def test_passive_voice_is_not_a_role_reversal() -> None:
    source = "The reviewers praised the design."
    assert inspect("The design was praised by the reviewers.", source).findings == []


def test_double_negatives_and_whether_or_not_are_not_flips() -> None:
    source = "Neither party may use the logo without written permission."
    assert inspect("You need written permission to use the logo.", source).findings == []
    source = "The rule applies whether or not the work is published."
    assert inspect("The rule applies whether or not the work is published.", source).findings == []


def test_an_apposition_between_subject_and_verb_keeps_the_subject() -> None:
    source = "Ana Ruiz, a director at the Lima Museum, announced her retirement."
    assert inspect("Ana Ruiz announced her retirement.", source).findings == []


def test_stems_match_inflections() -> None:
    assert stem("dismantled") == stem("dismantle")
    assert stem("left") == stem("leave")
    assert stem("praised") == stem("praise")
    # a doubled last letter: the base keeps it ("call", "pass"), the ending may add it ("stopped")
    assert stem("called") == stem("call") == stem("calls")
    assert stem("passed") == stem("passes") == stem("pass")
    assert stem("stopped") == stem("stop") and stem("added") == stem("add")


def citation(quote: str, n: int = 1) -> Citation:
    return Citation(
        n=n, file="notes.txt", line_start=1, line_end=1, char_start=0, char_end=len(quote),
        quote=quote,
    )  # fmt: skip


def test_the_checker_says_contradicted_and_shows_the_contradicting_text() -> None:
    source = "The reviewers praised the new design for its clarity."
    check = Checker().check("The reviewers criticized the new design.", [citation(source)])
    assert check.verdict == "contradicted"
    assert check.contradiction is not None and check.contradiction.quote == source
    assert "says otherwise" in check.reason
    # mostly other words: unsupported, not a contradiction
    loose = Checker().check(
        "The reviewers criticized the bakery on the corner.", [citation(source)]
    )
    assert loose.verdict == "unsupported"


def test_removed_sentences_are_shown_apart_in_the_terminal() -> None:
    source = "The reviewers praised the new design for its clarity."
    removed = SentenceCheck(
        text="The reviewers criticized the new design.",
        verdict="contradicted",
        score=0.0,
        reason="the cited text says otherwise",
        contradiction=citation(source),
    )
    answer = Answer(
        question="What did the reviewers think?",
        answer="The reviewers praised the design [1].",
        abstained=False,
        citations=[citation(source)],
        sentences=[
            SentenceCheck(
                text="The reviewers praised the design.", citations=[1], verdict="supported",
                score=1.0,
            )
        ],
        removed=[removed],
        backend="extractive",
        model="none",
    )  # fmt: skip
    out = render_answer_terminal(answer)
    head, _, tail = out.partition("removed: not supported by the sources")
    assert "criticized" not in head and "criticized" in tail and "notes.txt:1" in tail


def test_a_unit_word_is_not_bound_to_another_number() -> None:
    # "years" beside "two" in one sentence and beside "32" in the claim: not a binding error
    source = (
        "Over the past two years the lab has grown quickly. "
        "Promoted to director at 32, Ana Ruiz now leads it."
    )
    assert inspect("Ana Ruiz was 32 years old when she became director.", source).findings == []


def test_a_measure_after_a_unit_has_no_opposite() -> None:
    # "32 years old" measures an age: the text's "young" is no opposite of it
    source = "This young engineer was promoted to director at 32."
    assert inspect("She was 32 years old when she became director.", source).findings == []
    # without the unit, "old" is a quality and "young" its opposite
    found = inspect("This old engineer was promoted to director at 32.", source)
    assert [f.kind for f in found.findings] == ["opposite"]


def test_wordnet_antonyms_extend_the_opposite_words() -> None:
    from rag.alignment import ANTONYMS_FILE, OPPOSITES

    # the shipped table (rag/data/antonyms.tsv, built from WordNet) is read, with its notice
    head = ANTONYMS_FILE.read_text(encoding="utf-8")[:400]
    assert "WordNet" in head and "Princeton" in head
    assert {stem("shut"), stem("close")} <= OPPOSITES[stem("open")]
    # "open" / "close" is in no hand-written group: only WordNet makes this a contradiction
    found = inspect(
        "The museum closed its east wing in May.", "The museum opened its east wing in May."
    )
    assert [f.kind for f in found.findings] == ["opposite"]
    assert (
        inspect(
            "The museum opened its east wing in May.", "The museum opened its east wing in May."
        ).findings
        == []
    )


def test_a_thing_given_to_another_owner_is_a_role_reversal() -> None:
    source = "Mara Kim called Tom Lee's resignation a serious loss."
    swapped = inspect("Tom Lee called the resignation of Mara Kim a serious loss.", source)
    assert "roles" in [f.kind for f in swapped.findings]
    # the same owner, said the other way ("the resignation of Tom Lee"): no finding
    assert (
        inspect("Mara Kim called the resignation of Tom Lee a serious loss.", source).findings == []
    )
    # whose resignation, with the owner named behind another's possessive ("the board's Mara
    # Kim"): the text gives it to Lee
    other = inspect("Tom Lee called the resignation of the board's Mara Kim a loss.", source)
    roles = [f.detail for f in other.findings if f.kind == "roles"]
    assert any("resignation" in d and "“Lee”" in d for d in roles)


def test_a_code_is_a_value_bound_to_its_own_words() -> None:
    source = "B2 marks upper-intermediate learners, while C1 marks advanced learners."
    wrong = inspect("At the school, B2 marks advanced learners.", source)
    assert [f.kind for f in wrong.findings] == ["binding"] and "C1" in wrong.findings[0].detail
    assert inspect("At the school, C1 marks advanced learners.", source).findings == []


def test_always_where_the_text_sets_a_condition_is_wider_scope() -> None:
    source = "You may copy the program, provided that you keep this notice."
    assert [f.kind for f in inspect("You may always copy the program.", source).findings] == [
        "scope"
    ]
    # a claim that states the condition itself says no more than the text
    assert inspect("You may copy the program only if you keep this notice.", source).findings == []
    assert inspect("You may copy the program if you keep this notice.", source).findings == []


def test_a_quoted_keyword_is_a_term_not_a_negation() -> None:
    """Reference text quotes the keywords it names ('an "except" clause'); a claim that writes
    them without quotes says the same thing, and a keyword is never read as "except for"."""
    source = 'A bare "except" clause, if present, must come last; it catches every error.'
    assert inspect("A bare except clause, if present, must come last.", source).findings == []
    wrong = inspect("A bare except clause, if present, must come first.", source).findings
    assert wrong and wrong[0].kind == "opposite", wrong
    # the same words on both sides agree, whatever the clause breaks around the quotes
    source = 'Each item is taken by at most one "handler" block, the first that matches.'
    assert inspect("Each item is taken by at most one handler block.", source).findings == []


def test_terms_the_text_quotes_are_values_bound_to_their_own_words() -> None:
    source = (
        'The difference is that "fetch" downloads the changes, while "pull" also merges them '
        "into the current branch."
    )
    wrong = inspect("The difference is that pull downloads the changes, while fetch also merges them.", source)  # fmt: skip
    assert wrong.findings and wrong.findings[0].contradicts, wrong.findings
    assert inspect("Here fetch downloads the changes, while pull also merges them.", source).findings == []  # fmt: skip


def test_a_new_subject_after_and_starts_a_new_clause_for_negation() -> None:
    """'without X and there isn't Y': the second negation does not reach back to X."""
    source = "If no arguments are given, the tool prints its help. If there isn't a config file, it stops."
    claim = "If the tool runs without arguments and there isn't a config file, it stops."
    assert [f.kind for f in inspect(claim, source).findings if f.kind == "negation"] == []
    # a real flip is still found
    assert inspect("If arguments are given, the tool prints its help.", source).findings
    # "although" / "even though" open a clause of their own, comma or not
    source = "You are not obliged to renew the plan, since you have not used it."
    claim = "You are obliged to renew the plan even though you have not used it."
    assert [f.kind for f in inspect(claim, source).findings] == ["negation"]


def test_before_and_after_contradict_only_before_the_same_event() -> None:
    source = "Before the backup starts, the service writes its cache to disk."
    wrong = inspect("After the backup starts, the service writes its cache to disk.", source)
    assert wrong.findings and wrong.findings[0].kind == "opposite", wrong.findings
    # the same order told from the other end is not a contradiction
    assert inspect("The backup starts after the service writes its cache to disk.", source).findings == []  # fmt: skip


def test_an_act_given_to_another_named_party_is_a_role_reversal() -> None:
    # the claim names both people; the text has the other one do it
    source = "In a note addressed to Ana Ruiz, Tom Lee wrote that the project was over."
    swapped = inspect(
        "In a note addressed to Tom Lee, Ana Ruiz wrote that the project was over.", source
    )
    (roles,) = [f for f in swapped.findings if f.kind == "roles"]
    assert "“Lee wrote”" in roles.detail and "“Ruiz wrote”" in roles.detail
    assert inspect("Tom Lee wrote to Ana Ruiz that the project was over.", source).findings == []
    # a licence's parties: "You" and "the Licensor", past an adverb and a modal
    source = "Unless You explicitly state otherwise, You must notify the Licensor in writing."
    assert "roles" in [
        f.kind
        for f in inspect(
            "Unless the Licensor explicitly states otherwise, You must notify it.", source
        ).findings
    ]
    assert (
        inspect("Unless You state otherwise, You must notify the Licensor.", source).findings == []
    )
    # both named as doers ("Lee and Ruiz wrote"): either one wrote
    source = "Tom Lee and Ana Ruiz wrote the report for the Lima council."
    assert inspect("Ana Ruiz wrote the report for the Lima council.", source).findings == []
    # a passive ("was written by") is no subject
    source = "The report was written by Tom Lee after Ana Ruiz asked for it."
    assert inspect("Tom Lee wrote the report after Ana Ruiz asked for it.", source).findings == []


def test_a_passive_in_the_texts_order_is_a_role_reversal() -> None:
    source = "A handler may catch errors from any function that directly calls the handler."
    reversed_ = inspect(
        "A handler may catch errors from any function that is called by the handler.", source
    )
    assert "roles" in [f.kind for f in reversed_.findings]
    # nothing reversed: "A calls B" said as "B is called by A"
    source = "The scheduler calls the worker every minute."
    assert inspect("The worker is called by the scheduler every minute.", source).findings == []


def test_a_claim_that_says_a_word_both_ways_where_the_text_says_it_one_way() -> None:
    source = "Guests may not feed the animals, and children may not enter the pens."
    both = inspect(
        "Guests may not feed the animals, but children may feed them in the pens.", source
    )
    assert [f.kind for f in both.findings] == ["negation"]
    assert (
        inspect("Guests may not feed the animals, and children may not feed them.", source).findings
        == []
    )


def test_a_denial_with_an_exclusion_states_a_requirement() -> None:
    # "may not be used ... without permission": the claim says it in positive words
    source = "Neither the logo nor the names of its members may be used in adverts without written consent."
    assert (
        inspect("You need written consent before using the logo in adverts.", source).findings == []
    )
    # "excluding those that do not apply": those that apply are kept
    source = "You must keep all notices from the original, excluding those notices that do not apply to the copy."
    assert inspect("A notice that applies to the copy must be kept.", source).findings == []
    # a quoted keyword is no exclusion: 'not possible to mix "except" and "finally"' denies
    source = 'It is not possible to mix "except" and "finally" in one "try".'
    assert [
        f.kind for f in inspect("One try statement may mix except and finally.", source).findings
    ] == ["negation"]
    # a plain denial still contradicts
    source = "The logo may not be used in adverts."
    assert [f.kind for f in inspect("The logo may be used in adverts.", source).findings] == [
        "negation"
    ]


def test_a_modifiers_opposite_said_of_another_thing_is_no_contradiction() -> None:
    source = "A skip in the first round moves play to the next player."
    assert (
        inspect(
            "A skip during the last player's turn moves play to the next player.", source
        ).findings
        == []
    )
    # said of the same thing, it contradicts
    source = "A skip in the first round moves play to the next player."
    found = inspect("A skip in the last round moves play to the next player.", source)
    assert [f.kind for f in found.findings] == ["opposite"]


def test_a_cause_the_text_does_not_give_in_other_words() -> None:
    source = "This latest wave of departures has put the lab's future in doubt."
    found = inspect(
        "The latest wave of departures, driven by pay cuts, has put the lab's future in doubt.",
        source,
    )
    assert [f.detail for f in found.findings] == ["the text does not say “driven by pay cuts”"]
    source = "Driven by pay cuts, the latest wave of departures has put the lab's future in doubt."
    assert inspect("The latest wave of departures was driven by pay cuts.", source).findings == []


def test_always_where_the_text_restricts_it_to_some_cases_is_wider_scope() -> None:
    source = (
        "The order of the fields is kept in the record. "
        "This is reliable only for records made by the loader."
    )
    wider = inspect("The order of the fields is always kept in the record.", source)
    assert [f.kind for f in wider.findings] == ["scope"]
    assert (
        inspect("The order of the fields is kept in records made by the loader.", source).findings
        == []
    )


def test_two_things_modifiers_swapped_is_a_role_reversal() -> None:
    source = "Revised drafts must be marked, so that their errors are not blamed on the authors of earlier drafts."
    swapped = inspect(
        "Revised drafts must be marked, so that the errors of earlier drafts are not blamed on the authors of revised drafts.",
        source,
    )
    details = [f.detail for f in swapped.findings if f.kind == "roles"]
    assert details == ["the text says “earlier drafts” there, not “revised drafts”"]
    kept = "Revised drafts must be marked, so that their errors are not blamed on the authors of earlier drafts."
    assert inspect(kept, source).findings == []


def test_contrasts_deny_what_they_put_aside() -> None:
    # "rather than" / "instead of" deny what follows, as the text's "not" does
    source = "Should the device break, You (not any Reseller) pay for every repair."
    assert inspect("Repairs are paid by you rather than by a Reseller.", source).findings == []
    assert inspect("Repairs are paid by you instead of a Reseller.", source).findings == []
    assert [f.kind for f in inspect("Repairs are paid by a Reseller.", source).findings] == [
        "negation"
    ]
    # "not resolved in A, but in B" denies A, not the verb
    source = "Names are not looked up in the caller's scope, but in the module's scope."
    assert (
        inspect(
            "Names are looked up in the module's scope rather than the caller's.", source
        ).findings
        == []
    )
    assert [
        f.kind for f in inspect("Names are looked up in the caller's scope.", source).findings
    ] == ["negation"]


def test_a_contrast_the_claim_adds_is_no_contradiction() -> None:
    source = "The permit is valid from the date the fee was paid."
    # the claim affirms "date" and sets another date aside
    kept = (
        "The permit is valid from the date the fee was paid, not from the date of the inspection."
    )
    assert inspect(kept, source).findings == []
    assert [
        f.kind
        for f in inspect("The permit is not valid from the date the fee was paid.", source).findings
    ] == ["negation"]


def test_not_the_only_one_denies_no_word() -> None:
    source = "Besides the mayor, several council members also resigned that week."
    assert (
        inspect("The mayor was not the only council member to resign that week.", source).findings
        == []
    )


def test_denials_said_in_other_words() -> None:
    # "without X" / "once X was gone"
    source = "Many fans worried that without its lead singer the band might split up."
    assert (
        inspect(
            "Many fans worried that, once its lead singer was gone, the band might split up.",
            source,
        ).findings
        == []
    )
    # "except when X" / "unless X"
    source = "The alarm sounds at midnight, except when the door is locked."
    assert inspect("The alarm sounds at midnight unless the door is locked.", source).findings == []
    assert [
        f.kind
        for f in inspect("The alarm sounds at midnight when the door is locked.", source).findings
    ] == ["negation"]
    # "disclaims X" / "takes no X"
    source = "The seller disclaims responsibility for any damage in transit."
    assert (
        inspect("The seller takes no responsibility for damage in transit.", source).findings == []
    )
    assert [
        f.kind
        for f in inspect("The seller takes responsibility for damage in transit.", source).findings
    ] == ["negation"]


TABLE = (
    "Contacts\n\nRole | Name | Extension\n\nFacilities manager | Marco Bianchi | 4412\n\n"
    "Safety officer | Aisha Rahman | 4519\n\nLab manager | Tomás Ortega | 4803"
)


@pytest.mark.parametrize(
    ("claim", "kept"),
    [
        ("Aisha Rahman is the safety officer.", True),
        ("Marco Bianchi is the safety officer.", False),
        ("Tomás Ortega is the facilities manager.", False),
        ("Aisha Rahman can be reached on extension 4519.", True),
        ("Aisha Rahman can be reached on extension 4412.", False),
        ("The lab manager, Tomás Ortega, is on extension 4803.", True),
    ],
)
def test_in_a_table_a_name_and_its_facts_stand_in_one_row(claim: str, kept: bool) -> None:
    found = inspect(claim, TABLE)
    assert (found.findings == []) is kept
    if not kept:
        assert found.findings[0].kind == "binding"
        assert "another row" in found.findings[0].detail


def test_csv_records_are_rows_too() -> None:
    source = "id,name,role,since\n1,Ann Lee,treasurer,2019\n3,Mei Chen,harbour master,2015"
    assert inspect("Mei Chen has been harbour master since 2015.", source).findings == []
    assert [
        f.kind for f in inspect("Mei Chen has been treasurer since 2015.", source).findings
    ] == ["binding"]
    assert [f.kind for f in inspect("Ann Lee has served since 2015.", source).findings] == [
        "binding"
    ]
    # prose with commas is no table
    prose = "Ann Lee, the treasurer, joined in 2019, and Mei Chen, harbour master, in 2015."
    assert inspect("Ann Lee joined in 2019.", prose).findings == []
