"""Reading a corpus folder: every file, recursively, as exact text.

What a file is comes from its bytes (:func:`rag.formats.sniff`), never from its name alone: UTF-8
text of any name (``.txt``, ``.md``, ``.rst``, ``.csv``, ``LICENSE`` ...) is kept exactly as on disk
(no newline translation, no stripping), so any offset into it can be quoted back verbatim; a PDF,
web page or Word document is converted to a text snapshot (:mod:`rag.formats`) that the index keeps
and citations point into. Files that are none of these are skipped with a warning that names them
and says why; nothing else stops the load.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import CorpusError, SourceError
from rag.formats import Converted, Kind, Layout, Unreadable, convert, load_snapshot, sniff


@dataclass(frozen=True)
class Document:
    """One source file: its path relative to the corpus root and its exact text (for a converted
    document: the text snapshot, with its layout; ``sha256`` is always the original file's)."""

    path: str
    text: str
    sha256: str
    size: int
    mtime_ns: int
    kind: Kind = "text"
    layout: Layout | None = None


@dataclass(frozen=True)
class FileStat:
    """What a listing knows of a file before reading it."""

    path: str
    abspath: Path
    size: int
    mtime_ns: int


@dataclass
class Skipped:
    """A file left out of the corpus, and why (shown to the user as a warning)."""

    path: str
    reason: str


@dataclass
class Listing:
    """The candidate files of a corpus folder."""

    root: Path
    files: list[FileStat] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    """Symlinks not followed, special files, folders that cannot be listed: each with why."""


READ_LIMIT = 512_000_000
"""Most bytes read from one cited file (a citation never needs more; a device never ends)."""


def check_corpus_dir(root: Path) -> Path:
    """Return ``root`` resolved, or raise :class:`CorpusError` with a one-line reason."""
    root = Path(root).expanduser()
    if not root.exists():
        raise CorpusError(f"corpus folder not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"corpus path is a file, not a folder: {root}")
    return root.resolve()


def list_files(root: Path, follow_symlinks: bool = False) -> Listing:
    """All files below ``root`` (hidden folders and files excluded), sorted; what each one is
    is decided when it is read (:func:`read_document`).

    The corpus folder is a boundary: a symlink whose target lies outside it is not followed
    unless ``follow_symlinks`` (``RAG_FOLLOW_SYMLINKS``), and each one left out is reported in
    ``skipped``; so is anything that is not a regular file (a FIFO, a device, a socket). The tree
    is walked with a stack, not recursion, so any depth works; symlink loops are cut."""
    root = check_corpus_dir(root)
    listing = Listing(root=root)
    seen: set[tuple[int, int]] = set()
    try:
        st_root = root.stat()
        seen.add((st_root.st_dev, st_root.st_ino))
    except OSError:
        pass
    stack: list[Path] = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            rel = folder.relative_to(root).as_posix()
            listing.skipped.append(Skipped(rel, f"cannot list the folder: {exc.strerror or exc}"))
            continue
        for entry in reversed(entries):  # the stack pops the first name first
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            wanted = True  # every file: what it is is decided when it is read
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = path.resolve(strict=True)
                    if not target.is_relative_to(root) and not follow_symlinks:
                        if wanted or target.is_dir():
                            listing.skipped.append(
                                Skipped(
                                    rel,
                                    f"a symlink to {target}, outside the corpus folder: not "
                                    "followed (RAG_FOLLOW_SYMLINKS=true follows it)",
                                )
                            )
                        continue
                st = path.stat()
            except (OSError, RuntimeError) as exc:
                if wanted or entry.is_dir(follow_symlinks=False):
                    why = getattr(exc, "strerror", None) or exc
                    listing.skipped.append(Skipped(rel, f"cannot read: {why}"))
                continue
            if stat_mod.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    if is_link:
                        listing.skipped.append(
                            Skipped(rel, "a symlink to a folder already listed: not followed")
                        )
                    continue
                seen.add(key)
                stack.append(path)
                continue
            if not wanted:
                continue
            if not stat_mod.S_ISREG(st.st_mode):
                listing.skipped.append(
                    Skipped(rel, "not a regular file (a FIFO, device or socket): not read")
                )
                continue
            listing.files.append(FileStat(rel, path, st.st_size, st.st_mtime_ns))
    listing.files.sort(key=lambda f: f.path)
    return listing


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit + 1`` of them (so that a caller can
    tell "over the limit"). Opened without blocking: a FIFO or a device raises ``OSError``
    ("not a regular file") instead of hanging or reading forever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file (a FIFO, device or socket)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(
    stat: FileStat, max_bytes: int | None = None, max_pages: int | None = None
) -> Document | Skipped:
    """Read one file as exact UTF-8 text or convert it (PDF, HTML, Word), or say why it was
    skipped."""
    data = read_file(stat, max_bytes)
    if isinstance(data, Skipped):
        return data
    return document_from_bytes(stat, data, max_pages)


def read_file(stat: FileStat, max_bytes: int | None = None) -> bytes | Skipped:
    """The bytes of one listed file, or why it was skipped (too large, unreadable)."""
    if max_bytes is not None and stat.size > max_bytes:
        mb = stat.size / 1_000_000
        return Skipped(
            stat.path,
            f"{mb:.1f} MB is over the limit of {max_bytes / 1_000_000:.1f} MB (RAG_MAX_FILE_MB)",
        )
    limit = max_bytes if max_bytes is not None else READ_LIMIT
    try:
        data = read_bounded(stat.abspath, limit)
    except OSError as exc:
        return Skipped(stat.path, f"cannot read: {exc.strerror or exc}")
    if len(data) > limit:
        return Skipped(stat.path, f"grew over the limit of {limit / 1_000_000:.1f} MB while read")
    return data


def document_from_bytes(
    stat: FileStat, data: bytes, max_pages: int | None = None
) -> Document | Skipped:
    """The document in a file's bytes (text as is, other formats converted), or why not."""
    if not data.strip():
        return Skipped(stat.path, "empty file")
    try:
        converted = convert_bytes(data, stat.path, max_pages=max_pages)
    except Unreadable as exc:
        return Skipped(stat.path, str(exc))
    except Exception as exc:  # a converter's own bug must not stop the build: skip, and say so
        return Skipped(
            stat.path, f"the converter failed ({type(exc).__name__}): a bug, please report it"
        )
    if not converted.text.strip():
        return Skipped(stat.path, "empty file")
    layout = None if converted.layout.kind == "text" else converted.layout
    return Document(
        stat.path,
        converted.text,
        sha256_bytes(data),
        len(data),
        stat.mtime_ns,
        kind=converted.layout.kind,
        layout=layout,
    )


def convert_bytes(data: bytes, name: str, *, max_pages: int | None = None) -> Converted:
    """A file's bytes as text: exact UTF-8, or the snapshot of a PDF, web page or Word document.
    Raises :class:`rag.formats.Unreadable` with the reason when it is neither."""
    return convert(data, sniff(data, name), max_pages=max_pages)


def load_documents(
    root: Path, max_bytes: int | None = None, follow_symlinks: bool = False
) -> Iterator[Document | Skipped]:
    """Every file of the corpus, read (or skipped with its reason)."""
    listing = list_files(root, follow_symlinks)
    yield from listing.skipped
    for stat in listing.files:
        yield read_document(stat, max_bytes)


@dataclass(frozen=True)
class Source:
    """A cited file as citations see it: its text (a converted document's snapshot), its layout
    (pages, headings) when it was converted, and the original file's hash."""

    path: str
    text: str
    sha256: str
    kind: Kind = "text"
    layout: Layout | None = None


def read_source(
    root: Path, rel_path: str, snapshots: Path | None = None, follow_symlinks: bool = False
) -> Source:
    """The text of one corpus file as citations see it: the one place a cited file is read.

    Plain text is read as it is now (UTF-8, newlines as on disk). A PDF, web page or Word document
    is read from the snapshot the index kept for the file's current hash (in ``snapshots``, the
    live generation's snapshot folder), or converted again when there is none (a file changed
    since indexing, or no index at hand). Raises :class:`SourceError` (one line) when the path
    leaves the corpus folder (through ``..`` or, unless ``follow_symlinks``, a symlink), the
    file is gone, unreadable or not a regular file, or it is no longer a document."""
    data = read_original(root, rel_path, follow_symlinks)
    sha = sha256_bytes(data)
    try:
        kind = sniff(data, rel_path)
        if kind == "text":
            return Source(rel_path, data.decode("utf-8"), sha)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{rel_path} is no longer valid UTF-8 (byte {exc.start}): re-index"
        ) from None
    except Unreadable as exc:
        raise SourceError(
            f"{rel_path} is no longer a readable document ({exc}): re-index"
        ) from None
    saved = load_snapshot(snapshots, sha)
    if saved is None:
        try:
            saved = convert(data, kind)
        except Unreadable as exc:
            raise SourceError(f"{rel_path} can no longer be read: {exc}") from None
    return Source(rel_path, saved.text, sha, kind, saved.layout)


def read_original(root: Path, rel_path: str, follow_symlinks: bool = False) -> bytes:
    """The bytes of one corpus file (a PDF to render, say), read within the corpus folder and
    bounded. Raises :class:`SourceError`."""
    base = Path(root).expanduser().resolve()
    written = Path(os.path.normpath(base / rel_path))
    path = written.resolve()
    if not written.is_relative_to(base) or (not path.is_relative_to(base) and not follow_symlinks):
        raise SourceError(f"the citation points outside the corpus folder: {rel_path}")
    try:
        data = read_bounded(path, READ_LIMIT)
    except FileNotFoundError:
        raise SourceError(f"{rel_path} is no longer in {base}: re-index") from None
    except OSError as exc:
        raise SourceError(f"cannot read {rel_path}: {exc.strerror or exc}") from None
    return data


def read_text(
    root: Path, rel_path: str, snapshots: Path | None = None, follow_symlinks: bool = False
) -> str:
    """The text of one corpus file as citations see it (:func:`read_source`)."""
    return read_source(root, rel_path, snapshots, follow_symlinks).text


def source_or_none(
    root: Path, rel_path: str, snapshots: Path | None = None, follow_symlinks: bool = False
) -> Source | None:
    """:func:`read_source`, or ``None`` when the file cannot be read as it was indexed."""
    try:
        return read_source(root, rel_path, snapshots, follow_symlinks)
    except SourceError:
        return None


def text_or_none(
    root: Path, rel_path: str, snapshots: Path | None = None, follow_symlinks: bool = False
) -> str | None:
    """:func:`read_text`, or ``None`` when the file cannot be read as it was indexed."""
    source = source_or_none(root, rel_path, snapshots, follow_symlinks)
    return source.text if source is not None else None
