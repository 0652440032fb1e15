"""Chat backends: the embedded llama.cpp model (``xllamacpp``) and a real Ollama server.

Both implement :class:`ChatLLM`: ``stream`` (text deltas), ``complete`` (whole text) and
``yes_probability`` (P("Yes") / (P("Yes") + P("No")) for the first generated token, read from
token log-probabilities; used as the claim-support judge). After every call ``last_usage`` holds
the token counts of that call (``prompt_tokens``, ``completion_tokens``, and timings when the
backend reports them).

Every failure the user can fix is raised as :class:`LLMError` with a one-line message that names
the fix. Importing this module is cheap: ``xllamacpp``, ``ollama`` and ``httpx`` are imported
inside the functions that need them.
"""

from __future__ import annotations

import json
import math
import queue
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rag.gguf import WeightsError, weights_path

if TYPE_CHECKING:
    from rag.config import Settings

__all__ = [
    "ChatLLM",
    "EmbeddedLLM",
    "LLMError",
    "OllamaLLM",
    "TokenLogprob",
    "get_judge_llm",
    "get_llm",
    "ollama_reachable",
    "yes_no_probability",
]

Messages = list[dict[str, str]]

# How many alternatives to read for the first token when judging (Ollama accepts 0-20).
_TOP_LOGPROBS = 20
_YES = "yes"
_NO = "no"


class LLMError(RuntimeError):
    """A one-line, user-facing message naming the fix."""


@runtime_checkable
class ChatLLM(Protocol):
    """What the pipeline needs from a chat model."""

    name: str  # "embedded" or "ollama"
    model: str  # model name for display / JSON output
    last_usage: dict[str, float]  # prompt_tokens, completion_tokens (+ timings) of the last call

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Yield the answer as text deltas."""
        ...

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> str:
        """The whole answer."""
        ...

    def yes_probability(self, messages: Messages) -> float:
        """P("Yes") / (P("Yes") + P("No")) for the first generated token."""
        ...


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)


def _norm_answer_token(token: str) -> str:
    return token.strip().strip("_-*\"'.,:!").lower()


def yes_no_probability(top: list[tuple[str, float]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over first-token alternatives (``Yes``, `` Yes``, ``yes``...).

    ``None`` when neither a yes nor a no variant is among them.
    """
    p_yes = p_no = 0.0
    seen: set[str] = set()
    for token, logprob in top:
        if token in seen:  # some servers repeat the chosen token in the alternatives
            continue
        seen.add(token)
        word = _norm_answer_token(token)
        if word == _YES:
            p_yes += math.exp(logprob)
        elif word == _NO:
            p_no += math.exp(logprob)
    if p_yes + p_no <= 0.0:
        return None
    return p_yes / (p_yes + p_no)


def _yes_no_from_text(text: str) -> float:
    """1.0 for an answer starting with yes, 0.0 for no or anything else (not counted as support)."""
    words = text.strip().split()
    return 1.0 if words and _norm_answer_token(words[0]) == _YES else 0.0


# --- embedded (xllamacpp) ------------------------------------------------------------------


@dataclass
class _Loaded:
    server: Any  # xllamacpp.Server
    lock: threading.Lock  # one request at a time
    address: str  # loopback HTTP address of the server (guarded by api_key)
    api_key: str
    load_seconds: float


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()
_DONE = object()


def _load_server(path: Path, threads: int, ctx: int) -> _Loaded:
    """Load the model once per process per (path, threads, ctx)."""
    key = (str(path), threads, ctx)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded
        if not path.is_file():
            raise LLMError(f"embedded model file {path} is missing: run again to rebuild it")
        try:
            import xllamacpp
        except ImportError:
            raise LLMError(
                "the embedded model runtime is not installed: pip install xllamacpp==2026.10.11549"
            ) from None
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = ctx
        params.n_parallel = 1  # one slot: requests are serialized anyway
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_prompt = True  # reuse the KV cache of a shared prefix (the system prompt)
        params.cache_ram_mib = 1024  # host-memory prompt cache (default 8 GiB)
        params.verbosity = -1  # llama.cpp logs nothing
        # Server always listens on a loopback port (OpenAI-style /v1/*); lock it with a key.
        api_key = secrets.token_urlsafe(24)
        params.api_keys = [api_key]
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise LLMError(
                f"the embedded model could not be loaded from {path} ({exc}): "
                f"delete that file to rebuild it, or use --backend ollama"
            ) from exc
        loaded = _Loaded(
            server=server,
            lock=threading.Lock(),
            address=str(server.listening_address),
            api_key=api_key,
            load_seconds=time.perf_counter() - started,
        )
        _LOADED[key] = loaded
        return loaded


