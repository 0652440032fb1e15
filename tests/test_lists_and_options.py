"""Kinds of document a new user brings (a numbered procedure, a manual page, notes whose
sentences open with a command in lower case): the place a question asks about in a numbered
list ("the third step"), an option entry read with all of its description, and sentences that
start in lower case found and quoted on their own."""

from __future__ import annotations

import pytest

from rag.answering import ask, extractive_answer
from rag.config import Settings
from rag.questions import LAST, asked_position, carries, item_numbers, position_words
from rag.retrieval import option_of, retrieve
from rag.schema import Evidence
from tests.conftest import indexed_corpus

PROCEDURE = """\
Boiler Shutdown Procedure

Follow these steps in order when the boiler must be taken out of service.

1. Close the main gas valve.
2. Switch off the circulation pump at the wall panel.
3. Open the vent on the top of the expansion tank.
4. Wait twenty minutes for the pressure to fall below one bar.
5. Record the shutdown time in the plant logbook.
"""

TOOLS = """\
Text tools on the lab server

The server keeps its logs under the var folder. grep prints the lines of a file that match a
pattern. sed edits a stream of text line by line. awk splits each line into fields and runs a
small program on them.
"""

MAN = """\
SQUASH(1)                 General Commands Manual                 SQUASH(1)

NAME
       squash - compress files into the squash format

SYNOPSIS
       squash [options] [file ...]

DESCRIPTION
       squash reduces the size of the named files. Each file is replaced by
       one with the extension .sq, keeping the same ownership and times.

OPTIONS
       -k, --keep
              Keep the input files after compressing them instead of
              deleting them.

       -r, --recursive
              Travel the directory structure recursively and compress every
              file found.

       -v, --verbose
              Print the name and the reduction of each file compressed.
              Given twice, it also shows the time taken.

              The report goes to standard error, not standard output.

       -t     Test the integrity of the named files without writing
              anything.

SEE ALSO
       gzip(1), xz(1)

squash 2.3                        March 2024                      SQUASH(1)
"""


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("What is the third step?", 3),
        ("What is step 3 of the shutdown?", 3),
        ("What is the 2nd step?", 2),
        ("Which step comes first?", 1),
        ("What is the 12th rule?", 12),
        ("When did she win for the first time?", None),
        ("What happened in 2019?", None),
        ("What does section 3.2 say?", None),
        ("What is the last step?", LAST),
        ("What is the final item of the checklist?", LAST),
        ("Which step comes last?", LAST),
        ("What did the board decide last year?", None),
        ("Who spoke last at the meeting?", None),
    ],
)
def test_the_place_a_question_asks_about_in_a_list(question: str, place: int | None) -> None:
    assert asked_position(question) == place


def test_a_numbered_item_is_read_as_its_place() -> None:
    assert item_numbers("3. Open the vent on the tank.") == [3]
    assert item_numbers("Do this:\n1. Close it.\n2. Open it.") == [1, 2]
    assert item_numbers("Step 4: wait twenty minutes") == [4]
    assert item_numbers("In 2019. The board met.") == []
    assert position_words("3. Open the vent.").split()[:2] == ["third", "3rd"]
    assert position_words("Open the vent.") == ""


def test_an_option_entry_names_its_option() -> None:
    assert option_of("-k, --keep\n    Keep the input files.") == "-k, --keep"
    assert option_of("-t     Test the integrity of the files.") == "-t"
    assert option_of("The -t option tests the files.") is None


def ev(n: int, text: str, score: float) -> Evidence:
    return Evidence(
        n=n, file="procedure.txt", line_start=n, line_end=n, char_start=100 * n,
        char_end=100 * n + len(text), text=text, score=score, chunk_id=f"c{n}",
    )  # fmt: skip


def test_the_extractive_answer_quotes_the_item_at_the_asked_place() -> None:
    evidence = [
        ev(1, "2. Switch off the circulation pump at the wall panel.", 0.72),
        ev(2, "3. Open the vent on the top of the expansion tank.", 0.70),
    ]
    answer = extractive_answer(evidence, "What is the third step?")
    assert [s.text for s in answer.sentences] == [evidence[1].text]
    both = extractive_answer(evidence, "What are the steps?")
    assert len(both.sentences) == 2
    # "the last step": of the items quoted, the one with the highest number
    last = extractive_answer(evidence, "What is the last step?")
    assert [s.text for s in last.sentences] == [evidence[1].text]


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return indexed_corpus(
        tmp_path_factory.mktemp("lists_and_options"),
        {"procedure.txt": PROCEDURE, "tools.txt": TOOLS, "squash.1.txt": MAN},
        backend="extractive",
    )


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("What is the third step?", 7),
        ("What is step 3?", 7),
        ("What is the 2nd step?", 6),
        ("Which step comes first?", 5),
        ("What is the last step?", 9),
        ("Which step comes last?", 9),
    ],
)
def test_the_asked_step_is_found_and_quoted(trial: Settings, question: str, line: int) -> None:
    a = ask(question, trial, backend="extractive")
    assert not a.abstained, question
    assert [(c.file, c.line_start) for c in a.citations] == [("procedure.txt", line)]
    assert a.citations[0].quote.startswith(f"{line - 4}. ")


@pytest.mark.parametrize(
    ("question", "option", "says"),
    [
        ("What does the -k option do?", "-k, --keep", "instead of"),
        ("What does -r do?", "-r, --recursive", "every\n"),
        ("Which stream does the report of --verbose go to?", "-v, --verbose", "standard error"),
        ("What does the -t option do?", "-t", "integrity"),
    ],
)
def test_an_option_entry_is_one_passage_found_and_quoted(
    trial: Settings, question: str, option: str, says: str
) -> None:
    first = retrieve(trial, question).evidence[0]
    assert first.file == "squash.1.txt" and first.text.startswith(option), question
    assert says in first.text
    a = ask(question, trial, backend="extractive")
    assert not a.abstained, question
    assert a.citations[0].quote.startswith(option)
    if option == "-v, --verbose":  # all of its description, over two paragraphs
        assert "Given twice" in first.text and "standard error" in first.text


def test_a_sentence_that_starts_in_lower_case_is_quoted_alone(trial: Settings) -> None:
    a = ask("What does sed do?", trial, backend="extractive")
    assert not a.abstained
    assert a.citations[0].quote == "sed edits a stream of text line by line."


def test_an_items_number_is_no_value_of_the_asked_kind() -> None:
    """ "1.12." numbers a definition; it is no time of day, nor a count."""
    assert not carries("when", '1.12. "Secondary License" means the GNU licences.')
    assert not carries("how_many", "3. Open the vent on the tank.")
    assert carries("how_many", "3. Open the two vents on the tank.")
