"""Sentence splitting and chunking keep exact offsets and lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.chunking import (
    chunk_document,
    line_of,
    line_starts,
    speaker_of,
    speaker_turns,
    split_sentences,
    turn_start,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FILES = sorted(p.name for p in CORPUS.iterdir())


def _check_spans(text: str, items: list[Any]) -> None:
    starts = line_starts(text)
    for s in items:
        assert text[s.char_start : s.char_end] == s.text
        assert s.line_start == line_of(starts, s.char_start)
        assert s.line_end == line_of(starts, s.char_end - 1)


@pytest.mark.parametrize("name", FILES)
def test_corpus_offsets_are_exact(name: str) -> None:
    text = (CORPUS / name).read_bytes().decode("utf-8")
    sentences = split_sentences(name, text)
    _check_spans(text, sentences)
    chunks = chunk_document(name, text, "h", chunk_size=500, chunk_overlap=1)
    _check_spans(text, chunks)
    for c in chunks:
        _check_spans(text, c.sentences)
        assert c.file == name
    # every sentence is in some chunk, in order
    covered = {(s.char_start, s.char_end) for c in chunks for s in c.sentences}
    assert covered == {(s.char_start, s.char_end) for s in sentences}


def test_long_single_line_splits_into_sentences() -> None:
    name = "000_254a468e52e5a6d3.txt"
    text = (CORPUS / name).read_bytes().decode("utf-8")
    line1 = text.split("\n")[0]
    assert len(line1) == 2358
    on_line1 = [s for s in split_sentences(name, text) if s.line_start == 1]
    assert len(on_line1) >= 10
    assert all(len(s.text) < 400 for s in on_line1)


def test_chinese_title_line_is_its_own_sentence() -> None:
    name = "000_254a468e52e5a6d3.txt"
    text = (CORPUS / name).read_bytes().decode("utf-8")
    last = split_sentences(name, text)[-1]
    assert last.line_start == last.line_end == 2
    assert last.text == "AI圈刷屏,阿里千问负责人林俊旸突然离职,曾是阿里最年轻P10"


def test_chinese_sentences_split() -> None:
    text = "林俊旸宣布离职。他曾是阿里最年轻的P10！为什么？\n第二行。"
    got = [s.text for s in split_sentences("zh.txt", text)]
    assert got == ["林俊旸宣布离职。", "他曾是阿里最年轻的P10！", "为什么？", "第二行。"]


def test_hard_wrapped_sentence_spans_lines() -> None:
    text = (
        "The Qwen team released four small models on the evening of March 2, and the\n"
        "technical lead announced his departure two days later. Musk praised the models.\n"
        "\n"
        "A Title Line\n"
        "Next paragraph starts here.\n"
    )
    sents = split_sentences("wrap.txt", text)
    _check_spans(text, sents)
    first = sents[0]
    assert (first.line_start, first.line_end) == (1, 2)
    assert first.text.endswith("two days later.")
    assert [s.text for s in sents[1:]] == [
        "Musk praised the models.",
        "A Title Line",
        "Next paragraph starts here.",
    ]


def test_abbreviations_and_initials_do_not_split() -> None:
    text = "Dr. Smith met J. Lin in the U.S. on Monday. They talked."
    got = [s.text for s in split_sentences("a.txt", text)]
    assert got == ["Dr. Smith met J. Lin in the U.S. on Monday.", "They talked."]


def test_crlf_and_bom_keep_offsets() -> None:
    text = "\ufeffFirst line here.\r\nSecond one, longer than the first.\r\n"
    sents = split_sentences("crlf.txt", text)
    _check_spans(text, sents)
    assert [s.text for s in sents] == ["First line here.", "Second one, longer than the first."]


def test_run_without_punctuation_is_capped() -> None:
    text = " ".join(["word"] * 1000)
    sents = split_sentences("long.txt", text)
    _check_spans(text, sents)
    assert len(sents) > 5 and max(len(s.text) for s in sents) <= 600


def test_chunks_respect_size_and_overlap() -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(60))
    chunks = chunk_document("s.txt", text, "h", chunk_size=200, chunk_overlap=1)
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.sentences[-1] == b.sentences[0]  # one sentence of overlap
    assert all(c.char_end - c.char_start <= 200 for c in chunks)
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids)


def test_a_wrapped_sentence_goes_on_after_a_colon_an_abbreviation_or_a_marked_word() -> None:
    """Hard-wrapped reference prose: a line that ends in ":" or ";" before a clause in lower
    case, or in an abbreviation ("e.g."), goes on in the next line, and so does a short line
    whose next word starts behind an emphasis or quote mark ("*value*, ...")."""
    text = (
        "The cache works the same way as the disk store:\n"
        "there is one file per entry, written when the entry is added.\n\n"
        "An entry may hold any object (e.g.\n"
        "a list or a mapping), and it is copied when it is stored.\n\n"
        'When an option has the form *name* "="\n'
        "*value*, the option is said to be set.\n\n"
        "The following call clears it:\n\n"
        "   cache.clear()\n\n"
        "Notes:\n"
        "Entries are never shared.\n"
    )
    sentences = [s.text for s in split_sentences("cache.txt", text)]
    assert (
        "The cache works the same way as the disk store:\n"
        "there is one file per entry, written when the entry is added." in sentences
    )
    assert any(s.startswith("An entry may hold any object (e.g.\na list") for s in sentences)
    assert any(s.startswith('When an option has the form *name* "="\n*value*, the') for s in sentences)  # fmt: skip
    # code after a colon, and a capitalised line after a label, stand apart as before
    assert "cache.clear()" in sentences and "The following call clears it:" in sentences
    assert "Entries are never shared." in sentences


def test_a_short_wrapped_line_that_stops_on_a_comma_or_an_article_goes_on() -> None:
    """A line shorter than a wrap's usual width that stops on a comma or on a word no sentence
    ends with ("a", "the", "of") goes on in the next, even when that one starts with a capital
    behind a quote mark; a short line that ends on a name or a capital is a title as before."""
    text = (
        "When the queue is full and no worker is free,\n"
        '"QueueFull" is raised at once to the caller.\n\n'
        "If the lock is already held by another thread, a\n"
        '"LockError" is raised after the timeout.\n\n'
        "Vitamin A\n"
        "Vitamin A is needed for good eyesight.\n"
    )
    sentences = [s.text for s in split_sentences("q.txt", text)]
    assert (
        'When the queue is full and no worker is free,\n"QueueFull" is raised at once to the '
        "caller." in sentences
    )
    assert (
        'If the lock is already held by another thread, a\n"LockError" is raised after the '
        "timeout." in sentences
    )
    assert "Vitamin A" in sentences and "Vitamin A is needed for good eyesight." in sentences


def test_an_index_split_by_an_older_splitter_is_chunked_again(tmp_path: Path) -> None:
    """The splitter's version is in the manifest: an index written before a change to how
    sentences are found is re-chunked by the next ``rag index``, not kept as it was."""
    import json

    from rag.chunking import SPLITTER
    from rag.index import store
    from rag.index.build import build_index
    from tests.conftest import make_settings

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The store keeps one file per entry.\n", encoding="utf-8")
    settings = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = build_index(settings)
    gen = tmp_path / "index" / first.generation
    assert store.read_manifest(gen).splitter == SPLITTER
    assert build_index(settings).unchanged == ["a.txt"]
    # an index written before the version was recorded reads as version 1
    live = tmp_path / "index" / store.read_current(tmp_path / "index")[0]
    data = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    del data["splitter"]
    (live / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    assert store.read_manifest(live).splitter == 1
    assert build_index(settings).added == ["a.txt"]


def test_a_numbered_list_item_keeps_its_number() -> None:
    """A list item's number is part of its sentence ("3. Open the vent ..."), not a sentence of
    its own, so that "the third step" can find line "3."; roman and letter items too."""
    text = (
        "Follow these steps in order.\n\n"
        "1. Close the main gas valve.\n"
        "2. Switch off the pump. Wait a minute.\n"
        "3. Open the vent on the tank.\n\n"
        "  i. the right to copy;\n"
        " ii. the right to adapt.\n"
        "b. Record the time.\n"
    )
    sentences = [s.text for s in split_sentences("steps.txt", text)]
    assert "1. Close the main gas valve." in sentences
    assert sentences[2:4] == ["2. Switch off the pump.", "Wait a minute."]
    assert "3. Open the vent on the tank." in sentences
    assert "i. the right to copy;" in sentences and "ii. the right to adapt." in sentences
    assert "b. Record the time." in sentences
    assert not any(s.rstrip(".").isdigit() for s in sentences)


def test_a_sentence_may_start_in_lower_case_after_a_word_and_a_full_stop() -> None:
    """Sentences that open with a command or an identifier in lower case ("grep prints ...")
    are sentences of their own; a stop after an abbreviation ("e.g.", "etc.", "p.m.", "et
    al.") still goes on."""
    text = (
        "The server keeps its logs in one folder. grep prints the lines that match a pattern. "
        "sed edits a stream of text. Use a pager, e.g. less or more, to read them. Bring pens, "
        "paper, etc. and a ruler. We met at 3 p.m. on Friday. Smith et al. found it. "
        "Wait... and then go. Is it done? yes, it is."
    )
    assert [s.text for s in split_sentences("tools.txt", text)] == [
        "The server keeps its logs in one folder.",
        "grep prints the lines that match a pattern.",
        "sed edits a stream of text.",
        "Use a pager, e.g. less or more, to read them.",
        "Bring pens, paper, etc. and a ruler.",
        "We met at 3 p.m. on Friday.",
        "Smith et al. found it.",
        "Wait... and then go.",
        "Is it done? yes, it is.",
    ]


def test_a_heading_in_capitals_over_indented_text_stands_alone() -> None:
    """A manual page's section heading ("SYNOPSIS") over its indented text is no part of the
    text's first sentence; a line in capitals at the text's own indent still runs on."""
    text = (
        "SYNOPSIS\n"
        "       squash [options] [file ...]\n\n"
        "THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY\n"
        "APPLICABLE LAW.\n"
    )
    assert [s.text for s in split_sentences("squash.1", text)] == [
        "SYNOPSIS",
        "squash [options] [file ...]",
        "THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY\nAPPLICABLE LAW.",
    ]


RELEASE_NOTES = """Frobnicator NEWS

* Noteworthy changes in release 2.4 (2024-05-09) [stable]

** Bug fixes

  The spool is no longer truncated on a full disk.

* Noteworthy changes in release 2.3 (2023-11-02) [stable]

** New features

  Dark mode is available in the viewer.
"""

DEBIAN_NEWS = """frobnicator (2.4-1) unstable; urgency=medium

  * The spool moved to /var/spool/frob.

 -- Ada Park <ada@example.org>  Thu, 09 May 2024 10:00:00 +0000

frobnicator (2.3-1) unstable; urgency=low

  * Dark mode is on by default.

 -- Ada Park <ada@example.org>  Thu, 02 Nov 2023 10:00:00 +0000
"""

MARKDOWN = """# Frobnicator

## Install

Run the installer as root.

Setup notes
===========

Keep the spool on its own disk.

```sh
# not a heading
frob --init
```

is equivalent to

    frob --init --force
"""


def _heading_of(text: str, words: str) -> str | None:
    sentence = next(s for s in split_sentences("a.txt", text) if words in s.text)
    return sentence.heading


def test_plain_text_sentences_know_their_headings() -> None:
    """A release note's item says what changed; the version and the day are in its heading
    (outline stars, a Debian changelog entry, Markdown): the sentence knows them."""
    assert _heading_of(RELEASE_NOTES, "spool is no longer") == (
        "Noteworthy changes in release 2.4 (2024-05-09) [stable] › Bug fixes"
    )
    assert _heading_of(RELEASE_NOTES, "Dark mode").startswith("Noteworthy changes in release 2.3")
    assert _heading_of(DEBIAN_NEWS, "Dark mode") == "frobnicator (2.3-1) unstable; urgency=low"
    assert _heading_of(DEBIAN_NEWS, "Ada Park") == "frobnicator (2.4-1) unstable; urgency=medium"
    assert _heading_of(MARKDOWN, "installer") == "Frobnicator › Install"
    assert _heading_of(MARKDOWN, "own disk") == "Setup notes"
    # a comment in a code block is no heading, nor prose that introduces an indented example
    assert _heading_of(MARKDOWN, "frob --init --force") == "Setup notes"
    # the heading line itself stays under the headings before it (it is no item of its own)
    assert _heading_of(RELEASE_NOTES, "release 2.3") is None


def test_a_hanging_indent_is_no_heading() -> None:
    text = "[1] This limitation occurs because the code that runs under these rules\n    is not known when the module is compiled.\n"
    assert all(s.heading is None for s in split_sentences("a.txt", text))


def test_a_table_header_heads_its_rows_and_each_record_is_a_sentence() -> None:
    """A CSV file's or a Markdown table's header row names the columns: each row is read under
    it (and the header sits under itself, so it is never quoted as a value); each record is a
    sentence of its own, however long."""
    csv = (
        "version,codename,created,release,end-of-life,extended-support-end\n"
        "7,Falcon,falcon,2011-02-06,2013-05-04,2016-04-25,2018-05-31,2020-06-30\n"
        "8,Heron,heron,2013-05-04,2015-04-26,2018-06-17,2020-06-30,2025-06-30\n"
        "9,Osprey,osprey,2015-04-26,2017-06-17,2020-07-18,2022-06-30,2027-06-30\n"
    )
    sentences = split_sentences("r.csv", csv)
    assert [s.text[:2] for s in sentences] == ["ve", "7,", "8,", "9,"]
    header = " ".join(csv.splitlines()[0].split())
    assert all(s.heading == header for s in sentences)
    md = (
        "# Pumps\n\nThe pumps we keep:\n\n| Pump | Flow |\n|------|-----:|\n| P-1 | 40 |\n"
        "| P-2 | 55 |\n\nThe spare is P-2.\n"
    )
    assert _heading_of(md, "P-1 |") == "Pumps › | Pump | Flow |"
    assert _heading_of(md, "spare") == "Pumps"
    # comment lines are no headings
    conf = "# the spool\n# kept on its own disk\nspool=/var/spool/frob\n"
    assert all(s.heading is None for s in split_sentences("frob.conf", conf))


def test_an_outline_section_ends_at_text_on_the_margin() -> None:
    """Release notes whose older part has another layout: the items of "Major changes from 0.7
    to 0.8" are not under the last outline release above them."""
    text = RELEASE_NOTES + "\n\nMajor changes from 0.7 to 0.8:\n* the spool can be read back.\n"
    assert _heading_of(text, "read back") is None
    assert _heading_of(text, "Dark mode").startswith("Noteworthy changes in release 2.3")


def test_the_turns_of_a_conversation() -> None:
    """A transcript's lines open with their speakers' labels; a file is a conversation when two
    labels each open two lines or more, with or without a time stamp."""
    meeting = "Minutes\n\nANNA: We start.\nBEN: Fine. I agree.\nANNA: Next item.\nBEN: Done.\n"
    turns = speaker_turns(meeting)
    assert [meeting[a:b] for a, b in turns] == ["ANNA: ", "BEN: ", "ANNA: ", "BEN: "]
    assert turn_start(turns, meeting.index("I agree")) == meeting.index("BEN: Fine")
    assert turn_start(turns, 3) is None
    podcast = "[00:00:05] Rosa Lind: Hello.\n[00:00:09] Karl Ek: Hi.\n[00:00:12] Rosa Lind: So.\n"
    assert len(speaker_turns(podcast, turns=1)) == 3
    assert not speaker_turns(podcast)  # Karl Ek speaks once
    assert len(speaker_turns("Q: Why?\nA: Because.\nQ: How?\nA: Slowly.\n")) == 4
    # one "Note:" line, or a traceback's exception names, are no conversation
    assert not speaker_turns("Note: keep it dry.\nThe box is small.\n")
    trace = "ValueError: bad\nKeyError: 'x'\nValueError: worse\nKeyError: 'y'\n"
    assert not speaker_turns(trace)
    assert speaker_of("[00:12:03] Bob Lee: I left early.") == "Bob Lee"
    assert speaker_of("DEV: We can't.") == "DEV"
    assert speaker_of("Dev said we can't.") is None
