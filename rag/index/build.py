"""Building the index: read the corpus, chunk, embed, store in Chroma (through llama-index).

Incremental: a manifest of content hashes means only added or changed files are re-embedded, the
chunks of deleted files go, and nothing is written when nothing changed. Every build that changes
something writes a new generation and swaps ``CURRENT`` only at the end (see :mod:`rag.index.store`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rag.chunking import SPLITTER, chunk_document
from rag.config import Settings
from rag.corpus import (
    Document,
    FileStat,
    Skipped,
    check_corpus_dir,
    document_from_bytes,
    list_files,
    read_file,
    sha256_bytes,
)
from rag.errors import EmptyCorpusError, IndexLockedError
from rag.formats import Converted, save_snapshot
from rag.index import health, store
from rag.lexical import LexicalIndex
from rag.schema import Chunk

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` with chunk counts while embedding."""

COPY_BATCH = 2000


@dataclass
class BuildReport:
    """What one ``rag index`` did."""

    generation: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    skipped_stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    converted: dict[str, str] = field(default_factory=dict)
    """Documents converted to text this build (PDF, HTML, Word), each with what it was."""
    convert_seconds: float = 0.0
    pdf_pages: int = 0
    """Pages of the PDFs converted this build (for pages per second)."""
    chunks: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    wrote: bool = False

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks} chunks "
            f"({self.chunks_embedded} embedded); {self.seconds:.1f} s"
        )


def index_lock(settings: Settings) -> FileLock:
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.index_dir / ".lock"))


def read_limits(settings: Settings) -> list[float]:
    """The settings that decide whether a file is skipped (recorded with the skips)."""
    return [float(settings.max_file_mb), float(settings.max_pdf_pages)]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _nodes(chunks: list[Chunk], embeddings: list[list[float]]) -> list[Any]:
    """llama-index nodes carrying each chunk's text, embedding and location."""
    from llama_index.core.schema import TextNode

    return [
        TextNode(
            id_=c.id,
            text=c.text,
            embedding=e,
            metadata={
                "file": c.file,
                "line_start": c.line_start,
                "line_end": c.line_end,
                "char_start": c.char_start,
                "char_end": c.char_end,
                "file_hash": c.file_hash,
            },
        )
        for c, e in zip(chunks, embeddings, strict=True)
    ]


def _copy_records(old: Any, new: Any, ids: list[str]) -> None:
    """Copy stored vectors unchanged from the live collection into the new one."""
    for i in range(0, len(ids), COPY_BATCH):
        got = old.get(ids=ids[i : i + COPY_BATCH], include=["embeddings", "documents", "metadatas"])
        if len(got["ids"]) != len(ids[i : i + COPY_BATCH]):
            raise store.StoreError("the live index is missing vectors: run `rag index --rebuild`")
        new.add(
            ids=got["ids"],
            embeddings=got["embeddings"],
            documents=got["documents"],
            metadatas=got["metadatas"],
        )


