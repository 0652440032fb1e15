"""The chat in a real browser: ``streamlit run ui/app.py`` as a subprocess, driven by Debian's
chromium through Playwright. Screenshots go to ``test-artifacts/`` (git-ignored).

Slow (a server, a browser, an index build): run with ``pytest -m slow tests/test_ui_browser.py``.
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


def ask(page: Any, question: str, n_answers: int, timeout_ms: int = 180_000) -> None:
    box = page.get_by_placeholder(CHAT_PLACEHOLDER)
    box.fill(question)
    box.press("Enter")
    page.locator(".rag-summary, .rag-abstain").nth(n_answers - 1).wait_for(timeout=timeout_ms)


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

        # a question: the checked answer, its verdicts and citation chips
        ask(page, "When did Junyang Lin step down from the Qwen team?", 1)
        sentence = page.locator(".rag-sent").first
        sentence.wait_for()
        assert sentence.get_attribute("data-verdict") in ("supported", "unsupported", "uncited")
        assert re.search(r"Faithfulness \d+%", page.locator(".rag-summary").first.inner_text())
        chip = page.get_by_role("radio", name=re.compile(r"^\[1\] "))
        chip.first.click()
        mark = page.locator(".rag-src mark").first
        mark.wait_for(timeout=30_000)
        quote = mark.inner_text()
        assert len(quote) > 20
        file_name = page.locator(".rag-src-file").first.inner_text()
        source = (browser_corpus.corpus_dir / file_name).read_text(encoding="utf-8")
        assert " ".join(quote.split()) in " ".join(source.split())
        cited = page.locator(".rag-src .rag-ln.cited")
        assert cited.count() >= 1
        assert page.locator(".rag-src .rag-ln").count() > cited.count()  # context around it
        path = shot(page, "ui-answer-source.png")
        assert path.stat().st_size > 10_000

        # a document holding HTML is shown as text: nothing runs, nothing renders
        ask(page, "What does the zebrafish laboratory budget note read?", 2)
        page.get_by_role("radio", name=re.compile(r"zz_hostile")).last.click()
        panel = page.locator(
            ".rag-src", has=page.locator(".rag-src-file", has_text="zz_hostile.md")
        ).first
        panel.locator("mark").first.wait_for(timeout=30_000)
        text = panel.inner_text()
        assert "<script>alert(1)</script>" in text
        assert "<img src=x onerror=alert(1)>" in text
        assert "**Bold** claims" in text
        assert panel.locator("script, img").count() == 0
        page.wait_for_timeout(500)
        shot(page, "ui-hostile-document.png")
        assert not dialogs, f"a document ran script: {dialogs}"

        # a PDF citation: the rendered page, the cited words highlighted, beside the text
        ask(page, "When did the new pier of the harbour open?", 3)
        page.get_by_role("radio", name=re.compile(r"harbour\.pdf.* p\.2")).last.click()
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

        # the writers' page
        page.get_by_role("link", name="Check a draft").click()
        draft_box = page.get_by_label("Draft", exact=True)
        draft_box.wait_for(timeout=30_000)
        draft_box.fill(
            "Junyang Lin announced his departure from the Qwen project [001:3]. "
            "The whole Qwen team moved to a penguin sanctuary."
        )
        draft_box.press("Control+Enter")
        page.get_by_role("button", name="Check draft").click()
        page.locator("[data-testid=stDataFrame]").wait_for(timeout=120_000)
        page.get_by_role("button", name="Download footnoted Markdown").wait_for()
        page.wait_for_timeout(800)
        shot(page, "ui-draft-page.png")
        assert not errors, errors
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
        # the partial answer, with the typing cursor, before the checked answer replaces it
        page.get_by_text("▌").first.wait_for(timeout=180_000)
        page.locator(".rag-summary, .rag-abstain").first.wait_for(timeout=180_000)
        assert page.get_by_text("▌").count() == 0
        summary = page.locator(".rag-summary, .rag-abstain").first.inner_text()
        assert "embedded" in summary or "No answer" in summary
        shot(page, "ui-embedded-answer.png")
    finally:
        stop_server(server)
