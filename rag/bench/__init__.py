"""``rag bench``: speed and memory figures with their targets. ``synth`` makes synthetic prose and
indexes, ``run`` measures (index, answer, retrieval, serve), ``format`` prints and saves results.
"""

from __future__ import annotations

from rag.bench.format import (
    format_report,
    output,
    save_result,
)
from rag.bench.run import (
    CHECK_RATIO_TARGET,
    COLD_TARGET_MS,
    DEFAULT_QUESTIONS,
    FIRST_TOKEN_TARGET_MS,
    NOOP_RATIO_TARGET,
    PIPELINE_RATIO_TARGET,
    REPO_ROOT,
    RESULTS_DIR,
    RETRIEVAL_TARGET_MS,
    TOTAL_TARGET_MS,
    WARM_TARGET_MS,
    WARMUP_QUESTION,
    bench_answer,
    bench_index,
    bench_retrieval,
    bench_serve,
    profile_call,
    rss_mb,
    target,
)
from rag.bench.synth import (
    ProseGenerator,
    SayFn,
    build_synthetic_index,
    change_files,
    make_corpus,
    say_nothing,
    say_stderr,
)
from rag.stats import summarize

__all__ = [
    "CHECK_RATIO_TARGET",
    "COLD_TARGET_MS",
    "DEFAULT_QUESTIONS",
    "FIRST_TOKEN_TARGET_MS",
    "NOOP_RATIO_TARGET",
    "PIPELINE_RATIO_TARGET",
    "ProseGenerator",
    "REPO_ROOT",
    "RESULTS_DIR",
    "RETRIEVAL_TARGET_MS",
    "SayFn",
    "TOTAL_TARGET_MS",
    "WARM_TARGET_MS",
    "WARMUP_QUESTION",
    "bench_answer",
    "bench_index",
    "bench_retrieval",
    "bench_serve",
    "build_synthetic_index",
    "change_files",
    "format_report",
    "make_corpus",
    "output",
    "profile_call",
    "rss_mb",
    "save_result",
    "say_nothing",
    "say_stderr",
    "summarize",
    "target",
]
