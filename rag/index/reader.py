"""Opening a generation for reading: verified against its manifest, and compact.

:func:`open_generation` is what a question needs of a generation: its manifest, its chunks
(:class:`rag.index.store.ChunkTable`: mapped, parsed on use), its BM25 index (mapped) and its
Chroma collection, after the same checks as always: the model that built it, the checksums of
``chunks.jsonl`` and ``lexical/*``, and SQLite's quick check of the Chroma database before Chroma
reads it. The checks that wait on the disk run beside the work that waits on the processor:
the quick check (a read of the whole database, out of the interpreter's lock) and the
checksums of the BM25 files in threads, while ``chunks.jsonl`` is scanned and ``chromadb`` is
imported; every problem is still reported first in the order the checks are listed above.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import StoreError
from rag.index import store
from rag.index.health import check_chroma
from rag.lexical import LexicalIndex


@dataclass
class Generation:
    """A generation opened for reading."""

    manifest: store.Manifest
    chunks: store.ChunkTable
    lexical: LexicalIndex
    collection: Any


def lexical_problem(gen_dir: Path, manifest: store.Manifest) -> StoreError | None:
    """The error for the first BM25 file that does not match its checksum, if one does not."""
    for rel, sha in manifest.checksums.items():
        if rel.startswith("lexical/"):
            why = store.checksum_problem(gen_dir, rel, sha)
            if why is not None:
                return store.damaged(gen_dir, rel, why)
    return None


def open_generation(settings: Settings, gen_dir: Path) -> Generation:
    """The generation in ``gen_dir``, checked and opened (see the module doc); a one-line
    :class:`StoreError` (or :class:`rag.errors.ModelMismatchError`) when it cannot be used."""
    manifest = store.read_manifest(gen_dir)
    store.check_model(manifest.embed_model, manifest.embed_dim, settings.embed_model, None)
    embedded = manifest.chroma_mode == "embedded"
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rag-open") as pool:
        chroma_check = pool.submit(check_chroma, gen_dir) if embedded else None
        lexical_check = pool.submit(lexical_problem, gen_dir, manifest)
        chunks: store.ChunkTable | None = None
        chunks_error: StoreError | None = None
        try:
            chunks = store.open_chunks(gen_dir, manifest.checksums.get("chunks.jsonl"))
        except StoreError as exc:
            chunks_error = exc
        problem = lexical_check.result()
        if problem is not None:
            raise problem
        if chunks_error is not None or chunks is None:
            raise chunks_error or store.damaged(gen_dir, "chunks.jsonl", "cannot be read")
        try:
            lexical = LexicalIndex.load(gen_dir / "lexical", chunks.texts)
        except Exception as exc:
            why = f"cannot be read ({type(exc).__name__})"
            raise store.damaged(gen_dir, "lexical/", why) from None
        if lexical.n_docs != len(chunks):
            raise store.damaged(gen_dir, "lexical/", "does not match chunks.jsonl")
        if chroma_check is not None:
            store.chroma_module()  # imported while the quick check runs
            problems = chroma_check.result()
            if problems:
                raise StoreError(f"the index is damaged: {problems[0]}; run `rag index --rebuild`")
    collection = store.open_collection(settings, gen_dir, manifest)
    return Generation(manifest=manifest, chunks=chunks, lexical=lexical, collection=collection)
