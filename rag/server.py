"""``rag serve``: one long-lived process that keeps the index, the embedding model and the LLM warm
and answers over HTTP (FastAPI + uvicorn), with an OpenAI-compatible face.

Endpoints (OpenAPI docs at ``/docs``):

- ``POST /ask``: the same object as ``rag ask --json``; with ``"stream": true`` the answer's text
  as it is written, then the final object: NDJSON lines (``{"type": "token", "text": ...}``,
  then ``{"type": "answer", "answer": {...}}``, or ``{"type": "error", "error": {...}}``), or
  server-sent events (``event: token|answer|error``) when the request accepts
  ``text/event-stream``; with ``"evidence": true`` as well, the passages read come first, as
  soon as they are found (``{"type": "evidence", "evidence": [...]}``: the chat shows them while
  the answer is written).
- ``POST /check``: a draft, the same report as ``rag check --json`` (notes about the judge in the
  ``X-Rag-Notices`` header, a JSON list).
- ``GET /status`` (``rag status --json`` plus a ``server`` object: queue, background indexing),
  ``GET /health`` (no token needed), ``POST /index`` (re-index in the background).
- ``POST /v1/chat/completions`` and ``GET /v1/models``: OpenAI-compatible, streaming too. The
  reply text carries the ``[n]`` markers; the citations travel in the extra top-level fields
  ``citations`` (the cited passages, numbered as in the text) and ``rag`` (the whole answer
  object, as ``/ask`` returns it). A stream carries both on its last chunk.

Under load: requests that need the LLM are admitted through a bounded queue (``RAG_SERVER_QUEUE``:
one generates, the others wait on the model's lock; more get 503 with ``Retry-After``); retrieval
and extractive answers run in parallel worker threads. A streaming client that goes away stops
its generation at the next token (or within half a second) and frees its place. Request bodies
are limited (``RAG_SERVER_MAX_BODY_MB``), questions by :func:`rag.answering.clean_question`.
Binding to anything but loopback needs ``RAG_API_TOKEN``; with a token, every request but
``/health`` and the docs needs ``Authorization: Bearer <token>``. A new index generation (a
``rag index`` anywhere, or ``POST /index``) is picked up by the next request: ``open_index`` reads
``index/CURRENT`` each time and reloads only when it changed.

User-facing errors (:mod:`rag.errors`) become 4xx JSON errors with their one-line message, in
the OpenAI shape: ``{"error": {"message": ..., "type": ..., "code": status}}``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.answering import MAX_QUESTION_CHARS, ask, clean_question
from rag.config import Settings, settings_fingerprint
from rag.drafts import DraftReport, check_draft
from rag.errors import (
    CorpusError,
    DraftError,
    EmbeddingModelError,
    IndexLockedError,
    IndexMissingError,
    LLMError,
    QuestionError,
    RagError,
    ServerError,
    StoreError,
    WeightsError,
    user_errors,
    user_message,
)
from rag.llm import choose_backends, choose_judge, wants_judge
from rag.schema import Answer, Evidence

VERSION = "0.1.0"
OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
"""Paths that answer without the token (nothing in them is private)."""
MODEL_PREFIX = "rag"
"""OpenAI model ids: ``rag`` (the server's backend) and ``rag-<backend>``."""
STREAM_POLL_S = 0.5
"""How often a waiting stream checks whether its client is still there."""
MAX_HISTORY = 20

Backend = Literal["auto", "ollama", "embedded", "extractive"]

# --- request and response bodies -----------------------------------------------------------------


class AskRequest(BaseModel):
    """A question, as ``rag ask`` takes it."""

    question: str = Field(description=f"The question (at most {MAX_QUESTION_CHARS:,} characters).")
    backend: Backend | None = Field(None, description="What writes the answer (default: the server's).")  # fmt: skip
    strict: bool | None = Field(None, description="Drop unsupported/uncited sentences.")
    check: bool = Field(True, description="Check every sentence against its citations.")
    evidence_k: int | None = Field(None, ge=1, le=30, description="Passages given to the model.")
    history: list[str] | None = Field(None, max_length=MAX_HISTORY, description="Earlier questions of the conversation, oldest first.")  # fmt: skip
    stream: bool = Field(False, description="Stream tokens, then the answer (NDJSON, or SSE when the request accepts text/event-stream).")  # fmt: skip
    evidence: bool = Field(False, description="With stream: first the passages read, as an `evidence` event, as soon as they are found (the chat shows them while the answer is written).")  # fmt: skip


class CheckRequest(BaseModel):
    """A draft, as ``rag check`` takes it."""

    draft: str = Field(
        description="The draft's text (Markdown or plain), citations as [file:line]."
    )
    judge: bool | None = Field(None, description="Ask the LLM judge too (default: RAG_CHECKER).")


class IndexRequest(BaseModel):
    rebuild: bool = Field(False, description="Start from an empty index.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """An OpenAI chat completion request; unknown fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_PREFIX
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


# --- the bounded queue for the LLM -----------------------------------------------------------------


class Gate:
    """Admission of requests that need the LLM: at most ``capacity`` at once (one generates, the
    others wait on the model's own lock); the rest are refused at once (503)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.served = 0
        self.refused = 0
        self.mean_seconds = 10.0
        self.lock = threading.Lock()

    def enter(self) -> bool:
        with self.lock:
            if self.in_use >= self.capacity:
                self.refused += 1
                return False
            self.in_use += 1
            return True

    def leave(self, seconds: float) -> None:
        with self.lock:
            self.in_use -= 1
            self.served += 1
            self.mean_seconds = 0.7 * self.mean_seconds + 0.3 * seconds

    def retry_after(self) -> int:
        """Seconds until a place is likely free (the mean request time, at least 1)."""
        return max(1, round(self.mean_seconds))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "capacity": self.capacity,
                "in_use": self.in_use,
                "served": self.served,
                "refused": self.refused,
            }


class Slot:
    """One admitted request's place in the :class:`Gate` (none when it needs no LLM); freed once."""

    def __init__(self, gate: Gate | None) -> None:
        self.gate = gate
        self.started = time.perf_counter()
        self.freed = gate is None
        self.lock = threading.Lock()

    def free(self) -> None:
        with self.lock:
            if self.freed or self.gate is None:
                return
            self.freed = True
        self.gate.leave(time.perf_counter() - self.started)


class Busy(Exception):
    """The LLM queue is full (answered 503 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "the server is busy: every place in the LLM queue is taken (RAG_SERVER_QUEUE); "
            "try again shortly"
        )
        self.retry_after = retry_after


class Disconnected(Exception):
    """The streaming client went away: stop writing for it."""


# --- background indexing ----------------------------------------------------------------------------


class IndexJob:
    """``build_index`` on a background thread; its progress is read by ``GET /status``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {"state": "idle"}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.state)

    def start(self, settings: Settings, rebuild: bool) -> bool:
        with self.lock:
            if self.state.get("state") == "running":
                return False
            self.state = {
                "state": "running",
                "rebuild": rebuild,
                "done": 0,
                "total": 0,
                "started_at": time.time(),
            }
        threading.Thread(
            target=self.run, args=(settings, rebuild), name="rag-index", daemon=True
        ).start()
        return True

    def progress(self, done: int, total: int) -> None:
        with self.lock:
            self.state.update(done=done, total=total)

    def run(self, settings: Settings, rebuild: bool) -> None:
        from rag.index.build import build_index
        from rag.retrieval import open_index

        update: dict[str, Any]
        try:
            report = build_index(settings, rebuild=rebuild, progress=self.progress)
            open_index(settings)  # load the new generation before the next question needs it
            update = {"state": "done", "summary": report.summary(), "warnings": report.warnings}
        except Exception as exc:
            message = user_message(exc) if isinstance(exc, user_errors()) else repr(exc)
            update = {"state": "failed", "error": message}
        with self.lock:
            self.state.update(update, finished_at=time.time())


# --- errors -------------------------------------------------------------------------------------------

ERROR_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (QuestionError, 400, "invalid_request_error"),
    (DraftError, 400, "invalid_request_error"),
    (IndexMissingError, 404, "index_missing"),
    (IndexLockedError, 409, "index_locked"),
    (CorpusError, 409, "corpus_error"),
    (StoreError, 409, "index_error"),
    (LLMError, 409, "model_error"),
    (WeightsError, 409, "model_error"),
    (EmbeddingModelError, 409, "model_error"),
)


