"""The rules of the house (ARCHITECTURE.md), checked: a lazy public API that changes nothing in the
host process, imports that only flow down the pipeline, no private names across modules or into
libraries, one list of user-facing errors, and a wheel that carries the chat."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

RAG = REPO / "rag"

# Lower layers never import higher ones (ARCHITECTURE.md). A module may import its own layer.
LAYERS: list[set[str]] = [
    {"rag.errors", "rag.config", "rag.schema", "rag.prompts", "rag.stats", "rag.data"},
    {"rag.corpus", "rag.formats"},
    {"rag.chunking", "rag.safety"},
    {"rag.lexical", "rag.embeddings", "rag.questions", "rag.documents"},
    {"rag.index"},
    {"rag.retrieval"},
    {"rag.llm"},
    {"rag.citations", "rag.alignment"},
    {"rag.verify", "rag.sources", "rag.render", "rag.trust", "rag.conversations"},
    {"rag.answering"},
    {"rag.drafts"},
    {"rag.evaluation"},
    {"rag.bench"},
    {"rag.cli", "rag.ui", "rag.server", "rag.client", "rag"},
]


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = ".".join(parts[:2]) if len(parts) > 1 else module
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module} is in no layer of ARCHITECTURE.md")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(RAG.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        out.append((name, path))
    return out


def rag_imports(path: Path) -> list[tuple[str, list[str], int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((a.name, [], node.lineno) for a in node.names)
    return found


def test_imports_flow_down_the_pipeline() -> None:
    upward = []
    for name, path in modules():
        mine = layer_of(name)
        for module, names, line in rag_imports(path):
            targets = [f"rag.{n}" for n in names] if module == "rag" else [module]
            for target in targets:
                if target.startswith("rag") and layer_of(target) > mine:
                    upward.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert upward == []


def test_no_private_names_across_modules_or_into_libraries() -> None:
    private = []
    for _name, path in modules():
        for module, names, line in rag_imports(path):
            if module == "__future__":
                continue
            if any(part.startswith("_") for part in module.split(".")):
                private.append(f"{path.relative_to(REPO)}:{line} imports module {module}")
            private.extend(
                f"{path.relative_to(REPO)}:{line} imports {module}.{n}"
                for n in names
                if n.startswith("_")
            )
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            # obj._name where obj is not self/cls: reaching into another object's privates
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                private.append(f"{path.relative_to(REPO)}:{node.lineno} uses .{node.attr}")
    assert private == []


def test_import_rag_is_lazy_and_changes_nothing_in_the_host() -> None:
    code = (
        "import os, sys, json; before = dict(os.environ); import rag; "
        "from rag import ask, build_index, check_draft, Settings, Answer, Citation, Chunk, Evidence; "
        "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'xllamacpp', "
        "'llama_index.core', 'streamlit') if m in sys.modules]; "
        "print(json.dumps({'env': dict(os.environ) == before, 'heavy': heavy, "
        "'all': all(hasattr(rag, n) for n in rag.__all__)}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == '{"env": true, "heavy": [], "all": true}'


def test_one_list_of_user_facing_errors() -> None:
    from rag import errors

    user = errors.user_errors()
    for name in (
        "CorpusError",
        "StoreError",
        "IndexMissingError",
        "IndexLockedError",
        "EmptyCorpusError",
        "QuestionError",
        "LLMError",
        "WeightsError",
        "EmbeddingModelError",
        "DraftError",
        "EvalError",
        "SourceError",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.RagError) and issubclass(cls, user)
    defined_elsewhere = [
        f"{path.relative_to(REPO)}:{node.lineno} class {node.name}"
        for _name, path in modules()
        if path.name != "errors.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(b, ast.Name) and b.id.endswith("Error") or isinstance(b, ast.Attribute)
            for b in node.bases
        )
        and node.name.endswith("Error")
    ]
    assert defined_elsewhere == []
    assert errors.user_message(errors.QuestionError("the question is empty\nmore")) == (
        "the question is empty"
    )


def test_a_wheel_carries_the_chat_and_runs_rag_ui(tmp_path: Path) -> None:
    """Build a wheel, install it alone into a folder, and start ``rag ui`` from outside the
    checkout: the chat must come from the wheel and answer HTTP."""
    import time
    import urllib.request

    from tests.fixtures_llm import free_port

    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("rag_qa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for page in ("app.py", "page_ask.py", "page_draft.py", "components.py"):
        assert f"rag/ui/{page}" in names
    assert "rag/data/antonyms.tsv" in names  # the checker's opposite words travel with it
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site), "RAG_INDEX_DIR": str(tmp_path / "index")}
    where = subprocess.run(
        [sys.executable, "-c", "import rag.ui.app as a; print(a.__file__)"],
        capture_output=True, text=True, check=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert where.stdout.strip().startswith(str(site))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from rag.cli import main; main()", "ui", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"rag ui from the wheel did not start: {out[-2000:]}")
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # stopping `rag ui` stops the chat server too: none is left behind without its parent
    time.sleep(1)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
