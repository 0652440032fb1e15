"""What the index holds, how it was built, and whether the corpus has moved on since."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.corpus import READ_LIMIT, CorpusError, list_files, read_bounded, sha256_bytes
from rag.errors import StoreError
from rag.index import health, store


def stale_files(
    manifest: store.Manifest, index_dir: Path | None = None, follow_symlinks: bool = False
) -> dict[str, list[str]]:
    """Files added, changed or removed in the corpus since the build (by size, time, hash);
    files inside ``index_dir`` (an index kept in the corpus folder) do not count."""
    out: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    root = Path(manifest.corpus_dir)
    try:
        files = list_files(root, follow_symlinks).files
    except CorpusError:
        out["removed"] = sorted(manifest.files)
        return out
    if index_dir is not None:
        in_index = store.inside_index(root, index_dir)
        files = [f for f in files if not in_index(f.path)]
    seen = set()
    for f in files:
        seen.add(f.path)
        entry = manifest.files.get(f.path)
        if entry is None:
            if f.path not in manifest.skipped:
                out["added"].append(f.path)
        elif (entry.size, entry.mtime_ns) != (f.size, f.mtime_ns) and _sha_or_none(
            f.abspath
        ) != entry.sha256:
            out["changed"].append(f.path)
    out["removed"] = sorted(p for p in manifest.files if p not in seen)
    return out


def formats_of(manifest: store.Manifest) -> dict[str, int]:
    """How many indexed files are of each kind: ``{"text": 12, "pdf": 3, ...}``."""
    out: dict[str, int] = {}
    for entry in manifest.files.values():
        out[entry.kind] = out.get(entry.kind, 0) + 1
    return dict(sorted(out.items()))


def snapshot_dir(settings: Settings) -> Path | None:
    """The live generation's folder of text snapshots (converted documents), or ``None``."""
    try:
        generation = store.current_generation(settings.index_dir)
    except OSError:
        return None
    return store.snapshot_dir(settings.index_dir / generation) if generation else None


def _sha_or_none(path: Path) -> str | None:
    try:
        return sha256_bytes(read_bounded(path, READ_LIMIT))
    except OSError:
        return None


def index_status(settings: Settings) -> dict[str, Any]:
    """A plain dict describing the live index (``exists: False`` when there is none), with its
    ``health``: what is wrong with it (an empty list when every file checks out)."""
    state = health.index_health(settings.index_dir)
    generation = state.live
    info: dict[str, Any] = {
        "index_dir": str(settings.index_dir),
        "exists": generation is not None,
        "health": state.lines(),
        "checked_files": state.checked,
    }
    if generation is None:
        return info
    try:
        m = store.read_manifest(settings.index_dir / generation)
    except StoreError:
        info["exists"] = False
        return info
    chroma = (
        f"server {m.chroma_host}:{m.chroma_port}, collection {m.collection}"
        if m.chroma_mode == "server"
        else f"embedded, {settings.index_dir / generation / 'chroma'}, collection {m.collection}"
    )
    info.update(
        generation=generation,
        corpus_dir=m.corpus_dir,
        built_at=m.built_at,
        build_seconds=m.build_seconds,
        files=len(m.files),
        chunks=m.n_chunks,
        skipped=m.skipped,
        formats=formats_of(m),
        notes={p: e.notes for p, e in m.files.items() if e.notes},
        embed_model=m.embed_model,
        embed_dim=m.embed_dim,
        chunk_size=m.chunk_size,
        chunk_overlap=m.chunk_overlap,
        chroma_mode=m.chroma_mode,
        chroma=chroma,
        stale=stale_files(m, settings.index_dir, settings.follow_symlinks),
    )
    return info


def corpus_root(settings: Settings) -> tuple[Path, list[str]]:
    """The folder citations point into, and notices for the user: the one answer for every
    surface. ``settings.corpus_dir``, or the folder the live index was built from when that
    setting names no folder; a notice when the two differ (citations may then not match)."""
    root = Path(settings.corpus_dir)
    try:
        generation = store.current_generation(settings.index_dir)
        indexed = (
            Path(store.read_manifest(settings.index_dir / generation).corpus_dir)
            if generation
            else None
        )
    except (OSError, ValueError, StoreError):
        indexed = None
    if indexed is None or indexed.resolve() == root.resolve():
        return root, []
    if not root.is_dir() and indexed.is_dir():
        return indexed, []
    return root, [
        f"the index was built from {indexed}; citations are read from {root}: "
        "pass --corpus-dir (or RAG_CORPUS_DIR) to match them"
    ]
