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
        .lease         locked (shared) by every process reading the generation

A build writes a new generation beside the live one and only then points ``CURRENT`` at it, so a
crashed or interrupted build leaves the previous index usable. On a Chroma server the generation's
vectors live in the collection ``<chroma_collection>-<generation>``.

Readers never break during writes: a reader takes a shared lock on the generation's ``.lease``
before it opens anything in it (:class:`Lease`), and a generation is removed only by a build, after
the new one is live, and only when no reader holds its lease (:func:`prune_generations`): it is
first renamed out of the way, so a reader that comes late finds it gone and opens the live one.
The manifest records a sha256 of every file the build wrote (``checksums``), which
:mod:`rag.index.health` verifies.

Readers open a generation compactly (:func:`open_chunks`): ``chunks.jsonl`` is checked against
its checksum as it is read once, then memory-mapped and each chunk parsed when a question uses it
(:class:`ChunkTable`), so a 100,000-chunk index opens in a fraction of a second and a few MiB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import mmap
import os
import re
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
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
    splitter: int = 1
    """The sentence splitter's version (:data:`rag.chunking.SPLITTER`); 1 for an index written
    before it was recorded."""
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
    checksums: dict[str, str] = Field(default_factory=dict)
    """sha256 of every file of the generation the build wrote (``chunks.jsonl``, ``lexical/*``),
    by path within the generation folder. Chroma's own files change when they are read, so they
    are checked by presence and SQLite's integrity check instead (:mod:`rag.index.health`)."""


def new_generation_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
    return f"g{stamp}-{secrets.token_hex(3)}"


def collection_name(settings: Settings, generation: str) -> str:
    return f"{settings.chroma_collection}-{generation}"


GENERATION_NAME = re.compile(r"^g\d{8}t\d{6}-[0-9a-f]{6}$")


def read_current(index_dir: Path) -> tuple[str | None, str | None]:
    """``(generation, problem)``: the generation ``CURRENT`` names when it is a usable one, else
    ``None`` and why not (``problem`` is ``None`` when there is simply no ``CURRENT``)."""
    path = index_dir / "CURRENT"
    try:
        raw = path.read_bytes()[:200]
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        return None, "index/CURRENT is a folder, not a file"
    except OSError as exc:
        return None, f"index/CURRENT cannot be read ({exc.strerror or exc})"
    try:
        name = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None, "index/CURRENT holds binary bytes, not a generation name"
    if not GENERATION_NAME.match(name):
        return None, f"index/CURRENT names no generation ({name[:40]!r})"
    if not (index_dir / name / "manifest.json").is_file():
        return None, f"index/CURRENT names {name}, which has no manifest"
    return name, None


def generations(index_dir: Path) -> list[str]:
    """The generation folders of ``index_dir``, newest first (their names sort by time)."""
    try:
        entries = list(index_dir.iterdir())
    except OSError:
        return []
    names = [e.name for e in entries if GENERATION_NAME.match(e.name) and e.is_dir()]
    return sorted(names, reverse=True)


def current_generation(index_dir: Path) -> str | None:
    """The live generation: the one ``CURRENT`` names or, when ``CURRENT`` is missing or damaged,
    the newest generation whose manifest can be read (``rag index`` then repairs ``CURRENT``)."""
    name, problem = read_current(index_dir)
    if name is not None:
        return name
    if problem is None and not (index_dir / "CURRENT").exists():
        return None
    for gen in generations(index_dir):
        try:
            read_manifest(index_dir / gen)
        except StoreError:
            continue
        return gen
    return None


