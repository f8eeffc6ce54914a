"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests: real HTTP, JSON and SSE streaming.

    with FakeOpenAI(["回答[1]。"]) as server:       # a queue of replies, or a function of the request
        settings = settings.replace(llm_base_url=server.url, llm_model="fake")
        ...
    server.requests                                # the JSON bodies received

A reply is a string or a :class:`Reply` (delay, HTTP status, streamed chunk size and pause).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    delay: float = 0.0
    """Seconds to wait before answering."""
    status: int = 200
    chunk_chars: int = 4
    """Characters per streamed chunk."""
    chunk_delay: float = 0.0
    """Seconds between streamed chunks."""


Script = Iterable[str | Reply] | Callable[[dict[str, Any]], str | Reply]


class FakeOpenAI:
    """Serves ``POST /v1/chat/completions`` and ``GET /v1/models`` from a script, recording the requests."""

    def __init__(self, script: Script = (), model: str = "fake") -> None:
        self._script = script if callable(script) else list(script)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # wakes handlers that are sleeping out a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def prompts(self) -> list[str]:
        """The concatenated message contents of each request received."""
        return ["\n".join(m.get("content") or "" for m in r.get("messages", [])) for r in self.requests]

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if callable(self._script):
                reply = self._script(request)
            elif self._script:
                reply = self._script.pop(0)
            else:
                reply = Reply("fake server: no reply scripted", status=500)
        return reply if isinstance(reply, Reply) else Reply(reply)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": fake.model, "object": "model", "owned_by": "test"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                request = json.loads(self.rfile.read(length) or b"{}")
                reply = fake._next_reply(request)
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                try:
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": reply.text or "scripted error", "type": "server_error"}})
                    elif request.get("stream"):
                        self._stream(reply)
                    else:
                        self._json(200, _completion(reply.text, fake.model))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                pieces = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
                deltas = [{"role": "assistant", "content": ""}, *({"content": p} for p in pieces)]
                for delta in deltas:
                    self._event(_chunk(delta, None, fake.model))
                    if reply.chunk_delay and fake._stopping.wait(reply.chunk_delay):
                        return
                self._event(_chunk({}, "stop", fake.model))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, body: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(delta: dict[str, Any], finish: str | None, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
