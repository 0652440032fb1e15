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
    from rag.safety import terminal_safe

    click.echo(terminal_safe(f"error: {message}"), err=True)
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


def dumps(data: Any) -> str:
    """JSON for stdout: the exact text, with C1 controls and bidi overrides as ``\\u`` escapes
    (``json.dumps`` already escapes C0 and ESC), so printing it cannot drive a terminal."""
    from rag.safety import json_text

    return json_text(json.dumps(data, indent=2, ensure_ascii=False))


def safe(text: str) -> str:
    """Document-derived text for a terminal: control characters made visible
    (:func:`rag.safety.terminal_safe`); applied once, here at the printing edge."""
    from rag.safety import terminal_safe

    return terminal_safe(text)


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (streaming, colours, cut-to-fit and progress bars are for
    terminals only; files and pipes get the final text once, whole)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def terminal_width() -> int | None:
    """The columns of the terminal on stdout (``COLUMNS`` wins), or ``None`` when stdout is not
    a terminal: then nothing is cut."""
    import shutil

    if not is_terminal(sys.stdout):
        return None
    return shutil.get_terminal_size((110, 24)).columns


def show_progress(quiet: bool) -> bool:
    """Progress bars go to stderr, and only when it is a terminal."""
    return not quiet and is_terminal(sys.stderr)


def citations_root(settings: Any) -> Path:
    """The folder citations point into (where document titles are read)."""
    from rag.index.status import corpus_root

    return corpus_root(settings)[0]


