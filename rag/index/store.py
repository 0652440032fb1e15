"""The on-disk index: generations, the manifest, and the Chroma collection behind them.

Layout of ``index_dir``::

    CURRENT            name of the live generation (replaced atomically when a build finishes)
    .lock              held by a running ``rag index``
    g<stamp>/          one generation
        manifest.json  what was indexed (files, hashes, model, chunking) and how
        chunks.jsonl   every chunk with its sentences and their exact spans
        lexical/       the BM25 index over the chunk texts
        chroma/        embedded Chroma data (absent when a Chroma server holds the vectors)

A build writes a new generation beside the live one and only then points ``CURRENT`` at it, so a
crashed or interrupted build leaves the previous index usable. On a Chroma server the generation's
vectors live in the collection ``<chroma_collection>-<generation>``.
"""

from __future__ import annotations

import datetime as dt
import mmap
import os
import secrets
import shutil
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.config import Settings
from rag.errors import ModelMismatchError, StoreError
from rag.schema import Chunk

MANIFEST_VERSION = 1


class FileEntry(BaseModel):
    sha256: str
    size: int
    mtime_ns: int
    chunks: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    """How a generation was built and what it holds."""

    version: int = MANIFEST_VERSION
    generation: str
    built_at: str
    corpus_dir: str
    embed_model: str
    embed_dim: int
    chunk_size: int
    chunk_overlap: int
    chroma_mode: Literal["embedded", "server"]
    chroma_host: str | None = None
    chroma_port: int | None = None
    collection: str
    files: dict[str, FileEntry] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    n_chunks: int = 0
    build_seconds: float = 0.0


def new_generation_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
    return f"g{stamp}-{secrets.token_hex(3)}"


def collection_name(settings: Settings, generation: str) -> str:
    return f"{settings.chroma_collection}-{generation}"


def current_generation(index_dir: Path) -> str | None:
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and (index_dir / name / "manifest.json").exists() else None


