"""Which lines of a document can be evidence: never its title, headings, a manual page's running
header and footer or lines of markup; always a table row, a record or an option line, however
short; and the row the question names above its neighbours."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering import about_the_asked, ask, evidence_conflict, extractive_answer
from rag.config import Settings
from rag.questions import gives_asked
from rag.retrieval import is_boilerplate, is_record, names_row, retrieve
from rag.schema import Evidence
from tests.conftest import indexed_corpus

MAN_HEAD = "FROB(1)                     General Commands Manual                    FROB(1)"
MAN_FOOT = "1.21.22                           2023-05-11                       frob(1)"


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("## Benchmarks and results of the tests", None),
        ("# Cold Room Shutdown Procedure", None),
        ("Usage of the frob tool\n======================", None),
        ("Cold Room Shutdown Procedure", "Cold Room Shutdown Procedure"),
        ("Chapter 2. Users and Groups", "Users and Groups in Debian › Chapter 2. Users and Groups"),
        (MAN_HEAD, None),
        ("                                     local                             GZIP(1)", None),
        (MAN_FOOT, None),
        ('<p align="center"><img src="https://example.org/logo.png" alt="Frob logo"></p>', None),
        ("| --------------- | ------| -----------| ---------- |", None),
        (
            '[travisBadge]: https://api.travis-ci.com/frob.svg?branch=dev "Continuous Integration"',
            None,
        ),
        ('![Speed vs Ratio](doc/speed.png "Speed vs Ratio") | ![Speed](doc/d.png "Speed")', None),
        ("Share this article", None),
        ("id,name,role,start_year", None),
        # a table of contents: links to the page's own headings
        ("- [Installation](#installation)\n- [Usage on a cluster](#usage-on-a-cluster)", None),
    ],
)
def test_titles_headings_running_heads_and_markup_are_never_evidence(
    text: str, heading: str | None
) -> None:
    assert is_boilerplate(text, heading)


@pytest.mark.parametrize(
    "text",
    [
        "3,Mei Chen,harbour master,2015",
        "Lab manager|Tomás Ortega|4803",
        "| Chair | I. Solberg |",
        "Mei Chen\tharbour master\t2015",
        "-k --keep",
        "       --rsyncable",
        # a sentence under a heading of other words, and a man page's prose with wide spaces
        "The  gzip  command reduces the size of the named files using Lempel-Ziv coding.",
        # prose with a link to a section of its page is prose
        "Copy the settings file first, as [Installation](#installation) explains in detail.",
    ],
)
def test_rows_records_and_option_lines_are_evidence_however_short(text: str) -> None:
    assert not is_boilerplate(text, "Procedure › Contacts")


def test_a_record_holds_a_number_or_a_name() -> None:
    assert is_record("2,Jonas Berg,engineer,2021") and is_record("-z, --fast")
    assert not is_record("apples, pears") and not is_record("Tags: red, green")
    assert not is_record("see the notes,then go")


def test_the_row_the_question_names_is_that_rows_label() -> None:
    lab = "Lab manager | Tomás Ortega | 4803"
    facilities = "Facilities manager | Marco Bianchi | 4412"
    assert names_row("Who is the lab manager?", lab)
    assert not names_row("Who is the lab manager?", facilities)
    fast, level1 = "| **zstd 1.5.1 --fast=1** | 2.437 | 600 MB/s |", "| **zstd 1.5.1 -1** | 2.887 |"
    question = "What compression ratio does zstd 1.5.1 -1 achieve?"
    assert names_row(question, level1) and not names_row(question, fast)
    assert names_row("What is Mei Chen's role?", "3,Mei Chen,harbour master,2015")
    assert names_row("What does the -k option do?", "-k --keep\n   Keep input files.")
    assert not names_row("What does the -k option do?", "--rsyncable\n   Rsync friendly.")
    # a number alone names no row; prose is no row
    assert not names_row("Who has extension 4803?", lab)
    assert not names_row("Who is the lab manager?", "The lab manager is away.")


def test_a_who_answer_names_someone_the_question_does_not() -> None:
    q = "Who is the superuser in Debian?"
    assert gives_asked(q, "Root is (typically) the superuser.")
    assert not gives_asked(q, "See Debian Policy for further details.")
    assert not gives_asked(q, "In Debian, the use of sudo is preferred.")
    assert gives_asked("Who is the lab manager?", "Lab manager | Tomás Ortega | 4803")
    assert not gives_asked("Who wrote frob?", "Files are kept whether they have a suffix or not.")
    # a name the question gives is no answer; another name sharing one of its words is
    q = "Who stewards the Frob Public License?"
    assert gives_asked(q, "The Frob Foundation stewards it.")
    assert not gives_asked(q, "See the Frob Public License for details.")
    # a question about a named person takes any name; an organisation opened by "The" counts
    assert gives_asked("Who is Bao Yu?", "Bao Yu, a former Microsoft engineer, said so.")
    assert gives_asked(
        "Who is named as the copyright holder in the BSD licence text?",
        "Copyright (c) The Regents of the University of California",
    )


def ev(n: int, file: str, text: str, score: float) -> Evidence:
    return Evidence(
        n=n, file=file, line_start=n, line_end=n, char_start=100 * n,
        char_end=100 * n + len(text), text=text, score=score, chunk_id=f"c{n}",
    )  # fmt: skip


def test_unrelated_rows_of_two_files_are_no_conflict() -> None:
    q = "Who is the lab manager?"
    evidence = [
        ev(1, "sop.docx", "Lab manager | Tomás Ortega | 4803", 0.9),
        ev(2, "sop.docx", "Facilities manager | Marco Bianchi | 4412", 0.8),
        ev(3, "groups.html", "GDM (GNOME Display Manager) runs as this user/group.", 0.7),
    ]
    assert about_the_asked(q, [e.text for e in evidence]) == [True, False, False]
    assert evidence_conflict(q, evidence) == []
    answer = extractive_answer(evidence, q)
    assert [s.text for s in answer.sentences] == [evidence[0].text]
    # two files that name different people for the same thing still disagree
    lab = ev(1, "sop.docx", "Lab manager: Tomás Ortega Ruiz", 0.9)
    rival = ev(4, "memo.txt", "The lab manager is Marco Bianchi, since May.", 0.75)
    assert about_the_asked(q, [lab.text, rival.text]) == [True, True]
    assert [e.file for e in evidence_conflict(q, [lab, rival])] == ["sop.docx", "memo.txt"]


SOP = """\
Cold Room Shutdown Procedure
============================

