"""The ``rag`` command: index a folder, ask a question, check a draft, evaluate, benchmark, chat.

Every command calls the library (``rag.index.build``, ``rag.answering``, ...); nothing here is logic
another surface would need. Errors the user can fix print one line and exit non-zero.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def friendly(fn: F) -> F:
    """Turn every failure into one line on stderr and a non-zero exit (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except SystemExit:
            raise
        except Exception as exc:
            if os.environ.get("RAG_DEBUG"):
                raise
            from rag.errors import user_errors, user_message

            if isinstance(exc, user_errors()):
                fail(user_message(exc))
            fail(f"unexpected {type(exc).__name__}: {exc} (set RAG_DEBUG=1 for the traceback)")

    return wrapper  # type: ignore[return-value]


def load_settings(**overrides: Any) -> Any:
    from rag.config import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values).resolved()


@click.group()
@click.version_option(package_name="rag-qa")
def main() -> None:
    """Ask questions of a folder of documents; every answer sentence cites its source lines."""


# --- rag index / status ---------------------------------------------------------------------


@main.command("index")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Start from an empty index.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly
def index_cmd(folder: Path | None, rebuild: bool, index_dir: Path | None, quiet: bool) -> None:
    """Index FOLDER (default: RAG_CORPUS_DIR): only new or changed files are embedded."""
    from tqdm import tqdm

    from rag.index.build import build_index

    settings = load_settings(corpus_dir=folder, index_dir=index_dir)
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet or total == 0:
            return
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = build_index(settings, rebuild=rebuild, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for path, reason in sorted(report.skipped.items()):
        click.echo(f"warning: skipped {path}: {reason}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(report.summary())


NO_SERVER = click.option(
    "--no-server",
    is_flag=True,
    help="Work in-process even when `rag serve` is running (RAG_NO_SERVER).",
)


def server_for(settings: Any) -> str | None:
    """The URL of a running ``rag serve`` with the same settings, or None (work in-process)."""
    from rag.client import find_server

    return find_server(settings)


@main.command("status")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@NO_SERVER
@friendly
def status_cmd(index_dir: Path | None, as_json: bool, no_server: bool) -> None:
    """What the index holds and how it was built."""
    settings = load_settings(index_dir=index_dir, no_server=no_server or None)
    url = server_for(settings)
    if url:
        from rag.client import call

        info = call(settings, url, "GET", "/status")
        info.pop("server", None)
    else:
        from rag.index.status import index_status

        info = index_status(settings)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    if not info["exists"]:
        fail(f"no index in {info['index_dir']}: run `rag index`")
    click.echo(f"index      {info['index_dir']} (generation {info['generation']})")
    click.echo(f"corpus     {info['corpus_dir']}")
    click.echo(f"built      {info['built_at']} in {info['build_seconds']:.1f} s")
    click.echo(
        f"files      {info['files']}  chunks {info['chunks']}  skipped {len(info['skipped'])}"
    )
    click.echo(f"embedding  {info['embed_model']} ({info['embed_dim']} dims)")
    click.echo(
        f"chunking   {info['chunk_size']} chars, overlap {info['chunk_overlap']} sentence(s)"
    )
    click.echo(f"chroma     {info['chroma']}")
    stale = info["stale"]
    if any(stale.values()):
        parts = [f"{len(v)} {k}" for k, v in stale.items() if v]
        click.echo(f"stale      {', '.join(parts)} since the build: run `rag index`")
    else:
        click.echo("stale      no: the index matches the corpus")


# --- rag ask --------------------------------------------------------------------------------


@main.command("ask")
@click.argument("question")
@click.option(
    "--backend",
    type=click.Choice(["auto", "ollama", "embedded", "extractive"]),
    help="What writes the answer (default RAG_BACKEND, auto).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--strict", is_flag=True, default=None, help="Drop unsupported/uncited sentences.")
@click.option("--no-check", is_flag=True, help="Skip checking sentences against their citations.")
@click.option("-k", "evidence_k", type=click.IntRange(1, 30), help="Passages given to the model.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@NO_SERVER
@friendly
def ask_cmd(
    question: str,
    backend: str | None,
    as_json: bool,
    strict: bool | None,
    no_check: bool,
    evidence_k: int | None,
    index_dir: Path | None,
    no_server: bool,
) -> None:
    """Answer QUESTION from the index, citing file and lines for every sentence.

    When `rag serve` runs with the same settings (RAG_SERVER_URL), it answers (warm, fast);
    the output is the same."""
    from rag.render import render_answer_terminal

    settings = load_settings(index_dir=index_dir, no_server=no_server or None)
    streamed: list[str] = []

    def on_token(text: str) -> None:
        streamed.append(text)
        click.echo(text, nl=False)

    url = server_for(settings)
    if url:
        answer = ask_server(settings, url, question, backend, strict, not no_check, evidence_k, None if as_json else on_token)  # fmt: skip
    else:
        from rag.answering import ask

        answer = ask(
            question,
            settings,
            backend=backend,
            strict=strict,
            check=not no_check,
            on_token=None if as_json else on_token,
            evidence_k=evidence_k,
        )
    if as_json:
        click.echo(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
        return
    if streamed:
        click.echo("\n")
    click.echo(render_answer_terminal(answer, settings.corpus_dir, color=sys.stdout.isatty()))


def ask_server(
    settings: Any,
    url: str,
    question: str,
    backend: str | None,
    strict: bool | None,
    check: bool,
    evidence_k: int | None,
    on_token: Callable[[str], None] | None,
) -> Any:
    """The answer from a running server, as the same :class:`Answer` ``ask`` returns; tokens
    go to ``on_token`` as they come."""
    from rag import client
    from rag.errors import ServerError
    from rag.schema import Answer

    body: dict[str, Any] = {
        "question": question,
        "backend": backend or settings.backend,
        "strict": settings.strict if strict is None else strict,
        "check": check,
        "evidence_k": evidence_k or settings.evidence_k,
    }
    if on_token is None:
        return Answer.model_validate(client.call(settings, url, "POST", "/ask", body))
    for event in client.stream(settings, url, "/ask", body):
        if event.get("type") == "token":
            on_token(str(event["text"]))
        elif event.get("type") == "answer":
            return Answer.model_validate(event["answer"])
    raise ServerError(f"the server at {url} ended the answer early: try again")


def answer_json(answer: Any) -> dict[str, Any]:
    data: dict[str, Any] = answer.model_dump()
    return data


# --- rag eval -------------------------------------------------------------------------------


@main.command("eval")
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(["extractive", "embedded", "ollama", "auto"]),
    help="Backend to evaluate (repeat to compare several). Default: extractive.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N questions.")
@click.option("--subset", help="A named subset from eval/subset.txt (ci: the fast CI subset).")
@click.option("--id", "ids", multiple=True, help="Only this question id (repeatable).")
@click.option("--max-seconds", type=click.FloatRange(min=1), help="Stop starting questions after this long per backend (questions interleaved by type).")  # fmt: skip
@click.option("--judge", is_flag=True, help="Use the LLM judge even for extractive (RAG_CHECKER=llm).")  # fmt: skip
@click.option("--claims", "claims_mode", is_flag=True, help="Evaluate the checker on eval/claims.jsonl instead.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure and record.")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), help="Save the run as JSON (updated after every question).")  # fmt: skip
@click.option("--report", "report_dir", type=click.Path(path_type=Path), help="Write report.md and plots into DIR.")  # fmt: skip
@click.option("--html", "as_html", is_flag=True, help="Write report.html instead of report.md.")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), help="Compare two saved runs: A.json B.json.")  # fmt: skip
@click.option("--load", "loads", multiple=True, type=click.Path(path_type=Path), help="Use saved run(s) instead of running (for --report/--gate; repeatable).")  # fmt: skip
@click.option("--gate", type=click.Path(path_type=Path), help="Exit 1 if a metric is below its threshold in this file.")  # fmt: skip
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), help="Question set (default eval/questions.jsonl).")  # fmt: skip
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly
def eval_cmd(
    backends: tuple[str, ...],
    limit: int | None,
    subset: str | None,
    ids: tuple[str, ...],
    max_seconds: float | None,
    judge: bool,
    claims_mode: bool,
    as_json: bool,
    out: Path | None,
    report_dir: Path | None,
    as_html: bool,
    compare: tuple[Path, Path] | None,
    loads: tuple[Path, ...],
    gate: Path | None,
    questions_file: Path | None,
    index_dir: Path | None,
    quiet: bool,
) -> None:
    """Evaluate answers, citations, abstention and latency on the question set (or, with
    --claims, the checker on the claims set)."""
    from tqdm import tqdm

    from rag import evaluation as ev
    from rag.evaluation.report import write_report

    bars: list[Any] = []

    def progress_for(desc: str) -> Any:
        if quiet:
            return None

        def progress(done: int, total: int, label: str) -> None:
            if not bars or bars[-1].desc != desc:
                bars.append(tqdm(total=total, desc=desc, unit="q", file=sys.stderr))
            bars[-1].set_postfix_str(label)
            bars[-1].update(done - bars[-1].n)
            if done >= total:
                bars[-1].close()

        return progress

    try:
        if compare:
            a, b = ev.read_eval_file(compare[0]), ev.read_eval_file(compare[1])
            comparisons = [ev.compare_runs(ra, rb) for ra, rb in ev.pair_runs(a, b)]
            if as_json:
                click.echo(json.dumps([c.model_dump() for c in comparisons], indent=1))
            else:
                click.echo("\n\n".join(ev.format_comparison(c) for c in comparisons))
            return
        thresholds = ev.load_thresholds(gate) if gate else None
        settings = load_settings(index_dir=index_dir)
        if loads:
            data = ev.merge_eval_files(loads)
        elif claims_mode:
            data = ev.EvalFile(
                claims=ev.run_claims(
                    settings,
                    ev.load_claims(),
                    judge=judge,
                    backend=next((b for b in backends if b != "extractive"), "embedded"),
                    progress_for=progress_for,
                )
            )
        else:
            questions = ev.select_questions(
                ev.load_questions(questions_file), subset=subset, limit=limit, ids=ids or None
            )
            data = ev.run_backends(
                settings,
                questions,
                backends or ("extractive",),
                judge=judge,
                subset=subset,
                limit=limit,
                max_seconds=max_seconds,
                progress_for=progress_for,
                on_update=(lambda d: ev.write_eval_file(d, out)) if out else None,
                questions_file=questions_file,
            )
        passed, line = ev.gate_line(data, thresholds) if thresholds else (True, "")
        data.gate = [line] if line else None
    except ev.EvalError as exc:
        fail(str(exc))
        return
    if out:
        ev.write_eval_file(data, out)
    if report_dir:
        path = write_report(data, report_dir, "html" if as_html else "md", gate=line or None)
        click.echo(f"report: {path}", err=True)
    if as_json:
        click.echo(data.model_dump_json(indent=1))
    else:
        for run in data.runs:
            click.echo(ev.format_run(run))
            click.echo("worst failures:\n" + ev.format_failures(run))
        for claims in data.claims:
            click.echo(ev.format_claims(claims))
    if line:
        click.echo(line, err=not passed or as_json)
    if not passed:
        sys.exit(EXIT_ERROR)