def write_atomic(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a half one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def set_current(index_dir: Path, generation: str) -> None:
    write_atomic(index_dir / "CURRENT", generation + "\n")


def read_manifest(gen_dir: Path) -> Manifest:
    return Manifest.model_validate_json((gen_dir / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(gen_dir: Path, manifest: Manifest) -> None:
    write_atomic(gen_dir / "manifest.json", manifest.model_dump_json(indent=1))


def read_chunks(gen_dir: Path) -> list[Chunk]:
    with open(gen_dir / "chunks.jsonl", encoding="utf-8") as fh:
        return [Chunk.model_validate_json(line) for line in fh if line.strip()]


class ChunkTable:
    """The chunks of a generation as a read-only sequence, parsed when used (a question reads a
    few dozen of 100,000): ``chunks.jsonl`` is mapped into memory, not read into it, and only
    where each line starts and which id it holds are kept. ``table[i]`` is the chunk of line
    ``i`` (the lexical index's numbering), ``get(id)`` finds one by id; recently parsed chunks are
    kept (``CACHE``)."""

    CACHE = 4096
    ID_KEY = b'"id":"'

    def __init__(self, data: Any, starts: array[int], ends: array[int]) -> None:
        self.data = data  # bytes or a read-only mmap of chunks.jsonl
        self.starts = starts
        self.ends = ends
        self.positions: dict[str, int] = {}
        self.cache: OrderedDict[int, Chunk] = OrderedDict()
        self.lock = threading.Lock()
        key = self.ID_KEY
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            start = data.find(key, a, b)  # the first "id" key is the chunk's (field order)
            end = data.find(b'"', start + len(key), b) if start >= 0 else -1
            if start >= 0 and end > start:
                self.positions[data[start + len(key) : end].decode()] = i
            else:
                self.positions[self[i].id] = i

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> Chunk:
        if i < 0:
            i += len(self.starts)
        with self.lock:
            chunk = self.cache.get(i)
            if chunk is not None:
                self.cache.move_to_end(i)
                return chunk
        chunk = Chunk.model_validate_json(self.data[self.starts[i] : self.ends[i]])
        with self.lock:
            self.cache[i] = chunk
            if len(self.cache) > self.CACHE:
                self.cache.popitem(last=False)
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self.starts)):
            yield self[i]

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self.positions

    def get(self, chunk_id: str) -> Chunk | None:
        i = self.positions.get(chunk_id)
        return None if i is None else self[i]


def open_chunks(gen_dir: Path) -> ChunkTable:
    """The chunks of a generation, parsed on use (:class:`ChunkTable`)."""
    with open(gen_dir / "chunks.jsonl", "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    starts: array[int] = array("q")
    ends: array[int] = array("q")
    pos = 0
    while pos < size:
        end = data.find(b"\n", pos)
        end = size if end < 0 else end
        if data[pos:end].strip() if end - pos < 8 else True:
            starts.append(pos)
            ends.append(end)
        pos = end + 1
    table = ChunkTable(data, starts, ends)
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        data.madvise(mmap.MADV_DONTNEED)  # scanned once; pages come back as chunks are read
    return table


def write_chunks(gen_dir: Path, chunks: list[Chunk]) -> None:
    write_atomic(gen_dir / "chunks.jsonl", "".join(c.model_dump_json() + "\n" for c in chunks))


def chroma_client(settings: Settings, gen_dir: Path) -> Any:
    """A Chroma client: a server when ``chroma_host`` is set, else embedded in ``gen_dir/chroma``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Chroma server not reachable at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(exc).__name__}); start it with `chroma run` or unset RAG_CHROMA_HOST"
            ) from None
        return client
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)


def model_metadata(embed_model: str, embed_dim: int) -> dict[str, Any]:
    return {"embed_model": embed_model, "embed_dim": embed_dim, "hnsw:space": "cosine"}


def create_collection(settings: Settings, gen_dir: Path, embed_dim: int) -> tuple[str, Any]:
    """A new, empty collection for a generation, recording which embedding model fills it."""
    name = collection_name(settings, gen_dir.name)
    collection = chroma_client(settings, gen_dir).create_collection(
        name,
        metadata=model_metadata(settings.embed_model, embed_dim),
        embedding_function=None,
    )
    return name, collection


def check_model(recorded_model: str, recorded_dim: int, model: str, dim: int | None) -> None:
    """Refuse to use vectors made by another embedding model."""
    if recorded_model != model or (dim is not None and recorded_dim != dim):
        raise ModelMismatchError(
            f"the index was built with embedding model {recorded_model!r} ({recorded_dim} dims) "
            f"but {model!r} is configured: rebuild it with `rag index --rebuild`"
        )


def open_collection(settings: Settings, gen_dir: Path, manifest: Manifest) -> Any:
    """The Chroma collection of a generation, after checking which model built it."""
    client = chroma_client(settings, gen_dir)
    try:
        collection = client.get_collection(manifest.collection, embedding_function=None)
    except Exception:
        raise StoreError(
            f"Chroma collection {manifest.collection!r} is missing "
            f"({'server' if settings.chroma_host else gen_dir / 'chroma'}): run `rag index --rebuild`"
        ) from None
    meta = collection.metadata or {}
    check_model(
        str(meta.get("embed_model", "?")), int(meta.get("embed_dim", 0)), manifest.embed_model, None
    )
    return collection


def remove_generation(settings: Settings, index_dir: Path, generation: str) -> None:
    """Delete a generation's folder and, on a server, its collection (best effort)."""
    gen_dir = index_dir / generation
    if settings.chroma_host:
        try:
            client = chroma_client(settings, gen_dir)
            client.delete_collection(collection_name(settings, generation))
        except Exception:  # the server may be gone; the local folder still goes
            pass
    shutil.rmtree(gen_dir, ignore_errors=True)


def prune_generations(settings: Settings, index_dir: Path, keep: set[str]) -> None:
    """Remove every generation folder except those in ``keep`` (leftovers of crashed builds)."""
    if not index_dir.exists():
        return
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry.name.startswith("g") and entry.name not in keep:
            remove_generation(settings, index_dir, entry.name)
