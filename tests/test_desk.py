"""The writer's desk: document titles, answers rendered for terminals, files and the chat (with the
checker's removed, contradicted and searched-for fields, on hand-built answers), the footnoted
draft's flags, saved conversations, and the CLI off a terminal."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.config import Settings
from rag.conversations import ConversationStore, Turn
from rag.render import answer_markdown, conversation_markdown, render_answer_terminal, slug
from rag.schema import Answer, Citation, Evidence, SentenceCheck
from rag.sources import document_title, source_title

LONG_QUOTE = (
    "The harbour bridge was opened in 1932 by the premier of the state, after eight years of "
    "building, and it carried rail, road and foot traffic across the water from the first day on."
)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "bridge.md").write_text(
        "---\nauthor: x\n---\n\n# The **Harbour** Bridge\n\n" + LONG_QUOTE + "\n", encoding="utf-8"
    )
    (root / "plain.txt").write_text("\n\nFerry timetable, winter\nBoats run hourly.\n")
    (root / "empty.txt").write_text("   \n")
    (root / "hostile.md").write_text("<script>alert(1)</script> notes\nMore lines.\n")
    return root


def cite(n: int, file: str = "bridge.md", quote: str = LONG_QUOTE) -> Citation:
    return Citation(
        n=n, file=file, line_start=7, line_end=7, char_start=0, char_end=len(quote), quote=quote
    )


def checked_answer() -> Answer:
    """An answer as the checker will fill it: one supported sentence, one contradicted (with the
    contradicting quote), one removed, and the standalone question a follow-up searched for."""
    contra = cite(9, "plain.txt", "Boats run hourly.")
    return Answer(
        question="When did the harbour bridge open, and who opened it?",
        answer="The bridge opened in 1932 [1]. It opened in 1931 by the king [2].",
        abstained=False,
        citations=[cite(1), cite(2, "plain.txt", "Ferry timetable, winter")],
        sentences=[
            SentenceCheck(
                text="The bridge opened in 1932.", citations=[1], verdict="supported", score=0.97
            ),  # fmt: skip
            SentenceCheck(
                text="It opened in 1931 by the king.",
                citations=[2],
                verdict="contradicted",
                score=0.05,
                reason="the cited text gives another year",
                contradiction=contra,
            ),
        ],
        removed=[
            SentenceCheck(
                text="The bridge is painted gold.",
                verdict="unsupported",
                score=0.0,
                reason="no source mentions its colour",
            )
        ],
        searched_for="When did the harbour bridge open?",
        faithfulness=0.5,
        backend="embedded",
        model="m",
    )


# --- titles -----------------------------------------------------------------------------------


def test_titles_are_the_first_heading_or_line_else_the_file_name(docs: Path) -> None:
    assert source_title(docs, "bridge.md") == "The Harbour Bridge"
    assert source_title(docs, "plain.txt") == "Ferry timetable, winter"
    assert source_title(docs, "empty.txt") == "empty.txt"
    assert source_title(docs, "missing.txt") == "missing.txt"
    long = document_title("word " * 60, "a.txt")
    assert len(long) <= 90 and long.endswith("…") and not long.endswith("wor…")
    # computed once per file version: an edit gives the new title
    (docs / "plain.txt").write_text("Bus timetable\n")
    assert source_title(docs, "plain.txt") == "Bus timetable"


def test_titles_leave_html_and_markup_only_lines_out() -> None:
    readme = (
        '<p align="center"><img src="https://example.org/logo.png" alt="Zstandard"></p>\n\n'
        "[![Build Status][badge]][link]\n"
        "[badge]: https://example.org/badge.svg\n\n"
        "__Zstandard__, or `zstd` as short version, is a fast lossless compression algorithm,\n"
        "targeting real-time compression scenarios.\n\n" + "More prose.\n" * 20 + "## Benchmarks\n"
    )
    title = document_title(readme, "README.md")
    assert "<" not in title and "img" not in title
    assert title == "Zstandard, or zstd as short version, is a fast lossless compression algorithm"
    assert document_title('<h1 align="center">Tool &amp; Co</h1>\nText.\n', "a.md") == "Tool & Co"
    assert document_title("<p></p>\n<br/>\n# ![logo](x.png)\n# Name\n", "a.md") == "Name"
    assert document_title('<div><img src="x.png"></div>\n', "only-a-logo.md") == "only-a-logo.md"
    # angle brackets that are not HTML stay (a licence's placeholder)
    placeholder = "<one line to give the program's name and a brief idea of what it does.>"
    assert document_title(placeholder + "\nCopyright\n", "LICENSE") == placeholder


# --- text renderings --------------------------------------------------------------------------


def test_terminal_answer_is_whole_off_a_terminal_and_fits_on_one(docs: Path) -> None:
    a = checked_answer()
    whole = render_answer_terminal(a, docs)
    assert LONG_QUOTE in whole  # nothing cut without a width
    assert "searched for: When did the harbour bridge open?" in whole
    assert "✗ It opened in 1931 by the king. [2]  (contradicted, 0.05)" in whole
    assert 'contradicted by Ferry timetable, winter — plain.txt:7: "Boats run hourly."' in whole
    assert "removed: not supported by the sources:" in whole
    assert "The bridge is painted gold.  (unsupported: no source mentions its colour)" in whole
    assert "[1] The Harbour Bridge — bridge.md:7 (chars" in whole
    narrow = render_answer_terminal(a, docs, width=80)
    footnote = next(ln for ln in narrow.splitlines() if ln.startswith("[1] "))
    assert len(footnote) <= 80 and footnote.endswith('…"')
    assert re.search(r"\w…\"$", footnote) and " buildin…" not in footnote  # whole words


def test_markdown_marks_flagged_sentences_and_never_splits_words(docs: Path) -> None:
    md = answer_markdown(checked_answer(), docs)
    assert md.startswith("**Q:** When did the harbour bridge open, and who opened it?\n")
    assert "*Searched for:* When did the harbour bridge open?" in md
    # supported: the footnote right after the closing full stop; flagged: a mark and a why-note
    assert "The bridge opened in 1932.[^1] **✗** It opened in 1931 by the king.[^2][^check-1]" in md
    why = next(ln for ln in md.splitlines() if ln.startswith("[^check-1]:"))
    assert "contradicted" in why and "the cited text gives another year" in why
    assert '*Ferry timetable, winter* (plain.txt, line 7): "Boats run hourly."' in why
    assert "**Removed: not supported by the sources**" in md
    assert "- ⚠ The bridge is painted gold. (no source mentions its colour)" in md
    assert f'[^1]: *The Harbour Bridge* (bridge.md, line 7): "{LONG_QUOTE}"' in md
    assert not re.search(r"\w \[\^", md)  # no mark after a space, none inside a word
    cut = Answer(
        question="q",
        answer="Key members left, including staff resear… [1]",
        abstained=False,
        citations=[cite(1)],
        sentences=[
            SentenceCheck(
                text="Key members left, including staff resear…",
                citations=[1],
                verdict="supported",
                score=1.0,
            )  # fmt: skip
        ],
        backend="extractive",
        model="none",
    )
    assert "staff resear…[^1]" in answer_markdown(cut)


def test_conversation_markdown_keeps_every_citation_apart(docs: Path) -> None:
    a, b = checked_answer(), checked_answer()
    md = conversation_markdown([a, b], docs, title="Bridge questions")
    assert md.startswith("# Bridge questions\n")
    assert md.count("## 1. ") == 1 and md.count("## 2. ") == 1
    for label in ("1-1", "1-2", "2-1", "2-2", "1-check-1", "2-check-1"):
        assert f"[^{label}]:" in md and f"[^{label}]" in md.split(f"[^{label}]:")[0]


def test_file_names_from_the_question_are_whole_words() -> None:
    q = "Who else left the Qwen team besides the technical lead in March?"
    name = slug(q)
    assert q.lower().replace("?", "").replace(" ", "-").startswith(name)
    assert len(name) <= 48 and not name.endswith("-")
    assert slug("???") == "answer" and slug("") == "answer"


# --- the chat's HTML --------------------------------------------------------------------------


def test_chat_html_shows_removed_contradicted_and_searched_for(docs: Path) -> None:
    from rag.ui.components import panes_html, removed_html, searched_html, sentences_html

    a = checked_answer()
    body = sentences_html(a, "t1", docs)
    assert 'data-verdict="contradicted"' in body and "✗ Contradicted by" in body
    assert 'href="#src-t1-x1"' in body and "Boats run hourly." in body
    panes = panes_html(a, "t1", docs)
    assert 'id="src-t1-1"' in panes and 'id="src-t1-2"' in panes and 'id="src-t1-x1"' in panes
    assert 'class="rag-src-title">The Harbour Bridge<' in panes
    assert "removed: not supported by the sources".capitalize() in removed_html(a)
    assert "The bridge is painted gold." in removed_html(a)
    assert "When did the harbour bridge open?" in searched_html(a)


def test_chat_html_shows_a_translation_marked_unchecked() -> None:
    from rag.ui.components import translation_html

    a = checked_answer()
    assert translation_html(a) == ""
    a.translation = "El puente abrió en <1932> [1]."
    shown = translation_html(a)
    assert "Translation by the model, not checked" in shown
    assert "&lt;1932&gt;" in shown and "<1932>" not in shown


def test_hostile_titles_and_quotes_are_escaped(docs: Path) -> None:
    from rag.ui.components import card_html, passages_html

    c = cite(1, "hostile.md", "<script>alert(1)</script> notes")
    card = card_html(c, docs, "supported")
    assert "<script>" not in card and "&lt;script&gt;alert(1)&lt;/script&gt; notes" in card
    ev = Evidence(**c.model_dump(exclude={"n", "quote"}), text=c.quote, n=1, score=1.0, chunk_id="x")  # fmt: skip
    listed = passages_html([ev], docs)
    assert "<script>" not in listed and html.escape(c.quote) in listed


def test_status_notices_go_to_the_sidebar_not_under_every_answer() -> None:
    from rag.ui.components import answer_notices

    a = checked_answer()
    a.notices = ["Ollama not reachable at http://h:1; using the embedded model", "dropped [7]"]
    seen: set[str] = set()
    assert answer_notices(a, seen) == ["dropped [7]"]
    assert answer_notices(a, seen) == []
    # an answer quoted from the passages says so every time
    from rag import prompts

    a.notices.append(prompts.QUOTED_INSTEAD)
    assert answer_notices(a, seen) == [prompts.QUOTED_INSTEAD]
    assert answer_notices(a, seen) == [prompts.QUOTED_INSTEAD]


# --- conversations ----------------------------------------------------------------------------


def test_conversations_are_saved_listed_and_read_back(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c" / "conversations.sqlite3")
    assert store.recent() == [] and store.turns("nope") == []
    cid = store.create("When did the harbour bridge open, and who opened it?")
    a = checked_answer()
    store.save_turn(cid, Turn(id=1, question=a.question, answer=a))
    store.save_turn(cid, Turn(id=2, question="And then?", error="the question is empty"))
    other = store.create("x " * 100)
    turns = store.turns(cid)
    assert [t.id for t in turns] == [1, 2]
    assert turns[0].answer == a and turns[1].error == "the question is empty"
    listed = store.recent()
    assert {c.id for c in listed} == {cid, other}
    info = store.get(cid)
    assert info is not None and info.turns == 2 and info.title == a.question
    got = store.get(other)
    assert got is not None and len(got.title) <= 80
    store.delete(other)
    assert [c.id for c in store.recent()] == [cid]


def test_the_conversation_file_lives_in_the_index_folder_unless_set(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    s = make_settings(index_dir=tmp_path / "idx")
    assert s.conversations_path == (tmp_path / "idx" / "conversations.sqlite3").resolve()
    s = make_settings(index_dir=tmp_path / "idx", conversations_db=tmp_path / "mine.db")
    assert s.conversations_path == (tmp_path / "mine.db").resolve()
    assert make_settings(conversations_db="").conversations_db is None


# --- the CLI off a terminal -------------------------------------------------------------------


def test_cli_off_a_terminal_prints_the_checked_answer_once_and_whole(
    corpus_index: Settings,
) -> None:
    env = {"RAG_INDEX_DIR": str(corpus_index.index_dir), "RAG_CORPUS_DIR": str(corpus_index.corpus_dir)}  # fmt: skip
    q = "Who else left the Qwen team besides Junyang Lin?"
    r = CliRunner().invoke(main, ["ask", q, "--backend", "extractive"], env=env)
    assert r.exit_code == 0, r.output
    from rag.answering import ask

    answer = ask(q, corpus_index, backend="extractive")
    assert answer.answer not in r.stdout  # the streamed text is for terminals only
    assert r.stdout.count(f"✓ {answer.sentences[0].text}") == 1
    for c in answer.citations:  # every quote whole
        assert " ".join(c.quote.split()) in r.stdout
    assert "\r" not in r.output


def test_cli_check_off_a_terminal_cuts_nothing(corpus_index: Settings, tmp_path: Path) -> None:
    draft = tmp_path / "d.md"
    sentence = (
        "Lin, who joined Alibaba in July 2019 and became part of the Qwen team in April 2023, "
        "shared the news on X [001:4]."
    )
    draft.write_text(sentence + "\nThe whole Qwen team moved to a penguin sanctuary.\n")
    r = CliRunner().invoke(
        main,
        ["check", str(draft), "--no-judge", "--markdown", str(tmp_path / "out.md")],
        env={
            "RAG_INDEX_DIR": str(corpus_index.index_dir),
            "RAG_CORPUS_DIR": str(corpus_index.corpus_dir),
            "COLUMNS": "60",
        },  # fmt: skip
    )
    assert r.exit_code == 0, r.output
    assert sentence.removesuffix(" [001:4].") in r.stdout.replace("\n", " ")
    assert "    source: Alibaba’s Qwen tech lead steps down after major AI push — 001_" in r.stdout
    assert "…" not in r.stdout
    assert "\r" not in r.output
    out = (tmp_path / "out.md").read_text()
    # the flagged sentence carries a visible mark and a footnote saying why; the first, passed
    # by matching words alone (no judge), is marked tentative first
    assert re.search(r"on X\[\^1\]\. ≈\[\^check-1\]", out)
    assert re.search(r"^\[\^check-1\]: ≈ Tentative: ", out, re.M)
    assert re.search(r"penguin sanctuary\. [⚠∅?✗]\[\^check-2\]", out)
    assert re.search(r"^\[\^check-2\]: [⚠∅?✗] Not verified \(", out, re.M)


def test_ask_hands_over_the_passages_before_the_answer(corpus_index: Settings) -> None:
    from rag.answering import ask

    events: list[str] = []
    seen: list[list[Evidence]] = []

    def on_evidence(evidence: list[Evidence]) -> None:
        events.append("evidence")
        seen.append(evidence)

    answer = ask(
        "When did Junyang Lin step down from the Qwen team?",
        corpus_index,
        backend="extractive",
        on_evidence=on_evidence,
        on_token=lambda _t: events.append("token"),
    )
    assert events[0] == "evidence" and "token" in events and events.count("evidence") == 1
    cited = {(c.file, c.char_start) for c in answer.citations}
    assert cited <= {(e.file, e.char_start) for e in seen[0]}


def test_an_abstention_says_why_each_written_sentence_was_not_kept() -> None:
    # supported but off target ("Where?" answered without a place) is not "not supported"
    kept_out = [
        SentenceCheck(text="The valve is red.", citations=[1], verdict="supported", score=1.0),
        SentenceCheck(
            text="The valve is blue.", citations=[1], verdict="contradicted", score=0.0,
            reason="the claim says blue, the text red",
        ),
    ]  # fmt: skip
    a = Answer(
        question="Where is the valve?",
        answer="The documents do not answer this question.",
        abstained=True,
        rejected=kept_out,
        backend="extractive",
        model="none",
    )
    out = render_answer_terminal(a)
    _, _, unsupported = out.partition("Written, but the cited passages do not support:")
    _, _, off_target = out.partition("In the passages, but not what was asked:")
    first = unsupported.split("In the passages")[0]
    assert "The valve is blue." in first and "The valve is red." not in first
    assert "The valve is red." in off_target and "blue" not in off_target
    assert "The model wrote" not in out
