"""The chat in a real browser: ``streamlit run ui/app.py`` as a subprocess, driven by Debian's
chromium through Playwright. Screenshots go to ``test-artifacts/`` (git-ignored).

Slow (a server, a browser, an index build): run with ``pytest -m slow tests/test_ui_browser.py``.

Benchmark mode: ``RAG_UI_BENCH=N pytest -m slow -s tests/test_ui_browser.py -k benchmark`` asks
N questions with the models warm (backend: ``RAG_UI_BENCH_BACKEND``, default extractive) and prints the time to the first useful content (the passages
being read) from pressing Enter, p50 and p95, against the target (p50 at most 1.5 s) with PASS or
MISS and the machine's load; ``RAG_UI_BENCH_STRICT=1`` makes a MISS fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from rag.stats import percentile
from tests.conftest import CORPUS, REPO, make_settings
from tests.fixtures_llm import free_port

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CHAT_PLACEHOLDER = "Ask about the documents…"
HOSTILE = (
    "Quarterly memo on the zebrafish laboratory budget.\n"
    "The zebrafish laboratory budget note reads <script>alert(1)</script> and "
    "<img src=x onerror=alert(1)> verbatim in the archive.\n"
    "**Bold** claims are part of the zebrafish memo too.\n"
)

if not CHROMIUM.exists():  # CI installs it (apt-get install chromium)
    pytest.skip(f"no browser: {CHROMIUM} is missing", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


@pytest.fixture(scope="module")
def browser_corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shipped corpus plus a hostile document and a PDF, indexed."""
    from rag.index.build import build_index
    from tests.test_formats import REPORT_PAGES, make_pdf

    root = tmp_path_factory.mktemp("ui_browser")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "zz_hostile.md").write_text(HOSTILE, encoding="utf-8")
    (corpus / "harbour.pdf").write_bytes(make_pdf(REPORT_PAGES))
    s = make_settings(corpus_dir=corpus, index_dir=root / "index")
    build_index(s)
    return s


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    started: float
    log: Path


