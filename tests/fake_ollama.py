"""FAKE Ollama server for tests: speaks the Ollama HTTP protocol, answers from the embedded model.

This is not Ollama. It is a small stdlib ``http.server`` on 127.0.0.1 (a free port, its own
thread) that implements just enough of the Ollama API for ``rag.llm.OllamaLLM`` and the
``ollama`` client package to run against it:

* ``GET /api/version``, ``GET /api/tags`` (the configured "pulled" models), ``POST /api/show``;
* ``POST /api/chat``: streamed NDJSON when ``"stream"`` is true or absent, one JSON object
  otherwise; ``options.num_predict``/``temperature``/``stop`` are honoured, and
  ``"logprobs": true, "top_logprobs": N`` returns Ollama-style ``logprobs`` (non-streaming).

Answers come from a real :class:`rag.llm.EmbeddedLLM`, so the Ollama client path is
exercised end to end with a real model. With ``llm=None`` a chat request that reaches the model
fails with HTTP 500 (good enough for tests that stop before it: unknown model, timeouts).

Knobs: ``models`` (what ``/api/tags`` lists; chat with another model answers 404 like Ollama),
``delay`` (seconds to wait before answering ``/api/chat``, for timeout tests). Every request is
recorded in ``requests`` (method, path, parsed JSON body) so tests can assert what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAKE_OLLAMA_VERSION = "0.12.11"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllamaServer:
    """A fake server speaking the Ollama protocol (see the module docstring)."""

    def __init__(
        self,
        llm: Any = None,
        models: Iterable[str] = ("qwen2.5:7b-instruct",),
        delay: float = 0.0,
    ) -> None:
        self.llm = llm
        self.models = list(models)
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> FakeOllamaServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-ollama", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOllamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests --------------------------------------------------------------------

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the ``/api/chat`` requests received so far."""
        return [r["body"] for r in self.requests if r["path"] == "/api/chat"]

    def has_model(self, name: str) -> bool:
        return name in self.models or (":" not in name and f"{name}:latest" in self.models)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOllamaServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        return body if isinstance(body, dict) else {"_json": body}

    def _record(self, body: dict[str, Any] | None) -> None:
        self.fake.requests.append({"method": self.command, "path": self.path, "body": body})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _model_entry(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": _now(),
            "size": 1_117_320_768,
            "digest": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "details": {
                "format": "gguf",
                "family": "qwen2",
                "families": ["qwen2"],
                "parameter_size": "1.5B",
                "quantization_level": "Q4_K_M",
            },
        }

    # -- routes -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._record(None)
        if self.path == "/api/version":
            self._json(200, {"version": FAKE_OLLAMA_VERSION})
        elif self.path == "/api/tags":
            self._json(200, {"models": [self._model_entry(m) for m in self.fake.models]})
        elif self.path in ("/", ""):
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = self._body()
        self._record(body)
        try:
            if self.path == "/api/show":
                self._show(body)
            elif self.path == "/api/chat":
                self._chat(body)
            else:
                self._json(404, {"error": "404 page not found"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _show(self, body: dict[str, Any]) -> None:
        name = str(body.get("model") or body.get("name") or "")
        if not self.fake.has_model(name):
            self._json(404, {"error": f"model '{name}' not found"})
            return
        self._json(
            200,
            {
                "modelfile": "",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self._model_entry(name)["details"],
                "model_info": {"general.architecture": "qwen2"},
                "capabilities": ["completion"],
                "modified_at": _now(),
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model") or "")
        if not self.fake.has_model(model):
            self._json(404, {"error": f"model '{model}' not found"})
            return
        if self.fake.delay:
            time.sleep(self.fake.delay)
        llm = self.fake.llm
        if llm is None:
            self._json(500, {"error": "this fake Ollama server has no model to answer with"})
            return
        messages = [
            {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
            for m in body.get("messages") or []
        ]
        options = body.get("options") or {}
        num_predict = int(options.get("num_predict") or 128)
        if num_predict < 0:
            num_predict = 512
        temperature = float(options.get("temperature") or 0.0)
        stop = options.get("stop") or None
        stream = body.get("stream", True) is not False
        started = time.perf_counter_ns()

        if stream:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for delta in llm.stream(
                    messages, max_tokens=num_predict, temperature=temperature, stop=stop
                ):
                    self._chunk(
                        {
                            "model": model,
                            "created_at": _now(),
                            "message": {"role": "assistant", "content": delta},
                            "done": False,
                        }
                    )
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as exc:  # like Ollama: an error line ends the stream
                self._chunk({"error": str(exc)})
            else:
                self._chunk(self._final(model, "", llm.last_usage, started))
            self.wfile.write(b"0\r\n\r\n")
            return

        logprobs = None
        if body.get("logprobs"):
            top_n = int(body.get("top_logprobs") or 0)
            text, tokens = llm.complete_with_logprobs(
                messages,
                max_tokens=num_predict,
                temperature=temperature,
                stop=stop,
                top_logprobs=max(top_n, 1),
            )
            logprobs = [
                {
                    "token": t.token,
                    "logprob": t.logprob,
                    "top_logprobs": [{"token": a, "logprob": lp} for a, lp in t.top[:top_n]],
                }
                for t in tokens
            ]
        else:
            text = llm.complete(
                messages, max_tokens=num_predict, temperature=temperature, stop=stop
            )
        final = self._final(model, text, llm.last_usage, started)
        if logprobs is not None:
            final["logprobs"] = logprobs
        self._json(200, final)

    def _final(
        self, model: str, text: str, usage: dict[str, Any], started_ns: int
    ) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "total_duration": time.perf_counter_ns() - started_ns,
            "load_duration": 0,
            "prompt_eval_count": int(usage.get("prompt_tokens", 0)),
            "prompt_eval_duration": int(float(usage.get("prompt_ms", 0.0)) * 1e6),
            "eval_count": int(usage.get("completion_tokens", 0)),
            "eval_duration": int(float(usage.get("completion_ms", 0.0)) * 1e6),
        }

    def _chunk(self, payload: dict[str, Any]) -> None:
        line = json.dumps(payload).encode() + b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()
