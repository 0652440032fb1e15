"""``rag bench soak``: readers never break during writes.

A writer rebuilds the index (``--rebuild``) and builds it incrementally after changing a file, in a
loop, while ``readers`` processes ask questions for ``seconds``. Every answer's citations are
checked against the files: a citation is invalid when its quote is not exactly the file's text at
its lines and characters and it is not marked stale, or when a sentence is shown as supported by
stale citations only. Targets: 0 asks failed, 0 citations invalid.

The writer only appends new lines at the end of files, so a quote that was exact stays exact:
anything else is a fault of the index, not of the test.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import shutil
import time
from pathlib import Path
from typing import Any

from rag.bench.run import REPO_ROOT, finish_result, result_header, target, workspace
from rag.bench.synth import SayFn, say_nothing
from rag.config import Settings

SOAK_QUESTIONS = ("Who left?", "What was released?", "What happened next?")
"""Used when the question set cannot be read; any corpus works (an answer that abstains still
has closest passages to check)."""


def soak_questions() -> list[str]:
    """The answer benchmark's questions (``eval/questions.jsonl``), else :data:`SOAK_QUESTIONS`."""
    from rag.bench.run import DEFAULT_QUESTIONS
    from rag.evaluation.data import questions_by_id

    try:
        return [q.question for q in questions_by_id(list(DEFAULT_QUESTIONS))]
    except Exception:
        return list(SOAK_QUESTIONS)


def _reader(settings_json: str, questions: list[str], deadline: Any, out: Any) -> None:
    """One asking process: loads the models (one question), says ``ready``, then asks in a loop
    until ``deadline.value`` (set once every reader is ready); counts sent to ``out``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from rag.answering import ask
    from rag.errors import user_message
    from rag.sources import CorpusFiles

    settings = Settings.model_validate_json(settings_json)
    done = failed = invalid = cited = 0
    errors: dict[str, int] = {}
    i = os.getpid()
    with contextlib.suppress(Exception):  # warm-up: models and index loaded
        ask(questions[0], settings, backend="extractive")
    out.put("ready")
    while deadline.value == 0.0:
        time.sleep(0.05)
    while time.time() < deadline.value:
        q = questions[i % len(questions)]
        i += 1
        try:
            answer = ask(q, settings, backend="extractive")
        except Exception as exc:
            failed += 1
            key = f"{type(exc).__name__}: {user_message(exc)[:160]}"
            errors[key] = errors.get(key, 0) + 1
            continue
        done += 1
        files = CorpusFiles(settings.corpus_dir)
        stale = {c.n for c in answer.citations if c.stale}
        for c in answer.citations + answer.closest:
            cited += 1
            if not c.stale and not files.quote_is_exact(c, c.quote):
                invalid += 1
        for s in answer.sentences:
            if s.verdict == "supported" and s.citations and all(n in stale for n in s.citations):
                invalid += 1
    out.put({"done": done, "failed": failed, "invalid": invalid, "cited": cited, "errors": errors})


def bench_soak(
    settings: Settings,
    *,
    seconds: float = 60.0,
    readers: int = 3,
    corpus_dir: Path | None = None,
    workdir: Path | None = None,
    say: SayFn | None = None,
) -> dict[str, Any]:
    """Rebuilds and incremental builds in a loop while ``readers`` processes ask questions."""
    from rag.index.build import build_index

    say = say or say_nothing
    t0 = time.perf_counter()
    source = Path(corpus_dir or settings.corpus_dir)
    if not source.is_dir():
        source = REPO_ROOT / "corpus"
    result = result_header("soak", {"seconds": seconds, "readers": readers, "corpus": str(source)})
    with workspace(workdir) as ws:
        corpus = ws / "corpus"
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.copytree(source, corpus)
        s = settings.model_copy(
            update={
                "corpus_dir": corpus.resolve(),
                "index_dir": (ws / "index").resolve(),
                "checker": "rules",
                "backend": "extractive",
            }
        )
        shutil.rmtree(s.index_dir, ignore_errors=True)
        say("first build")
        build_index(s)
        files = sorted(p for p in corpus.rglob("*") if p.suffix in (".txt", ".md"))
        ctx = mp.get_context("spawn")
        out: Any = ctx.Queue()
        shared_deadline: Any = ctx.Value("d", 0.0)
        procs = [
            ctx.Process(
                target=_reader,
                args=(s.model_dump_json(), soak_questions(), shared_deadline, out),
            )
            for _ in range(readers)
        ]
        for p in procs:
            p.start()
        say(f"starting {readers} readers (each loads the models first)")
        ready = 0
        while ready < readers and any(p.is_alive() for p in procs):
            try:
                ready += out.get(timeout=5) == "ready"
            except queue.Empty:
                continue
        deadline = time.time() + seconds
        shared_deadline.value = deadline
        say(f"{readers} readers asking for {seconds:.0f} s while the index is rebuilt")
        builds = {"rebuild": 0, "incremental": 0, "failed": 0}
        build_errors: list[str] = []
        n = 0
        while time.time() < deadline:
            n += 1
            try:
                if n % 2:
                    build_index(s, rebuild=True)
                    builds["rebuild"] += 1
                else:
                    f = files[n % len(files)]
                    with open(f, "a", encoding="utf-8") as fh:
                        fh.write(f"\nSoak line {n} was appended to this file at build {n}.\n")
                    build_index(s)
                    builds["incremental"] += 1
            except Exception as exc:
                builds["failed"] += 1
                build_errors.append(f"{type(exc).__name__}: {exc}"[:200])
        totals = {"done": 0, "failed": 0, "invalid": 0, "cited": 0}
        errors: dict[str, int] = {}
        got = 0
        wait_until = time.time() + 300
        while got < readers and time.time() < wait_until:
            try:
                part = out.get(timeout=5)
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    break
                continue
            got += 1
            for k in totals:
                totals[k] += part[k]
            for k, v in part["errors"].items():
                errors[k] = errors.get(k, 0) + v
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
        lost = readers - got
        generations = sorted(e.name for e in s.index_dir.iterdir() if e.name.startswith("g"))
    result.update(
        asks_done=totals["done"],
        asks_failed=totals["failed"] + lost,
        citations_checked=totals["cited"],
        citations_invalid=totals["invalid"],
        readers_lost=lost,
        builds=builds,
        build_errors=build_errors[:5],
        errors=errors,
        generations_left=len(generations),
    )
    result["targets"] = [
        target("asks failed", totals["failed"] + lost, "<=", 0),
        target("citations invalid", totals["invalid"], "<=", 0),
        target("builds failed", builds["failed"], "<=", 0),
    ]
    return finish_result(result, t0)
