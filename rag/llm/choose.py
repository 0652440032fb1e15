"""The one backend and judge policy: which model answers and which model judges, for every surface.

- ``auto``: Ollama when a server answers at ``OLLAMA_HOST`` and has the model, else the embedded
  model (with a notice saying why); ``ollama``/``embedded``: that model or an :class:`LLMError`;
  ``extractive``: no model answers.
- The judge is the answering model, or ``RAG_OLLAMA_CHECK_MODEL`` on the same Ollama server. With
  ``RAG_CHECKER=rules`` there is none; with ``extractive`` there is one only when asked for
  (``RAG_CHECKER=llm`` or ``use=True``). A judge that cannot run leaves the rules alone, with a
  notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.llm.base import ChatLLM, Judge, LLMError
from rag.llm.embedded import EmbeddedLLM
from rag.llm.ollama import OllamaLLM, ollama_reachable

if TYPE_CHECKING:
    from rag.config import Settings

BACKENDS = ("auto", "ollama", "embedded", "extractive")


def effective_backend(backend: str, ollama_up: bool) -> str:
    """What ``backend`` resolves to when Ollama does (not) answer: ollama, embedded or
    extractive (``auto`` also needs the model pulled; :func:`get_llm` checks that)."""
    if backend == "auto":
        return "ollama" if ollama_up else "embedded"
    return backend


def get_llm(settings: Settings, backend: str) -> tuple[ChatLLM, list[str]]:
    """The chat model for ``backend`` (auto, ollama or embedded) and notices for the user.

    ``auto``: Ollama when the server answers and the model is pulled, else the embedded model
    with a notice saying why. ``ollama``/``embedded``: problems raise :class:`LLMError`.
    """
    notices: list[str] = []
    if backend == "ollama":
        llm = OllamaLLM(settings)
        llm.check()
        return llm, notices
    if backend == "embedded":
        return EmbeddedLLM.from_settings(settings), notices
    if backend != "auto":
        raise LLMError(f"unknown LLM backend {backend!r}: use auto, ollama or embedded")

    host = settings.ollama_host
    up = ollama_reachable(host, timeout=min(1.0, settings.ollama_timeout))
    if effective_backend(backend, up) == "ollama":
        ollama_llm = OllamaLLM(settings)
        try:
            ollama_llm.check()
            return ollama_llm, notices
        except LLMError as exc:
            notices.append(f"{exc}; using the embedded model")
    else:
        notices.append(f"Ollama not reachable at {host}; using the embedded model")
    return EmbeddedLLM.from_settings(settings), notices


def get_judge_llm(settings: Settings, llm: ChatLLM) -> ChatLLM:
    """The claim-support judge: ``settings.ollama_check_model`` on the same Ollama server when
    ``llm`` is an Ollama model and that setting is set (checked: raises :class:`LLMError` when
    it is not pulled); otherwise ``llm`` itself."""
    check_model = settings.ollama_check_model.strip()
    if isinstance(llm, OllamaLLM) and check_model and check_model != llm.model:
        judge = OllamaLLM(settings, model=check_model)
        judge.check()
        return judge
    return llm


def wants_judge(settings: Settings, backend: str, use: bool | None = None) -> bool:
    """Whether checking should ask an LLM judge: ``use`` when given, else by ``RAG_CHECKER``
    (``rules``: never; ``llm``: always; ``auto``: when a model answers)."""
    if use is not None:
        return use
    if settings.checker == "rules":
        return False
    return settings.checker == "llm" or backend != "extractive"


def choose_judge(
    settings: Settings,
    backend: str = "auto",
    *,
    use: bool | None = None,
    llm: ChatLLM | None = None,
) -> tuple[Judge | None, list[str]]:
    """The judge for checking (``None``: rules only) and notices for the user.

    ``llm``: the model that answered, when one did (its judge is reused). An extractive backend
    takes its judge from ``auto``. A model that cannot run gives ``None`` and a notice.
    """
    if not wants_judge(settings, backend, use):
        return None, []
    notices: list[str] = []
    try:
        if llm is None:
            llm, notices = get_llm(
                settings, backend if backend in ("ollama", "embedded") else "auto"
            )
        return get_judge_llm(settings, llm), notices
    except LLMError as exc:
        return None, [*notices, f"{exc}; checking with rules only"]


@dataclass
class Backends:
    """What answers and what judges, chosen once per question."""

    name: str
    model: str
    llm: ChatLLM | None
    judge: Judge | None
    notices: list[str] = field(default_factory=list)


def choose_backends(settings: Settings, backend: str, check: bool) -> Backends:
    """Resolve ``auto``/``ollama``/``embedded``/``extractive`` into a model and a judge.

    An explicit ``ollama``/``embedded`` that cannot run raises :class:`LLMError` (before any
    retrieval); ``auto`` falls back to quoting (extractive) with a notice."""
    notices: list[str] = []
    if backend not in BACKENDS:
        raise LLMError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}")
    if backend != "extractive":
        try:
            llm, notices = get_llm(settings, backend)
        except LLMError as exc:
            if backend != "auto":
                raise
            notices.append(f"{exc}; answering by quoting (extractive)")
        else:
            judge, more = choose_judge(settings, backend, use=check and None, llm=llm)
            return Backends(llm.name, llm.model, llm, judge, [*notices, *more])
    judge, more = choose_judge(settings, "extractive", use=check and None)
    return Backends("extractive", "none", None, judge, [*notices, *more])