def write_atomic(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a half one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def set_current(index_dir: Path, generation: str) -> None:
    current = index_dir / "CURRENT"
    if current.is_dir() and not current.is_symlink():
        shutil.rmtree(current)  # a folder in the way: os.replace cannot replace it
    write_atomic(current, generation + "\n")


def damaged(gen_dir: Path, what: str, why: str) -> StoreError:
    return StoreError(
        f"the index is damaged: {gen_dir.name}/{what} {why}; run `rag index` to repair it "
        "(or `rag index --rebuild`)"
    )


def read_manifest(gen_dir: Path) -> Manifest:
    """The manifest of a generation; :class:`StoreError` (one line) when it is missing or damaged."""
    try:
        data = (gen_dir / "manifest.json").read_bytes()
    except FileNotFoundError:
        raise damaged(gen_dir, "manifest.json", "is missing") from None
    except OSError as exc:
        raise damaged(gen_dir, "manifest.json", f"cannot be read ({exc.strerror})") from None
    try:
        return Manifest.model_validate_json(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        first = " ".join(str(exc).split())[:120]
        raise damaged(gen_dir, "manifest.json", f"is not a valid manifest ({first})") from None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def written_files(gen_dir: Path) -> dict[str, str]:
    """sha256 of the files a build writes into a generation besides the manifest and Chroma."""
    out = {"chunks.jsonl": file_sha256(gen_dir / "chunks.jsonl")}
    lexical = gen_dir / "lexical"
    if lexical.is_dir():
        for p in sorted(lexical.iterdir()):
            if p.is_file():
                out[f"lexical/{p.name}"] = file_sha256(p)
    return out


def write_manifest(gen_dir: Path, manifest: Manifest) -> None:
    write_atomic(gen_dir / "manifest.json", manifest.model_dump_json(indent=1))


def read_chunks(gen_dir: Path, sha256: str | None = None) -> list[Chunk]:
    """Every chunk of a generation, in stored order; :class:`StoreError` (one line) when the file
    is missing, damaged, or (given the manifest's ``sha256``) not the file the build wrote."""
    try:
        data = (gen_dir / "chunks.jsonl").read_bytes()
    except OSError as exc:
        raise damaged(gen_dir, "chunks.jsonl", f"cannot be read ({exc.strerror})") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise damaged(gen_dir, "chunks.jsonl", "does not match its checksum (truncated or edited)")
    chunks = []
    for i, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            chunks.append(Chunk.model_validate_json(line))
        except ValueError:
            raise damaged(gen_dir, "chunks.jsonl", f"line {i} is not a chunk") from None
    order = [(c.file, c.char_start, c.char_end) for c in chunks]
    if order != sorted(order):
        raise damaged(gen_dir, "chunks.jsonl", "is out of order (shuffled)")
    return chunks


def checksum_problem(gen_dir: Path, rel: str, sha256: str) -> str | None:
    """Why ``gen_dir/rel`` is not the file the build wrote ("is missing", "does not match its
    checksum"), or ``None`` when it is."""
    try:
        ok = file_sha256(gen_dir / rel) == sha256
    except OSError:
        return "is missing"
    return None if ok else "does not match its checksum"


class ChunkTable(Sequence[Chunk]):
    """The chunks of a generation as a read-only sequence, parsed when used (a question reads a
    few dozen of 100,000): ``chunks.jsonl`` stays on disk, mapped into memory, and only where
    each line starts and ends and which chunk id it holds are kept. ``table[i]`` is the chunk of
    line ``i`` (the lexical index's numbering), ``table.by_id`` finds one by id; the chunks
    parsed last are kept (``CACHE``). Made by :func:`open_chunks`."""

    CACHE = 4096

    def __init__(
        self, gen_dir: Path, data: Any, starts: np.ndarray, ends: np.ndarray, ids: dict[str, int]
    ) -> None:
        self.gen_dir = gen_dir
        self.data = data  # a read-only mmap of chunks.jsonl (bytes when it is empty)
        self.starts = starts
        self.ends = ends
        self.positions = ids
        self.cache: OrderedDict[int, Chunk] = OrderedDict()
        self.lock = threading.Lock()
        self.by_id: Mapping[str, Chunk] = ChunksById(self)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.starts)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"chunk {i} of {n}")
        with self.lock:
            chunk = self.cache.get(i)
            if chunk is not None:
                self.cache.move_to_end(i)
                return chunk
        try:
            chunk = Chunk.model_validate_json(self.data[int(self.starts[i]) : int(self.ends[i])])
        except ValueError:
            raise damaged(self.gen_dir, "chunks.jsonl", f"line {i + 1} is not a chunk") from None
        with self.lock:
            self.cache[i] = chunk
            if len(self.cache) > self.CACHE:
                self.cache.popitem(last=False)
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        for i in range(len(self.starts)):
            yield self[i]

    def position(self, chunk_id: str) -> int | None:
        """The line of the chunk ``chunk_id``, or ``None``."""
        return self.positions.get(chunk_id)

    def texts(self) -> list[str]:
        """Every chunk's text, in order (parses every chunk: for rebuilding the BM25 index)."""
        bounds = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
        return [Chunk.model_validate_json(self.data[a:b]).text for a, b in bounds]