class GenerationWriter:
    """A new index generation being written beside the live one: vectors first (:meth:`add`,
    :meth:`copy_from`), then chunks, BM25 index and manifest (:meth:`finish`), and only then made
    live. Used as a context manager: any failure removes the half-written generation, so the
    live index is never touched by it. ``rag index`` and the benchmarks' synthetic index both
    write through it."""

    def __init__(self, settings: Settings, embed_dim: int) -> None:
        self.settings = settings
        self.embed_dim = embed_dim
        self.generation = store.new_generation_name()
        self.gen_dir = settings.index_dir / self.generation
        self.collection_name = ""
        self._collection: Any = None
        self._vector_store: Any = None

    def __enter__(self) -> GenerationWriter:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.gen_dir.mkdir(parents=True)
        try:
            self.collection_name, self._collection = store.create_collection(
                self.settings, self.gen_dir, self.embed_dim
            )
            self._vector_store = ChromaVectorStore(chroma_collection=self._collection)
        except BaseException:
            store.remove_generation(self.settings, self.settings.index_dir, self.generation)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            store.remove_generation(self.settings, self.settings.index_dir, self.generation)

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Store ``chunks`` with their vectors (through llama-index's ``ChromaVectorStore``)."""
        for a in range(0, len(chunks), COPY_BATCH):
            part = chunks[a : a + COPY_BATCH]
            self._vector_store.add(_nodes(part, vectors[a : a + len(part)]))

    def copy_from(self, old_collection: Any, ids: list[str]) -> None:
        """Copy stored vectors unchanged from the live collection."""
        _copy_records(old_collection, self._collection, ids)

    def finish(
        self,
        *,
        root: Path,
        files: dict[str, store.FileEntry],
        chunks: list[Chunk],
        skipped: dict[str, str] | None = None,
        seconds: float = 0.0,
        skipped_stats: dict[str, tuple[int, int]] | None = None,
    ) -> store.Manifest:
        """Write the rest of the generation (the manifest last) and make it live."""
        manifest = write_generation_files(
            self.settings,
            self.gen_dir,
            root=root,
            embed_dim=self.embed_dim,
            collection=self.collection_name,
            files=files,
            chunks=chunks,
            skipped=skipped,
            seconds=seconds,
            skipped_stats=skipped_stats,
        )
        store.set_current(self.settings.index_dir, self.generation)
        return manifest


@dataclass
class _Plan:
    docs: list[Document]
    stats: dict[str, FileStat]
    keep: dict[str, store.FileEntry]
    report: BuildReport
    refreshed: bool = False


def _plan(settings: Settings, root: Path, old: store.Manifest | None, report: BuildReport) -> _Plan:
    """Sort the corpus files into unchanged (kept), added/changed (to embed) and removed. A file
    is hashed before it is converted, so an unchanged PDF that was only touched is not."""
    listing = list_files(root, settings.follow_symlinks)
    for skipped in listing.skipped:
        report.skipped[skipped.path] = skipped.reason
    in_index = store.inside_index(root, settings.index_dir)
    max_bytes = int(settings.max_file_mb * 1_000_000)
    old_files = old.files if old else {}
    same_limits = old is not None and old.read_limits == read_limits(settings)
    old_skips = old.skipped_stats if old and same_limits else {}
    plan = _Plan(docs=[], stats={}, keep={}, report=report)

    def skip(path: str, reason: str, stat: FileStat) -> None:
        report.skipped[path] = reason
        report.skipped_stats[path] = (stat.size, stat.mtime_ns)

    for stat in listing.files:
        if in_index(stat.path):
            continue
        plan.stats[stat.path] = stat
        prev = old_files.get(stat.path)
        if prev and prev.size == stat.size and prev.mtime_ns == stat.mtime_ns:
            plan.keep[stat.path] = prev
            report.unchanged.append(stat.path)
            continue
        if old and old_skips.get(stat.path) == (stat.size, stat.mtime_ns):
            skip(stat.path, old.skipped[stat.path], stat)  # as last time: not read again
            continue
        data = read_file(stat, max_bytes)
        if isinstance(data, Skipped):
            skip(data.path, data.reason, stat)
            continue
        if prev and prev.sha256 == sha256_bytes(data):  # touched, not changed
            plan.keep[stat.path] = prev.model_copy(update={"mtime_ns": stat.mtime_ns})
            plan.refreshed = True
            report.unchanged.append(stat.path)
            continue
        t = time.perf_counter()
        doc = document_from_bytes(stat, data, settings.max_pdf_pages)
        del data
        if isinstance(doc, Skipped):
            skip(doc.path, doc.reason, stat)
            continue
        if doc.layout is not None:
            report.convert_seconds += time.perf_counter() - t
            pages = len(doc.layout.pages)
            report.pdf_pages += pages
            report.converted[doc.path] = doc.kind + (f", {pages} pages" if pages else "")
            report.warnings.extend(f"{doc.path}: {note}" for note in doc.layout.notes)
        (report.changed if prev else report.added).append(stat.path)
        plan.docs.append(doc)
    report.removed = sorted(p for p in old_files if p not in plan.keep and p not in report.changed)
    return plan


def build_index(
    settings: Settings,
    corpus_dir: Path | None = None,
    *,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> BuildReport:
    """Bring the index in ``settings.index_dir`` up to date with ``corpus_dir``.

    Raises :class:`IndexLockedError` if another build holds the lock, :class:`EmptyCorpusError`
    if the folder has no readable document, and :class:`rag.corpus.CorpusError` for a bad path.
    The live index is untouched by any failure.
    """
    t0 = time.perf_counter()
    root = check_corpus_dir(corpus_dir or settings.corpus_dir)
    index_dir = settings.index_dir
    lock = index_lock(settings)
    try:
        lock.acquire(timeout=settings.lock_timeout)
    except Timeout:
        raise IndexLockedError(
            f"another `rag index` is running on {index_dir} (lock {index_dir / '.lock'}); "
            "wait for it to finish or set RAG_LOCK_TIMEOUT to wait"
        ) from None
    try:
        return _build_locked(settings, root, rebuild, progress, t0)
    finally:
        lock.release()


def watch_index(
    settings: Settings,
    corpus_dir: Path | None = None,
    *,
    interval: float = 2.0,
    on_report: Callable[[BuildReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Keep the index up to date: an incremental :func:`build_index` every ``interval`` seconds
    (a no-op costs a few stat calls), until ``should_stop()``. ``on_report`` sees every build
    that wrote a generation; a user-facing error (another build holds the lock, the corpus is
    empty) goes to ``on_error`` and the watch goes on."""
    from rag.errors import RagError

    while not (should_stop and should_stop()):
        try:
            report = build_index(settings, corpus_dir)
            if report.wrote and on_report:
                on_report(report)
        except RagError as exc:
            if on_error:
                on_error(exc)
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not (should_stop and should_stop()):
            time.sleep(min(0.2, interval))


def _build_locked(
    settings: Settings, root: Path, rebuild: bool, progress: ProgressFn | None, t0: float
) -> BuildReport:
    from rag.embeddings import resolve_model_path

    index_dir = settings.index_dir
    named, _problem = store.read_current(index_dir)
    # the generation to start from: the live one when intact, else the newest intact one (a
    # damaged CURRENT or generation is repaired, never a reason to delete what is sound); none
    # with --rebuild, which reads nothing of the old index
    live, warnings = (None, []) if rebuild else health.choose_base(index_dir)
    old = store.read_manifest(index_dir / live) if live else None
    if old is not None:
        resolve_model_path(settings.embed_model)  # a missing model fails before any work
        store.check_model(old.embed_model, old.embed_dim, settings.embed_model, None)
        same_layout = (
            old.chunk_size == settings.chunk_size
            and old.chunk_overlap == settings.chunk_overlap
            and old.splitter == SPLITTER
            and old.chroma_mode == ("server" if settings.chroma_host else "embedded")
            and old.chroma_host == settings.chroma_host
            and (old.chroma_port == settings.chroma_port or not settings.chroma_host)
        )
        if not same_layout:
            log.warning("chunking or Chroma settings changed: re-embedding everything")
            old = None
    report = BuildReport(generation=live or "", warnings=warnings)
    plan = _plan(settings, root, old, report)
    if not plan.keep and not plan.docs:
        raise EmptyCorpusError(
            f"no readable documents (UTF-8 text, PDF, HTML, Word) in {root}"
            + (f" ({len(report.skipped)} skipped)" if report.skipped else "")
            + "; the index was left as it was"
        )
    if live and old is not None and not (plan.docs or report.removed):
        limits = read_limits(settings)
        if plan.refreshed or old.skipped_stats != report.skipped_stats or old.read_limits != limits:
            files = {p: plan.keep[p] for p in sorted(plan.keep)}
            update = {
                "files": files,
                "skipped": report.skipped,
                "skipped_stats": report.skipped_stats,
                "read_limits": limits,
            }
            store.write_manifest(index_dir / live, old.model_copy(update=update))
        if named != live:
            store.set_current(index_dir, live)  # CURRENT was damaged or pointed elsewhere
            report.wrote = True
        store.prune_generations(settings, index_dir, keep={live})
        report.chunks = old.n_chunks
        report.seconds = time.perf_counter() - t0
        return report
    report = _write_generation(settings, root, live, old, plan, progress, t0)
    # only now that the new generation is live: the previous one stays for the readers that
    # opened it (and as a fallback); older ones go unless a reader still holds them
    store.prune_generations(settings, index_dir, keep={report.generation, live or named or ""})
    return report


def write_generation_files(
    settings: Settings,
    gen_dir: Path,
    *,
    root: Path,
    embed_dim: int,
    collection: str,
    files: dict[str, store.FileEntry],
    chunks: list[Chunk],
    skipped: dict[str, str] | None = None,
    seconds: float = 0.0,
    skipped_stats: dict[str, tuple[int, int]] | None = None,
) -> store.Manifest:
    """Everything of a generation beside its vectors: chunks, BM25 index, and the manifest
    (written last: a generation without one is incomplete)."""
    ordered = sorted(chunks, key=lambda c: (c.file, c.char_start, c.char_end))
    store.write_chunks(gen_dir, ordered)
    LexicalIndex.build([c.text for c in ordered]).save(gen_dir / "lexical")
    checksums = store.written_files(gen_dir)
    manifest = store.Manifest(
        generation=gen_dir.name,
        built_at=_now(),
        corpus_dir=str(root),
        embed_model=settings.embed_model,
        embed_dim=embed_dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        splitter=SPLITTER,
        chroma_mode="server" if settings.chroma_host else "embedded",
        chroma_host=settings.chroma_host,
        chroma_port=settings.chroma_port if settings.chroma_host else None,
        collection=collection,
        files={p: files[p] for p in sorted(files)},
        skipped=skipped or {},
        skipped_stats=skipped_stats or {},
        read_limits=read_limits(settings),
        n_chunks=len(ordered),
        build_seconds=round(seconds, 3),
        checksums=checksums,
    )
    store.write_manifest(gen_dir, manifest)
    return manifest


def _write_generation(
    settings: Settings,
    root: Path,
    live: str | None,
    old: store.Manifest | None,
    plan: _Plan,
    progress: ProgressFn | None,
    t0: float,
) -> BuildReport:
    from rag.embeddings import get_embedder

    report = plan.report
    index_dir = settings.index_dir
    embedder = get_embedder(settings.embed_model, settings.embed_batch_size)
    with GenerationWriter(settings, embedder.dim) as writer:
        kept_chunks: list[Chunk] = []
        if old is not None and live is not None and plan.keep:
            keep_ids = {cid for entry in plan.keep.values() for cid in entry.chunks}
            stored = store.read_chunks(index_dir / live, old.checksums.get("chunks.jsonl"))
            kept_chunks = [c for c in stored if c.id in keep_ids]
            old_collection = store.open_collection(settings, index_dir / live, old)
            writer.copy_from(old_collection, [c.id for c in kept_chunks])

        snapshots = store.snapshot_dir(writer.gen_dir)
        for path, entry in plan.keep.items():
            carried = entry.kind == "text" or (
                live is not None
                and store.carry_snapshot(index_dir / live, writer.gen_dir, entry.sha256)
            )
            if not carried:
                log.info("no snapshot of %s to carry over: it is converted when cited", path)
        for d in plan.docs:
            if d.layout is not None:
                save_snapshot(snapshots, d.sha256, Converted(d.text, d.layout))
        new_chunks: dict[str, list[Chunk]] = {
            d.path: chunk_document(
                d.path, d.text, d.sha256, settings.chunk_size, settings.chunk_overlap, d.layout
            )
            for d in plan.docs
        }
        todo = [c for chunks in new_chunks.values() for c in chunks]
        done = 0
        if progress:
            progress(0, len(todo))
        # Embed a window of chunks shortest first, so that each encoder batch holds texts of
        # similar length (file order pads every batch to its longest chunk: ~1.45x the tokens on
        # mixed-length text); the vectors are stored in the original order.
        batch = max(settings.embed_batch_size * 4, 64)
        window = batch * 4
        for i in range(0, len(todo), window):
            part = todo[i : i + window]
            lengths = [len(c.text) for c in part]
            order = sorted(range(len(part)), key=lengths.__getitem__)
            vectors: list[list[float]] = [[] for _ in part]
            for a in range(0, len(order), batch):
                idx = order[a : a + batch]
                embedded = embedder.embed_texts([part[j].text for j in idx])
                for j, vector in zip(idx, embedded, strict=True):
                    vectors[j] = vector
                done += len(idx)
                if progress:
                    progress(done, len(todo))
            writer.add(part, vectors)

        files = dict(plan.keep)
        for doc in plan.docs:
            stat = plan.stats[doc.path]
            try:
                now = stat.abspath.stat()
                if now.st_mtime_ns != doc.mtime_ns or now.st_size != doc.size:
                    report.warnings.append(
                        f"{doc.path} changed while it was being indexed; the version read first "
                        "is indexed: run `rag index` again"
                    )
            except FileNotFoundError:
                report.warnings.append(f"{doc.path} was deleted while it was being indexed")
            files[doc.path] = store.FileEntry(
                sha256=doc.sha256,
                size=doc.size,
                mtime_ns=doc.mtime_ns,
                chunks=[c.id for c in new_chunks[doc.path]],
                kind=doc.kind,
                pages=len(doc.layout.pages) if doc.layout and doc.layout.pages else None,
                notes=doc.layout.notes if doc.layout else [],
            )
        report.chunks = len(kept_chunks) + len(todo)
        report.chunks_embedded = len(todo)
        report.generation = writer.generation
        report.seconds = time.perf_counter() - t0
        writer.finish(
            root=root,
            files=files,
            chunks=kept_chunks + todo,
            skipped=report.skipped,
            seconds=report.seconds,
            skipped_stats=report.skipped_stats,
        )
    report.wrote = True
    return report
