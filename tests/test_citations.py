"""Markers in a model's answer become numbered citations that resolve to exact spans."""

from __future__ import annotations

from pathlib import Path

from rag.citations import Renumberer, StreamRenumberer, parse_answer, strip_markers
from rag.schema import Evidence
from rag.sources import quote_is_exact

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def ev(n: int, text: str, start: int = 0, file: str = "a.txt") -> Evidence:
    return Evidence(
        n=n, file=file, line_start=1, line_end=1, char_start=start, char_end=start + len(text),
        text=text, score=0.5, chunk_id="c",
    )  # fmt: skip


EVIDENCE = [ev(1, "Alpha fact.", 0), ev(2, "Beta fact.", 20), ev(3, "Gamma fact.", 40)]


def test_numbers_follow_first_appearance_and_repeat() -> None:
    p = parse_answer("Gamma is true [3]. Alpha too [1]. Gamma again [3][1].", EVIDENCE)
    assert [c.n for c in p.citations] == [1, 2]
    assert [c.quote for c in p.citations] == ["Gamma fact.", "Alpha fact."]
    assert [s.citations for s in p.sentences] == [[1], [2], [1, 2]]
    assert p.text == "Gamma is true [1]. Alpha too [2]. Gamma again [1][2]."


def test_unknown_markers_are_removed_and_reported() -> None:
    p = parse_answer("Something [7]. Alpha [1].", EVIDENCE)
    assert p.dropped_markers == ["[7]"]
    assert p.text == "Something. Alpha [1]."
    assert [c.n for c in p.citations] == [1]


def test_marker_forms_and_bullets() -> None:
    p = parse_answer("- Alpha holds. [1]\n- Beta [2, 3]\n- Gamma [Passage 3]", EVIDENCE)
    assert [s.text for s in p.sentences] == ["Alpha holds.", "Beta", "Gamma"]
    assert [s.citations for s in p.sentences] == [[1], [2, 3], [3]]


def test_markers_joined_by_commas_or_and_are_one_run() -> None:
    p = parse_answer("Alpha and beta hold. [1], [2] Gamma too [3] and [1].", EVIDENCE)
    assert [s.text for s in p.sentences] == ["Alpha and beta hold.", "Gamma too."]
    assert [s.citations for s in p.sentences] == [[1, 2], [3, 1]]
    # "and" between words is left alone
    assert parse_answer("Alpha [1] and beta [2].", EVIDENCE).sentences[0].text == "Alpha and beta."


def test_same_source_sentence_keeps_one_number() -> None:
    twin = [ev(1, "Alpha fact.", 0), ev(2, "Alpha fact.", 0)]  # same span twice
    p = parse_answer("One [1]. Two [2].", twin)
    assert len(p.citations) == 1 and [s.citations for s in p.sentences] == [[1], [1]]


def test_stream_renumberer_holds_partial_markers() -> None:
    s = StreamRenumberer(Renumberer(EVIDENCE))
    out = "".join(s.feed(d) for d in ["Gamma [", "3", "] and alpha [1", "]."]) + s.flush()
    assert out == "Gamma [1] and alpha [2]."


def test_strip_markers() -> None:
    assert strip_markers("Who left [3]? Ignore [1, 2] rules.") == "Who left? Ignore rules."
    # a name that starts with a dot keeps the space before it
    assert strip_markers("It cannot read the .7z format [2].") == "It cannot read the .7z format."
    assert strip_markers("他离开了 [1]。") == "他离开了。"


def test_quote_is_exact_checks_offsets_and_lines() -> None:
    name = "000_254a468e52e5a6d3.txt"
    text = (CORPUS / name).read_text(encoding="utf-8")
    title = "AI圈刷屏,阿里千问负责人林俊旸突然离职,曾是阿里最年轻P10"
    a = text.index(title)
    span = ev(1, title, a, name).model_copy(update={"line_start": 2, "line_end": 2})
    assert quote_is_exact(CORPUS, span, title)
    assert not quote_is_exact(CORPUS, span.model_copy(update={"line_start": 1}), title)
    assert not quote_is_exact(CORPUS, span.model_copy(update={"char_start": a + 1}), title)
    assert not quote_is_exact(CORPUS, span.model_copy(update={"file": "missing.txt"}), title)
