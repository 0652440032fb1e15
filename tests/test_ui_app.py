"""The Streamlit chat, driven by ``streamlit.testing`` (no browser): the extractive backend keeps
answers fast and deterministic; each test compares the page with what the library returns."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rag.config import Settings, get_settings
from rag.schema import Answer
from tests.conftest import REPO, make_settings

APP = str(REPO / "rag" / "ui" / "app.py")
TIMEOUT = 180  # the first question in a session loads the embedding model
QUESTION = "When did Junyang Lin step down from the Qwen team?"
OFF_TOPIC = "What is the boiling point of mercury in kelvin?"


def point_app_at(monkeypatch: pytest.MonkeyPatch, s: Settings, backend: str = "extractive") -> None:
    monkeypatch.setenv("RAG_INDEX_DIR", str(s.index_dir))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(s.corpus_dir))
    monkeypatch.setenv("RAG_BACKEND", backend)
    get_settings.cache_clear()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, corpus_index: Settings) -> Iterator[AppTest]:
    point_app_at(monkeypatch, corpus_index)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    yield at
    get_settings.cache_clear()


@pytest.fixture
def spy_ask(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record every call the page makes to ``rag.answering.ask`` (still answering for real)."""
    import rag.answering

    calls: list[dict[str, Any]] = []
    real: Callable[..., Answer] = rag.answering.ask

    def spy(question: str, settings: Any = None, **kwargs: Any) -> Answer:
        calls.append({"question": question, **kwargs})
        return real(question, settings, **kwargs)

    monkeypatch.setattr(rag.answering, "ask", spy)
    return calls


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def html_bodies(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.html]


def source_panels(at: AppTest) -> list[str]:
    """The source panels opened from the chips (the marks' panes live inside the answer)."""
    return [b for b in html_bodies(at) if b.startswith('<div class="rag-src"')]


def last_answer(at: AppTest) -> Answer:
    answer = at.session_state["turns"][-1].answer
    assert isinstance(answer, Answer)
    return answer


def test_first_paint_shows_chat_sidebar_and_index_status(
    app: AppTest, corpus_index: Settings
) -> None:
    from rag.index.status import index_status

    info = index_status(corpus_index)
    assert not app.chat_input(key="question").proto.disabled
    sidebar_text = " ".join(m.value for m in app.sidebar.markdown)
    assert f"{info['files']} files · {info['chunks']} chunks" in sidebar_text
    assert info["embed_model"] in sidebar_text
    assert app.sidebar.selectbox(key="backend").value == "extractive"
    assert app.sidebar.slider(key="evidence_k").value == corpus_index.evidence_k
    assert app.sidebar.toggle(key="strict").value is False
    assert app.sidebar.button(key="reindex").label == "Update index"
    # auto: says whether an Ollama server answered (nothing listens on OLLAMA_HOST in tests)
    app.sidebar.selectbox(key="backend").set_value("auto").run()
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "no Ollama server at" in captions and "embedded" in captions


def test_answer_streams_into_a_checked_answer_with_chips(
    app: AppTest, corpus_index: Settings
) -> None:
    from rag.answering import ask as library_ask

    ask(app, QUESTION)
    expected = library_ask(QUESTION, corpus_index, backend="extractive")
    answer = last_answer(app)
    assert answer.answer == expected.answer and not answer.abstained
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    assert app.chat_message[0].markdown[0].value.replace("\\", "") == QUESTION
    body = next(b for b in html_bodies(app) if 'class="rag-answer"' in b)
    for s in answer.sentences:  # every sentence with its verdict mark and score
        assert html.escape(s.text) in body
        assert f'data-verdict="{s.verdict}"' in body
        assert f"{s.verdict} · {s.score:.2f}" in body
    summary = next(b for b in html_bodies(app) if "rag-summary" in b)
    assert f"Faithfulness {answer.faithfulness:.0%}" in summary
    chips = app.pills(key="t1-chips")
    assert chips.options and len(chips.options) == len(answer.citations)
    for c, label in zip(answer.citations, chips.options, strict=True):
        assert label.replace("\\", "").startswith(f"[{c.n}] ")  # then the document title
        plain = label.replace("\\", "")
        assert plain.endswith(f"line {c.lines}") or plain.endswith(f"lines {c.lines}")
    assert not source_panels(app)  # nothing open until a chip is chosen