def error_body(message: str, status: int, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status}}


def error_response(
    message: str, status: int, kind: str = "invalid_request_error", **headers: str
) -> JSONResponse:
    return JSONResponse(error_body(message, status, kind), status_code=status, headers=headers)


def error_for(exc: BaseException) -> tuple[str, int, str]:
    """(one-line message, HTTP status, error type) for any exception."""
    if isinstance(exc, Busy):
        return str(exc), 503, "server_busy"
    if isinstance(exc, UnknownModel):
        return str(exc), 404, "model_not_found"
    if isinstance(exc, user_errors()):
        for cls, status, kind in ERROR_STATUS:
            if isinstance(exc, cls):
                return user_message(exc), status, kind
        return user_message(exc), 400, "invalid_request_error"
    return f"unexpected {type(exc).__name__}: {exc}".splitlines()[0], 500, "server_error"


# --- the app ----------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: the bearer token (when set) and the request body limit, before anything
    else reads the request."""

    def __init__(self, app: Any, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self.token and scope["path"] not in OPEN_PATHS:
            auth = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                response = error_response(
                    "missing or wrong API token: send Authorization: Bearer <RAG_API_TOKEN>",
                    401,
                    "authentication_error",
                    **{"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        too_large = error_response(
            f"the request body is larger than {self.max_body / 1e6:g} MB (RAG_SERVER_MAX_BODY_MB)",
            413,
        )
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await too_large(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_body:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Service:
    """What the endpoints share: settings, the LLM gate, the indexing job."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = Gate(settings.server_queue)
        self.indexing = IndexJob()
        self.started_at = time.time()
        self.fingerprint = settings_fingerprint(settings)
        self.warm_notes: list[str] = []
        self.requests = {"ask": 0, "check": 0, "chat": 0, "status": 0, "index": 0}
        self.count_lock = threading.Lock()

    def count(self, kind: str) -> None:
        with self.count_lock:
            self.requests[kind] += 1

    def warm_up(self) -> list[str]:
        """Load the index, the embedding model and the default backend's LLM now, so that the
        first question is as fast as the rest. Problems become notes (the server still starts:
        ``POST /index`` can build a missing index)."""
        from rag.retrieval import retrieve

        notes: list[str] = []
        try:
            retrieve(self.settings, "warm up the retrieval path")
        except RagError as exc:
            notes.append(user_message(exc))
        try:
            chosen = choose_backends(self.settings, self.settings.backend, True)
            load = getattr(chosen.llm, "load", None)
            if callable(load):
                load()
            notes.extend(chosen.notices)
        except RagError as exc:
            notes.append(user_message(exc))
        self.warm_notes = notes
        return notes

    def needs_llm(self, backend: str | None, check: bool) -> bool:
        chosen = backend or self.settings.backend
        if chosen != "extractive":
            return True
        return check and wants_judge(self.settings, "extractive")

    def admit(self, needs_llm: bool) -> Slot:
        if not needs_llm:
            return Slot(None)
        if not self.gate.enter():
            raise Busy(self.gate.retry_after())
        return Slot(self.gate)

    def answer(
        self,
        req: AskRequest,
        on_token: Callable[[str], None] | None,
        slot: Slot,
        on_evidence: Callable[[list[Evidence]], None] | None = None,
    ) -> Answer:
        try:
            return ask(
                req.question,
                self.settings,
                backend=req.backend,
                strict=req.strict,
                check=req.check,
                history=req.history or None,
                on_token=on_token,
                evidence_k=req.evidence_k,
                on_evidence=on_evidence,
            )
        finally:
            slot.free()

    def status(self) -> dict[str, Any]:
        from rag.index.status import index_status

        info = index_status(self.settings)
        info["server"] = {
            "version": VERSION,
            "started_at": self.started_at,
            "uptime_s": round(time.time() - self.started_at, 1),
            "backend": self.settings.backend,
            "queue": self.gate.snapshot(),
            "indexing": self.indexing.snapshot(),
            "warm_up_notes": self.warm_notes,
            "fingerprint": self.fingerprint,
            "requests": dict(self.requests),
        }
        return info


