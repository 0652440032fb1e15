"""An index that knows its own health: which generation is live, whether ``CURRENT`` can be read,
and whether every file of a generation is the one its build wrote.

:func:`check_generation` verifies a generation against its manifest: the sha256 of every file the
build wrote (``chunks.jsonl``, ``lexical/*``), and for embedded Chroma the presence of its files
and SQLite's ``quick_check`` (Chroma rewrites its own files when it reads them, so they cannot be
checksummed). :func:`index_health` says what is wrong with the whole folder; ``rag status`` prints
it and ``rag index`` repairs it (:func:`choose_base`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import StoreError
from rag.index import store


def check_chroma(gen_dir: Path) -> list[str]:
    """Problems of a generation's embedded Chroma data (empty when it looks sound)."""
    db = gen_dir / "chroma" / "chroma.sqlite3"
    if not db.is_file():
        return [f"{gen_dir.name}/chroma/chroma.sqlite3 is missing"]
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return [f"{gen_dir.name}/chroma/chroma.sqlite3 is damaged ({exc})"]
    if rows != [("ok",)]:
        first = str(rows[0][0]) if rows else "no answer"
        return [f"{gen_dir.name}/chroma/chroma.sqlite3 is damaged ({first[:80]})"]
    return []


def check_generation(gen_dir: Path) -> list[str]:
    """What is wrong with one generation (empty: it is intact)."""
    try:
        manifest = store.read_manifest(gen_dir)
    except StoreError as exc:
        return [str(exc).split("; run")[0].removeprefix("the index is damaged: ")]
    problems = []
    for rel, sha in manifest.checksums.items():
        why = store.checksum_problem(gen_dir, rel, sha)
        if why is not None:
            problems.append(f"{gen_dir.name}/{rel} {why}")
    if not manifest.checksums and not (gen_dir / "chunks.jsonl").is_file():
        problems.append(f"{gen_dir.name}/chunks.jsonl is missing")
    if manifest.chroma_mode == "embedded":
        problems.extend(check_chroma(gen_dir))
    return problems


@dataclass
class Health:
    """The state of an index folder."""

    live: str | None
    """The generation readers use (``CURRENT``, or the fallback when it is damaged)."""
    current_problem: str | None = None
    """Why ``CURRENT`` cannot be used as it is (``rag index`` rewrites it)."""
    problems: list[str] = field(default_factory=list)
    """What is wrong with the live generation's files."""
    checked: int = 0
    """Files verified."""

    @property
    def ok(self) -> bool:
        return self.current_problem is None and not self.problems

    def lines(self) -> list[str]:
        out = []
        if self.current_problem:
            fallback = f"; readers use {self.live}" if self.live else ""
            out.append(f"{self.current_problem}{fallback}")
        out.extend(self.problems)
        return out


def index_health(index_dir: Path) -> Health:
    """Which generation is live and what is wrong with it (fast: hashes of the files the build
    wrote, SQLite's quick check)."""
    name, problem = store.read_current(index_dir)
    live = name or store.current_generation(index_dir)
    health = Health(live=live, current_problem=problem)
    if live is not None:
        health.problems = check_generation(index_dir / live)
        try:
            health.checked = len(store.read_manifest(index_dir / live).checksums)
        except StoreError:
            health.checked = 0
    return health


def choose_base(index_dir: Path) -> tuple[str | None, list[str]]:
    """The generation an incremental build starts from: the live one when intact, else the
    newest intact one; with the warnings to show (what was damaged and what is done about it)."""
    health = index_health(index_dir)
    warnings = []
    if health.current_problem:
        warnings.append(f"{health.current_problem}: repaired")
    if health.live is not None and not health.problems:
        return health.live, warnings
    if health.live is not None:
        warnings.append(
            "the live index is damaged (" + "; ".join(health.problems[:3]) + "): rebuilt from "
            "an intact generation or the corpus"
        )
    for gen in store.generations(index_dir):
        if gen != health.live and not check_generation(index_dir / gen):
            return gen, warnings
    return None, warnings