Owner: Facilities team, Building 4. Approved by Dr. Helena Varga on 12 February 2025.

Contacts
--------

| Role | Name | Extension |
| --- | --- | --- |
| Facilities manager | Marco Bianchi | 4412 |
| Lab manager | Tomás Ortega | 4803 |

Do not restart the compressor yourself, because the pressure must be checked first.
"""

MAN = f"""\
{MAN_HEAD}

NAME
       frob - squeeze files

DESCRIPTION
       The frob command squeezes the named files into smaller ones.

OPTIONS
       -k --keep
              Keep (do not delete) the input files after squeezing.

       -q --quiet
              Print no warnings while squeezing.

{MAN_FOOT}
"""


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    minutes = (
        "Minutes of the Harbour Trust Board Meeting\n"
        "The meeting was held on 3 March 2025 in the Pilot House. Chair: Ingrid Solberg.\n"
        "The board approved the dredging contract with Nordsand AS for 1.2 million euros.\n"
    )
    staff = (
        "id,name,role,start_year\n1,Ana Silva,pilot,2019\n2,Jonas Berg,engineer,2021\n"
        "3,Mei Chen,harbour master,2015\n"
    )
    return indexed_corpus(
        tmp_path_factory.mktemp("evidence_lines"),
        {"sop.md": SOP, "frob.1.txt": MAN, "staff.csv": staff, "minutes.txt": minutes},
        backend="extractive",
    )


def _quotes(settings: Settings, question: str) -> list[str]:
    a = ask(question, settings, backend="extractive")
    return [c.quote for c in [*a.citations, *a.closest]]


def test_titles_headings_and_running_heads_are_not_quoted(trial: Settings) -> None:
    furniture = {"Cold Room Shutdown Procedure", MAN_HEAD, MAN_FOOT, "Contacts"}
    furniture.add("Minutes of the Harbour Trust Board Meeting")
    for q in [
        "Who approved the cold room shutdown procedure?",
        "What is frob?",
        "Who wrote frob?",
        "Who chaired the harbour trust board meeting?",
        "When was frob 1.21.22 released?",
    ]:
        for ev_ in retrieve(trial, q).evidence:
            assert not any(f in ev_.text for f in furniture), (q, ev_.text)
        assert not any(f in quote for f in furniture for quote in _quotes(trial, q)), q
    a = ask("Who approved the cold room shutdown procedure?", trial, backend="extractive")
    assert a.abstained or "Helena Varga" in a.citations[0].quote


def test_a_csv_record_is_found_and_quoted(trial: Settings) -> None:
    for q in ["Mei Chen harbour master 2015", "Who is the harbour master?"]:
        a = ask(q, trial, backend="extractive")
        assert not a.abstained, q
        assert a.citations[0].file == "staff.csv" and a.citations[0].line_start == 4


def test_the_row_the_question_names_answers_without_a_false_conflict(trial: Settings) -> None:
    a = ask("Who is the lab manager?", trial, backend="extractive")
    assert not a.abstained and a.conflicts == []
    assert "Tomás Ortega" in a.citations[0].quote
    assert not any("Marco Bianchi" in c.quote for c in a.citations)


def test_an_option_line_is_read_with_its_description(trial: Settings) -> None:
    ev_ = retrieve(trial, "What does the -k option of frob do?").evidence
    keep = [e for e in ev_ if "--keep" in e.text]
    assert keep and "Keep (do not delete)" in keep[0].text


def test_the_trial_files_are_left_as_they_are(trial: Settings) -> None:
    assert Path(trial.corpus_dir, "sop.md").read_text(encoding="utf-8") == SOP


def test_a_heading_underlined_on_its_own_line_is_never_evidence(tmp_path: Path) -> None:
    """Plain text underlines a heading with a line of dashes, which the splitter keeps apart:
    the heading above it is no evidence however many words it has, and is never quoted."""
    title = "Returning Goods After the Warranty Period Has Ended"
    heading = f"2. {title}"
    terms = (
        "Terms of sale\n\n"
        "1. Warranty\n-----------\n\n"
        "Every item carries a warranty of two years from the day of delivery.\n\n"
        f"{heading}\n{'-' * len(heading)}\n\n"
        "Goods returned after the warranty period are repaired at the owner's cost, and the\n"
        "shop quotes the price before any work starts.\n"
    )
    settings = indexed_corpus(tmp_path, {"terms.txt": terms})
    question = "What happens to goods returned after the warranty period has ended?"
    ev_ = retrieve(settings, question).evidence
    assert ev_ and not any(title in e.text for e in ev_)
    assert any("repaired at the owner's cost" in e.text for e in ev_)
    assert not any(title in quote for quote in _quotes(settings, question))


def test_the_first_chunk_of_either_search_is_always_retrieved() -> None:
    """Reciprocal rank fusion favours chunks that both searches rank fairly well: the chunk that
    holds the question's words best, far down the search by meaning, would be crowded out."""
    from types import SimpleNamespace

    from rag.retrieval import retrieve_chunks
    from rag.schema import Chunk

    def chunk(i: int) -> Chunk:
        text = f"Sentence number {i} of the manual."
        return Chunk(
            file="manual.txt", line_start=i + 1, line_end=i + 1, char_start=100 * i,
            char_end=100 * i + len(text), id=f"c{i}", text=text, file_hash="h", sentences=[],
        )  # fmt: skip

    chunks = [chunk(i) for i in range(40)]
    # by meaning: c1..c30 in order; by words: c0 and its twin c31 first, then c1..c30 in
    # order; c0 and c31 are nowhere in the search by meaning
    dense = [(f"c{i}", 0.9 - i / 100) for i in range(1, 31)]
    lexical = [(0, 9.0), (31, 8.9)] + [(i, 8.0 - i / 10) for i in range(1, 31)]
    handle = SimpleNamespace(
        chunks=chunks,
        by_id={c.id: c for c in chunks},
        dense=lambda _embedding, depth: dense[:depth],
        lexical=SimpleNamespace(search=lambda _query, depth: lexical[:depth]),
    )
    found = retrieve_chunks(handle, "question", 5, [0.0])  # type: ignore[arg-type]
    ids = [r.chunk.id for r in found]
    assert ids == ["c1", "c2", "c3", "c0", "c31"]


