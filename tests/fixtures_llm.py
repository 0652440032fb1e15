"""Pytest fixtures for the LLM layer: the embedded model (loaded once per session) and a fake
server speaking the Ollama protocol (answering from that model).

Re-export them from a conftest with ``from tests.fixtures_llm import *  # noqa: F403``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rag.config import Settings
from rag.llm import EmbeddedLLM
from tests.fake_ollama import FakeOllamaServer

__all__ = [
    "embedded_llm",
    "fake_ollama",
    "fake_ollama_factory",
    "free_port",
    "llm_settings",
    "settings_for_ollama",
]

FakeOllamaFactory = Callable[..., FakeOllamaServer]


def free_port() -> int:
    """A loopback TCP port nothing listens on (at the moment of the call)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for_ollama(base: Settings, host: str, **overrides: Any) -> Settings:
    """``base`` pointed at the Ollama server ``host`` (plus any field overrides)."""
    return base.model_copy(update={"ollama_host": host, **overrides})


@pytest.fixture(scope="session")
def llm_settings() -> Settings:
    """Settings from the environment only (no .env): the weights cache is RAG_CACHE_DIR or
    ~/.cache/rag-qa, so the 1.1 GB file is assembled once per machine, not per test run."""
    make: Any = Settings  # _env_file: a pydantic-settings keyword mypy may not know
    settings: Settings = make(_env_file=None)
    return settings.resolved()


@pytest.fixture(scope="session")
def embedded_llm(llm_settings: Settings) -> EmbeddedLLM:
    """The real embedded model, loaded once per test session (~3-6 s, ~1.9 GB RAM)."""
    llm = EmbeddedLLM.from_settings(llm_settings)
    llm.load()
    return llm


@pytest.fixture
def fake_ollama_factory() -> Iterator[FakeOllamaFactory]:
    """Start fake Ollama servers: ``factory(llm=None, models=[...], delay=0.0)``; all are
    stopped after the test."""
    servers: list[FakeOllamaServer] = []

    def factory(**kwargs: Any) -> FakeOllamaServer:
        server = FakeOllamaServer(**kwargs).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def fake_ollama(
    embedded_llm: EmbeddedLLM, fake_ollama_factory: FakeOllamaFactory
) -> FakeOllamaServer:
    """A fake Ollama server with ``qwen2.5:7b-instruct`` "pulled", answering from the real
    embedded model."""
    return fake_ollama_factory(llm=embedded_llm, models=["qwen2.5:7b-instruct"])
