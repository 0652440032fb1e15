"""rag.sources: the cited lines of a source, numbered, highlighted, escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.chunking import split_sentences
from rag.errors import SourceError
from rag.schema import Citation, Span
from rag.sources import LONG_LINE, CorpusFiles, source_html, source_view
from tests.conftest import CORPUS

LONG_FILE = "000_254a468e52e5a6d3.txt"  # one 2,358-character line, then a title line
MULTI_FILE = "001_71d083e565e71189.txt"


def cite(corpus: Path, file: str, start: int, end: int, n: int = 1) -> Citation:
    """A citation of ``file[start:end]`` with lines computed from the text."""
    text = (corpus / file).read_text(encoding="utf-8")
    return Citation(
        n=n,
        file=file,
        line_start=text.count("\n", 0, start) + 1,
        line_end=text.count("\n", 0, max(end - 1, start)) + 1,
        char_start=start,
        char_end=end,
        quote=text[start:end],
    )


def sentence_citation(corpus: Path, file: str, index: int) -> Citation:
    text = (corpus / file).read_text(encoding="utf-8")
    s = split_sentences(file, text)[index]
    return cite(corpus, file, s.char_start, s.char_end)


def test_cited_lines_and_context_are_numbered_and_highlighted() -> None:
    c = sentence_citation(CORPUS, MULTI_FILE, 5)
    text = (CORPUS / MULTI_FILE).read_text(encoding="utf-8")
    lines = text.split("\n")
    view = source_view(CORPUS, c, context_lines=2)
    assert view.found == "exact"
    assert (view.line_start, view.line_end) == (c.line_start, c.line_end)
    shown = [ln.number for ln in view.lines]
    assert shown == list(range(max(1, c.line_start - 2), c.line_end + 3))
    for ln in view.lines:
        whole_line = lines[ln.number - 1]
        assert ln.length == len(whole_line)
        if len(whole_line) <= LONG_LINE:  # short lines are shown whole, verbatim
            assert ln.text == whole_line and not (ln.clipped_start or ln.clipped_end)
        else:  # long context lines are clipped, still verbatim
            assert ln.text in whole_line and (ln.clipped_start or ln.clipped_end)
        assert text[ln.offset : ln.offset + len(ln.text)] == ln.text
        assert ln.cited == (c.line_start <= ln.number <= c.line_end)
        assert (ln.highlight is not None) == ln.cited
    # what is marked is exactly the quote
    assert view.highlighted_text == c.quote
    assert view.total_lines == len(text.rstrip("\n").split("\n"))


def test_context_stops_at_the_file_edges() -> None:
    first = sentence_citation(CORPUS, MULTI_FILE, 0)
    view = source_view(CORPUS, first, context_lines=3)
    assert view.lines[0].number == 1
    text = (CORPUS / MULTI_FILE).read_text(encoding="utf-8")
    last = sentence_citation(CORPUS, MULTI_FILE, len(split_sentences(MULTI_FILE, text)) - 1)
    view = source_view(CORPUS, last, context_lines=3)
    assert view.lines[-1].number == view.total_lines
    assert not view.lines[-1].text.endswith("\n")


def test_long_single_line_is_clipped_around_the_highlighted_span() -> None:
    text = (CORPUS / LONG_FILE).read_text(encoding="utf-8")
    assert len(text.split("\n")[0]) > 2000
    start = text.index("Group 1")
    c = cite(CORPUS, LONG_FILE, start, start + 150)
    view = source_view(CORPUS, c)
    line = view.lines[0]
    assert line.number == 1 and line.cited
    assert line.clipped_start and line.clipped_end
    assert len(line.text) < LONG_LINE + 150
    a, b = line.highlight or (0, 0)
    assert line.text[a:b] == c.quote
    # the window is taken verbatim from the file at the recorded offset
    assert text[line.offset : line.offset + len(line.text)] == line.text
    # the whole-document view does not clip
    whole = source_view(CORPUS, c, context_lines=None)
    assert not whole.lines[0].clipped_start and not whole.lines[0].clipped_end
    assert len(whole.lines) == whole.total_lines == 2
    assert whole.highlighted_text == c.quote


def test_span_across_lines_is_marked_on_each_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo three\nfour five\nsix\n", encoding="utf-8")
    text = (tmp_path / "a.txt").read_text()
    start, end = text.index("three"), text.index("four") + 4
    view = source_view(tmp_path, cite(tmp_path, "a.txt", start, end))
    marked = {ln.number: "".join(t for t, on in ln.pieces() if on) for ln in view.lines}
    assert marked == {1: "", 2: "three", 3: "four", 4: ""}
    assert [ln.cited for ln in view.lines] == [False, True, True, False]


def test_crlf_lines_are_shown_without_carriage_returns(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"Alpha beta.\r\nGamma delta.\r\n")
    text = (tmp_path / "w.txt").read_bytes().decode()
    start = text.index("Gamma")
    view = source_view(tmp_path, cite(tmp_path, "w.txt", start, start + len("Gamma delta.")))
    assert [ln.text for ln in view.lines] == ["Alpha beta.", "Gamma delta."]
    assert view.highlighted_text == "Gamma delta."


def test_edited_file_moves_or_loses_the_quote(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_text("Intro.\nThe board met on Monday.\nEnd.\n", encoding="utf-8")
    start = path.read_text().index("The board")
    c = cite(tmp_path, "n.txt", start, start + len("The board met on Monday."))
    path.write_text("New first line.\nIntro.\nThe board met on Monday.\nEnd.\n", encoding="utf-8")
    moved = source_view(tmp_path, c)
    assert moved.found == "moved"
    assert moved.line_start == 3 and moved.highlighted_text == c.quote
    assert moved.note and "changed" in moved.note
    path.write_text("Intro.\nThe board met on Tuesday.\nEnd.\n", encoding="utf-8")
    missing = source_view(tmp_path, c)
    assert missing.found == "missing"
    assert missing.note and "no longer" in missing.note
    assert "no longer" in source_html(missing)


def test_missing_file_and_paths_outside_the_corpus_raise(tmp_path: Path) -> None:
    span = Span(file="gone.txt", line_start=1, line_end=1, char_start=0, char_end=3)
    with pytest.raises(SourceError, match="gone.txt"):
        source_view(tmp_path, span)
    (tmp_path.parent / "secret.txt").write_text("secret", encoding="utf-8")
    outside = span.model_copy(update={"file": "../secret.txt"})
    with pytest.raises(SourceError, match="outside"):
        source_view(tmp_path, outside)


HOSTILE = (
    'Intro line.\nThe <script>alert(1)</script> tag and <img src=x onerror=alert(1)> stay text & "quoted".\n'
    "**bold** and [link](javascript:alert(1)) too.\n"
)


def test_html_escapes_every_piece_of_document_text(tmp_path: Path) -> None:
    (tmp_path / "evil <b>.txt").write_text(HOSTILE, encoding="utf-8")
    start = HOSTILE.index("The <script>")
    end = HOSTILE.index(".\n**") + 1
    view = source_view(tmp_path, cite(tmp_path, "evil <b>.txt", start, end), context_lines=1)
    out = source_html(view)
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "&amp;" in out and "&quot;quoted&quot;" in out
    assert "evil &lt;b&gt;.txt" in out
    # the mark wraps exactly the escaped quote; markdown stays literal
    marked = re.findall(r"<mark>(.*?)</mark>", out, re.S)
    assert marked and marked[0].startswith("The &lt;script&gt;")
    assert "**bold** and [link](javascript:alert(1))" in out
    assert out.count('class="rag-ln cited"') == 1


def test_a_citations_context_names_its_document(tmp_path: Path) -> None:
    from rag.verify import check_rules

    text = (
        "# Harbour Trust Berth Rules\n\nVessels may moor for three nights.\n"
        "They pay the fee on arrival.\n"
    )
    (tmp_path / "HTBR-2025.md").write_text(text, encoding="utf-8")
    start = text.index("They pay")
    span = Span(
        file="HTBR-2025.md", char_start=start, char_end=len(text) - 1, line_start=4, line_end=4
    )
    context = CorpusFiles(tmp_path).context(span)
    assert context.splitlines()[:2] == ["Harbour Trust Berth Rules", "HTBR-2025.md"]
    assert "Vessels may moor" in context
    # a claim may name the document it cites: by its title, its file name or their initials
    quote = text[start : len(text) - 1]
    for claim in (
        "Under the Harbour Trust rules, vessels pay the fee on arrival.",
        "Under HTBR, vessels pay the fee on arrival.",
    ):
        assert check_rules(claim, quote, context).ok, claim
        assert not check_rules(claim, quote).ok
    # another document's name is still missing
    assert not check_rules(
        "Under the Port Authority rules, vessels pay on arrival.", quote, context
    ).ok


def test_a_plain_text_citation_carries_its_heading(tmp_path: Path) -> None:
    """A draft's citation of a release note's item carries the heading that gives its version."""
    text = "man-frob 2.11.2 (8 January 2023)\n================================\n\n * Fix a crash on empty pages.\n"
    (tmp_path / "NEWS.md").write_text(text, encoding="utf-8")
    a = text.index("Fix")
    c = CorpusFiles(tmp_path).citation("NEWS.md", a, text.index(".", a) + 1)
    assert c.heading == "man-frob 2.11.2 (8 January 2023)"


def test_a_turns_context_is_its_own_speakers(tmp_path: Path) -> None:
    """In a transcript, the text before the cited turn is other speakers': their labels, and
    a name addressed there, do not make a claim that one of them said the cited words true."""
    from rag.verify import check_rules

    text = (
        "Hearing\n\nGRETA: The footbridge is next.\nOSWIN: The beams are rotten.\n"
        "GRETA: Oswin, how long would the repair take?\nOSWIN: About six weeks. It depends.\n"
    )
    (tmp_path / "hearing.txt").write_text(text, encoding="utf-8")
    start = text.index("It depends")
    span = Span(file="hearing.txt", char_start=start, char_end=start + 11, line_start=6, line_end=6)
    context = CorpusFiles(tmp_path).context(span)
    assert "OSWIN: About six weeks." in context
    assert "GRETA" not in context and "Oswin," not in context
    line = text[text.index("OSWIN: About") : -1]
    assert check_rules("Oswin said it depends.", "It depends.", context).ok
    assert not check_rules("Greta said the repair takes about six weeks.", line, context).ok
