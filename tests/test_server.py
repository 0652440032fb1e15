"""``rag serve``: a real server process on a free loopback port, over a copy of the session's
index, asked with plain HTTP, the real ``openai`` client and the ``rag`` CLI.

The LLM requests go to an in-test server speaking the Ollama protocol whose "model" repeats
passage [1] slowly, word by word (so streaming, the bounded queue and disconnects can be seen
without the embedded model); everything else is extractive.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from rag.config import Settings
from tests.conftest import CORPUS, REPO
from tests.fake_ollama import FakeOllamaServer
from tests.fixtures_llm import free_port

TOKEN = "test-token-0123456789"
QUESTIONS = (
    "Who else left the Qwen team besides Junyang Lin?",
    "阿里最年轻的P10是谁？",
    "When did Junyang Lin announce that he was stepping down?",
)


class SlowEcho:
    """A stand-in model: answers with the words of passage [1], then `` [1].``, one word every
    ``pause`` seconds (``last_usage`` as the fake Ollama server expects). While ``hold`` is an
    unset event, it waits after its first word (at most a minute): a test that needs an answer
    still streaming gets one however slow the machine is."""

    def __init__(self, pause: float = 0.15) -> None:
        self.pause = pause
        self.hold: threading.Event | None = None
        self.last_usage: dict[str, float] = {}

    def stream(self, messages: list[dict[str, str]], **_: Any) -> Iterator[str]:
        found = re.search(r"^\[1\] (.+)$", messages[-1]["content"], re.M)
        words = (found.group(1) if found else "Nothing.").rstrip(".").split()
        for i, word in enumerate(words):
            time.sleep(self.pause)
            yield ("" if i == 0 else " ") + word
            if i == 0 and self.hold is not None:
                self.hold.wait(60)
        yield " [1]."


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not ((k.startswith("RAG_") and k != "RAG_CACHE_DIR") or k == "OLLAMA_HOST")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
            pytest.fail(f"rag serve did not start: {out[-3000:]}")
        time.sleep(0.5)


class Served:
    def __init__(self, url: str, env: dict[str, str], corpus: Path, fake: FakeOllamaServer):
        self.url = url
        self.env = env
        self.corpus = corpus
        self.fake = fake
        self.auth = {"Authorization": f"Bearer {TOKEN}"}

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=self.auth, timeout=120, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.auth, timeout=60)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.get("/status").json()["server"]["requests"]
        return counts


@pytest.fixture(scope="module")
def served(corpus_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``rag serve`` (token set, LLM queue of 1, extractive by default) over a copy of the
    session's index and of the corpus (which a test may change)."""
    root = tmp_path_factory.mktemp("served")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(corpus_index.index_dir, root / "index")
    fake = FakeOllamaServer(llm=SlowEcho(), models=["qwen2.5:7b-instruct"]).start()
    port = free_port()
    env = {
        **base_env(),
        "RAG_CORPUS_DIR": str(corpus),
        "RAG_INDEX_DIR": str(root / "index"),
        "RAG_API_TOKEN": TOKEN,
        "RAG_SERVER_QUEUE": "1",
        "RAG_BACKEND": "extractive",
        "RAG_CHECKER": "rules",
        "OLLAMA_HOST": fake.url,
        "RAG_SERVER_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve"],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url, proc)
        yield Served(url, env, corpus, fake)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        fake.stop()


def file_text(corpus: Path, name: str) -> str:
    return (corpus / name).read_text(encoding="utf-8")


def assert_exact(citations: list[dict[str, Any]], corpus: Path) -> None:
    assert citations
    for c in citations:
        assert file_text(corpus, c["file"])[c["char_start"] : c["char_end"]] == c["quote"]


# --- auth and binding -------------------------------------------------------------------------------


def test_the_token_is_required_when_set(served: Served) -> None:
    question = {"question": QUESTIONS[0]}
    assert httpx.post(served.url + "/ask", json=question, timeout=60).status_code == 401
    wrong = httpx.post(
        served.url + "/ask", json=question, headers={"Authorization": "Bearer nope"}, timeout=60
    )
    assert wrong.status_code == 401
    assert "RAG_API_TOKEN" in wrong.json()["error"]["message"]
    assert httpx.get(served.url + "/status", timeout=60).status_code == 401
    assert httpx.get(served.url + "/v1/models", timeout=60).status_code == 401
    assert httpx.get(served.url + "/health", timeout=60).status_code == 200  # open, says nothing
    assert served.post("/ask", question).status_code == 200


