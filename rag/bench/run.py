"""Benchmarks: index build throughput, answer latency per backend, retrieval at 100,000 chunks.

Speed targets live here, printed as figures and ratios with PASS/MISS, never as timed unit tests.
Each ``bench_*`` function returns a plain dict (JSON-ready); :func:`format_report` turns one into
the text ``rag bench ...`` prints and :func:`save_result` writes it under ``bench/results/``.

- :func:`bench_index`: a synthetic corpus (deterministic prose from a vocabulary in this module,
  as .txt files and a few multi-page PDFs) is indexed from scratch; the pipeline's chunks/s is
  compared with the same encoder's raw ``SentenceTransformer.encode`` on the same chunk texts in
  the same run; PDF conversion is measured in pages/s; then a no-op and a 1% incremental
  ``rag index`` are timed.
- :func:`bench_answer`: a fixed mix of questions from ``eval/questions.jsonl`` per backend:
  retrieval, first token, whole answer, check, prompt tokens (p50/p95).
- :func:`bench_retrieval`: a real index generation (manifest, chunks.jsonl, BM25, Chroma) of
  synthetic chunks with synthetic vectors, written without embedding every chunk, then
  ``retrieve_chunks`` and ``select_evidence`` timed on it.
- :func:`bench_serve`: ``rag ask --backend extractive`` wall time as a new process with no
  server (cold) and with a warm ``rag serve`` (process start included), then a loopback load
  test of concurrent clients.

Figures are wall-clock on whatever machine runs them; every result records the load average
before and after, because a busy machine makes them noisy.
"""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.bench.synth import (
    SayFn,
    build_synthetic_index,
    change_files,
    make_corpus,
    say_nothing,
    say_stderr,
)
from rag.config import Settings
from rag.evaluation.data import Question, questions_by_id
from rag.stats import percentile, summarize

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "bench" / "results"

# --- targets --------------------------------------------------------------------------------

PIPELINE_RATIO_TARGET = 0.8
"""Index build chunks/s over raw encoder chunks/s, at least."""
NOOP_RATIO_TARGET = 0.05
"""No-op ``rag index`` time over the full build time, at most."""
PDF_PAGES_PER_S_TARGET = 50.0
"""PDF text-layer conversion during a build, pages per second, at least (a 500-page PDF in 10 s)."""
FIRST_TOKEN_TARGET_MS = 3000.0
TOTAL_TARGET_MS = 10000.0
CHECK_RATIO_TARGET = 0.5
"""Check time over the rest of the answer's time (p50), at most."""
RETRIEVAL_TARGET_MS = 50.0
"""``retrieve_chunks`` p50 at 100,000 chunks, at most."""
OPEN_TARGET_S = 2.0
"""Opening a 100,000-chunk index in a new process (``open_index`` and the first dense and BM25
query, ``chromadb``'s import included), at most."""
OPEN_PEAK_TARGET_MB = 400.0
"""Peak memory that opening adds (the same span), at most."""

DEFAULT_QUESTIONS = ("q01", "q08", "q34", "q39", "q47", "q49", "q58", "q66")
"""Two single-source, two multi-source, two conflict, one unanswerable, one Chinese question."""
WARMUP_QUESTION = "q02"
# --- measuring ------------------------------------------------------------------------------


def proc_status_mb(field: str) -> float:
    """A memory field of this process's ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MiB;
    peak RSS (``ru_maxrss``) where there is no ``/proc``."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; peak RSS elsewhere)."""
    return proc_status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement of this process (Linux: ``clear_refs``); ``False`` when
    the system cannot, so that :func:`peak_rss_mb` is the peak since the process started."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    return proc_status_mb("VmHWM")


def target(name: str, value: float, op: str, goal: float, unit: str = "") -> dict[str, Any]:
    """A figure checked against its target: ``op`` is ``<=`` or ``>=``."""
    ok = value <= goal if op == "<=" else value >= goal
    return {
        "name": name,
        "value": round(value, 4),
        "op": op,
        "target": goal,
        "unit": unit,
        "status": "PASS" if ok else "MISS",
    }


def _machine() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpus": os.cpu_count(),
        "load_avg": load,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def result_header(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "benchmark": kind,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": params,
        "machine": _machine(),
        "targets": [],
        "notes": [],
    }


def finish_result(result: dict[str, Any], t0: float) -> dict[str, Any]:
    result["machine"]["load_avg_end"] = _machine()["load_avg"]
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