class ChunksById(Mapping[str, Chunk]):
    """A :class:`ChunkTable`'s chunks by id, parsed on use."""

    def __init__(self, table: ChunkTable) -> None:
        self.table = table

    def __getitem__(self, chunk_id: str) -> Chunk:
        i = self.table.position(chunk_id)
        if i is None:
            raise KeyError(chunk_id)
        return self.table[i]

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and self.table.position(chunk_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.positions)

    def __len__(self) -> int:
        return len(self.table.positions)


CHUNK_ID = re.compile(rb'"id":"([^"\\]*)"')
"""A chunk's id in its JSON line: ``Span``'s fields come first and hold no such key, and a key
inside a string value would be escaped, so each line holds exactly one."""
SCAN_BLOCK = 8 << 20


def line_ends(buf: bytes, stop: int) -> np.ndarray:
    """Positions of the newlines in ``buf[:stop]`` (numpy, in 1 MiB steps: cache-sized)."""
    view = np.frombuffer(buf, dtype=np.uint8, count=stop)
    step = 1 << 20
    parts = [np.flatnonzero(view[a : a + step] == 10) + a for a in range(0, stop, step)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def scan_lines(fh: Any, gen_dir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, int], str]:
    """Where each line of an open ``chunks.jsonl`` starts and ends, the chunk id each holds (by
    line) and the file's sha256, from one read in blocks (none kept)."""
    digest = hashlib.sha256()
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    ids: dict[str, int] = {}
    carry = b""
    offset = 0  # of the first byte of ``carry`` in the file
    while True:
        block = fh.read(SCAN_BLOCK)
        digest.update(block)
        buf = carry + block
        cut = len(buf) if not block else buf.rfind(b"\n") + 1
        nl = line_ends(buf, cut)
        if not block and cut and (not len(nl) or nl[-1] != cut - 1):
            nl = np.append(nl, cut)  # a last line without a newline
        begin = np.concatenate(([0], nl[:-1] + 1)) if len(nl) else nl
        first = sum(len(e) for e in ends)  # lines before this block
        found = [(m.start(), m.group(1)) for m in CHUNK_ID.finditer(buf, 0, cut)]
        at = np.asarray([f[0] for f in found], dtype=np.int64)
        if len(found) != len(nl) or not np.all((at >= begin) & (at < nl)):
            # blank lines, or a line without an id: line by line, to say which
            keep = [i for i in range(len(nl)) if nl[i] - begin[i] > 8 or buf[begin[i] : nl[i]].strip()]  # fmt: skip
            begin, nl = begin[keep], nl[keep]
            found = []
            for i, (x, y) in enumerate(zip(begin.tolist(), nl.tolist(), strict=True)):
                m = CHUNK_ID.search(buf, x, y)
                if m is None:
                    line = first + i + 1
                    raise damaged(gen_dir, "chunks.jsonl", f"line {line} is not a chunk")
                found.append((m.start(), m.group(1)))
        for i, (_at, key) in enumerate(found):
            ids[key.decode("utf-8", "replace")] = first + i
        starts.append(begin + offset)
        ends.append(nl + offset)
        offset += cut
        carry = buf[cut:]
        if not block:
            break
    empty = np.zeros(0, dtype=np.int64)
    return (
        np.concatenate(starts) if starts else empty,
        np.concatenate(ends) if ends else empty,
        ids,
        digest.hexdigest(),
    )