def test_binding_beyond_loopback_needs_a_token() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=base_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: binding to 0.0.0.0"), out.stderr
    assert "RAG_API_TOKEN" in lines[0] and "Traceback" not in out.stderr


# --- the answers --------------------------------------------------------------------------------------


def test_ask_returns_what_rag_ask_json_prints(served: Served) -> None:
    reply = served.post("/ask", {"question": QUESTIONS[0]})
    assert reply.status_code == 200
    data = reply.json()
    assert data["question"] == QUESTIONS[0] and data["backend"] == "extractive"
    assert not data["abstained"] and "[1]" in data["answer"]
    assert_exact(data["citations"], served.corpus)
    runner = CliRunner()
    env = {k: v for k, v in served.env.items() if k.startswith(("RAG_", "OLLAMA_"))}
    local = runner.invoke(
        __import__("rag.cli", fromlist=["main"]).main,
        ["ask", "--json", "--no-server", QUESTIONS[0]],
        env=env,
        catch_exceptions=False,
    )
    assert local.exit_code == 0, local.output
    mine = json.loads(local.output)
    for d in (mine, data):
        d.pop("timings_ms")
    assert mine == data


def test_bad_input_is_a_4xx_with_one_line(served: Served) -> None:
    empty = served.post("/ask", {"question": "   "})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "the question is empty"
    long = served.post("/ask", {"question": "why " * 2000})
    assert long.status_code == 400 and "limit is 4,000" in long.json()["error"]["message"]
    bad = served.post("/ask", {"question": "x", "evidence_k": 0})
    assert bad.status_code == 422 and "\n" not in bad.json()["error"]["message"]
    assert served.post("/ask", {"nothing": 1}).status_code == 422
    huge = httpx.post(
        served.url + "/check",
        content=b'{"draft": "' + b"a" * 6_100_000 + b'"}',
        headers={**served.auth, "Content-Type": "application/json"},
        timeout=60,
    )
    assert huge.status_code == 413
    assert served.post("/check", {"draft": ""}).status_code == 400
    unknown = served.post("/v1/chat/completions", {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert unknown.status_code == 404 and "rag-extractive" in unknown.json()["error"]["message"]


def test_concurrent_questions_get_their_own_answers(served: Served) -> None:
    alone = {q: served.post("/ask", {"question": q}).json()["answer"] for q in QUESTIONS}
    assert len(set(alone.values())) == len(QUESTIONS)
    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(9)]
    got: list[dict[str, Any] | None] = [None] * len(asked)

    def one(i: int) -> None:
        got[i] = served.post("/ask", {"question": asked[i]}).json()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(asked))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q, data in zip(asked, got, strict=True):
        assert data is not None and data["question"] == q and data["answer"] == alone[q]


def test_stream_gives_tokens_then_the_answer(served: Served) -> None:
    body = {"question": QUESTIONS[0], "backend": "ollama", "stream": True}
    with httpx.stream(
        "POST", served.url + "/ask", json=body, headers=served.auth, timeout=120
    ) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line.strip()]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert len(tokens) > 3 and events[-1]["type"] == "answer"
    final = events[-1]["answer"]
    assert final["backend"] == "ollama" and "".join(tokens).endswith("[1].")
    assert_exact(final["citations"], served.corpus)
    sse = {**body, "backend": "extractive"}
    headers = {**served.auth, "Accept": "text/event-stream"}
    with httpx.stream("POST", served.url + "/ask", json=sse, headers=headers, timeout=120) as r:
        text = r.read().decode()
    assert text.startswith("event: token\ndata: ") and "\n\nevent: answer\ndata: {" in text