# --- rag check ------------------------------------------------------------------------------

EXIT_FLAGGED = 2


@main.command("check")
@click.argument("draft")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the report).")
@click.option(
    "--markdown",
    "markdown_out",
    metavar="OUT",
    help="Write the draft with footnotes quoting its sources to OUT ('-': stdout).",
)
@click.option(
    "--judge/--no-judge",
    default=None,
    help="Ask the LLM judge too (default: yes unless RAG_CHECKER=rules); --no-judge is fast.",
)
@click.option("--fail-on-flagged", is_flag=True, help="Exit 2 when any sentence is flagged.")
@click.option(
    "--corpus-dir", type=click.Path(path_type=Path), help="Folder the citations point into."
)
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@NO_SERVER
@friendly
def check_cmd(
    draft: str,
    as_json: bool,
    markdown_out: str | None,
    judge: bool | None,
    fail_on_flagged: bool,
    corpus_dir: Path | None,
    index_dir: Path | None,
    quiet: bool,
    no_server: bool,
) -> None:
    """Check the claims of DRAFT (.md/.txt, or - for stdin) against the documents.

    Citations are written [file:line] or [file:line-line] (file relative to the corpus, or a
    unique prefix of its name: [003:31]). Cited sentences are tested against those lines; uncited
    ones get a proposed source, or are flagged. Exit 0 when the check ran (2 with
    --fail-on-flagged and anything flagged)."""
    import shutil

    from rag import drafts

    if as_json and markdown_out == "-":
        fail("--json and --markdown - would both write to stdout: give --markdown a file")
    if (
        markdown_out not in (None, "-")
        and draft != "-"
        and Path(str(markdown_out)).resolve() == Path(draft).resolve()
    ):
        fail("--markdown would overwrite the draft: write to another file")
    settings = load_settings(
        corpus_dir=corpus_dir, index_dir=index_dir, no_server=no_server or None
    )
    try:
        if draft == "-":
            text = drafts.decode_draft(sys.stdin.buffer.read(), "stdin")
        else:
            text = drafts.read_draft(Path(draft))
        url = server_for(settings)
        if url:
            report = check_on_server(settings, url, text, judge)
        else:
            report = check_here(settings, text, judge, quiet)
    except drafts.DraftError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        width = shutil.get_terminal_size((110, 24)).columns
        table = drafts.render_draft_table(report, width=width, color=sys.stdout.isatty())
        click.echo(table, err=markdown_out == "-")
    if markdown_out == "-":
        click.echo(drafts.draft_markdown(text, report), nl=False)
    elif markdown_out:
        Path(markdown_out).write_text(drafts.draft_markdown(text, report), encoding="utf-8")
        click.echo(f"wrote the footnoted draft to {markdown_out}", err=True)
    if fail_on_flagged and report.flagged:
        sys.exit(EXIT_FLAGGED)