def open_chunks(gen_dir: Path, sha256: str | None = None) -> ChunkTable:
    """The chunks of a generation, parsed on use (:class:`ChunkTable`).

    ``chunks.jsonl`` is read once in blocks, hashed and scanned for lines and ids
    (:func:`scan_lines`), then mapped for reading. Given the manifest's ``sha256``, a file that
    is not the one the build wrote is a one-line :class:`StoreError`, as from
    :func:`read_chunks`; without one (a generation older than checksums) every chunk is parsed
    and checked once, as there."""
    if sha256 is None:
        read_chunks(gen_dir)  # the full check: every line a chunk, in order
    try:
        with open(gen_dir / "chunks.jsonl", "rb") as fh:
            starts, ends, ids, digest = scan_lines(fh, gen_dir)
            if sha256 is not None and digest != sha256:
                raise damaged(gen_dir, "chunks.jsonl", "does not match its checksum (truncated or edited)")  # fmt: skip
            size = os.fstat(fh.fileno()).st_size
            data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as exc:
        raise damaged(gen_dir, "chunks.jsonl", f"cannot be read ({exc.strerror})") from None
    return ChunkTable(gen_dir, data, starts, ends, ids)


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


def chroma_module() -> Any:
    """``chromadb``, imported on first use (a second of a cold start)."""
    import chromadb

    return chromadb


def chroma_client(settings: Settings, gen_dir: Path) -> Any:
    """A Chroma client: a server when ``chroma_host`` is set, else embedded in ``gen_dir/chroma``."""
    chromadb = chroma_module()
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        if settings.chroma_token is not None and settings.chroma_token.get_secret_value():
            chroma_settings = ChromaSettings(
                anonymized_telemetry=False,
                chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
                chroma_client_auth_credentials=settings.chroma_token.get_secret_value(),
            )
        where = f"{'https' if settings.chroma_ssl else 'http'}://{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
            client.heartbeat()
            client.count_collections()  # a request that needs the token, when one is needed
        except Exception as exc:
            if _AUTH_REFUSED.search(str(exc)):
                raise StoreError(
                    f"the Chroma server at {where} refused the request (unauthorized): "
                    "set RAG_CHROMA_TOKEN to the token it expects"
                ) from None
            raise StoreError(
                f"Chroma server not reachable at {where} ({type(exc).__name__}); start it with "
                "`chroma run`, check RAG_CHROMA_SSL, or unset RAG_CHROMA_HOST"
            ) from None
        return client
    if not gen_dir.is_dir():  # never let Chroma re-create a removed generation's folder
        raise StoreError(f"the index generation {gen_dir.name} is gone: run `rag index`")
    try:
        return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)
    except Exception as exc:
        raise chroma_damaged(gen_dir, exc) from None


_AUTH_REFUSED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|authenticat", re.I)


def chroma_damaged(gen_dir: Path, exc: BaseException) -> StoreError:
    """The one-line error for Chroma data that cannot be read."""
    why = " ".join(str(exc).split())[:100] or type(exc).__name__
    return StoreError(
        f"the index's Chroma data in {gen_dir.name}/chroma cannot be read ({why}): "
        "rebuild it with `rag index --rebuild`"
    )


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
    except Exception as exc:
        if not settings.chroma_host and "does not exist" not in str(exc):
            raise chroma_damaged(gen_dir, exc) from None
        raise StoreError(
            f"Chroma collection {manifest.collection!r} is missing "
            f"({'server' if settings.chroma_host else gen_dir / 'chroma'}): run `rag index --rebuild`"
        ) from None
    meta = collection.metadata or {}
    check_model(
        str(meta.get("embed_model", "?")), int(meta.get("embed_dim", 0)), manifest.embed_model, None
    )
    return collection