def test_stream_can_give_the_passages_first(served: Served) -> None:
    """``"evidence": true``: the passages read, as soon as they are found, before any token (the
    chat shows them while the answer is written); the client hands them over as ``Evidence``."""
    from rag import client
    from rag.schema import Evidence
    from tests.conftest import make_settings

    body = {"question": QUESTIONS[0], "backend": "ollama", "stream": True, "evidence": True}
    with httpx.stream(
        "POST", served.url + "/ask", json=body, headers=served.auth, timeout=120
    ) as r:
        events = [json.loads(line) for line in r.iter_lines() if line.strip()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "evidence" and kinds.count("evidence") == 1
    assert kinds[-1] == "answer" and set(kinds[1:-1]) == {"token"}
    passages = events[0]["evidence"]
    assert passages and [p["n"] for p in passages] == list(range(1, len(passages) + 1))
    assert_exact([{**p, "quote": p["text"]} for p in passages], served.corpus)

    settings = make_settings(
        corpus_dir=served.corpus, index_dir=Path(served.env["RAG_INDEX_DIR"]), api_token=TOKEN
    )
    seen: list[list[Evidence]] = []
    tokens: list[str] = []
    answer = client.ask_server(
        settings, served.url, QUESTIONS[0], backend="extractive", on_evidence=seen.append,
        on_token=tokens.append,
    )  # fmt: skip
    plain = served.post("/ask", {"question": QUESTIONS[0], "backend": "extractive"}).json()
    assert len(seen) == 1 and seen[0] and all(isinstance(e, Evidence) for e in seen[0])
    assert answer.answer == plain["answer"] and "".join(tokens).strip()


def test_the_chat_asks_a_running_server(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chat with the server's settings asks it (one warm model serves the CLI and the chat):
    the passages first, then the same answer the server gives; nothing is answered or loaded in
    the chat's own process."""
    from streamlit.testing.v1 import AppTest

    import rag.answering
    from rag.config import get_settings

    for key, value in served.env.items():
        if key.startswith("RAG_") or key == "OLLAMA_HOST":
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("RAG_SERVER_URL", served.url)
    get_settings.cache_clear()

    def in_process(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the chat answered in its own process")

    monkeypatch.setattr(rag.answering, "ask", in_process)
    try:
        at = AppTest.from_file(str(REPO / "rag" / "ui" / "app.py"), default_timeout=180).run()
        assert not at.exception
        before = served.counts()["ask"]
        at.chat_input(key="question").set_value(QUESTIONS[0]).run()
        assert not at.exception, at.exception
        turn = at.session_state["turns"][-1]
        assert turn.error is None and turn.answer is not None and turn.evidence
        assert served.counts()["ask"] == before + 1
        plain = served.post("/ask", {"question": QUESTIONS[0]}).json()
        assert turn.answer.answer == plain["answer"]
        assert [c.model_dump(mode="json") for c in turn.answer.citations] == plain["citations"]
        captions = " ".join(c.value for c in at.sidebar.caption)
        assert f"Questions go to `rag serve` at `{served.url}`" in captions
    finally:
        get_settings.cache_clear()


# --- OpenAI-compatible ---------------------------------------------------------------------------------


def test_openai_client_plain_and_streaming(served: Served) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=served.url + "/v1", api_key=TOKEN, max_retries=0)
    assert {m.id for m in client.models.list()} >= {"rag", "rag-extractive", "rag-ollama"}
    done = client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": QUESTIONS[0]}]
    )
    text = done.choices[0].message.content or ""
    extra = done.model_extra or {}
    assert "[1]" in text and extra["rag"]["answer"] == text
    assert [c["n"] for c in extra["citations"]] == list(range(1, len(extra["citations"]) + 1))
    assert_exact(extra["citations"], served.corpus)

    stream = client.chat.completions.create(
        model="rag-ollama",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "Who leads the team?"},
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": QUESTIONS[0]},
        ],
        stream=True,
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(deltas) > 3
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    extra = last.model_extra or {}
    assert extra["rag"]["backend"] == "ollama" and extra["rag"]["question"] == QUESTIONS[0]
    assert_exact(extra["citations"], served.corpus)
    streamed = "".join(deltas)
    assert extra["rag"]["answer"] in streamed  # the checked text, or the tokens themselves


# --- the queue ---------------------------------------------------------------------------------------------