@contextlib.contextmanager
def workspace(workdir: Path | None) -> Iterator[Path]:
    """``workdir`` (created, kept) or a temporary folder removed afterwards."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    tmp = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _settings_for(settings: Settings, corpus: Path, index: Path) -> Settings:
    return settings.model_copy(update={"corpus_dir": corpus, "index_dir": index})


# --- profiling ------------------------------------------------------------------------------

_PHASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (label, function name, file name ending): cumulative times from cProfile
    ("plan: list, read, hash files", "_plan", ("rag/index/build.py",)),
    ("chunk_document", "chunk_document", ("rag/chunking.py",)),
    ("embed_texts (llama-index + encoder)", "embed_texts", ("rag/embeddings.py",)),
    (
        "  of which SentenceTransformer.encode",
        "encode",
        ("sentence_transformer/model.py", "sentence_transformers/SentenceTransformer.py"),
    ),
    ("_nodes (TextNode objects)", "_nodes", ("rag/index/build.py",)),
    ("ChromaVectorStore.add", "add", ("llama_index/vector_stores/chroma/base.py",)),
    ("_copy_records (kept vectors)", "_copy_records", ("rag/index/build.py",)),
    ("write_chunks (chunks.jsonl)", "write_chunks", ("rag/index/store.py",)),
    ("LexicalIndex.build", "build", ("rag/lexical.py",)),
    ("LexicalIndex.save", "save", ("rag/lexical.py",)),
    ("prune_generations", "prune_generations", ("rag/index/store.py",)),
)  # fmt: skip


def profile_call(fn: Callable[[], Any], top: int = 25) -> tuple[Any, dict[str, Any]]:
    """Run ``fn`` under cProfile: its result, the time per pipeline phase and the top functions
    by cumulative time."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    out = prof.runcall(fn)
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    phases: dict[str, float] = {}
    for label, func, suffixes in _PHASES:
        ct = sum(
            v[3]
            for (path, _line, name), v in raw.items()
            if name == func and path.replace(os.sep, "/").endswith(suffixes)
        )
        phases[label] = round(ct, 3)
    ranked = sorted(raw.items(), key=lambda kv: -kv[1][3])[:top]
    top_lines = [
        f"{v[3]:8.2f} s cum {v[2]:8.2f} s own {v[1]:>8} calls  {Path(path).name}:{line} {name}"
        for (path, line, name), v in ranked
    ]
    return out, {"total_s": round(total, 3), "phases_s": phases, "top_cumulative": top_lines}


# --- rag bench index ------------------------------------------------------------------------


