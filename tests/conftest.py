"""Shared fixtures. Each test gets its own index folder; user state (.env, RAG_* variables) never
leaks in. The embedding model and the embedded LLM are loaded once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from tests.fixtures_llm import *  # noqa: F403  (embedded_llm, fake_ollama, ...)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RAG_* or OLLAMA_* variable of the user's reaches a test; no .env is read."""
    for key in list(os.environ):
        if (key.startswith("RAG_") and key != "RAG_CACHE_DIR") or key == "OLLAMA_HOST":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # a .env in the repo is not in the working directory
    # nothing listens here: "auto" never finds a real Ollama server by accident
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    # nor does the CLI find a `rag serve` someone left running on the default port
    monkeypatch.setenv("RAG_SERVER_URL", "http://127.0.0.1:9")


def make_settings(**overrides: Any) -> Settings:
    make: Any = Settings
    settings: Settings = make(_env_file=None, **overrides)
    return settings.resolved()


def indexed_corpus(root: Path, files: dict[str, str], **overrides: Any) -> Settings:
    """Settings for a corpus of ``files`` (name -> text) written into ``root/docs``, indexed in
    ``root/index`` (``overrides``: other settings, such as the backend)."""
    from rag.index.build import build_index

    corpus = root / "docs"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = make_settings(corpus_dir=corpus, index_dir=root / "index", **overrides)
    build_index(settings)
    return settings


@pytest.fixture
def tmp_corpus(tmp_path: Path) -> Path:
    """A copy of the shipped corpus that a test may change."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture
def settings(tmp_path: Path, tmp_corpus: Path) -> Settings:
    """Settings with a private corpus copy and an empty index folder."""
    return make_settings(corpus_dir=tmp_corpus, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The shipped corpus, indexed once per session (read-only for tests)."""
    from rag.index.build import build_index

    root = tmp_path_factory.mktemp("corpus_index")
    s = make_settings(corpus_dir=CORPUS, index_dir=root / "index")
    build_index(s)
    yield s