def test_queue_full_is_503_and_a_disconnect_frees_the_place(served: Served) -> None:
    body = {"question": QUESTIONS[0], "backend": "ollama", "stream": True}
    echo = served.fake.llm
    assert isinstance(echo, SlowEcho)
    hold = echo.hold = threading.Event()  # the first answer stays mid-stream until released
    try:
        with httpx.stream(
            "POST", served.url + "/ask", json=body, headers=served.auth, timeout=120
        ) as r:
            first = next(line for line in r.iter_lines() if line.strip())
            assert json.loads(first)["type"] == "token"
            busy = served.post("/ask", {"question": QUESTIONS[1], "backend": "ollama"})
            assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
            assert "busy" in busy.json()["error"]["message"]
            # extractive questions need no LLM: never queued
            assert served.post("/ask", {"question": QUESTIONS[1]}).status_code == 200
    finally:
        echo.hold = None
        hold.set()
    # the client went away mid-answer: its place is freed long before the answer would end
    deadline = time.monotonic() + 10
    while served.get("/status").json()["server"]["queue"]["in_use"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served.get("/status").json()["server"]["queue"]["in_use"] == 0
    again = served.post("/ask", {"question": QUESTIONS[2], "backend": "ollama", "check": False})
    assert again.status_code == 200 and again.json()["backend"] == "ollama"


# --- the CLI uses it ------------------------------------------------------------------------------------


def cli(served: Served, *args: str, server: bool) -> subprocess.CompletedProcess[str]:
    env = {**served.env, "RAG_SERVER_URL": served.url}
    if not server:
        env["RAG_NO_SERVER"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
        timeout=600, cwd=served.corpus.parent,
    )  # fmt: skip


def without_timing(text: str) -> str:
    return re.sub(r"\[extractive: none; [0-9.]+ s\]", "[extractive: none; T s]", text)


def test_the_cli_prints_the_same_through_the_server(served: Served, tmp_path: Path) -> None:
    draft = tmp_path / "draft.md"
    draft.write_text(
        "Binyuan Hui and Kaixin Li have also departed [003:23]. The team moved to Mars.\n",
        encoding="utf-8",
    )
    commands = [
        ("ask", "--backend", "extractive", QUESTIONS[0]),
        ("ask", "--json", QUESTIONS[1]),
        ("ask", ""),
        ("status", "--json"),
        ("status",),
        ("check", str(draft), "--no-judge"),
        ("check", str(draft), "--json", "--no-judge"),
    ]
    for args in commands:
        before = served.counts()
        remote = cli(served, *args, server=True)
        after = served.counts()
        # each snapshot counts itself: +2 when the command went to the server, +1 when not
        assert sum(after.values()) == sum(before.values()) + 2, args
        local = cli(served, *args, server=False)
        assert sum(served.counts().values()) == sum(after.values()) + 1, args
        assert remote.returncode == local.returncode, (args, remote.stderr, local.stderr)
        if args[:2] == ("ask", "--json"):
            a, b = json.loads(remote.stdout), json.loads(local.stdout)
            a.pop("timings_ms"), b.pop("timings_ms")
            assert a == b
        elif args[0] == "check" and "--json" in args:
            a, b = json.loads(remote.stdout), json.loads(local.stdout)
            a.pop("seconds"), b.pop("seconds")
            assert a == b
        elif args[0] == "check":
            strip = re.compile(r" in [0-9.]+ s ")
            assert strip.sub(" ", remote.stdout) == strip.sub(" ", local.stdout)
        else:
            assert without_timing(remote.stdout) == without_timing(local.stdout), args
        assert remote.stderr == local.stderr, args
    assert cli(served, "ask", "", server=True).stderr == "error: the question is empty\n"


def test_a_new_generation_is_picked_up_without_restart(served: Served) -> None:
    before = served.get("/status").json()["generation"]
    (served.corpus / "zz_mascot.txt").write_text(
        "The project's zebra mascot is called Quillon Bramblewick, after a river in the north.\n",
        encoding="utf-8",
    )
    started = served.post("/index", {})
    assert started.status_code == 202
    assert served.post("/index", {}).status_code == 409  # one build at a time
    deadline = time.monotonic() + 300
    while True:
        job = served.get("/status").json()["server"]["indexing"]
        if job["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert job["state"] == "done", job
    status = served.get("/status").json()
    assert status["generation"] != before and status["files"] == 6
    data = served.post("/ask", {"question": "What is the zebra mascot called?"}).json()
    assert not data["abstained"] and data["citations"][0]["file"] == "zz_mascot.txt"


def test_the_cli_waits_while_the_llm_queue_is_full(capsys: pytest.CaptureFixture[str]) -> None:
    """503 + Retry-After: the client waits as asked and tries again (saying so on stderr)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from rag import client
    from tests.conftest import make_settings

    tries: list[float] = []

    class Busy(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            tries.append(time.monotonic())
            first = len(tries) == 1
            body = json.dumps(
                {"error": {"message": "the server is busy", "code": 503}} if first else {"ok": 1}
            ).encode()
            self.send_response(503 if first else 200)
            if first:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        assert client.call(make_settings(), url, "POST", "/ask", {"question": "q"}) == {"ok": 1}
    finally:
        httpd.shutdown()
    assert len(tries) == 2 and tries[1] - tries[0] >= 0.9
    assert "note: the server is busy; waiting 1 s" in capsys.readouterr().err