def start_server(s: Settings, backend: str, log: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(s.index_dir),
        "RAG_CORPUS_DIR": str(s.corpus_dir),
        "RAG_BACKEND": backend,
        "OLLAMA_HOST": "http://127.0.0.1:9",  # nothing listens: auto never finds Ollama
    }
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "rag" / "ui" / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return Server(url, process, started, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"streamlit did not start within 90 s: {log.read_text()[-2000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


PASSAGES = re.compile(r"^Passages read: \d+")
FIRST_CONTENT_P50_S = 1.5


def ask(page: Any, question: str, n_answers: int, timeout_ms: int = 180_000) -> tuple[float, float]:
    """Ask; returns the seconds from Enter to the passages being listed (the first useful
    content) and to the checked answer."""
    settle(page)  # as a person would: the previous answer is finished before the next question
    box = page.get_by_placeholder(CHAT_PLACEHOLDER)
    box.fill(question)
    t0 = time.perf_counter()
    box.press("Enter")
    reply = page.locator("[data-testid=stChatMessage]").nth(2 * n_answers - 1)
    reply.get_by_text(PASSAGES).wait_for(timeout=timeout_ms)
    first = time.perf_counter() - t0
    reply.locator(".rag-summary, .rag-abstain").wait_for(timeout=timeout_ms)
    return first, time.perf_counter() - t0


def settle(page: Any, timeout_s: float = 120) -> None:
    """Until the app is idle (no script run in progress), then a moment for the paint."""
    deadline = time.monotonic() + timeout_s
    while page.locator("[data-testid=stStatusWidget]").count() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    page.wait_for_timeout(300)


def wait_warm(page: Any, timeout_ms: int = 180_000) -> None:
    """Until the sidebar says the models are loaded (it updates itself while they load)."""
    page.locator("[data-testid=stSidebar]").get_by_text(re.compile(r"^Loaded: ")).wait_for(
        timeout=timeout_ms
    )


def test_chat_in_a_browser(browser: Any, browser_corpus: Settings, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    server = start_server(browser_corpus, "extractive", tmp_path / "streamlit.log")
    try:
        ready = time.perf_counter() - server.started
        page.goto(server.url)
        page.get_by_placeholder(CHAT_PLACEHOLDER).wait_for(state="visible", timeout=60_000)
        first_paint = time.perf_counter() - server.started
        print(f"\nfirst paint: {first_paint:.2f} s from server start (server ready {ready:.2f} s)")
        shot(page, "ui-first-paint.png")
        assert page.get_by_text("Ask the documents").is_visible()
        assert page.get_by_text("Index", exact=True).first.is_visible()

        # the sidebar says, by itself, when the models are loaded
        wait_warm(page)

        # a question: the passages read come first, then the checked answer with its verdicts
        first, whole = ask(page, "When did Junyang Lin step down from the Qwen team?", 1)
        print(f"first useful content {first:.2f} s, checked answer {whole:.2f} s")
        assert first <= whole
        sentence = page.locator(".rag-sent").first
        sentence.wait_for()
        assert sentence.get_attribute("data-verdict") in ("supported", "unsupported", "uncited")
        assert re.search(r"Faithfulness \d+%", page.locator(".rag-summary").first.inner_text())
        passages = page.get_by_text(PASSAGES).first
        passages.click()  # the collapsed list opens: each passage named by its document title
        page.locator(".rag-reading li").first.wait_for(timeout=10_000)
        assert page.locator(".rag-reading li").count() >= 1
        passages.click()

        # hover a citation mark: its card shows the quote, the document title, lines, verdict
        mark = page.locator(".rag-answer a.rag-cite").first
        card = mark.locator(".rag-card")
        for attempt in range(3):  # on a loaded machine the page may still be settling
            mark.scroll_into_view_if_needed()
            mark.hover()
            try:
                card.wait_for(state="visible", timeout=5_000)
                break
            except Exception:
                if attempt == 2:
                    raise
                page.mouse.move(0, 0)
        card_text = card.inner_text()
        assert "line" in card_text and "supported" in card_text and "“" in card_text
        shot(page, "ui-hover-card.png")

        # click it: the source pane opens with the cited characters highlighted
        mark.click()
        pane = page.locator(".rag-pane:target")
        pane.wait_for(state="visible", timeout=10_000)
        quote = pane.locator("mark").first.inner_text()
        assert len(quote) > 20
        file_name = pane.locator(".rag-src-file").first.inner_text()
        title = pane.locator(".rag-src-title").first.inner_text()
        source = (browser_corpus.corpus_dir / file_name).read_text(encoding="utf-8")
        assert " ".join(quote.split()) in " ".join(source.split())
        assert title and " ".join(title.rstrip("…").split()) in " ".join(source.split())
        assert title.split()[0] in card_text  # the card named the same document
        cited = pane.locator(".rag-ln.cited")
        assert cited.count() >= 1
        assert pane.locator(".rag-ln").count() > cited.count()  # context around it
        path = shot(page, "ui-answer-source.png")
        assert path.stat().st_size > 10_000

        # a document holding HTML is shown as text: nothing runs, nothing renders
        ask(page, "What does the zebrafish laboratory budget note read?", 2)
        page.get_by_role("radio", name=re.compile(r"Quarterly memo")).last.click()
        panel = page.locator(
            ".rag-src >> visible=true", has=page.locator(".rag-src-file", has_text="zz_hostile.md")
        ).first
        panel.locator("mark").first.wait_for(timeout=30_000)
        text = panel.inner_text()
        assert "<script>alert(1)</script>" in text
        assert "<img src=x onerror=alert(1)>" in text
        assert "**Bold** claims" in text
        assert page.locator(".rag-answer script, .rag-answer img, .rag-src script").count() == 0
        page.wait_for_timeout(500)
        shot(page, "ui-hostile-document.png")
        assert not dialogs, f"a document ran script: {dialogs}"

        # a PDF citation: the rendered page, the cited words highlighted, beside the text
        ask(page, "When did the new pier of the harbour open?", 3)
        page.get_by_role("radio", name=re.compile(r"\(p\.2\)")).last.click()  # chips name titles
        image = page.locator("[data-testid=stImage] img").first
        image.wait_for(timeout=30_000)
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        assert page.get_by_text(re.compile(r"harbour\.pdf, page 2 of 3")).first.is_visible()
        panel = page.locator(".rag-src", has=page.locator(".rag-src-file", has_text="harbour.pdf"))
        assert "The new pier opened" in panel.first.locator("mark").first.inner_text()
        from tests.test_formats import highlighted_pixels

        assert highlighted_pixels(image.screenshot()) > 100
        shot(page, "ui-pdf-page.png")

        # a new chat and a Chinese question (CI installs a CJK font: no boxes in the screenshot)
        page.get_by_role("button", name="New chat").click()
        page.locator("[data-testid=stChatMessage]").first.wait_for(state="detached", timeout=30_000)
        ask(page, "阿里最年轻的P10是谁？", 1)
        settle(page)
        shot(page, "ui-chinese-question.png")

        # a reload keeps the conversation (saved on this machine; the address names it)
        assert "c=" in page.url
        page.reload()
        page.locator(".rag-summary, .rag-abstain").first.wait_for(timeout=60_000)
        assert page.get_by_text("阿里最年轻的P10是谁？").first.is_visible()
        assert page.locator("[data-testid=stChatMessage]").count() == 2
        # the earlier conversation is listed in the sidebar and opens again, whole
        earlier = page.locator("[data-testid=stSidebar]").get_by_role(
            "button", name=re.compile("When did Junyang Lin step down")
        )
        earlier.wait_for(timeout=30_000)
        earlier.click()
        page.locator(".rag-summary, .rag-abstain").nth(1).wait_for(timeout=60_000)
        assert page.get_by_text("What does the zebrafish laboratory budget note read?").is_visible()
        settle(page)
        shot(page, "ui-reloaded-conversation.png")

        # the writers' page: the draft as written, tinted by verdict
        page.get_by_role("link", name="Check a draft").click()
        draft_box = page.get_by_label("Draft", exact=True)
        draft_box.wait_for(timeout=30_000)
        draft_box.fill(
            "Junyang Lin announced his departure from the Qwen project [001:3]. "
            "The whole Qwen team moved to a penguin sanctuary."
        )
        draft_box.press("Control+Enter")
        page.get_by_role("button", name="Check draft").click()
        tinted = page.locator("a.rag-dsent")
        tinted.first.wait_for(timeout=120_000)
        assert tinted.count() == 2
        # supported: sure, or tentative when the judge's call was close
        assert tinted.nth(0).get_attribute("data-verdict") in ("supported", "tentative")
        assert tinted.nth(1).get_attribute("data-verdict") not in ("supported", "tentative")
        color = tinted.nth(1).evaluate("e => getComputedStyle(e).backgroundColor")
        assert color not in ("rgba(0, 0, 0, 0)", "transparent")
        tinted.nth(0).click()  # its reason and the cited lines open below the draft
        draft_pane = page.locator(".rag-pane:target")
        draft_pane.wait_for(state="visible", timeout=10_000)
        assert "supported" in draft_pane.inner_text() and draft_pane.locator("mark").count()
        page.get_by_role("button", name="Download footnoted Markdown").wait_for()
        page.wait_for_timeout(800)
        shot(page, "ui-draft-page.png")
        page.get_by_text("As a table").click()  # the secondary view fits the page width
        table = page.locator("[data-testid=stDataFrame]")
        table.wait_for(timeout=30_000)
        main = page.locator("[data-testid=stMainBlockContainer]").bounding_box()
        box = table.bounding_box()
        assert box and main and box["x"] + box["width"] <= main["x"] + main["width"] + 1
        assert not errors, errors
    finally:
        stop_server(server)


QUESTIONS = [
    "When did Junyang Lin step down from the Qwen team?",
    "Who else left the Qwen team besides Junyang Lin?",
    "How many Qwen 3.5 models were released?",
    "Who praised the Qwen 3.5 small models?",
    "When did Junyang Lin join Alibaba?",
]


# read at import: the isolating fixture removes every RAG_* variable before a test runs
BENCH_N = os.environ.get("RAG_UI_BENCH", "")
BENCH_BACKEND = os.environ.get("RAG_UI_BENCH_BACKEND", "extractive")
BENCH_STRICT = bool(os.environ.get("RAG_UI_BENCH_STRICT"))


@pytest.mark.skipif(not BENCH_N, reason="set RAG_UI_BENCH=N to run")
def test_first_useful_content_benchmark(
    browser: Any, browser_corpus: Settings, tmp_path: Path
) -> None:
    """Time from Enter to the passages being read, with the models warm (p50 ≤ 1.5 s)."""
    n = max(3, int(BENCH_N or "10"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    backend = BENCH_BACKEND
    server = start_server(browser_corpus, backend, tmp_path / "streamlit.log")
    try:
        page.goto(server.url)
        page.get_by_placeholder(CHAT_PLACEHOLDER).wait_for(state="visible", timeout=60_000)
        wait_warm(page)
        firsts, wholes = [], []
        for i in range(n):
            first, whole = ask(page, QUESTIONS[i % len(QUESTIONS)], i + 1)
            firsts.append(first)
            wholes.append(whole)
        p50, p95 = percentile(firsts, 50) or 0.0, percentile(firsts, 95) or 0.0
        verdict = "PASS" if p50 <= FIRST_CONTENT_P50_S else "MISS"
        load = os.getloadavg()[0]
        print(
            f"\nfirst useful content (passages read), {n} questions, {backend} backend, "
            f"models warm: "
            f"p50 {p50:.2f} s, p95 {p95:.2f} s, target p50 ≤ {FIRST_CONTENT_P50_S} s: {verdict}; "
            f"checked answer p50 {percentile(wholes, 50) or 0.0:.2f} s "
            f"(load average {load:.1f} on {os.cpu_count()} CPUs)"
        )
        # a figure to read, like `rag bench`: it fails only with RAG_UI_BENCH_STRICT=1
        if BENCH_STRICT:
            assert p50 <= FIRST_CONTENT_P50_S
    finally:
        stop_server(server)


def test_embedded_model_streams_its_answer(
    browser: Any, corpus_index: Settings, tmp_path: Path
) -> None:
    """The embedded LLM answers in the browser; the answer appears token by token first."""
    from rag.llm.gguf import weights_ready

    if not weights_ready(corpus_index.cache_dir):
        pytest.skip("the embedded model's weights are not assembled in the cache yet")
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    server = start_server(corpus_index, "embedded", tmp_path / "streamlit.log")
    try:
        page.goto(server.url)
        box = page.get_by_placeholder(CHAT_PLACEHOLDER)
        box.wait_for(state="visible", timeout=60_000)
        box.fill("Who is Junyang Lin?")
        box.press("Enter")
        # sources first: the passages read, then the partial answer with the typing cursor,
        # then the checked answer that replaces it
        page.get_by_text(PASSAGES).first.wait_for(timeout=180_000)
        assert page.get_by_text("▌").count() == 0
        page.get_by_text("▌").first.wait_for(timeout=180_000)
        # generation and the judge's checks: minutes on two cores shared with other work
        page.locator(".rag-summary, .rag-abstain").first.wait_for(timeout=480_000)
        assert page.get_by_text("▌").count() == 0
        summary = page.locator(".rag-summary, .rag-abstain").first.inner_text()
        assert "embedded" in summary or "No answer" in summary
        shot(page, "ui-embedded-answer.png")
    finally:
        stop_server(server)