def check_on_server(settings: Any, url: str, text: str, judge: bool | None) -> Any:
    """The draft report from a running server (its judge notes printed as here)."""
    from rag.client import call_with_headers
    from rag.drafts import DraftReport

    data, headers = call_with_headers(
        settings, url, "POST", "/check", {"draft": text, "judge": judge}
    )
    for notice in json.loads(headers.get("X-Rag-Notices") or "[]"):
        click.echo(f"note: {notice}", err=True)
    return DraftReport.model_validate(data)


def check_here(settings: Any, text: str, judge: bool | None, quiet: bool) -> Any:
    """The draft report computed in this process, with a progress bar."""
    from tqdm import tqdm

    from rag import drafts
    from rag.llm import choose_judge

    bar: tqdm | None = None
    llm, notices = choose_judge(settings, use=judge)
    for notice in notices:
        click.echo(f"note: {notice}", err=True)

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet or total < (3 if llm is not None else 40):
            return
        if bar is None:
            bar = tqdm(total=total, unit="sentence", desc="checking", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        return drafts.check_draft(text, settings, judge=llm, progress=progress)
    finally:
        if bar is not None:
            bar.close()


# --- rag serve ------------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", help="Address to bind (RAG_SERVER_HOST, 127.0.0.1); beyond loopback needs RAG_API_TOKEN.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), help="Port (RAG_SERVER_PORT, 8765).")
@click.option(
    "--backend",
    type=click.Choice(["auto", "ollama", "embedded", "extractive"]),
    help="Default backend of the answers (RAG_BACKEND).",
)
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@friendly
def serve_cmd(host: str | None, port: int | None, backend: str | None, index_dir: Path | None) -> None:  # fmt: skip
    """Serve the documents over HTTP: one warm process for the CLI, the chat and any OpenAI
    client (POST /ask, /check, /index, /v1/chat/completions; GET /status, /health, /v1/models;
    docs at /docs)."""
    from rag.server import check_bind

    settings = load_settings(index_dir=index_dir, backend=backend)
    check_bind(host or settings.server_host, settings)  # before the slow imports
    from rag.server import serve

    serve(settings, host, port)


# --- rag bench ------------------------------------------------------------------------------


def _bench_options(fn: F) -> F:
    for option in reversed(
        [
            click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
            click.option("--no-save", is_flag=True, help="Do not save the result JSON."),
            click.option(
                "--out",
                type=click.Path(path_type=Path),
                help="Folder for the result JSON (default bench/results/).",
            ),
            click.option("--quiet", "-q", is_flag=True, help="No progress lines."),
        ]
    ):
        fn = option(fn)
    return fn


def _bench_say(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else (lambda m: click.echo(f"bench: {m}", err=True))


@main.group("bench")
def bench_group() -> None:
    """Benchmarks printed as figures and ratios with their targets (PASS/MISS)."""


@bench_group.command("index")
@click.option("--files", default=1000, show_default=True, type=click.IntRange(1), help="Synthetic documents (2000 take ~10 min on 2 cores).")  # fmt: skip
@click.option("--changed", default=0.01, show_default=True, type=click.FloatRange(0, 1), help="Share of files changed before the incremental run.")  # fmt: skip
@click.option("--profile", is_flag=True, help="Profile one more incremental and full build.")
@click.option("--keep", type=click.Path(path_type=Path), help="Work in DIR and keep it (default: a temp dir).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic data.")
@_bench_options
@friendly
def bench_index_cmd(files: int, changed: float, profile: bool, keep: Path | None, seed: int, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Index build chunks/s vs raw encoding, no-op and incremental `rag index`."""
    from rag import bench

    result = bench.bench_index(load_settings(), files=files, seed=seed, changed_fraction=changed, profile=profile, workdir=keep, say=_bench_say(quiet))  # fmt: skip
    click.echo(bench.output(result, as_json=as_json, save=not no_save, out=out))


@bench_group.command("answer")
@click.option("--backend", "backends", multiple=True, type=click.Choice(["extractive", "embedded", "ollama"]), help="Repeatable. Default: extractive, embedded, and ollama if reachable.")  # fmt: skip
@click.option("--questions", "ids", help="Comma-separated question ids from eval/questions.jsonl.")
@click.option("--corpus-dir", type=click.Path(path_type=Path), help="Corpus to index and ask.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Use this index of the corpus instead of building one.")  # fmt: skip
@_bench_options
@friendly
def bench_answer_cmd(backends: tuple[str, ...], ids: str | None, corpus_dir: Path | None, index_dir: Path | None, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Retrieval, first token, whole answer and check time per backend (p50/p95)."""
    from rag import bench

    question_ids = (
        [i.strip() for i in ids.split(",") if i.strip()] if ids else bench.DEFAULT_QUESTIONS
    )
    result = bench.bench_answer(load_settings(corpus_dir=corpus_dir), backends=backends or None, question_ids=question_ids, index_dir=index_dir, say=_bench_say(quiet))  # fmt: skip
    click.echo(bench.output(result, as_json=as_json, save=not no_save, out=out))


@bench_group.command("retrieval")
@click.option("--chunks", default=100_000, show_default=True, type=click.IntRange(1), help="Chunks in the synthetic index.")  # fmt: skip
@click.option("--queries", default=50, show_default=True, type=click.IntRange(1, 190), help="Timed queries.")  # fmt: skip
@click.option("--keep", type=click.Path(path_type=Path), help="Build the index in DIR and keep it; reused when run again with the same options.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic data.")
@_bench_options
@friendly
def bench_retrieval_cmd(chunks: int, queries: int, keep: Path | None, seed: int, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Retrieval p50/p95 over a synthetic index (synthetic vectors, real store layout)."""
    from rag import bench

    result = bench.bench_retrieval(load_settings(), chunks=chunks, queries=queries, seed=seed, workdir=keep, say=_bench_say(quiet))  # fmt: skip
    click.echo(bench.output(result, as_json=as_json, save=not no_save, out=out))


@bench_group.command("serve")
@click.option("--questions", "ids", help="Comma-separated question ids from eval/questions.jsonl.")
@click.option("--cold", "cold_runs", default=5, show_default=True, type=click.IntRange(1), help="`rag ask` runs with no server.")  # fmt: skip
@click.option("--warm", "warm_runs", default=10, show_default=True, type=click.IntRange(1), help="`rag ask` runs with a warm server.")  # fmt: skip
@click.option("--clients", default=20, show_default=True, type=click.IntRange(1), help="Concurrent clients of the load test.")  # fmt: skip
@click.option("--per-client", default=10, show_default=True, type=click.IntRange(1), help="Questions each client asks.")  # fmt: skip
@click.option("--corpus-dir", type=click.Path(path_type=Path), help="Corpus to index and ask.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Use this index of the corpus instead of building one.")  # fmt: skip
@_bench_options
@friendly
def bench_serve_cmd(ids: str | None, cold_runs: int, warm_runs: int, clients: int, per_client: int, corpus_dir: Path | None, index_dir: Path | None, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """`rag ask` wall time cold and with a warm `rag serve`; a loopback load test."""
    from rag import bench

    question_ids = (
        [i.strip() for i in ids.split(",") if i.strip()] if ids else bench.DEFAULT_QUESTIONS
    )
    result = bench.bench_serve(load_settings(corpus_dir=corpus_dir), question_ids=question_ids, cold_runs=cold_runs, warm_runs=warm_runs, clients=clients, per_client=per_client, index_dir=index_dir, say=_bench_say(quiet))  # fmt: skip
    click.echo(bench.output(result, as_json=as_json, save=not no_save, out=out))


# --- rag ui -----------------------------------------------------------------------------------


@main.command("ui")
@click.option("--port", default=8501, show_default=True, help="Port to serve the chat on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@friendly
def ui_cmd(port: int, host: str) -> None:
    """Start the Streamlit chat."""
    import subprocess

    app = Path(__file__).resolve().parent / "ui" / "app.py"
    if not app.exists():
        fail(f"the chat app is missing: {app}")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--theme.primaryColor", "#2f6f4f",
    ]  # fmt: skip
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":  # pragma: no cover
    main()
