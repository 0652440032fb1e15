"""The client's side of ``rag serve`` (the CLI's and the chat's): find a running server with the
same settings, and ask it.

Cheap to import (stdlib ``urllib`` only), because the point is a fast ``rag ask``. The server is
used only when ``/health`` answers within ``RAG_SERVER_PROBE_TIMEOUT`` *and* reports the same
settings fingerprint as the caller's (same index, corpus, models, knobs), so that the answer is
the one the CLI would have computed itself. Errors the server reports come back as
:class:`rag.errors.ServerError` with the server's one-line message.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rag.errors import ServerError

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.schema import Answer, Evidence


def server_url(settings: Settings) -> str:
    """Where the CLI looks for a server: ``RAG_SERVER_URL``, else the local port."""
    url = settings.server_url.strip() or f"http://127.0.0.1:{settings.server_port}"
    return url.rstrip("/")


def headers(settings: Settings) -> dict[str, str]:
    out = {"Content-Type": "application/json", "Accept": "application/json"}
    token = settings.token()
    if token:
        out["Authorization"] = f"Bearer {token}"
    return out


def find_server(settings: Settings) -> str | None:
    """The URL of a running server that would answer exactly as this process would, or None
    (no server, ``RAG_NO_SERVER``, another index or other settings, or no answer in time)."""
    if settings.no_server:
        return None
    from rag.config import settings_fingerprint

    url = server_url(settings)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url + "/health", headers=headers(settings)),
            timeout=settings.server_probe_timeout,
        ) as response:
            info = json.loads(response.read())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("fingerprint") != settings_fingerprint(settings):
        return None
    return url


def error_message(status: int, raw: bytes) -> str:
    try:
        data = json.loads(raw)
        return str(data["error"]["message"]).splitlines()[0]
    except (ValueError, KeyError, TypeError, IndexError):
        text = raw.decode("utf-8", "replace").strip()
        return f"the server answered HTTP {status}" + (f": {text[:200]}" if text else "")


MAX_WAIT_S = 30.0
"""Longest pause between two tries while the server's LLM queue is full (503)."""


def open_request(settings: Settings, url: str, method: str, path: str, body: Any = None) -> Any:
    """The open response. While the server's LLM queue is full (503), wait as it asks
    (``Retry-After``, saying so on stderr) and try again, up to ``RAG_SERVER_TIMEOUT``."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    deadline = time.monotonic() + settings.server_timeout
    while True:
        request = urllib.request.Request(
            url + path, data=data, method=method, headers=headers(settings)
        )
        try:
            return urllib.request.urlopen(request, timeout=settings.server_timeout)
        except urllib.error.HTTPError as exc:
            message = error_message(exc.code, exc.read())
            retry = exc.headers.get("Retry-After", "") if exc.headers else ""
            wait = min(float(retry) if retry.isdigit() else 5.0, MAX_WAIT_S)
            if exc.code != 503 or time.monotonic() + wait > deadline:
                raise ServerError(message) from None
            print(f"note: {message}; waiting {wait:.0f} s", file=sys.stderr, flush=True)
            time.sleep(wait)
        except OSError as exc:
            raise ServerError(f"the server at {url} stopped answering ({exc})") from None


def call(settings: Settings, url: str, method: str, path: str, body: Any = None) -> Any:
    """One request; the decoded JSON body (errors: :class:`ServerError`)."""
    with open_request(settings, url, method, path, body) as response:
        return json.loads(response.read())


def call_with_headers(
    settings: Settings, url: str, method: str, path: str, body: Any = None
) -> tuple[Any, dict[str, str]]:
    """Like :func:`call`, also returning the response headers."""
    with open_request(settings, url, method, path, body) as response:
        return json.loads(response.read()), dict(response.headers.items())


def stream(settings: Settings, url: str, path: str, body: Any) -> Iterator[dict[str, Any]]:
    """The NDJSON events of a streaming request; an error event raises :class:`ServerError`."""
    with open_request(settings, url, "POST", path, {**body, "stream": True}) as response:
        for line in response:
            if not line.strip():
                continue
            event = json.loads(line)
            if event.get("type") == "error":
                raise ServerError(error_message(500, json.dumps(event).encode()))
            yield event


def ask_server(
    settings: Settings,
    url: str,
    question: str,
    *,
    backend: str | None = None,
    strict: bool | None = None,
    check: bool = True,
    evidence_k: int | None = None,
    history: list[str] | None = None,
    on_token: Callable[[str], None] | None = None,
    on_evidence: Callable[[list[Evidence]], None] | None = None,
) -> Answer:
    """The answer of the server at ``url``, as the :class:`Answer` ``rag.answering.ask`` returns
    with the same arguments; tokens go to ``on_token`` as they are written and the passages to
    ``on_evidence`` as soon as they are found (both streamed)."""
    from rag.schema import Answer, Evidence

    body: dict[str, Any] = {
        "question": question,
        "backend": backend or settings.backend,
        "strict": settings.strict if strict is None else strict,
        "check": check,
        "evidence_k": evidence_k or settings.evidence_k,
    }
    if history:
        body["history"] = list(history)
    if on_token is None and on_evidence is None:
        return Answer.model_validate(call(settings, url, "POST", "/ask", body))
    for event in stream(settings, url, "/ask", {**body, "evidence": on_evidence is not None}):
        kind = event.get("type")
        if kind == "token" and on_token is not None:
            on_token(str(event["text"]))
        elif kind == "evidence" and on_evidence is not None:
            on_evidence([Evidence.model_validate(e) for e in event["evidence"]])
        elif kind == "answer":
            return Answer.model_validate(event["answer"])
    raise ServerError(f"the server at {url} ended the answer early: try again")
