"""The ``rag`` command: index a folder, ask a question, check a draft, evaluate, benchmark, chat.

Every command calls the library (``rag.ingestion``, ``rag.answering``, ...); nothing here is logic
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


def _known_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from rag.answering import QuestionError
    from rag.embeddings import EmbeddingModelError
    from rag.generation import LLMError
    from rag.gguf import WeightsError
    from rag.loading import CorpusError
    from rag.store import StoreError

    return (
        CorpusError,
        StoreError,
        QuestionError,
        LLMError,
        WeightsError,
        EmbeddingModelError,
        ValidationError,
        OSError,
    )


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
            if isinstance(exc, _known_errors()):
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                if type(exc).__name__ == "ValidationError":
                    message = "invalid setting: " + " ".join(str(exc).split())[:300]
                fail(message)
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

    from rag.ingestion import build_index

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


@main.command("status")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder (RAG_INDEX_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly
def status_cmd(index_dir: Path | None, as_json: bool) -> None:
    """What the index holds and how it was built."""
    from rag.status import index_status

    info = index_status(load_settings(index_dir=index_dir))
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
@friendly
def ask_cmd(
    question: str,
    backend: str | None,
    as_json: bool,
    strict: bool | None,
    no_check: bool,
    evidence_k: int | None,
    index_dir: Path | None,
) -> None:
    """Answer QUESTION from the index, citing file and lines for every sentence."""
    from rag.answering import ask
    from rag.render import render_answer_terminal

    settings = load_settings(index_dir=index_dir)
    streamed: list[str] = []

    def on_token(text: str) -> None:
        streamed.append(text)
        click.echo(text, nl=False)

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


def answer_json(answer: Any) -> dict[str, Any]:
    data: dict[str, Any] = answer.model_dump()
    return data


# --- rag ui -----------------------------------------------------------------------------------


@main.command("ui")
@click.option("--port", default=8501, show_default=True, help="Port to serve the chat on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@friendly
def ui_cmd(port: int, host: str) -> None:
    """Start the Streamlit chat."""
    import subprocess

    app = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    if not app.exists():
        fail(f"the chat app is missing: {app}")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":  # pragma: no cover
    main()