def nearest(
    collection: Any, gen_dir: Path, embedding: list[float], k: int
) -> list[tuple[str, float]]:
    """``(chunk id, similarity)`` of the ``k`` vectors of ``collection`` nearest ``embedding``,
    nearest first.

    The collection is written through llama-index's ``ChromaVectorStore``; it is queried here
    directly, for ids and distances only (llama-index's query also rebuilds a node from every
    hit's document and metadata, and importing llama-index costs a cold ``rag ask`` a second).
    The similarity is llama-index's: ``exp(-distance)``. Chroma data that cannot be read is a
    one-line :class:`StoreError`."""
    if k <= 0:
        return []
    try:
        result = collection.query(query_embeddings=[embedding], n_results=k, include=["distances"])
    except Exception as exc:
        raise chroma_damaged(gen_dir, exc) from None
    ids = (result.get("ids") or [[]])[0]
    distances = (result.get("distances") or [[]])[0]
    return [(str(i), math.exp(-float(d))) for i, d in zip(ids, distances, strict=False)]


class Lease:
    """A reader's hold on a generation: a shared lock on its ``.lease`` file, kept until
    :meth:`release` (or the process ends). A build never removes a generation under a lease."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the lock
            self.fd = None

    def __del__(self) -> None:
        self.release()


def take_lease(gen_dir: Path) -> Lease | None:
    """A :class:`Lease` on ``gen_dir``, or ``None`` when the generation is gone (or being
    removed): the caller reads ``CURRENT`` again."""
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): no leases, the grace period only
        return Lease(None) if (gen_dir / "manifest.json").is_file() else None
    try:
        fd = os.open(gen_dir / ".lease", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    if not (gen_dir / "manifest.json").is_file():  # removed while we waited
        os.close(fd)
        return None
    return Lease(fd)


def _in_use(gen_dir: Path) -> tuple[bool, int | None]:
    """Whether a reader holds the generation; else ``(False, fd)`` with an exclusive lock held."""
    try:
        import fcntl
    except ImportError:
        return False, None
    try:
        fd = os.open(gen_dir / ".lease", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False, None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return True, None
    return False, fd


def remove_generation(settings: Settings, index_dir: Path, generation: str) -> bool:
    """Delete a generation's folder and, on a server, its collection, unless a reader holds it
    (then ``False``). The folder is first renamed out of the way, so a reader arriving late
    finds it gone instead of half-deleted."""
    gen_dir = index_dir / generation
    busy, fd = _in_use(gen_dir)
    if busy:
        return False
    trash = index_dir / f".trash-{generation}-{secrets.token_hex(3)}"
    try:
        try:
            os.replace(gen_dir, trash)
        except FileNotFoundError:
            return True
        except OSError:
            trash = gen_dir
    finally:
        if fd is not None:
            os.close(fd)
    if settings.chroma_host:
        try:
            client = chroma_client(settings, trash)
            client.delete_collection(collection_name(settings, generation))
        except Exception:  # the server may be gone; the local folder still goes
            pass
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune_generations(settings: Settings, index_dir: Path, keep: set[str]) -> list[str]:
    """Remove every generation folder except those in ``keep`` and those a reader holds (and
    leftovers of removals that were interrupted). Called only after a new generation is live.
    Returns the generations kept because they are in use."""
    if not index_dir.exists():
        return []
    in_use = []
    for entry in index_dir.iterdir():
        if entry.name.startswith(".trash-") and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif (
            entry.is_dir()
            and GENERATION_NAME.match(entry.name)
            and entry.name not in keep
            and not remove_generation(settings, index_dir, entry.name)
        ):
            in_use.append(entry.name)
    return in_use
