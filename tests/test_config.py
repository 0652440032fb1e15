"""Settings: every field documented in .env.example, read from env and .env."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.config import Settings

REPO = Path(__file__).resolve().parent.parent


def test_every_field_is_documented_in_env_example() -> None:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(RAG_[A-Z_]+)=", text, re.M))
    fields = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    assert fields - documented == set()
    assert documented - fields == set()


def test_every_field_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RAG_TOP_K=3\nRAG_BACKEND=extractive\n", encoding="utf-8")
    monkeypatch.setenv("RAG_EVIDENCE_K", "4")
    monkeypatch.setenv("OLLAMA_HOST", "http://10.1.2.3:11434")
    s = Settings()
    assert (s.top_k, s.backend, s.evidence_k) == (3, "extractive", 4)
    assert s.ollama_host == "http://10.1.2.3:11434"
    assert s.resolved().index_dir == (tmp_path / "index").resolve()


def test_bad_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_BACKEND", "gpt-9")
    with pytest.raises(ValueError):
        Settings(_env_file=None)


def test_corpus_is_the_shared_corpus_byte_for_byte() -> None:
    shared = REPO.parent / "shared" / "corpus"
    ours = sorted(p.name for p in (REPO / "corpus").iterdir())
    assert len(ours) == 5
    if not shared.is_dir():
        pytest.skip("../shared/corpus is not beside this checkout")
    assert ours == sorted(p.name for p in shared.iterdir())
    for name in ours:
        assert (REPO / "corpus" / name).read_bytes() == (shared / name).read_bytes(), name