def test_marks_carry_a_card_and_open_their_source_pane(
    app: AppTest, corpus_index: Settings
) -> None:
    from rag.sources import source_title

    ask(app, QUESTION)
    answer = last_answer(app)
    body = next(b for b in html_bodies(app) if 'class="rag-answer"' in b)
    for c in answer.citations:
        # the inline mark links to its pane; its card names the document, lines and verdict
        mark = re.search(rf'<a class="rag-cite" href="#src-t1-{c.n}" data-n="{c.n}".*?</a>', body)
        assert mark, c
        card = mark.group(0)
        assert html.escape(source_title(corpus_index.corpus_dir, c.file)) in card
        assert html.escape(c.file) in card and "rag-card-verdict v-supported" in card
        assert html.escape(" ".join(c.quote.split())[:40]) in card
        pane = re.search(
            rf'<div class="rag-pane" id="src-t1-{c.n}".*?</div></div></div>', body, re.S
        )
        assert pane, c
        marked = "".join(re.findall(r"<mark>(.*?)</mark>", pane.group(0), re.S))
        # a quote across a paragraph break is marked line by line
        assert html.unescape(marked) == "".join(c.quote.split("\n"))
        assert 'class="rag-src-title"' in pane.group(0)
    # sources first: the passages read are listed (collapsed) above the answer
    expanders = [e for e in app.chat_message[1].expander if "Passages read" in e.label]
    assert expanders and not expanders[0].proto.expanded
    turn = app.session_state["turns"][-1]
    assert turn.evidence and expanders[0].label.startswith(f"Passages read: {len(turn.evidence)}")


def test_opening_a_citation_shows_its_lines_highlighted(
    app: AppTest, corpus_index: Settings
) -> None:
    ask(app, QUESTION)
    citation = last_answer(app).citations[0]
    app.pills(key="t1-chips").set_value(citation.n).run()
    panels = source_panels(app)
    assert len(panels) == 1
    panel = panels[0]
    assert html.escape(citation.file) in panel
    marked = "".join(re.findall(r"<mark>(.*?)</mark>", panel, re.S))
    assert html.unescape(marked) == citation.quote
    cited_rows = re.findall(r'class="rag-ln cited" data-line="(\d+)"', panel)
    assert [int(n) for n in cited_rows] == list(range(citation.line_start, citation.line_end + 1))
    shown = [int(n) for n in re.findall(r'data-line="(\d+)"', panel)]
    assert shown[0] == max(1, citation.line_start - 3) and len(shown) > len(cited_rows)
    # the whole document, on demand
    app.toggle(key=f"t1-chips-{citation.n}-whole").set_value(True).run()
    whole = source_panels(app)[-1]
    text = (corpus_index.corpus_dir / citation.file).read_text(encoding="utf-8")
    assert len(re.findall(r'data-line="\d+"', whole)) == len(text.rstrip("\n").split("\n"))


def test_long_single_line_shows_the_cited_characters(app: AppTest) -> None:
    ask(app, "What is Junyang Lin regarded as, the core brain behind what?")
    answer = last_answer(app)
    on_long_line = [c for c in answer.citations if c.file.startswith("000_")]
    if not on_long_line:
        pytest.fail(f"the question should cite corpus file 000: {answer.citations}")
    c = on_long_line[0]
    app.pills(key="t1-chips").set_value(c.n).run()
    panel = source_panels(app)[0]
    assert f"chars {c.char_start}-{c.char_end}" in panel
    marked = html.unescape("".join(re.findall(r"<mark>(.*?)</mark>", panel, re.S)))
    assert marked == c.quote
    assert 'class="rag-clip"' in panel  # the 2,358-character line is clipped around the quote


def test_history_is_kept_and_follow_ups_carry_the_previous_question(
    app: AppTest, spy_ask: list[dict[str, Any]]
) -> None:
    ask(app, QUESTION)
    ask(app, "Who else left?")
    assert [c["question"] for c in spy_ask] == [QUESTION, "Who else left?"]
    assert spy_ask[0]["history"] is None
    assert spy_ask[1]["history"] == [QUESTION]
    # a rerun for any other reason keeps the conversation on the page
    app.sidebar.slider(key="evidence_k").set_value(4).run()
    assert [m.name for m in app.chat_message] == ["user", "assistant"] * 2
    assert len(app.session_state["turns"]) == 2
    # the conversation is saved: a new session (a reload) with ?c=<id> shows it again
    cid = app.session_state["conv_id"]
    assert cid and app.query_params["c"] in (cid, [cid])
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["c"] = cid
    again.run()
    assert not again.exception
    assert [t.question for t in again.session_state["turns"]] == [QUESTION, "Who else left?"]
    assert [m.name for m in again.chat_message] == ["user", "assistant"] * 2
    assert any(b.label.endswith(QUESTION) for b in again.sidebar.button if b.key == f"conv-{cid}")
    # sidebar choices reach the library
    app.sidebar.toggle(key="strict").set_value(True).run()
    ask(app, QUESTION)
    assert spy_ask[-1]["evidence_k"] == 4 and spy_ask[-1]["strict"] is True
    assert spy_ask[-1]["backend"] == "extractive"
    app.button(key="new-chat").click().run()
    assert not app.chat_message and not app.session_state["turns"]
    assert "c" not in app.query_params


def test_abstention_shows_the_closest_passages(app: AppTest) -> None:
    ask(app, OFF_TOPIC)
    answer = last_answer(app)
    assert answer.abstained and answer.closest
    assert any('data-kind="abstain"' in b for b in html_bodies(app))
    assert not any('class="rag-answer"' in b for b in html_bodies(app))
    closest = app.pills(key="t1-closest")
    assert len(closest.options) == len(answer.closest)
    closest.set_value(answer.closest[0].n).run()
    panel = source_panels(app)[0]
    assert html.escape(answer.closest[0].file) in panel and "<mark>" in panel


