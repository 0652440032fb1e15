"""Running the questions through ``rag.ask`` and recording what each answer got right."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.evaluation.data import QUESTIONS_FILE, EvalCorpus, Question, interleave_by_type
from rag.evaluation.metrics import (
    SupportCache,
    aggregate,
    failure_reasons,
    score_answer,
)
from rag.evaluation.results import EvalFile, EvalRun, Progress, now
from rag.index.status import snapshot_dir
from rag.schema import Answer, Span

# --- running ---------------------------------------------------------------------------------


def corpus_settings(settings: Settings, corpus: EvalCorpus) -> Settings:
    """Settings that index and ask ``corpus``: its folder, and an index beside the usual one
    (``index-licenses`` next to ``index``) so the two never mix."""
    index = settings.index_dir.with_name(f"{settings.index_dir.name}-{corpus.name}")
    return settings.model_copy(
        update={"corpus_dir": corpus.corpus_dir.resolve(), "index_dir": index.resolve()}
    )


def eval_settings(settings: Settings, judge: bool) -> Settings:
    """``settings`` for an evaluation run: ``judge`` forces the LLM judge on (even for the
    extractive backend), as ``RAG_CHECKER=llm`` would."""
    return settings.model_copy(update={"checker": "llm"}) if judge else settings


def run_eval(
    settings: Settings,
    questions: Sequence[Question],
    backend: str = "extractive",
    *,
    judge: bool = False,
    subset: str | None = None,
    corpus: str = "",
    limit: int | None = None,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    on_record: Callable[[EvalRun], None] | None = None,
) -> EvalRun:
    """Ask every question through ``rag.answering.ask`` with ``backend`` and measure it.

    Retrieval recall comes from ``rag.retrieval.retrieve`` called with the same cleaned question
    (the call ``ask`` makes). ``max_seconds``: start no new question after that long (the run is
    marked ``stopped_early``). ``on_record`` sees the run after each question (for saving
    partial results).
    """
    from rag.answering import ask, clean_question
    from rag.errors import QuestionError
    from rag.llm import choose_backends
    from rag.retrieval import retrieve
    from rag.verify import Checker

    settings = eval_settings(settings, judge)
    chosen = choose_backends(settings, backend, True)
    checker = Checker(chosen.judge, settings.support_threshold, sure=settings.sure_threshold)
    support = SupportCache(checker)
    run = EvalRun(
        backend=chosen.name,
        requested_backend=backend,
        model=chosen.model,
        checker=checker.mode,
        judge_flag=judge,
        subset=subset,
        corpus=corpus,
        limit=limit,
        started_at=now(),
        seconds=0.0,
        settings=_settings_summary(settings),
        notices=list(chosen.notices),
    )
    # load the index, the embedder and the model first: cold start is not a question's latency
    t_warm = time.perf_counter()
    retrieve(settings, "warm up")
    if chosen.llm is not None and hasattr(chosen.llm, "load"):
        chosen.llm.load()
    run.warmup_seconds = round(time.perf_counter() - t_warm, 1)
    t0 = time.perf_counter()
    total = len(questions)
    for i, q in enumerate(questions):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            run.stopped_early = True
            break
        if progress:
            progress(i, total, q.id)
        try:
            answer = ask(q.question, settings, backend=backend)
        except QuestionError as exc:
            answer = Answer(
                question=q.question, answer="", abstained=True, backend=chosen.name, model=""
            )
            error: str | None = str(exc)
        else:
            error = None
        try:
            found = retrieve(settings, clean_question(q.question))
            evidence: list[Span] | None = list(found.evidence)
            chunks: list[Span] | None = [r.chunk for r in found.chunks]
        except QuestionError:
            evidence = chunks = None
        rec = score_answer(
            q,
            answer,
            settings.corpus_dir,
            support,
            evidence=evidence,
            chunks=chunks,
            snapshots=snapshot_dir(settings),
        )
        if error:
            rec.error = error
            rec.failures = failure_reasons(rec)
        run.records.append(rec)
        run.seconds = round(time.perf_counter() - t0, 1)
        if on_record:
            run.metrics = aggregate(run.records)
            on_record(run)
    if progress:
        progress(len(run.records), total, "")
    run.seconds = round(time.perf_counter() - t0, 1)
    run.metrics = aggregate(run.records)
    run.metrics["judge_calls_for_metrics"] = support.calls
    return run


def _settings_summary(settings: Settings) -> dict[str, Any]:
    from rag.index import store

    out: dict[str, Any] = {
        k: getattr(settings, k)
        for k in (
            "top_k", "evidence_k", "embed_model", "chunk_size", "chunk_overlap", "max_tokens",
            "temperature", "checker", "support_threshold", "strict", "llm_threads", "llm_ctx",
        )
    }  # fmt: skip
    out["corpus_dir"] = str(settings.corpus_dir)
    out["index_dir"] = str(settings.index_dir)
    try:
        out["index_generation"] = store.current_generation(settings.index_dir)
    except Exception:  # pragma: no cover - status is informative only
        out["index_generation"] = None
    return out


def run_backends(
    settings: Settings,
    questions: Sequence[Question],
    backends: Sequence[str],
    *,
    judge: bool = False,
    subset: str | None = None,
    limit: int | None = None,
    max_seconds: float | None = None,
    progress_for: Callable[[str], Progress | None] | None = None,
    on_update: Callable[[EvalFile], None] | None = None,
    questions_file: Path | None = None,
    corpus: str = "",
) -> EvalFile:
    """``run_eval`` for each backend in turn, collected in one :class:`EvalFile`.

    ``max_seconds`` applies per backend; with it, questions are interleaved by type so that a run
    cut short still covers every type. ``on_update`` sees the file after every question.
    """
    if max_seconds is not None:
        questions = interleave_by_type(questions)
    data = EvalFile(questions_file=str(questions_file or QUESTIONS_FILE))
    for backend in backends:
        done = list(data.runs)

        def update(run: EvalRun, done: list[EvalRun] = done) -> None:
            if on_update:
                data.runs = [*done, run]
                on_update(data)

        run = run_eval(
            settings,
            questions,
            backend,
            judge=judge,
            subset=subset,
            corpus=corpus,
            limit=limit,
            max_seconds=max_seconds,
            progress=progress_for(backend) if progress_for else None,
            on_record=update,
        )
        data.runs = [*done, run]
        if on_update:
            on_update(data)
    return data