HEARING = """Parish Council Hearing on the Mill Bridge

GRETA: The first item is the footbridge by the old mill.
OSWIN: The survey found rot in four of the beams. I'd propose we close the bridge until spring.
GRETA: Oswin, how long would the repair take?
OSWIN: The repair would take about six weeks, once the timber arrives.
PELL: I object to closing it. The school children cross there every morning.
GRETA: Then we put up a temporary rail and keep it open.
"""


def test_a_transcripts_answer_says_who_spoke(tmp_path: Path) -> None:
    """In a transcript, a sentence in the middle of a speaker's turn is quoted with the turn's
    label, and the label answers "who": the answer says who said it."""
    settings = indexed_corpus(tmp_path, {"hearing.txt": HEARING}, backend="extractive")
    a = ask("Who proposed closing the bridge until spring?", settings, backend="extractive")
    assert not a.abstained
    assert a.citations[0].quote.startswith("OSWIN: The survey found rot")
    assert a.citations[0].quote.endswith("close the bridge until spring.")


def test_a_draft_may_not_give_a_turn_to_another_speaker(tmp_path: Path) -> None:
    """``rag check``: a claim that someone said what the cited turn has another speaker say
    fails, though that someone spoke (or was addressed) just before."""
    from rag.drafts import check_draft

    settings = indexed_corpus(tmp_path, {"hearing.txt": HEARING}, checker="rules")
    draft = (
        "Greta said the repair would take about six weeks, once the timber arrives "
        "[hearing.txt:6].\n\n"
        "Oswin said the repair would take about six weeks, once the timber arrives "
        "[hearing.txt:6].\n"
    )
    report = check_draft(draft, settings)
    verdicts = [s.verdict for s in report.sentences]
    assert verdicts[1] == "supported"
    assert verdicts[0] != "supported"


SHOP_FAQ = """Frequently asked questions

Q: Do you ship parcels abroad?

A: No. We send parcels within the country only, by post.

Q: I lost my receipt. Can I still return a lamp?

A: Yes, within thirty days, with the card you paid with.
"""


def test_an_faq_question_is_quoted_with_its_answer(tmp_path: Path) -> None:
    """An FAQ's question on its own lines is read on to its answer: the answer quotes "No."
    or "Yes, ..." with the question it answers, never the question alone."""
    settings = indexed_corpus(tmp_path, {"faq.txt": SHOP_FAQ}, backend="extractive")
    for question, answer in (
        ("Do you ship parcels abroad?", "A: No."),
        ("Can I return a lamp without a receipt?", "A: Yes, within thirty days"),
    ):
        a = ask(question, settings, backend="extractive")
        assert not a.abstained, question
        assert any(answer in c.quote for c in a.citations), question
        assert not any(c.quote.rstrip().endswith("?") for c in a.citations), question
