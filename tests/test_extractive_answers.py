"""The extractive answer (also every backend's quoted fallback): what it quotes besides the
closest sentences, and when it declines. Invented text only."""

from __future__ import annotations

from rag.answering import extractive_answer
from rag.schema import Evidence


def ev(n: int, text: str, score: float, start: int, file: str = "rules.txt") -> Evidence:
    return Evidence(
        n=n, file=file, line_start=n, line_end=n, char_start=start,
        char_end=start + len(text), text=text, score=score, chunk_id=f"c{n}",
    )  # fmt: skip


PERMIT = "You may bundle the plugin with a program under the Harbour Licence and ship the bundle."
CAVEAT = "The rest of this text still covers the plugin, but the Harbour hosting clause governs the bundle."


def test_the_next_sentence_of_a_quoted_one_is_quoted_with_it() -> None:
    """A rule's second half, the very next sentence, less close to the question by meaning
    than the window of the closest ones but close enough, is read on."""
    evidence = [
        ev(1, PERMIT, 0.86, 1000),
        ev(2, CAVEAT, 0.71, 1000 + len(PERMIT) + 1),
        ev(3, "The plugin is written in C.", 0.70, 5000),
    ]
    answer = extractive_answer(evidence, "May I bundle the plugin with a Harbour program?")
    assert [s.text for s in answer.sentences] == [PERMIT, CAVEAT]


def test_a_sentence_elsewhere_is_no_continuation() -> None:
    evidence = [ev(1, PERMIT, 0.86, 1000), ev(2, CAVEAT, 0.71, 3000)]
    answer = extractive_answer(evidence, "May I bundle the plugin with a Harbour program?")
    assert [s.text for s in answer.sentences] == [PERMIT]
    other_file = [ev(1, PERMIT, 0.86, 1000), ev(2, CAVEAT, 0.71, 1000 + len(PERMIT) + 1, "b.txt")]
    answer = extractive_answer(other_file, "May I bundle the plugin with a Harbour program?")
    assert [s.text for s in answer.sentences] == [PERMIT]