def bench_index(
    settings: Settings,
    *,
    files: int = 1000,
    seed: int = 0,
    changed_fraction: float = 0.01,
    profile: bool = False,
    workdir: Path | None = None,
    say: SayFn | None = None,
    pdfs: int | None = None,
    pdf_pages: int = 10,
) -> dict[str, Any]:
    """Index a synthetic corpus of ``files`` text documents and ``pdfs`` PDFs of ``pdf_pages``
    pages (default: one PDF per 50 files, at least one) from scratch and compare the pipeline's
    chunks/s with raw ``SentenceTransformer.encode`` on the same chunk texts (same batch size,
    same run); PDF conversion is reported in pages/s; then time a no-op and an incremental build
    after changing ``changed_fraction`` of the text files. With ``profile``, one more incremental
    and one more full build run under cProfile (time per pipeline phase and the top functions)."""
    say = say or say_nothing
    from rag.embeddings import get_embedder
    from rag.index import store
    from rag.index.build import build_index

    t_start = time.perf_counter()
    if pdfs is None:
        pdfs = max(1, files // 50)
    result = result_header(
        "index",
        {
            "files": files,
            "pdfs": pdfs,
            "pdf_pages": pdf_pages,
            "seed": seed,
            "changed_fraction": changed_fraction,
            "embed_model": settings.embed_model,
            "embed_batch_size": settings.embed_batch_size,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        },
    )
    with workspace(workdir) as root:
        corpus, index = root / "corpus", root / "index"
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
        say(f"writing {files} synthetic documents and {pdfs} PDFs (seed {seed}) ...")
        t = time.perf_counter()
        result["corpus"] = make_corpus(corpus, files, seed=seed, pdfs=pdfs, pdf_pages=pdf_pages)
        result["corpus"]["write_s"] = round(time.perf_counter() - t, 3)
        s = _settings_for(settings, corpus, index)

        say("loading the embedding model ...")
        t = time.perf_counter()
        embedder = get_embedder(s.embed_model, s.embed_batch_size)
        embedder.encode_full(["warm up the encoder"] * 4)  # the encoder indexing uses
        result["model_load_s"] = round(time.perf_counter() - t, 3)

        say("full build ...")
        t, c = time.perf_counter(), time.process_time()
        full = build_index(s, rebuild=True)
        full_s, full_cpu = time.perf_counter() - t, time.process_time() - c
        chunks = store.read_chunks(index / full.generation)
        texts = [c.text for c in chunks]

        say(f"raw encoder on the same {len(texts)} chunk texts ...")
        t, c = time.perf_counter(), time.process_time()
        embedder.encode_full(texts)
        raw_s, raw_cpu = time.perf_counter() - t, time.process_time() - c

        say("no-op build ...")
        t = time.perf_counter()
        noop = build_index(s)
        noop_s = time.perf_counter() - t

        changed = change_files(corpus, changed_fraction, seed=seed)
        say(f"incremental build after changing {len(changed)} files ...")
        t = time.perf_counter()
        inc = build_index(s)
        inc_s = time.perf_counter() - t

        if profile:
            change_files(corpus, changed_fraction, seed=seed + 10)
            say("profiled incremental build (cProfile) ...")
            _, result["profile_incremental"] = profile_call(lambda: build_index(s))
            say("profiled full build (cProfile) ...")
            _, result["profile"] = profile_call(lambda: build_index(s, rebuild=True))

    tokenizer = getattr(embedder.model, "tokenizer", None)
    sample = texts[:: max(1, len(texts) // 500)]
    tokens = [len(tokenizer(t)["input_ids"]) for t in sample] if tokenizer else []
    pipeline_cps = full.chunks_embedded / full_s if full_s else 0.0
    raw_cps = len(texts) / raw_s if raw_s else 0.0
    ratio = pipeline_cps / raw_cps if raw_cps else 0.0
    result["chunks"] = {
        "count": len(texts),
        "chars_mean": round(float(np.mean([len(t) for t in texts])), 1) if texts else 0.0,
        "tokens_mean": round(float(np.mean(tokens)), 1) if tokens else None,
        "tokens_p95": round(percentile(tokens, 95) or 0.0, 1) if tokens else None,
    }
    result["full_build"] = {
        "seconds": round(full_s, 3),
        "cpu_s": round(full_cpu, 3),
        "chunks_embedded": full.chunks_embedded,
        "chunks_per_s": round(pipeline_cps, 2),
    }
    result["raw_encode"] = {
        "seconds": round(raw_s, 3),
        "cpu_s": round(raw_cpu, 3),
        "chunks": len(texts),
        "chunks_per_s": round(raw_cps, 2),
        "batch_size": embedder.batch_size,
    }
    # CPU seconds of this process (all threads): steadier than wall time on a shared machine
    result["ratio_by_cpu_time"] = round(raw_cpu / full_cpu, 4) if full_cpu else 0.0
    pages_per_s = full.pdf_pages / full.convert_seconds if full.convert_seconds else 0.0
    result["pdf_conversion"] = {
        "pdfs": len(full.converted),
        "pages": full.pdf_pages,
        "seconds": round(full.convert_seconds, 3),
        "pages_per_s": round(pages_per_s, 1),
    }
    result["noop_build"] = {"seconds": round(noop_s, 4), "wrote": noop.wrote}
    result["incremental_build"] = {
        "seconds": round(inc_s, 3),
        "files_changed": len(changed),
        "chunks_embedded": inc.chunks_embedded,
        "chunks_total": inc.chunks,
        "ratio_to_full": round(inc_s / full_s, 4) if full_s else 0.0,
    }
    result["targets"] = [
        target("pipeline chunks/s over raw encode chunks/s", ratio, ">=", PIPELINE_RATIO_TARGET),
        target("no-op rag index time over full build", noop_s / full_s, "<=", NOOP_RATIO_TARGET),
        target("PDF conversion pages/s", pages_per_s, ">=", PDF_PAGES_PER_S_TARGET, "pages/s"),
    ]
    result["notes"].append(
        "raw encode = Embedder.encode_full (SentenceTransformer.encode, one call over all chunk texts, "
        f"batch size {embedder.batch_size}); pipeline = build_index end to end (list, read, "
        "hash, chunk, embed, Chroma, chunks.jsonl, BM25, manifest); model load excluded from both"
    )
    return finish_result(result, t_start)


# --- rag bench answer -----------------------------------------------------------------------


def _answer_record(q: Question, answer: Any, wall_ms: float) -> dict[str, Any]:
    t = answer.timings_ms
    rec: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "abstained": answer.abstained,
        "sentences": len(answer.sentences),
        "citations": len(answer.citations),
        "retrieval_ms": round(t.get("retrieve", 0.0) + t.get("evidence", 0.0), 1),
        "wall_ms": round(wall_ms, 1),
    }
    if "first_token" in t and "generate" in t and t["generate"] > 1.0:
        # evidence ready -> first token: choosing the backend and the model reading the prompt
        rec["prefill_ms"] = round(t["first_token"] - rec["retrieval_ms"], 1)
    for key in ("retrieve", "evidence", "first_token", "generate", "check", "total"):
        if key in t:
            rec[f"{key}_ms"] = t[key]
    if "prompt_tokens" in t:
        rec["prompt_tokens"] = int(t["prompt_tokens"])
    if "check" in t:
        rest = t["total"] - t["check"]
        rec["check_ratio"] = round(t["check"] / rest, 4) if rest > 0 else 0.0
        if rec["sentences"]:
            rec["check_per_sentence_ms"] = round(t["check"] / rec["sentences"], 1)
    return rec


def _backend_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    def col(key: str) -> list[float]:
        return [float(r[key]) for r in records if key in r]

    summary: dict[str, Any] = {
        key: summarize(col(key))
        for key in (
            "retrieval_ms",
            "prefill_ms",
            "first_token_ms",
            "generate_ms",
            "check_ms",
            "total_ms",
            "check_ratio",
            "check_per_sentence_ms",
            "prompt_tokens",
        )
    }
    checked = [r for r in records if "check_ms" in r and r["sentences"]]
    n_sent = sum(r["sentences"] for r in checked)
    summary["check_ms_per_sentence_overall"] = (
        round(sum(r["check_ms"] for r in checked) / n_sent, 1) if n_sent else 0.0
    )
    summary["abstained"] = sum(1 for r in records if r["abstained"])
    return summary


def _forget_sentence_vectors(handle: Any) -> None:
    """Empty the handle's cache of sentence embeddings, so that every question pays for
    embedding its candidate sentences as a fresh ``rag ask`` does."""
    cache = getattr(handle, "_sentence_cache", None)
    if isinstance(cache, dict):
        cache.clear()


def bench_answer(
    settings: Settings,
    *,
    backends: Sequence[str] | None = None,
    question_ids: Sequence[str] = DEFAULT_QUESTIONS,
    questions_file: Path | None = None,
    corpus_dir: Path | None = None,
    index_dir: Path | None = None,
    workdir: Path | None = None,
    say: SayFn | None = None,
) -> dict[str, Any]:
    """Ask a fixed mix of questions of the corpus with each backend (default: extractive,
    embedded, and ollama when a server answers) and summarise the timings (p50/p95).

    The corpus (default ``settings.corpus_dir``) is indexed into a temporary folder first,
    unless ``index_dir`` names an index already built of it (used read-only).
    Before the timed questions, each backend's model is loaded and one question is asked
    untimed; the load and warm-up times are reported separately."""
    say = say or say_nothing
    from rag import prompts
    from rag.answering import ask
    from rag.index.build import build_index
    from rag.llm import EmbeddedLLM, LLMError, ollama_reachable
    from rag.retrieval import open_index

    t_start = time.perf_counter()
    questions = questions_by_id(list(question_ids), questions_file)
    warm_q = questions_by_id([WARMUP_QUESTION], questions_file)[0]
    reachable = ollama_reachable(settings.ollama_host)
    if not backends:
        backends = ["extractive", "embedded"] + (["ollama"] if reachable else [])
    result = result_header(
        "answer",
        {
            "backends": list(backends),
            "questions": [q.id for q in questions],
            "warmup_question": warm_q.id,
            "checker": settings.checker,
            "max_tokens": settings.max_tokens,
            "evidence_k": settings.evidence_k,
            "llm_threads": settings.llm_threads,
        },
    )
    with workspace(workdir) as root:
        corpus = (corpus_dir or settings.corpus_dir).resolve()
        s = _settings_for(settings, corpus, (index_dir or root / "index").resolve())
        result["index"] = {"reused": index_dir is not None}
        if index_dir is None:
            say(f"indexing {corpus} ...")
            t = time.perf_counter()
            build_index(s, rebuild=True)
            result["index"]["seconds"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        handle = open_index(s)
        handle.embedder.embed_query("warm up")
        result["index"]["open_s"] = round(time.perf_counter() - t, 3)
        result["index"]["chunks"] = len(handle.chunks)

        result["backends"] = {}
        for backend in backends:
            entry: dict[str, Any] = {}
            result["backends"][backend] = entry
            if backend == "ollama" and not reachable:
                entry["skipped"] = f"Ollama not reachable at {settings.ollama_host}"
                say(f"{backend}: skipped ({entry['skipped']})")
                continue
            try:
                if backend == "embedded":
                    say("embedded: loading the model ...")
                    t = time.perf_counter()
                    llm = EmbeddedLLM.from_settings(s)
                    entry["weights_check_s"] = round(time.perf_counter() - t, 3)
                    entry["model_load_s"] = round(llm.load(), 3)
                say(f"{backend}: warm-up question {warm_q.id} (untimed) ...")
                t = time.perf_counter()
                ask(warm_q.question, s, backend=backend)
                entry["warmup_s"] = round(time.perf_counter() - t, 3)
                if backend == "embedded":
                    entry["system_prompt_tokens"] = llm.count_tokens(prompts.ANSWER_SYSTEM)
                records = []
                for q in questions:
                    say(f"{backend}: {q.id} {q.question[:60]}")
                    _forget_sentence_vectors(handle)
                    t = time.perf_counter()
                    answer = ask(q.question, s, backend=backend)
                    records.append(_answer_record(q, answer, (time.perf_counter() - t) * 1000))
                    entry.setdefault("model", answer.model)
            except LLMError as exc:
                entry["skipped"] = str(exc)
                say(f"{backend}: skipped ({exc})")
                continue
            entry["questions"] = records
            entry["summary"] = summary = _backend_summary(records)
            if backend != "extractive":
                result["targets"] += [
                    target(
                        f"{backend}: first token p50",
                        summary["first_token_ms"]["p50"],
                        "<=",
                        FIRST_TOKEN_TARGET_MS,
                        "ms",
                    ),
                    target(
                        f"{backend}: whole answer p50",
                        summary["total_ms"]["p50"],
                        "<=",
                        TOTAL_TARGET_MS,
                        "ms",
                    ),
                    target(
                        f"{backend}: check / (total - check) p50",
                        summary["check_ratio"]["p50"],
                        "<=",
                        CHECK_RATIO_TARGET,
                    ),
                ]
    result["notes"].append(
        "the cache of sentence embeddings is emptied before each timed question (as in a fresh "
        "`rag ask`), so retrieval includes embedding the candidate sentences"
    )
    result["notes"].append(
        f"p95 over {len(questions)} questions is close to the maximum; first token is timed "
        "from the start of ask() (it includes retrieval); the check ratio and per-sentence cost "
        "count only answers whose sentences were checked"
    )
    return finish_result(result, t_start)


def _build_here(
    settings: Settings, chunks: int, seed: int, basis: int, say: SayFn | None
) -> dict[str, Any]:
    return build_synthetic_index(settings, chunks, seed=seed, basis_sentences=basis, say=say)


def _build_in_child(
    settings: Settings, chunks: int, seed: int, basis: int, say: SayFn | None
) -> dict[str, Any]:
    """:func:`build_synthetic_index` in a fresh process, so that what the build leaves in
    memory does not count as the memory of the loaded index."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    child_say = say_stderr if say is not None and say is not say_nothing else None
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(
            build_synthetic_index, settings, chunks, seed=seed, basis_sentences=basis, say=child_say
        )
        return future.result()


def measure_open(settings: Settings, query: str) -> dict[str, Any]:
    """Open the index and run one dense and one BM25 query, timed, with the memory it takes
    (RSS before, after, and the peak between). Meant for a new process (:func:`open_in_child`):
    the embedding model is loaded and the query embedded before the clock starts, so that the
    figures are the index's alone; ``chromadb``'s import is the index's and counts."""
    from rag.embeddings import get_embedder
    from rag.retrieval import open_index

    q = get_embedder(settings.embed_model, settings.embed_batch_size).embed_query(query)
    exact_peak = reset_peak_rss()
    rss0 = rss_mb()
    t = time.perf_counter()
    handle = open_index(settings)
    open_s = time.perf_counter() - t
    rss1 = rss_mb()
    t = time.perf_counter()
    handle.dense(q, settings.top_k * 3)
    dense_s = time.perf_counter() - t
    t = time.perf_counter()
    handle.lexical.search(query, settings.top_k * 3)
    bm25_s = time.perf_counter() - t
    return {
        "open_index_s": round(open_s, 3),
        "first_dense_query_s": round(dense_s, 3),
        "first_bm25_query_s": round(bm25_s, 3),
        "open_and_first_query_s": round(open_s + dense_s + bm25_s, 3),
        "rss_before_mb": round(rss0, 1),
        "rss_after_open_mb": round(rss1, 1),
        "rss_after_first_query_mb": round(rss_mb(), 1),
        "peak_added_mb": round(peak_rss_mb() - rss0, 1),
        "peak_exact": exact_peak,
        "chunks": len(handle.chunks),
    }


def open_in_child(settings: Settings, query: str) -> dict[str, Any]:
    """:func:`measure_open` in a new process (as a cold ``rag ask`` or a fresh server opens the
    index): nothing imported or loaded by this one counts."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure_open, settings, query).result()


def _params_match(root: Path, params: dict[str, Any]) -> bool:
    try:
        saved = json.loads((root / "bench_params.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(saved == params)


def bench_retrieval(
    settings: Settings,
    *,
    chunks: int = 100_000,
    queries: int = 50,
    seed: int = 0,
    basis_sentences: int = 3000,
    workdir: Path | None = None,
    isolate: bool = True,
    say: SayFn | None = None,
) -> dict[str, Any]:
    """Retrieval latency over a synthetic index of at least ``chunks`` chunks: the one-time
    ``open_index`` (and first query), the memory of the loaded index, then p50/p95 of the query
    embedding, dense search, BM25, ``retrieve_chunks`` (dense + BM25 + fusion) and
    ``select_evidence`` over ``queries`` questions.

    With ``workdir``, the synthetic index is kept there and reused by a later run with the same
    parameters. With ``isolate`` (the default) it is built in a child process, so that the
    memory figure is that of the loaded index alone."""
    say = say or say_nothing
    from rag.embeddings import get_embedder
    from rag.retrieval import open_index, retrieve_chunks, select_evidence

    t_start = time.perf_counter()
    params = {
        "chunks": chunks,
        "seed": seed,
        "basis_sentences": basis_sentences,
        "embed_model": settings.embed_model,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
    }
    result = result_header("retrieval", {**params, "queries": queries, "top_k": settings.top_k})
    result["notes"].append(
        "VECTORS ARE SYNTHETIC: chunk texts, sentences, spans, BM25 and the Chroma layout are "
        "real, but each chunk vector is a random mix of real embeddings of sampled sentences plus "
        "noise, not the embedding of its text. Timings and the HNSW graph are realistic; "
        "rankings are not."
    )
    with workspace(workdir) as root:
        s = _settings_for(settings, root / "corpus", root / "index")
        embedder = get_embedder(s.embed_model, s.embed_batch_size)
        embedder.embed_query("warm up")
        if workdir is not None and _params_match(root, params):
            say(f"reusing the synthetic index in {root}")
            info = json.loads((root / "build_info.json").read_text(encoding="utf-8"))
            info["reused"] = True
        else:
            (root / "bench_params.json").unlink(missing_ok=True)
            build = _build_in_child if isolate else _build_here
            info = build(s, chunks, seed, basis_sentences, say)
            (root / "build_info.json").write_text(json.dumps(info), encoding="utf-8")
            (root / "bench_params.json").write_text(json.dumps(params), encoding="utf-8")
        pool = info.pop("queries_pool")
        result["build"] = info

        say("opening the index in a new process ...")
        result["open"] = open_in_child(s, pool[0])
        say("opening the index here ...")
        rss0 = rss_mb()
        t = time.perf_counter()
        handle = open_index(s)
        open_s = time.perf_counter() - t
        rss1 = rss_mb()
        q0 = embedder.embed_query(pool[0])
        t = time.perf_counter()
        handle.dense(q0, s.top_k * 3)
        first_dense_s = time.perf_counter() - t
        t = time.perf_counter()
        handle.lexical.search(pool[0], s.top_k * 3)
        first_bm25_s = time.perf_counter() - t
        rss2 = rss_mb()
        result["load"] = {
            "open_index_s": round(open_s, 3),
            "first_dense_query_s": round(first_dense_s, 3),
            "first_bm25_query_s": round(first_bm25_s, 3),
            "rss_before_mb": round(rss0, 1),
            "rss_after_open_mb": round(rss1, 1),
            "rss_after_first_query_mb": round(rss2, 1),
            "index_rss_mb": round(rss2 - rss0, 1),
            "chunks_loaded": len(handle.chunks),
        }

        for q in pool[1:4]:  # warm caches the way a running app would be
            retrieve_chunks(handle, q, s.top_k)
        timed: dict[str, list[float]] = {
            k: []
            for k in (
                "embed_query",
                "dense",
                "bm25",
                "retrieve_chunks",
                "retrieve",
                "select_evidence",
            )
        }
        say(f"timing {queries} queries ...")
        depth = max(s.top_k * 3, 20)
        for q in pool[4 : 4 + queries]:
            t = time.perf_counter()
            qe = embedder.embed_query(q)
            t_embed = time.perf_counter() - t
            t = time.perf_counter()
            found = retrieve_chunks(handle, q, s.top_k, qe)
            t_chunks = time.perf_counter() - t
            t = time.perf_counter()
            select_evidence(handle, q, found, s.evidence_k, qe)
            timed["select_evidence"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()  # the two searches of retrieve_chunks, alone
            handle.dense(qe, depth)
            timed["dense"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            handle.lexical.search(q, depth)
            timed["bm25"].append((time.perf_counter() - t) * 1000)
            timed["embed_query"].append(t_embed * 1000)
            timed["retrieve_chunks"].append(t_chunks * 1000)
            timed["retrieve"].append((t_embed + t_chunks) * 1000)
    result["timings_ms"] = {k: summarize(v) for k, v in timed.items()}
    opened = result["open"]
    result["targets"] = [
        target(
            f"open {opened['chunks']:,} chunks in a new process (open_index + first dense and "
            "BM25 query)",
            opened["open_and_first_query_s"],
            "<=",
            OPEN_TARGET_S,
            "s",
        ),
        target(
            "peak memory added by that opening",
            opened["peak_added_mb"],
            "<=",
            OPEN_PEAK_TARGET_MB,
            "MiB",
        ),
        target(
            f"retrieve_chunks p50 at {info['chunks']:,} chunks (dense + BM25 + fusion, "
            "query embedding given)",
            result["timings_ms"]["retrieve_chunks"]["p50"],
            "<=",
            RETRIEVAL_TARGET_MS,
            "ms",
        ),
        target(
            "retrieve p50 incl. query embedding (as timings_ms.retrieve)",
            result["timings_ms"]["retrieve"]["p50"],
            "<=",
            RETRIEVAL_TARGET_MS,
            "ms",
        ),
    ]
    result["notes"].append(
        "per query, retrieve_chunks is timed first, then select_evidence, then dense and BM25 "
        "alone (these two then find the query's pages warm); select_evidence embeds the "
        "candidate sentences of the retrieved chunks with the real model (cached per process; "
        "mostly cold here, as each query reaches other chunks)"
    )
    return finish_result(result, t_start)


# --- rag bench serve --------------------------------------------------------------------------
# What a warm ``rag serve`` buys, measured from outside as a user sees it:
# - cold: ``rag ask --backend extractive`` as a new process with no server (the probe finds none),
#   wall time including the interpreter's start;
# - warm: the same command while ``rag serve`` runs (process start, probe and answer included);
# - load: ``clients`` threads each asking ``per_client`` extractive questions over loopback HTTP
#   at once: errors, latency p50/p95 and questions/s.
# The server is started with ``--backend extractive`` (no LLM is loaded; the questions are
# extractive anyway).

WARM_TARGET_MS = 1000.0
"""``rag ask --backend extractive`` wall time with a warm server, p50, at most."""
COLD_TARGET_MS = 5000.0
"""The same with no server, p50, at most."""
SERVER_START_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(settings: Settings, url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAG_") and k != "PYTHONDONTWRITEBYTECODE"
    }  # an installed package has its bytecode cached: let the first run write it
    if "RAG_CACHE_DIR" in os.environ:
        env["RAG_CACHE_DIR"] = os.environ["RAG_CACHE_DIR"]
    env.update(
        RAG_CORPUS_DIR=str(settings.corpus_dir),
        RAG_INDEX_DIR=str(settings.index_dir),
        RAG_SERVER_URL=url,
        RAG_EMBED_MODEL=settings.embed_model,
    )
    return env


def timed_ask(env: dict[str, str], question: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "--backend", "extractive", question],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return (time.perf_counter() - t) * 1000, out


def timed_asks(
    env: dict[str, str], questions: list[str], runs: int, label: str, where: str, say: SayFn
) -> list[float]:
    """Wall times (ms) of ``runs`` ``rag ask`` processes over ``questions`` in turn."""
    times: list[float] = []
    for i in range(runs):
        q = questions[i % len(questions)]
        say(f"{label} {i + 1}/{runs}: rag ask ({where}) {q[:50]}")
        ms, out = timed_ask(env, q)
        if out.returncode != 0:
            raise RuntimeError(f"rag ask failed: {out.stderr.strip()[-500:]}")
        times.append(ms)
    return times


def post(url: str, body: dict[str, Any], timeout: float = 300) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def get(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def asks_served(url: str) -> int:
    return int(get(url + "/status")["server"]["requests"]["ask"])


def bench_serve(
    settings: Settings,
    *,
    question_ids: Sequence[str] = DEFAULT_QUESTIONS,
    cold_runs: int = 5,
    warm_runs: int = 10,
    clients: int = 20,
    per_client: int = 10,
    index_dir: Path | None = None,
    workdir: Path | None = None,
    say: SayFn | None = None,
) -> dict[str, Any]:
    """Cold and warm ``rag ask`` wall times and a loopback load test (see the module doc)."""
    say = say or say_nothing
    t_start = time.perf_counter()
    questions = [q.question for q in questions_by_id(list(question_ids))]
    result = result_header(
        "serve",
        {
            "questions": list(question_ids),
            "cold_runs": cold_runs,
            "warm_runs": warm_runs,
            "clients": clients,
            "per_client": per_client,
        },
    )
    with workspace(workdir) as root:
        corpus = settings.corpus_dir.resolve()
        s = _settings_for(settings, corpus, (index_dir or root / "index").resolve())
        result["index"] = {"reused": index_dir is not None}
        if index_dir is None:
            from rag.index.build import build_index

            say(f"indexing {corpus} ...")
            build_index(s, rebuild=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = cli_env(s, url)

        cold = timed_asks(env, questions, cold_runs, "cold", "no server", say)

        say("starting rag serve ...")
        t = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--backend", "extractive"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            while True:
                try:
                    get(url + "/health", timeout=2)
                    break
                except (OSError, ValueError):
                    if (
                        server.poll() is not None
                        or time.perf_counter() - t > SERVER_START_TIMEOUT_S
                    ):
                        err = server.stderr.read() if server.stderr else ""
                        raise RuntimeError(f"rag serve did not start: {err[-500:]}") from None
                    time.sleep(0.25)
            result["server_ready_s"] = round(time.perf_counter() - t, 2)

            before = asks_served(url)
            warm = timed_asks(env, questions, warm_runs, "warm", "server", say)
            served = asks_served(url) - before
            if served != warm_runs:
                result["notes"].append(
                    f"only {served} of {warm_runs} warm questions went to the server"
                )

            say(f"load: {clients} clients x {per_client} questions ...")
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()

            def client(c: int) -> None:
                for j in range(per_client):
                    q = questions[(c + j) % len(questions)]
                    t0 = time.perf_counter()
                    try:
                        data = post(url + "/ask", {"question": q, "backend": "extractive"})
                        ok = data.get("question") == q
                        problem = None if ok else "an answer to another question"
                    except (OSError, ValueError) as exc:
                        problem = f"{type(exc).__name__}: {exc}"
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        latencies.append(ms)
                        if problem:
                            errors.append(problem)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
            t0 = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            load_s = time.perf_counter() - t0
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    result["cold_ms"] = summarize(cold)
    result["warm_ms"] = summarize(warm)
    result["load"] = {
        "questions": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "seconds": round(load_s, 2),
        "questions_per_s": round(len(latencies) / load_s, 2) if load_s else 0.0,
        "latency_ms": summarize(latencies),
    }
    result["targets"] += [
        target(
            "rag ask, warm server: wall p50", result["warm_ms"]["p50"], "<=", WARM_TARGET_MS, "ms"
        ),  # fmt: skip
        target(
            "rag ask, no server (cold): wall p50",
            result["cold_ms"]["p50"],
            "<=",
            COLD_TARGET_MS,
            "ms",
        ),  # fmt: skip
        target(f"load {clients}x{per_client}: errors", float(len(errors)), "<=", 0.0),
    ]
    result["notes"].append(
        "wall times of a new `rag ask --backend extractive` process, interpreter start included "
        "(bytecode caching allowed, as in an installed package); the server runs extractive "
        "(no LLM loaded)"
    )
    return finish_result(result, t_start)