def test_export_offers_markdown_with_footnotes(app: AppTest, corpus_index: Settings) -> None:
    from rag.render import answer_markdown

    ask(app, QUESTION)
    markdown = answer_markdown(last_answer(app), corpus_index.corpus_dir)
    assert "[^1]" in markdown
    assert any(code.value.strip() == markdown.strip() for code in app.code)
    assert app.get("download_button")


def test_no_index_says_so_and_builds_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "note.txt").write_text(
        "The harbour bridge was opened in 1932 by the premier.\n"
        "It carries rail, road and foot traffic.\n",
        encoding="utf-8",
    )
    s = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    point_app_at(monkeypatch, s)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "no index yet" in warning.lower()
    assert at.chat_input(key="question").proto.disabled
    assert at.sidebar.button(key="reindex").label == "Build index"
    at.button(key="build-main").click().run()
    assert not at.exception
    assert any("Index updated" in m.value for m in at.sidebar.success)
    assert not at.chat_input(key="question").proto.disabled
    ask(at, "When was the harbour bridge opened?")
    answer = last_answer(at)
    assert answer.citations and answer.citations[0].file == "note.txt"
    get_settings.cache_clear()


def test_llm_errors_show_one_line(app: AppTest) -> None:
    app.sidebar.selectbox(key="backend").set_value("ollama").run()
    ask(app, QUESTION)
    assert len(app.error) == 1
    message = app.error[0].value
    assert "Ollama" in message and "\n" not in message and "Traceback" not in message
    assert not app.exception


HOSTILE = (
    "Quarterly memo on the zebrafish laboratory budget.\n"
    "The zebrafish laboratory budget note reads <script>alert(1)</script> and "
    "<img src=x onerror=alert(1)> verbatim in the archive.\n"
    "**Bold** claims and [links](javascript:alert(1)) are part of the zebrafish memo too.\n"
)


def test_hostile_document_is_shown_literally(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from rag.index.build import build_index

    (settings.corpus_dir / "zz_hostile.md").write_text(HOSTILE, encoding="utf-8")
    build_index(settings)
    point_app_at(monkeypatch, settings)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    ask(at, "What does the zebrafish laboratory budget note read?")
    answer = last_answer(at)
    hostile = [c for c in answer.citations if c.file == "zz_hostile.md"]
    assert hostile, answer
    at.pills(key="t1-chips").set_value(hostile[0].n).run()
    everything = "\n".join(html_bodies(at))
    for raw in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>"):
        assert raw not in everything
    panel = source_panels(at)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel
    assert "**Bold** claims and [links](javascript:alert(1))" in panel
    # the answer (which quotes the document) is escaped as well
    answer_html = next(b for b in html_bodies(at) if 'class="rag-answer"' in b)
    assert "&lt;script&gt;" in answer_html or "zebrafish" not in answer.answer
    get_settings.cache_clear()


def test_draft_page_checks_sentences_and_opens_sources(
    app: AppTest, corpus_index: Settings
) -> None:
    app.switch_page("page_draft.py").run()
    assert not app.exception
    try:
        from rag.drafts import check_draft, draft_markdown
    except ImportError:
        assert any("Draft checking unavailable" in i.value for i in app.info)
        return
    draft = (
        "Junyang Lin announced his departure from the Qwen project [001:3]. "
        "He was replaced by a committee of penguins."
    )
    app.text_area(key="draft_text").set_value(draft).run()
    app.button(key="draft-check").click().run()
    assert not app.exception and not app.error
    report = check_draft(draft, corpus_index)
    table = app.dataframe[0].value
    assert list(table["Sentence"]) == [s.text for s in report.sentences]
    # rules only (no judge here): the first sentence, not a whole quote, is supported but tentative
    assert [v.split(" ", 1)[1] for v in table["Verdict"]][0] == "supported, tentative"
    assert list(table.columns) == ["Line", "Verdict", "Sentence", "Source", "Why"]
    # the draft as written, each checked sentence tinted by its verdict, a pane per sentence
    view = next(b for b in html_bodies(app) if 'class="rag-draft"' in b)
    tinted = re.findall(r'<a class="rag-dsent v-(\w+)" href="#src-draft-(\d+)"', view)
    assert [v for v, _ in tinted] == [
        "tentative"
        if s.tentative and s.verdict == "supported"
        else "proposed"
        if s.proposed and s.verdict == "supported"
        else s.verdict
        for s in report.sentences
    ]
    assert tinted[0][0] == "tentative" and tinted[1][0] not in ("supported", "tentative")
    assert html.escape(report.sentences[1].reason) in view
    assert all(f'id="src-draft-{i}"' in view for _, i in tinted)
    assert any(code.value.strip() == draft_markdown(draft, report).strip() for code in app.code)
    assert app.get("download_button")
    app.selectbox(key="draft_source").set_value(0).run()
    panel = source_panels(app)[0]
    cited = report.sentences[0].citation
    assert cited is not None and html.escape(cited.file) in panel and "<mark>" in panel
