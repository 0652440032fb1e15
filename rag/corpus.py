"""Reading a corpus folder: every ``.txt``/``.md`` file, recursively, as exact UTF-8 text.

The text is kept exactly as on disk (no newline translation, no stripping), so any offset into it
can be quoted back verbatim. Files that cannot be read as text are skipped with a warning that names
them; nothing else stops the load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import CorpusError, SourceError

SUFFIXES = frozenset({".txt", ".md", ".markdown"})


@dataclass(frozen=True)
class Document:
    """One source file: its path relative to the corpus root and its exact text."""

    path: str
    text: str
    sha256: str
    size: int
    mtime_ns: int


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


def check_corpus_dir(root: Path) -> Path:
    """Return ``root`` resolved, or raise :class:`CorpusError` with a one-line reason."""
    root = Path(root).expanduser()
    if not root.exists():
        raise CorpusError(f"corpus folder not found: {root}")
    if not root.is_dir():
        raise CorpusError(f"corpus path is a file, not a folder: {root}")
    return root.resolve()


def list_files(root: Path) -> Listing:
    """All ``.txt``/``.md`` files below ``root`` (hidden folders and files excluded), sorted."""
    root = check_corpus_dir(root)
    listing = Listing(root=root)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        st = path.stat()
        listing.files.append(FileStat(rel.as_posix(), path, st.st_size, st.st_mtime_ns))
    return listing


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(stat: FileStat, max_bytes: int | None = None) -> Document | Skipped:
    """Read one file as exact UTF-8 text, or say why it was skipped."""
    if max_bytes is not None and stat.size > max_bytes:
        mb = stat.size / 1_000_000
        return Skipped(
            stat.path,
            f"{mb:.1f} MB is over the limit of {max_bytes / 1_000_000:.1f} MB (RAG_MAX_FILE_MB)",
        )
    try:
        data = stat.abspath.read_bytes()
    except OSError as exc:
        return Skipped(stat.path, f"cannot read: {exc.strerror or exc}")
    if b"\x00" in data[:65536]:
        return Skipped(stat.path, "binary file (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(stat.path, f"not valid UTF-8 (byte {exc.start})")
    if not text.strip():
        return Skipped(stat.path, "empty file")
    return Document(stat.path, text, sha256_bytes(data), len(data), stat.mtime_ns)


def load_documents(root: Path, max_bytes: int | None = None) -> Iterator[Document | Skipped]:
    """Every file of the corpus, read (or skipped with its reason)."""
    for stat in list_files(root).files:
        yield read_document(stat, max_bytes)


def read_text(root: Path, rel_path: str) -> str:
    """The exact text of one corpus file as it is now (UTF-8, newlines as on disk): the one place a
    cited file is read. Raises :class:`SourceError` (one line) when the path leaves the corpus
    folder, the file is gone or unreadable, or it is no longer valid UTF-8."""
    base = Path(root).expanduser().resolve()
    path = (base / rel_path).resolve()
    if not path.is_relative_to(base):
        raise SourceError(f"the citation points outside the corpus folder: {rel_path}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{rel_path} is no longer in {base}: re-index") from None
    except OSError as exc:
        raise SourceError(f"cannot read {rel_path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{rel_path} is no longer valid UTF-8 (byte {exc.start}): re-index"
        ) from None


def text_or_none(root: Path, rel_path: str) -> str | None:
    """:func:`read_text`, or ``None`` when the file cannot be read as it was indexed."""
    try:
        return read_text(root, rel_path)
    except SourceError:
        return None
