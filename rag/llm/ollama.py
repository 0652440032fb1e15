"""A real Ollama server through the ``ollama`` client (``httpx`` underneath).

Importing this module is cheap: ``ollama`` and ``httpx`` are imported inside the functions that
need them.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from rag.llm.base import TOP_LOGPROBS, LLMError, Messages, yes_no_from_text, yes_no_probability

if TYPE_CHECKING:
    from rag.config import Settings

# --- Ollama ------------------------------------------------------------------------------


def ollama_base_url(host: str) -> str:
    """``OLLAMA_HOST`` as a base URL, read the way the ``ollama`` client reads it: ``localhost``
    -> ``http://localhost:11434``, ``https://example.org`` -> ``https://example.org:443``."""
    import ipaddress
    import urllib.parse

    host, port = (host or "").strip(), 11434
    scheme, _, hostport = host.partition("://")
    if not hostport:
        scheme, hostport = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urllib.parse.urlsplit(f"{scheme}://{hostport}")
    name = split.hostname or "127.0.0.1"
    port = split.port or port
    try:
        if isinstance(ipaddress.ip_address(name), ipaddress.IPv6Address):
            name = f"[{name}]"
    except ValueError:
        pass
    path = split.path.strip("/")
    return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")


def ollama_reachable(host: str, timeout: float = 1.0) -> bool:
    """Whether an Ollama server answers ``GET /api/version`` at ``host`` within ``timeout``."""
    import httpx

    try:
        response = httpx.get(ollama_base_url(host) + "/api/version", timeout=timeout)
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
            top_logprobs=TOP_LOGPROBS,
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
        return yes_no_from_text(str(response.message.content or ""))
