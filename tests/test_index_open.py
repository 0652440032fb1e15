"""Opening a generation compactly: chunks mapped and parsed on use (the same chunks as a full
read), the checksum still checked, BM25 mapped and rebuilt only when its tokenizer is older,
Chroma queried directly with llama-index's similarities, and every damage a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import StoreError
from rag.index import store
from rag.index.build import build_index
from rag.index.reader import open_generation
from rag.lexical import LexicalIndex
from rag.retrieval import close_indexes, open_index, retrieve


def live_dir(s: Settings) -> Path:
    generation = store.current_generation(s.index_dir)
    assert generation is not None
    return s.index_dir / generation


def test_the_chunk_table_holds_the_chunks_of_a_full_read(corpus_index: Settings) -> None:
    gen_dir = live_dir(corpus_index)
    parsed = store.read_chunks(gen_dir)
    sha = store.read_manifest(gen_dir).checksums["chunks.jsonl"]
    table = store.open_chunks(gen_dir, sha)
    assert len(table) == len(parsed) > 50
    assert list(table) == parsed
    assert table[-1] == parsed[-1] and table[1:4] == parsed[1:4]
    assert table[3] is table[3]  # parsed once, then kept
    with pytest.raises(IndexError):
        table[len(parsed)]
    assert all(table.by_id[c.id] == c for c in parsed)
    assert parsed[0].id in table.by_id and "no-such-chunk" not in table.by_id
    assert table.by_id.get("no-such-chunk") is None and len(table.by_id) == len(parsed)
    assert table.texts() == [c.text for c in parsed]


def test_the_chunk_table_reads_across_its_blocks(
    corpus_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines cut by the read blocks, blank lines and a last line without a newline."""
    gen_dir = tmp_path / "g"
    gen_dir.mkdir()
    src = (live_dir(corpus_index) / "chunks.jsonl").read_bytes()
    lines = src.splitlines()
    (gen_dir / "chunks.jsonl").write_bytes(b"\n".join(lines[:5]) + b"\n\n  \n" + b"\n".join(lines[5:]))  # fmt: skip
    monkeypatch.setattr(store, "SCAN_BLOCK", 1000)  # many blocks, every line cut somewhere
    table = store.open_chunks(gen_dir)
    assert list(table) == store.read_chunks(live_dir(corpus_index))


@pytest.mark.parametrize("damage", ["truncate", "edit", "no-id"])
def test_a_damaged_chunks_file_is_one_line(
    corpus_index: Settings, tmp_path: Path, damage: str
) -> None:
    gen_dir = tmp_path / "g"
    gen_dir.mkdir()
    src = live_dir(corpus_index) / "chunks.jsonl"
    sha = store.file_sha256(src)
    data = src.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "edit":
        data = data.replace(b"Qwen", b"Qwan", 1)
    else:
        data = data.replace(b'"id":"', b'"xx":"', 1)
    (gen_dir / "chunks.jsonl").write_bytes(data)
    with pytest.raises(StoreError, match=r"chunks.jsonl .*rag index") as err:
        store.open_chunks(gen_dir, sha)
    assert "\n" not in str(err.value)
    if damage == "no-id":  # without a checksum (an older generation), a full read says which line
        with pytest.raises(StoreError, match="line 1 is not a chunk"):
            store.open_chunks(gen_dir)


def test_nearest_gives_llama_index_ids_and_similarities(corpus_index: Settings) -> None:
    from llama_index.core.vector_stores.types import VectorStoreQuery
    from llama_index.vector_stores.chroma import ChromaVectorStore

    handle = open_index(corpus_index)
    q = handle.embedder.embed_query("Who is Junyang Lin?")
    ours = store.nearest(handle.collection, handle.gen_dir, q, 10)
    theirs = ChromaVectorStore(chroma_collection=handle.collection).query(
        VectorStoreQuery(query_embedding=q, similarity_top_k=10)
    )
    assert [i for i, _ in ours] == theirs.ids
    assert np.allclose([s for _, s in ours], theirs.similarities or [])
    assert handle.dense(q, 10) == ours and store.nearest(handle.collection, handle.gen_dir, q, 0) == []  # fmt: skip


def test_bm25_is_rebuilt_only_for_an_older_tokenizer(
    corpus_index: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "lexical"
    shutil.copytree(live_dir(corpus_index) / "lexical", folder)
    texts = store.read_chunks(live_dir(corpus_index))
    asked: list[int] = []

    def give() -> list[str]:
        asked.append(1)
        return [c.text for c in texts]

    current = LexicalIndex.load(folder, give)
    assert asked == [] and current.n_docs == len(texts)
    meta = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
    (folder / "doc_freq.json").write_text(json.dumps({**meta, "tokenizer": 1}), encoding="utf-8")
    rebuilt = LexicalIndex.load(folder, give)
    assert asked == [1] and rebuilt.n_docs == len(texts)
    query = "Junyang Lin resigned"
    assert rebuilt.search(query, 5) == current.search(query, 5)


def test_open_generation_reports_damage_in_the_old_order(tmp_path: Path) -> None:
    """Every file damaged at once: the BM25 checksum is reported first, as before the checks ran
    side by side; then chunks.jsonl; then Chroma's database."""
    from tests.conftest import CORPUS, make_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in sorted(p.name for p in CORPUS.iterdir())[:2]:
        shutil.copy(CORPUS / name, corpus / name)
    s = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(s)
    gen_dir = live_dir(s)
    assert open_generation(s, gen_dir).chunks

    def halve(p: Path) -> None:
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])

    halve(gen_dir / "chroma" / "chroma.sqlite3")
    with pytest.raises(StoreError, match="chroma.sqlite3"):
        open_generation(s, gen_dir)
    halve(gen_dir / "chunks.jsonl")
    with pytest.raises(StoreError, match="chunks.jsonl"):
        open_generation(s, gen_dir)
    lexical = next(p for p in sorted((gen_dir / "lexical").iterdir()) if p.suffix == ".npy")
    halve(lexical)
    with pytest.raises(StoreError, match=f"lexical/{lexical.name}"):
        open_generation(s, gen_dir)
    lexical.unlink()
    with pytest.raises(StoreError, match=f"lexical/{lexical.name} is missing"):
        open_generation(s, gen_dir)
    close_indexes()
    build_index(s)  # repaired
    assert retrieve(s, "Who is Junyang Lin?").evidence
