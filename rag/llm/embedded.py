"""The embedded model: Qwen2.5-Coder-1.5B-Instruct in-process through llama.cpp (``xllamacpp``).

Importing this module is cheap: ``xllamacpp`` is imported when the model is first loaded.
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
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.llm.base import (
    TOP_LOGPROBS,
    LLMError,
    Messages,
    TokenLogprob,
    yes_no_from_text,
    yes_no_probability,
)
from rag.llm.gguf import WeightsError, weights_path

if TYPE_CHECKING:
    from rag.config import Settings

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
        top_logprobs: int = TOP_LOGPROBS,
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
        return yes_no_from_text(text)

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
