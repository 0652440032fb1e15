"""The on-disk index: generations, the manifest, and the Chroma collection behind them.

Layout of ``index_dir``::

    CURRENT            name of the live generation (replaced atomically when a build finishes)
    .lock              held by a running ``rag index``
    g<stamp>/          one generation
        manifest.json  what was indexed (files, hashes, model, chunking) and how
        chunks.jsonl   every chunk with its sentences and their exact spans
        texts/         the text snapshot of each converted document (PDF, HTML, Word), named
                       by the original file's sha256: <sha>.txt (the text citations point into)
                       and <sha>.json (where its pages and headings begin)
        lexical/       the BM25 index over the chunk texts
        chroma/        embedded Chroma data (absent when a Chroma server holds the vectors)

A build writes a new generation beside the live one and only then points ``CURRENT`` at it, so a
crashed or interrupted build leaves the previous index usable. On a Chroma server the generation's
vectors live in the collection ``<chroma_collection>-<generation>``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.config import Settings
from rag.errors import ModelMismatchError, StoreError
from rag.formats import snapshot_paths
from rag.schema import Chunk

MANIFEST_VERSION = 1
_GENERATION_PATH = re.compile(r"^g\d{8}t\d{6}-[0-9a-f]{6}/")
SNAPSHOTS = "texts"
"""The folder of a generation that holds the converted documents' text snapshots."""


class FileEntry(BaseModel):
    sha256: str
    """Of the original file (a PDF's bytes, not its text), so an unchanged one is not converted."""
    size: int
    mtime_ns: int
    chunks: list[str] = Field(default_factory=list)
    kind: str = "text"
    """``text``, or the format converted to a snapshot: ``pdf``, ``html``, ``docx``."""
    pages: int | None = None
    """PDF: number of pages."""
    notes: list[str] = Field(default_factory=list)
    """What the conversion left out (pages without a text layer ...)."""


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
    skipped_stats: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """``(size, mtime_ns)`` of each skipped file: an unchanged one is not read (or converted)
    again by the next build, unless ``read_limits`` changed."""
    read_limits: list[float] = Field(default_factory=list)
    """``[max_file_mb, max_pdf_pages]`` the skips were decided under."""
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


def write_chunks(gen_dir: Path, chunks: list[Chunk]) -> None:
    write_atomic(
        gen_dir / "chunks.jsonl",
        "".join(c.model_dump_json(exclude_none=True) + "\n" for c in chunks),
    )


def inside_index(root: Path, index_dir: Path) -> Callable[[str], bool]:
    """A test of corpus paths (relative to ``root``) for lying in the index folder: an index kept
    inside the corpus folder is never indexed itself (its manifest, chunks and snapshots are
    text too)."""
    try:
        prefix = Path(index_dir).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return lambda _path: False
    if prefix == ".":  # the index folder is the corpus folder: leave out what the index writes
        return lambda path: path == "CURRENT" or bool(_GENERATION_PATH.match(path))
    return lambda path: path == prefix or path.startswith(prefix + "/")


def snapshot_dir(gen_dir: Path) -> Path:
    """Where a generation keeps its text snapshots."""
    return gen_dir / SNAPSHOTS


def carry_snapshot(old_gen_dir: Path, new_gen_dir: Path, sha256: str) -> bool:
    """Bring an unchanged document's snapshot into the new generation (a hard link where the
    file system allows, else a copy). ``False`` when the old generation has none."""
    dst_dir = snapshot_dir(new_gen_dir)
    dst_dir.mkdir(parents=True, exist_ok=True)
    pairs = zip(
        snapshot_paths(snapshot_dir(old_gen_dir), sha256),
        snapshot_paths(dst_dir, sha256),
        strict=True,
    )
    for src, dst in pairs:
        if not src.exists():
            return False
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:
            with contextlib.suppress(OSError):
                shutil.copyfile(src, dst)
    return True


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