def check_output(
    path: Path | str, option: str, *, folder: bool = False, parents: bool = False
) -> None:
    """Stop (one line, exit 1) before any work when the output ``path`` of ``option`` cannot be
    written: a file whose folder is missing (``parents``: the folders are made, so the nearest
    existing one must be a writable folder), a folder given for a file or a file for a folder
    (``folder``), no permission."""
    given = f"{option} {path}"
    target = Path(path).expanduser()
    try:
        if target.exists() or target.is_symlink():
            if folder and not target.is_dir():
                fail(f"{given}: not a folder")
            if not folder and target.is_dir():
                fail(f"{given}: is a folder: give a file name")
            if not os.access(target, os.W_OK):
                fail(f"{given}: permission denied")
            return
        parent = target.absolute().parent
        if parents:
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
        elif not parent.exists():
            fail(f"{given}: no such folder: {parent}")
        if not parent.is_dir():
            fail(f"{given}: {parent} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            fail(f"{given}: cannot write in {parent}: permission denied")
    except OSError as exc:
        fail(f"{given}: {exc.strerror or exc}")


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
@click.option("--watch", is_flag=True, help="Keep running: re-index changed files as they change.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.2), help="Seconds between checks with --watch.")  # fmt: skip
@friendly
def index_cmd(
    folder: Path | None,
    rebuild: bool,
    index_dir: Path | None,
    quiet: bool,
    watch: bool,
    interval: float,
) -> None:
    """Index FOLDER (default: RAG_CORPUS_DIR): only new or changed files are embedded."""
    from tqdm import tqdm

    from rag.index.build import build_index, watch_index

    settings = load_settings(corpus_dir=folder, index_dir=index_dir)
    if watch:
        click.echo(f"watching {settings.corpus_dir} (every {interval:g} s; Ctrl-C stops)", err=True)
        if rebuild:
            click.echo(build_index(settings, rebuild=True).summary())
        watch_index(
            settings,
            interval=interval,
            on_report=lambda r: click.echo(safe(r.summary())),
            on_error=lambda e: click.echo(safe(f"warning: {e}"), err=True),
        )
        return
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not show_progress(quiet) or total == 0:
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
        click.echo(safe(f"warning: skipped {path}: {reason}"), err=True)
    for warning in report.warnings:
        click.echo(safe(f"warning: {warning}"), err=True)
    if report.converted:
        kinds: dict[str, int] = {}
        for what in report.converted.values():
            kind = what.split(",")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        shown = ", ".join(f"{n} {k.upper()}" for k, n in sorted(kinds.items()))
        click.echo(f"converted {shown} to text in {report.convert_seconds:.1f} s")
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
        click.echo(dumps(info))
        return
    if not info["exists"]:
        for problem in info["health"]:
            click.echo(safe(f"damaged    {problem}"), err=True)
        if info["health"]:
            fail(f"no usable index in {info['index_dir']}: run `rag index --rebuild`")
        fail(f"no index in {info['index_dir']}: run `rag index`")
    click.echo(f"index      {info['index_dir']} (generation {info['generation']})")
    click.echo(f"corpus     {info['corpus_dir']}")
    click.echo(f"built      {info['built_at']} in {info['build_seconds']:.1f} s")
    click.echo(
        f"files      {info['files']}  chunks {info['chunks']}  skipped {len(info['skipped'])}"
    )
    click.echo("formats    " + ", ".join(f"{n} {kind}" for kind, n in info["formats"].items()))
    for path, reason in sorted(info["skipped"].items()):
        click.echo(f"skipped    {path}: {reason}")
    for path, notes in sorted(info["notes"].items()):
        for note in notes:
            click.echo(f"note       {path}: {note}")
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
    if info["health"]:
        for problem in info["health"]:
            click.echo(safe(f"damaged    {problem}"))
        click.echo("health     damaged: run `rag index` to repair it (or `rag index --rebuild`)")
    else:
        click.echo(f"health     ok ({info['checked_files']} files match their checksums)")


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
@click.option("--show-unsupported", is_flag=True, default=None, help="Keep unsupported sentences inline, flagged (RAG_SHOW_UNSUPPORTED), instead of listing them apart as removed.")  # fmt: skip
@click.option("--no-check", is_flag=True, help="Skip checking sentences against their citations.")
@click.option("--after", "history", multiple=True, metavar="QUESTION", help="An earlier question of the conversation (repeatable): QUESTION is then a follow-up, made standalone before searching.")  # fmt: skip
@click.option("-k", "evidence_k", type=click.IntRange(1, 30), help="Passages given to the model.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@NO_SERVER
@friendly
def ask_cmd(
    question: str,
    backend: str | None,
    as_json: bool,
    strict: bool | None,
    show_unsupported: bool | None,
    no_check: bool,
    history: tuple[str, ...],
    evidence_k: int | None,
    index_dir: Path | None,
    no_server: bool,
) -> None:
    """Answer QUESTION from the index, citing file and lines for every sentence.

    When `rag serve` runs with the same settings (RAG_SERVER_URL), it answers (warm, fast);
    the output is the same."""
    from rag.render import render_answer_terminal
    from rag.safety import terminal_safe_model

    settings = load_settings(index_dir=index_dir, no_server=no_server or None)
    streamed: list[str] = []
    terminal = is_terminal(sys.stdout)

    def on_token(text: str) -> None:
        streamed.append(text)
        click.echo(safe(text), nl=False)

    url = server_for(settings) if not (history or show_unsupported) else None
    if url:
        from rag.client import ask_server

        answer = ask_server(
            settings,
            url,
            question,
            backend=backend,
            strict=strict,
            check=not no_check,
            evidence_k=evidence_k,
            on_token=on_token if terminal and not as_json else None,
        )
    else:
        from rag.answering import ask

        answer = ask(
            question,
            settings,
            backend=backend,
            strict=strict,
            show_unsupported=show_unsupported,
            check=not no_check,
            history=list(history) or None,
            on_token=on_token if terminal and not as_json else None,  # a file gets the answer once
            evidence_k=evidence_k,
        )
    if as_json:
        click.echo(dumps(answer_json(answer)))
        return
    if streamed:
        click.echo("\n")
    shown = terminal_safe_model(answer)  # document text cannot drive the terminal
    click.echo(
        render_answer_terminal(shown, settings.corpus_dir, color=terminal, width=terminal_width())
    )


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
@click.option("--questions", "questions_file", type=click.Path(path_type=Path), help="Question set (default: the corpus's).")  # fmt: skip
@click.option("--corpus", "corpus_name", default=None, help="Labelled corpus: news (the shipped corpus/, default for questions), licenses (eval/licenses/) or pydocs (eval/pydocs/); --claims runs all unless one is named.")  # fmt: skip
@click.option("--split", type=click.Choice(["dev", "test"]), help="Only this split (default: both, test reported as the headline).")  # fmt: skip
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
    corpus_name: str | None,
    split: str | None,
    index_dir: Path | None,
    quiet: bool,
) -> None:
    """Evaluate answers, citations, abstention and latency on the question set (or, with
    --claims, the checker on the claims set)."""
    if out:
        check_output(out, "--out", parents=True)
    if report_dir:
        check_output(report_dir, "--report", folder=True, parents=True)
    from tqdm import tqdm

    from rag import evaluation as ev
    from rag.evaluation.report import write_report

    bars: list[Any] = []

    def progress_for(desc: str) -> Any:
        if not show_progress(quiet):
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
            names = [corpus_name] if corpus_name else list(ev.CORPORA)
            corpora = [ev.eval_corpus(n) for n in names]
            data = ev.EvalFile(
                claims=ev.run_claims(
                    settings,
                    [
                        (c, [x for x in ev.load_claims(c.claims_file) if split in (None, x.split)])
                        for c in corpora
                    ],
                    judge=judge,
                    backend=next((b for b in backends if b != "extractive"), "embedded"),
                    progress_for=progress_for,
                )
            )
        else:
            corpus = ev.eval_corpus(corpus_name or ev.DEFAULT_CORPUS)
            if corpus.name != ev.DEFAULT_CORPUS:
                settings = ev.corpus_settings(settings, corpus)
                if not quiet:
                    click.echo(
                        f"indexing {corpus.corpus_dir} into {settings.index_dir} ...", err=True
                    )
                from rag.index.build import build_index

                build_index(settings)
            questions_file = questions_file or corpus.questions_file
            questions = ev.select_questions(
                ev.load_questions(questions_file),
                subset=subset,
                limit=limit,
                ids=ids or None,
                split=split,
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
                corpus=corpus.name,
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
    """Check the claims of DRAFT (.md/.txt/.docx, or - for stdin) against the documents.

    Citations are written [file:line] or [file:line-line] (file relative to the corpus, or a
    unique prefix of its name: [003:31]); a PDF by page, [report.pdf:p12] or [report.pdf:p12:3-5]
    (lines 3-5 of page 12). Cited sentences are tested against those lines; uncited
    ones get a proposed source, or are flagged. Exit 0 when the check ran (2 with
    --fail-on-flagged and anything flagged).

    Marks: ✓ supported, + source found, ⚠ unsupported, ≠ contradicted, ✗ bad citation
    (no such file or line, malformed, an undefined footnote), ∅ no source found."""
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
    if markdown_out not in (None, "-"):
        check_output(str(markdown_out), "--markdown")
    settings = load_settings(
        corpus_dir=corpus_dir, index_dir=index_dir, no_server=no_server or None
    )
    try:
        if draft == "-":
            data = sys.stdin.buffer.read(drafts.MAX_DRAFT_BYTES + 1)
            if len(data) > drafts.MAX_DRAFT_BYTES:
                fail(f"the draft on stdin is over {drafts.MAX_DRAFT_BYTES / 1e6:.0f} MB")
            text = drafts.decode_draft(data, "stdin")
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
        click.echo(dumps(report.model_dump(mode="json")))
    else:
        from rag.safety import terminal_safe_model

        out = sys.stderr if markdown_out == "-" else sys.stdout
        width = shutil.get_terminal_size((110, 24)).columns if is_terminal(out) else None
        shown = terminal_safe_model(report)  # document text cannot drive the terminal
        table = drafts.render_draft_table(
            shown, width=width, color=is_terminal(out), corpus_dir=citations_root(settings)
        )
        click.echo(table, err=markdown_out == "-")
    if markdown_out == "-":
        click.echo(safe(drafts.draft_markdown(text, report)), nl=False)
    elif markdown_out:
        try:
            Path(markdown_out).write_text(drafts.draft_markdown(text, report), encoding="utf-8")
        except OSError as exc:  # the folder went away during the check
            fail(f"cannot write {markdown_out}: {exc.strerror or exc}")
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
        if not show_progress(quiet) or total < (3 if llm is not None else 40):
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


def _bench_out(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``--out`` checked before the benchmark runs (its folders are made when missing)."""
    if value is not None:
        check_output(value, "--out", folder=True, parents=True)
    return value


def _bench_options(fn: F) -> F:
    for option in reversed(
        [
            click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
            click.option("--no-save", is_flag=True, help="Do not save the result JSON."),
            click.option(
                "--out",
                type=click.Path(path_type=Path),
                callback=_bench_out,
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
@click.option("--pdfs", default=None, type=click.IntRange(0), help="Synthetic PDFs added to the corpus [default: one per 50 files, at least one].")  # fmt: skip
@click.option("--pdf-pages", default=10, show_default=True, type=click.IntRange(1), help="Pages per synthetic PDF.")  # fmt: skip
@click.option("--profile", is_flag=True, help="Profile one more incremental and full build.")
@click.option("--keep", type=click.Path(path_type=Path), help="Work in DIR and keep it (default: a temp dir).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic data.")
@_bench_options
@friendly
def bench_index_cmd(files: int, changed: float, pdfs: int | None, pdf_pages: int, profile: bool, keep: Path | None, seed: int, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Index build chunks/s vs raw encoding, PDF conversion pages/s, no-op and incremental `rag index`."""
    from rag import bench

    result = bench.bench_index(load_settings(), files=files, seed=seed, changed_fraction=changed, pdfs=pdfs, pdf_pages=pdf_pages, profile=profile, workdir=keep, say=_bench_say(quiet))  # fmt: skip
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


@bench_group.command("embed")
@click.option("--model", "models", multiple=True, help="Embedding model to compare (repeatable; default: every offered model).")  # fmt: skip
@click.option("--corpus", "corpora", multiple=True, help="Labelled corpus: news, licenses, pydocs (repeatable; default all).")  # fmt: skip
@click.option("--split", "splits", multiple=True, type=click.Choice(["dev", "test"]), help="Questions of this split only (repeatable; default both).")  # fmt: skip
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the indexes in this folder.")  # fmt: skip
@_bench_options
def bench_embed_cmd(models: tuple[str, ...], corpora: tuple[str, ...], splits: tuple[str, ...], keep: Path | None, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Compare embedding models: evidence and chunk recall (dev/test, non-English), indexing
    chunks/s and load time, on the labelled corpora (no LLM)."""
    from rag import bench

    result = bench.bench_embed(load_settings(), models=models or bench.DEFAULT_MODELS, corpora=corpora or tuple(bench.CORPORA), splits=splits or ("dev", "test"), workdir=keep, say=_bench_say(quiet))  # fmt: skip
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


@bench_group.command("soak")
@click.option("--seconds", default=60.0, show_default=True, type=click.FloatRange(1), help="How long the readers ask.")  # fmt: skip
@click.option("--readers", default=3, show_default=True, type=click.IntRange(1, 32), help="Processes asking questions.")  # fmt: skip
@click.option("--corpus-dir", type=click.Path(path_type=Path), help="Corpus to copy and index (default: RAG_CORPUS_DIR).")  # fmt: skip
@click.option("--keep", type=click.Path(path_type=Path), help="Work in DIR and keep it (default: a temp dir).")  # fmt: skip
@_bench_options
@friendly
def bench_soak_cmd(seconds: float, readers: int, corpus_dir: Path | None, keep: Path | None, as_json: bool, no_save: bool, out: Path | None, quiet: bool) -> None:  # fmt: skip
    """Rebuilds and incremental builds in a loop while READERS processes ask: asks failed and
    citations invalid (targets 0)."""
    from rag import bench

    result = bench.bench_soak(load_settings(), seconds=seconds, readers=readers, corpus_dir=corpus_dir, workdir=keep, say=_bench_say(quiet))  # fmt: skip
    click.echo(bench.output(result, as_json=as_json, save=not no_save, out=out))
    if any(t["status"] == "MISS" for t in result["targets"]):
        sys.exit(EXIT_ERROR)


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
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (the chat has no authentication: put it behind a proxy that has).",
)
@friendly
def ui_cmd(port: int, host: str, allow_remote: bool) -> None:
    """Start the Streamlit chat (on this machine only, unless --allow-remote)."""
    import subprocess

    if not is_loopback(host):
        if not allow_remote:
            fail(
                f"--host {host} would serve the documents to the network, and the chat has no "
                "authentication: keep the default 127.0.0.1, or pass --allow-remote behind a "
                "proxy that authenticates"
            )
        click.echo(
            f"warning: serving on {host}:{port}. The chat has no authentication: anyone who can "
            "reach this address can read every indexed document. Put it behind a reverse proxy "
            "that authenticates users (and TLS).",
            err=True,
        )

    app = Path(__file__).resolve().parent / "ui" / "app.py"
    if not app.exists():
        fail(f"the chat app is missing: {app}")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--theme.primaryColor", "#2f6f4f",
    ]  # fmt: skip
    if os.name == "posix":
        # become the chat server: a stop signal (Ctrl-C, SIGTERM from a service manager) then
        # reaches Streamlit itself, and no server is left running without its parent
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, cmd)
    sys.exit(subprocess.call(cmd))


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":  # pragma: no cover
    main()
