"""The LLM layer (rag.llm): the embedded model and the Ollama client.

Slow tests use the real embedded model (loaded once per session). The Ollama client runs
against a fake server speaking the Ollama protocol (tests/fake_ollama.py) that answers from
that same real model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.llm import (
    ChatLLM,
    EmbeddedLLM,
    LLMError,
    OllamaLLM,
    get_judge_llm,
    get_llm,
    ollama_reachable,
    yes_no_probability,
)
from tests.fake_ollama import FakeOllamaServer
from tests.fixtures_llm import *  # noqa: F403  (pytest fixtures)
from tests.fixtures_llm import FakeOllamaFactory, free_port, settings_for_ollama

MODEL = "qwen2.5:7b-instruct"
JUDGE_SYSTEM = "You check whether a claim is supported by the evidence. Answer only Yes or No."


def judge_messages(evidence: str, claim: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {
            "role": "user",
            "content": f"Evidence: {evidence}\nClaim: {claim}\n"
            "Is the claim supported by the evidence? Answer Yes or No.",
        },
    ]


ASK = [{"role": "user", "content": "What is the capital of France? Answer in one short sentence."}]
EVIDENCE = "The Eiffel Tower in Paris was completed in 1889."


# --- cheap: no model ----------------------------------------------------------------------


def test_import_is_cheap() -> None:
    code = (
        "import sys, rag.llm; "
        "print(sorted(m for m in ('xllamacpp', 'ollama', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_yes_no_probability_merges_variants() -> None:
    top = [("Yes", -0.1), (" yes", -3.0), ("No", -2.5), ("NO", -6.0), ("The", -4.0)]
    p = yes_no_probability(top)
    assert p is not None and 0.85 < p < 0.95
    assert yes_no_probability([("The", -0.1), ("A", -1.0)]) is None
    assert yes_no_probability([("No", -0.01)]) == 0.0


def test_ollama_reachable(fake_ollama_factory: FakeOllamaFactory) -> None:
    server = fake_ollama_factory()
    assert ollama_reachable(server.url)
    assert not ollama_reachable(f"http://127.0.0.1:{free_port()}", timeout=0.5)


def test_ollama_server_down(llm_settings: Settings) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    llm = OllamaLLM(settings_for_ollama(llm_settings, host))
    with pytest.raises(LLMError) as info:
        llm.complete(ASK, max_tokens=8)
    assert str(info.value) == (
        f"Ollama server not reachable at {host}: start it with `ollama serve`, "
        "or use --backend embedded"
    )
    with pytest.raises(LLMError, match="not reachable"):
        get_llm(settings_for_ollama(llm_settings, host), "ollama")


def test_ollama_model_not_pulled(
    llm_settings: Settings, fake_ollama_factory: FakeOllamaFactory
) -> None:
    server = fake_ollama_factory(models=["llama3.2:latest"])
    settings = settings_for_ollama(llm_settings, server.url)
    with pytest.raises(LLMError) as info:
        get_llm(settings, "ollama")
    assert str(info.value) == (
        f"Ollama model '{MODEL}' is not available on {server.url}: run `ollama pull {MODEL}`"
    )
    assert server.chat_requests() == []  # checked through /api/tags before any chat


def test_ollama_model_name_without_tag_means_latest(
    llm_settings: Settings, fake_ollama_factory: FakeOllamaFactory
) -> None:
    server = fake_ollama_factory(models=["bespoke-minicheck:latest"])
    settings = settings_for_ollama(llm_settings, server.url, ollama_model="bespoke-minicheck")
    llm, notices = get_llm(settings, "ollama")
    assert isinstance(llm, OllamaLLM) and notices == []


def test_ollama_timeout(llm_settings: Settings, fake_ollama_factory: FakeOllamaFactory) -> None:
    server = fake_ollama_factory(models=[MODEL], delay=3.0)
    settings = settings_for_ollama(llm_settings, server.url, ollama_timeout=0.5)
    llm = OllamaLLM(settings)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        "".join(llm.stream(ASK, max_tokens=8))
    assert time.monotonic() - started < 2.5
    assert str(info.value) == "Ollama did not answer within 0.5 s (raise RAG_OLLAMA_TIMEOUT)"
    with pytest.raises(LLMError, match="did not answer within 0.5 s"):
        llm.complete(ASK, max_tokens=8)


def test_auto_falls_back_to_embedded_when_nothing_listens(
    llm_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The embedded model loads lazily; skip the weights check so this stays fast.
    monkeypatch.setattr("rag.llm.embedded.weights_path", lambda cache_dir: tmp_path / "m.gguf")
    host = f"http://127.0.0.1:{free_port()}"
    llm, notices = get_llm(settings_for_ollama(llm_settings, host), "auto")
    assert isinstance(llm, EmbeddedLLM) and llm.name == "embedded"
    assert notices == [f"Ollama not reachable at {host}; using the embedded model"]


def test_auto_falls_back_when_the_model_is_not_pulled(
    llm_settings: Settings,
    fake_ollama_factory: FakeOllamaFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("rag.llm.embedded.weights_path", lambda cache_dir: tmp_path / "m.gguf")
    server = fake_ollama_factory(models=["llama3.2:latest"])
    llm, notices = get_llm(settings_for_ollama(llm_settings, server.url), "auto")
    assert isinstance(llm, EmbeddedLLM)
    assert len(notices) == 1 and f"ollama pull {MODEL}" in notices[0]
    assert notices[0].endswith("; using the embedded model")


def test_auto_picks_ollama_and_judge_model(
    llm_settings: Settings, fake_ollama_factory: FakeOllamaFactory
) -> None:
    server = fake_ollama_factory(models=[MODEL, "bespoke-minicheck:latest"])
    settings = settings_for_ollama(llm_settings, server.url, ollama_check_model="bespoke-minicheck")
    llm, notices = get_llm(settings, "auto")
    assert isinstance(llm, OllamaLLM) and llm.model == MODEL and notices == []
    judge = get_judge_llm(settings, llm)
    assert isinstance(judge, OllamaLLM) and judge.model == "bespoke-minicheck"
    assert get_judge_llm(settings.model_copy(update={"ollama_check_model": ""}), llm) is llm
    missing = settings.model_copy(update={"ollama_check_model": "nope"})
    with pytest.raises(LLMError, match="ollama pull nope"):
        get_judge_llm(missing, llm)


def test_unknown_backend(llm_settings: Settings) -> None:
    with pytest.raises(LLMError, match="unknown LLM backend"):
        get_llm(llm_settings, "gpt")


# --- slow: the real embedded model ----------------------------------------------------------


@pytest.mark.slow
def test_embedded_streams_text(embedded_llm: EmbeddedLLM) -> None:
    assert isinstance(embedded_llm, ChatLLM)
    deltas = list(embedded_llm.stream(ASK, max_tokens=12))
    assert len(deltas) >= 2
    assert "Paris" in "".join(deltas)
    usage = embedded_llm.last_usage
    assert usage["prompt_tokens"] > 10 and 1 <= usage["completion_tokens"] <= 12
    # stopping early does not wedge the model
    stream = embedded_llm.stream(
        [{"role": "user", "content": "Count from 1 to 100, comma separated."}], max_tokens=200
    )
    next(stream)
    stream.close()
    assert embedded_llm.complete(ASK, max_tokens=12).strip()


@pytest.mark.slow
def test_embedded_yes_probability(embedded_llm: EmbeddedLLM) -> None:
    supported = embedded_llm.yes_probability(
        judge_messages(EVIDENCE, "The Eiffel Tower was completed in 1889.")
    )
    contradicted = embedded_llm.yes_probability(
        judge_messages(EVIDENCE, "The Eiffel Tower was completed in 1925.")
    )
    assert supported > 0.8
    assert contradicted < 0.2


@pytest.mark.slow
def test_embedded_context_overflow_is_an_llm_error(embedded_llm: EmbeddedLLM) -> None:
    too_long = [{"role": "user", "content": "word " * (embedded_llm.ctx + 100)}]
    with pytest.raises(LLMError, match="RAG_LLM_CTX"):
        embedded_llm.complete(too_long, max_tokens=4)


@pytest.mark.slow
def test_ollama_client_streams_from_the_real_model(
    llm_settings: Settings, fake_ollama: FakeOllamaServer
) -> None:
    settings = settings_for_ollama(
        llm_settings, fake_ollama.url, ollama_num_ctx=4096, ollama_keep_alive="7m"
    )
    llm, notices = get_llm(settings, "ollama")
    assert notices == [] and llm.name == "ollama" and llm.model == MODEL
    text = "".join(llm.stream(ASK, max_tokens=12))
    assert "Paris" in text
    assert llm.last_usage["prompt_tokens"] > 10
    (sent,) = fake_ollama.chat_requests()
    assert sent["model"] == MODEL and sent["stream"] is True
    assert sent["keep_alive"] == "7m"
    assert sent["options"]["num_ctx"] == 4096
    assert sent["options"]["num_predict"] == 12
    assert sent["options"]["temperature"] == 0.0
    assert [r["path"] for r in fake_ollama.requests][:1] == ["/api/tags"]


@pytest.mark.slow
def test_ollama_client_yes_probability_from_logprobs(
    llm_settings: Settings, fake_ollama: FakeOllamaServer
) -> None:
    llm = OllamaLLM(settings_for_ollama(llm_settings, fake_ollama.url))
    supported = llm.yes_probability(
        judge_messages(EVIDENCE, "The Eiffel Tower was completed in 1889.")
    )
    contradicted = llm.yes_probability(
        judge_messages(EVIDENCE, "The Eiffel Tower was completed in 1925.")
    )
    assert 0.8 < supported < 1.0  # strictly inside: read from logprobs, not from the text
    assert 0.0 < contradicted < 0.2
    sent = fake_ollama.chat_requests()[-1]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20
    assert sent["stream"] is False and sent["options"]["num_predict"] == 1


@pytest.mark.slow
def test_fake_ollama_streams_ndjson_when_stream_is_absent(fake_ollama: FakeOllamaServer) -> None:
    import httpx

    body = {"model": MODEL, "messages": ASK, "options": {"num_predict": 4}}
    response = httpx.post(fake_ollama.url + "/api/chat", json=body, timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert len(lines) >= 2 and lines[-1]["done"] is True
    assert all(line["done"] is False for line in lines[:-1])
    assert "".join(line["message"]["content"] for line in lines).strip()