class StreamJob:
    """``ask`` on a worker thread, started at once (so that its slot is freed even if nobody
    reads the stream), its tokens passed to the event loop. :meth:`events` yields
    ``("token", text)``, then ``("answer", Answer)`` or ``("error", exc)``. When the client goes
    away, generation stops at the next token and the slot is freed."""

    def __init__(self, service: Service, req: AskRequest, slot: Slot) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.gone = threading.Event()
        self.service = service
        self.req = req
        self.slot = slot
        threading.Thread(target=self.work, name="rag-ask-stream", daemon=True).start()

    def put(self, event: tuple[str, Any]) -> None:
        with suppress(RuntimeError):  # the loop closed (server shutting down)
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def on_token(self, text: str) -> None:
        if self.gone.is_set():
            raise Disconnected()
        self.put(("token", text))

    def on_evidence(self, evidence: list[Evidence]) -> None:
        self.put(("evidence", [e.model_dump(mode="json") for e in evidence]))

    def work(self) -> None:
        on_evidence = self.on_evidence if self.req.evidence else None
        try:
            self.put(("answer", self.service.answer(self.req, self.on_token, self.slot, on_evidence)))  # fmt: skip
        except Disconnected:
            pass
        except BaseException as exc:
            self.put(("error", exc))
        finally:
            self.slot.free()
            self.put(("end", None))

    async def events(self, request: Request) -> AsyncIterator[tuple[str, Any]]:
        try:
            while True:
                try:
                    kind, item = await asyncio.wait_for(self.queue.get(), timeout=STREAM_POLL_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if kind == "end":
                    return
                yield kind, item
        finally:
            self.gone.set()


def sse(event: str | None, data: Any) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_data(answer: Answer) -> dict[str, Any]:
    data: dict[str, Any] = answer.model_dump(mode="json")
    return data


MODELS: dict[str, Backend | None] = {
    MODEL_PREFIX: None,
    f"{MODEL_PREFIX}-extractive": "extractive",
    f"{MODEL_PREFIX}-embedded": "embedded",
    f"{MODEL_PREFIX}-ollama": "ollama",
    f"{MODEL_PREFIX}-auto": "auto",
}
"""OpenAI model ids and the backend each names (None: the server's own)."""


class UnknownModel(Exception):
    """An OpenAI model id this server does not have (404)."""


def model_backend(model: str) -> Backend | None:
    """The backend an OpenAI model id names (None: the server's)."""
    if not model:
        return None
    if model not in MODELS:
        raise UnknownModel(f"the model {model!r} does not exist: use one of {', '.join(MODELS)}")
    return MODELS[model]


def message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def chat_question(req: ChatRequest) -> tuple[str, list[str]]:
    """The question (the last user message) and the earlier user messages (history)."""
    users = [message_text(m) for m in req.messages if m.role == "user"]
    if not users:
        raise QuestionError("the conversation has no user message to answer")
    return users[-1], [u for u in users[:-1] if u.strip()][-MAX_HISTORY:]


CHECKED_PREFIX = "\n\nChecked answer: "
"""Streamed after the tokens when checking changed the text (sentences re-cited, removed, or
the answer withdrawn): the final text, whose ``[n]`` match the ``citations`` field."""


def create_app(settings: Settings, service: Service | None = None) -> FastAPI:
    """The FastAPI app over ``settings`` (``service``: shared state, made when not given)."""
    svc = service or Service(settings)
    app = FastAPI(
        title="rag",
        version=VERSION,
        summary="Answers from a folder of documents; every sentence cites exact source lines and is checked.",
        description=(
            "OpenAI-compatible chat at `/v1/chat/completions`: the reply text carries `[n]` "
            "markers; the extra top-level field `citations` lists the cited passages (file, "
            "lines, characters, verbatim quote), numbered as in the text, and `rag` holds the "
            "whole answer object (`/ask`). Streams carry both on their last chunk. With "
            "RAG_API_TOKEN set, send `Authorization: Bearer <token>`."
        ),
    )
    app.state.service = svc

    async def known_error(request: Request, exc: Exception) -> JSONResponse:
        message, status, kind = error_for(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
        return error_response(message, status, kind, **headers)

    for known in (*user_errors(), Busy, UnknownModel):
        app.add_exception_handler(known, known_error)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        message, status, kind = error_for(exc)
        print(f"rag serve: {request.url.path}: {message}", file=sys.stderr)
        return error_response(message, status, kind)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"invalid request: {where + ': ' if where else ''}{first.get('msg', 'bad body')}"
        return error_response(message, 422)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Alive? (no token needed). ``fingerprint``: a hash of the settings that shape answers;
        the CLI uses this server only when its own settings give the same."""
        return {"status": "ok", "version": VERSION, "fingerprint": svc.fingerprint}

    @app.get("/status")
    def status() -> dict[str, Any]:
        """``rag status --json``, plus ``server``: the LLM queue and background indexing."""
        svc.count("status")
        return svc.status()

    @app.post("/index", status_code=202)
    def index(req: IndexRequest | None = None) -> dict[str, Any]:
        """Re-index the corpus in the background (only changed files are embedded); follow it
        in ``GET /status`` → ``server.indexing``. 409 while one runs."""
        svc.count("index")
        if not svc.indexing.start(settings, bool(req and req.rebuild)):
            raise IndexLockedError("an index build is already running in this server")
        return {"indexing": svc.indexing.snapshot()}

    @app.post("/ask", response_model=None)
    async def ask_endpoint(req: AskRequest, request: Request) -> Response:
        """Answer a question: the object ``rag ask --json`` prints (``stream``: tokens first)."""
        svc.count("ask")
        clean_question(req.question)  # a bad question fails before it takes a place
        slot = svc.admit(svc.needs_llm(req.backend, req.check))
        if not req.stream:
            from starlette.concurrency import run_in_threadpool

            try:
                answer = await run_in_threadpool(svc.answer, req, None, slot)
            finally:
                slot.free()
            return JSONResponse(answer_data(answer))
        use_sse = "text/event-stream" in request.headers.get("accept", "")

        job = StreamJob(svc, req, slot)

        async def body() -> AsyncIterator[str]:
            async for kind, item in job.events(request):
                if kind == "token":
                    data: dict[str, Any] = {"type": "token", "text": item}
                elif kind == "evidence":
                    data = {"type": "evidence", "evidence": item}
                elif kind == "answer":
                    data = {"type": "answer", "answer": answer_data(item)}
                else:
                    message, status, etype = error_for(item)
                    data = {"type": "error", **error_body(message, status, etype)}
                if use_sse:
                    yield sse(kind, {k: v for k, v in data.items() if k != "type"})
                else:
                    yield json.dumps(data, ensure_ascii=False) + "\n"

        media = "text/event-stream" if use_sse else "application/x-ndjson"
        return StreamingResponse(body(), media_type=media, headers={"Cache-Control": "no-cache"})

    @app.post("/check", response_model=None)
    def check_endpoint(req: CheckRequest) -> Response:
        """Check a draft: the report ``rag check --json`` prints (judge notes in the
        ``X-Rag-Notices`` header)."""
        svc.count("check")
        judge, notices = choose_judge(settings, use=req.judge)
        slot = svc.admit(judge is not None)
        try:
            report: DraftReport = check_draft(req.draft, settings, judge=judge)
        finally:
            slot.free()
        return JSONResponse(
            report.model_dump(mode="json"),
            headers={"X-Rag-Notices": json.dumps(notices, ensure_ascii=True)},
        )

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        """OpenAI model list: ``rag`` answers with the server's backend, ``rag-<backend>`` with
        that one."""
        created = int(svc.started_at)
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": created, "owned_by": "rag"} for m in MODELS
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(req: ChatRequest, request: Request) -> Response:
        """OpenAI chat completion over the documents. The reply text carries `[n]` markers;
        `citations` and `rag` (extra fields) carry the sources and the whole checked answer."""
        svc.count("chat")
        backend = model_backend(req.model)
        question, history = chat_question(req)
        ask_req = AskRequest(question=question, backend=backend, history=history or None)
        clean_question(question)
        slot = svc.admit(svc.needs_llm(backend, True))
        cid = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        model = req.model or MODEL_PREFIX

        def extras(answer: Answer) -> dict[str, Any]:
            data = answer_data(answer)
            return {"citations": data["citations"], "rag": data}

        if not req.stream:
            from starlette.concurrency import run_in_threadpool

            try:
                answer = await run_in_threadpool(svc.answer, ask_req, None, slot)
            finally:
                slot.free()
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer.answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    **extras(answer),
                }
            )

        def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **more,
            }
            return sse(None, payload)

        job = StreamJob(svc, ask_req, slot)

        async def body() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            streamed: list[str] = []
            async for kind, item in job.events(request):
                if kind == "token":
                    streamed.append(item)
                    yield chunk({"content": item})
                elif kind == "answer":
                    if "".join(streamed).strip() != item.answer.strip():
                        yield chunk({"content": CHECKED_PREFIX + item.answer})
                    yield chunk({}, "stop", **extras(item))
                else:
                    message, status, etype = error_for(item)
                    yield sse(None, error_body(message, status, etype))
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    return app


# --- starting it ----------------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a one-line :class:`ServerError`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServerError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): stop what uses it or pick "
            "another port (--port, RAG_SERVER_PORT)"
        ) from None
    sock.set_inheritable(True)
    return sock


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to serve beyond loopback without a token."""
    if not is_loopback(host) and not settings.token():
        raise ServerError(
            f"binding to {host} exposes the documents to the network: set RAG_API_TOKEN "
            "(clients send it as a bearer token), or bind to 127.0.0.1"
        )


def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Warm everything up, then serve until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    host = host or settings.server_host
    port = settings.server_port if port is None else port
    check_bind(host, settings)
    sock = listen(host, port)
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    service = Service(settings)
    t0 = time.perf_counter()
    for note in service.warm_up():
        say(f"note: {note}")
    app = Guard(
        create_app(settings, service),
        settings.token(),
        int(settings.server_max_body_mb * 1_000_000),
    )
    shown = f"[{host}]" if ":" in host else host
    say(
        f"rag serve: http://{shown}:{port} (docs: /docs; OpenAI: /v1) ready in "
        f"{time.perf_counter() - t0:.1f} s; index {settings.index_dir}, backend {settings.backend}"
        + ("; token required" if settings.token() else "")
    )
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=3
    )
    uvicorn.Server(config).run(sockets=[sock])