def _embedded_error(err: Any, ctx: int) -> LLMError:
    if isinstance(err, dict):
        if err.get("type") == "exceed_context_size_error":
            return LLMError(
                f"the prompt is {err.get('n_prompt_tokens', '?')} tokens, more than the embedded "
                f"model's context of {err.get('n_ctx', ctx)}: raise RAG_LLM_CTX or give it "
                f"less evidence (RAG_EVIDENCE_K)"
            )
        message = str(err.get("message", err))
    else:
        message = str(err)
    return LLMError(f"the embedded model failed: {message.splitlines()[0] if message else err}")


class EmbeddedLLM:
    """Qwen2.5-Coder-1.5B-Instruct in-process through llama.cpp (``xllamacpp.Server``).

    The model is loaded on first use, once per process per (path, threads, ctx), and shared by
    every instance; calls are serialized with a lock, so threads (Streamlit) may share it.
    """

    name = "embedded"

    def __init__(self, model_path: Path, *, threads: int = 2, ctx: int = 4096) -> None:
        self.model_path = Path(model_path)
        self.threads = threads
        self.ctx = ctx
        self.model = self.model_path.name.removesuffix(".gguf")
        self.last_usage: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedLLM:
        """Assemble/verify the weights in ``settings.cache_dir`` (cached); load lazily."""
        try:
            path = weights_path(settings.cache_dir)
        except WeightsError as exc:
            raise LLMError(str(exc)) from exc
        return cls(path, threads=settings.llm_threads, ctx=settings.llm_ctx)

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> float:
        """Load the model now (otherwise the first call does); returns the load time in seconds."""
        return self._loaded().load_seconds

    @property
    def loaded(self) -> bool:
        return (str(self.model_path), self.threads, self.ctx) in _LOADED

    def _loaded(self) -> _Loaded:
        return _load_server(self.model_path, self.threads, self.ctx)

    # -- requests ---------------------------------------------------------------------------

    def _request(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None,
        stream: bool = False,
        top_logprobs: int = 0,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "cache_prompt": True,
        }
        if temperature <= 0.0:
            request["seed"] = 0
        if stop:
            request["stop"] = list(stop)
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        if top_logprobs:
            request["logprobs"] = True
            request["top_logprobs"] = top_logprobs
        return request

    def _set_usage(self, response: dict[str, Any]) -> None:
        usage = response.get("usage") or {}
        timings = response.get("timings") or {}
        self.last_usage = {
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "cached_tokens": int(
                (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            ),
            "prompt_ms": float(timings.get("prompt_ms", 0.0)),
            "completion_ms": float(timings.get("predicted_ms", 0.0)),
        }

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        loaded = self._loaded()
        with loaded.lock:
            response = loaded.server.handle_chat_completions(request)
        if not isinstance(response, dict):
            raise _embedded_error(response, self.ctx)
        if "error" in response or "choices" not in response:
            raise _embedded_error(response.get("error", response), self.ctx)
        self._set_usage(response)
        return response

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> Generator[str, None, None]:
        """Yield text deltas as llama.cpp produces them.

        ``Server.handle_chat_completions(request, callback)`` blocks and calls ``callback`` with
        each OpenAI-style chunk; it runs in a worker thread feeding a queue. Closing the iterator
        early makes the callback return True, which stops generation.
        """
        request = self._request(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop, stream=True
        )
        loaded = self._loaded()
        chunks: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancel.is_set()  # True: stop generating

        def work() -> None:
            try:
                with loaded.lock:
                    loaded.server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # surfaced in the consuming thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        self.last_usage = {}
        worker = threading.Thread(target=work, name="embedded-llm-stream", daemon=True)
        worker.start()
        try:
            while True:
                item = chunks.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise _embedded_error(item, self.ctx) from item
                if not isinstance(item, dict):
                    continue
                if "error" in item:
                    raise _embedded_error(item["error"], self.ctx)
                if item.get("usage"):
                    self._set_usage(item)
                for choice in item.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        finally:
            cancel.set()

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> str:
        response = self._call(
            self._request(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        )
        return str(response["choices"][0]["message"].get("content") or "")

    def complete_with_logprobs(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        top_logprobs: int = _TOP_LOGPROBS,
    ) -> tuple[str, list[TokenLogprob]]:
        """The answer and, per generated token, its logprob and ``top_logprobs`` alternatives.

        Uses the OpenAI-style ``"logprobs": true, "top_logprobs": N`` request fields, which
        llama.cpp answers in ``choices[0].logprobs.content[i].top_logprobs``.
        """
        response = self._call(
            self._request(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
                top_logprobs=top_logprobs,
            )
        )
        choice = response["choices"][0]
        tokens = [
            TokenLogprob(
                token=str(entry.get("token", "")),
                logprob=float(entry.get("logprob", -math.inf)),
                top=[
                    (str(alt.get("token", "")), float(alt.get("logprob", -math.inf)))
                    for alt in entry.get("top_logprobs") or []
                ],
            )
            for entry in (choice.get("logprobs") or {}).get("content") or []
        ]
        return str(choice["message"].get("content") or ""), tokens

    def yes_probability(self, messages: Messages) -> float:
        text, tokens = self.complete_with_logprobs(messages, max_tokens=1)
        if tokens:
            top = tokens[0].top or [(tokens[0].token, tokens[0].logprob)]
            p = yes_no_probability(top)
            if p is not None:
                return p
        return _yes_no_from_text(text)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (no chat template), via the server's ``/tokenize``."""
        loaded = self._loaded()
        request = urllib.request.Request(
            loaded.address.rstrip("/") + "/tokenize",
            data=json.dumps({"content": text, "add_special": False}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {loaded.api_key}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return len(json.load(response)["tokens"])
        except (OSError, ValueError, KeyError) as exc:
            raise LLMError(f"the embedded model could not count tokens ({exc})") from exc


# --- Ollama ------------------------------------------------------------------------------


def _parse_host(host: str) -> str:
    from ollama._client import _parse_host as parse

    return str(parse(host))


def ollama_reachable(host: str, timeout: float = 1.0) -> bool:
    """Whether an Ollama server answers ``GET /api/version`` at ``host`` within ``timeout``."""
    import httpx

    try:
        response = httpx.get(_parse_host(host) + "/api/version", timeout=timeout)
    except (httpx.HTTPError, OSError, ValueError):
        return False
    return response.status_code == 200


def _same_model(wanted: str, listed: str) -> bool:
    if wanted == listed:
        return True
    if ":" not in wanted:  # "llama3" means "llama3:latest"
        return listed == f"{wanted}:latest"
    return False


class OllamaLLM:
    """A client of a real Ollama server (``ollama`` package), settings from :class:`Settings`.

    Before the first request it checks, through ``/api/tags``, that the model is pulled.
    Every request sends ``options`` (``num_ctx``, ``temperature``, ``num_predict``, ``stop``)
    and ``keep_alive``.
    """

    name = "ollama"

    def __init__(self, settings: Settings, model: str | None = None) -> None:
        self.host = settings.ollama_host
        self.model = model or settings.ollama_model
        self.timeout = float(settings.ollama_timeout)
        self.keep_alive = settings.ollama_keep_alive
        self.num_ctx = int(settings.ollama_num_ctx)
        self.last_usage: dict[str, float] = {}
        self._client: Any = None
        self._checked = False
        self._lock = threading.Lock()

    # -- errors -------------------------------------------------------------------------------

    def _unreachable(self) -> LLMError:
        return LLMError(
            f"Ollama server not reachable at {self.host}: start it with `ollama serve`, "
            f"or use --backend embedded"
        )

    def _not_pulled(self) -> LLMError:
        return LLMError(
            f"Ollama model '{self.model}' is not available on {self.host}: "
            f"run `ollama pull {self.model}`"
        )

    def _timed_out(self) -> LLMError:
        return LLMError(
            f"Ollama did not answer within {self.timeout:g} s (raise RAG_OLLAMA_TIMEOUT)"
        )

    def _translate(self, exc: BaseException) -> LLMError:
        import httpx
        import ollama

        if isinstance(exc, LLMError):
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return self._timed_out()
        if isinstance(exc, httpx.ConnectError | ConnectionError):
            return self._unreachable()
        if isinstance(exc, ollama.ResponseError):
            error = str(exc.error).splitlines()[0] if exc.error else ""
            if exc.status_code == 404 or ("not found" in error and "model" in error):
                return self._not_pulled()
            return LLMError(f"Ollama at {self.host} answered with an error: {error}")
        if isinstance(exc, httpx.HTTPError):
            return LLMError(f"Ollama connection to {self.host} failed ({exc}): is the server up?")
        return LLMError(f"Ollama request failed: {exc}")

    # -- setup --------------------------------------------------------------------------------

    def _get_client(self) -> Any:
        if self._client is None:
            import ollama

            try:
                self._client = ollama.Client(host=self.host, timeout=self.timeout)
            except Exception as exc:  # e.g. an unparsable host
                raise LLMError(
                    f"bad Ollama host {self.host!r} ({exc}): fix RAG_OLLAMA_HOST"
                ) from exc
        return self._client

    def available_models(self) -> list[str]:
        """Models pulled on the server (``/api/tags``)."""
        try:
            listing = self._get_client().list()
        except Exception as exc:
            raise self._translate(exc) from exc
        return [m.model for m in listing.models if m.model]

    def check(self) -> None:
        """Raise :class:`LLMError` unless the server answers and the model is pulled (once)."""
        if self._checked:
            return
        with self._lock:
            if self._checked:
                return
            if not any(_same_model(self.model, m) for m in self.available_models()):
                raise self._not_pulled()
            self._checked = True

    # -- requests -----------------------------------------------------------------------------

    def _options(
        self, max_tokens: int, temperature: float, stop: list[str] | None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_ctx": self.num_ctx,
            "temperature": temperature,
            "num_predict": max_tokens,
        }
        if temperature <= 0.0:
            options["seed"] = 0
        if stop:
            options["stop"] = list(stop)
        return options

    def _set_usage(self, response: Any) -> None:
        self.last_usage = {
            "prompt_tokens": int(response.prompt_eval_count or 0),
            "completion_tokens": int(response.eval_count or 0),
            "prompt_ms": (response.prompt_eval_duration or 0) / 1e6,
            "completion_ms": (response.eval_duration or 0) / 1e6,
        }

    def _chat(self, messages: Messages, *, stream: bool, **kwargs: Any) -> Any:
        self.check()
        try:
            return self._get_client().chat(
                model=self.model,
                messages=messages,
                stream=stream,
                keep_alive=self.keep_alive,
                **kwargs,
            )
        except Exception as exc:
            raise self._translate(exc) from exc

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> Generator[str, None, None]:
        self.last_usage = {}
        parts = self._chat(
            messages, stream=True, options=self._options(max_tokens, temperature, stop)
        )
        try:
            for part in parts:
                text = part.message.content if part.message else None
                if text:
                    yield text
                if part.done:
                    self._set_usage(part)
        except LLMError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()

    def complete(
        self,
        messages: Messages,
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
    ) -> str:
        response = self._chat(
            messages, stream=False, options=self._options(max_tokens, temperature, stop)
        )
        self._set_usage(response)
        return str(response.message.content or "")

    def yes_probability(self, messages: Messages) -> float:
        """From ``logprobs``/``top_logprobs`` of the first token (Ollama >= 0.12.11); servers
        that return none are read from the text: ``Yes`` -> 1.0, anything else -> 0.0."""
        response = self._chat(
            messages,
            stream=False,
            options=self._options(1, 0.0, None),
            logprobs=True,
            top_logprobs=_TOP_LOGPROBS,
        )
        self._set_usage(response)
        logprobs = response.logprobs or []
        if logprobs:
            first = logprobs[0]
            top = [(t.token, t.logprob) for t in (first.top_logprobs or [])] or [
                (first.token, first.logprob)
            ]
            p = yes_no_probability(top)
            if p is not None:
                return p
        return _yes_no_from_text(str(response.message.content or ""))


# --- choosing a backend ------------------------------------------------------------------


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
    if ollama_reachable(host, timeout=min(1.0, settings.ollama_timeout)):
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
