"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests: real HTTP, JSON and SSE streaming.

    with FakeOpenAI(["回答[1]。"]) as server:       # a queue of replies, or a function of the request
        settings = settings.replace(llm_base_url=server.url, llm_model="fake")
        ...
    server.requests                                # the JSON bodies received

A reply is a string or a :class:`Reply` (delay, HTTP status, streamed chunk size and pause, and the misbehaving
endpoints: a body that never ends, or one that trickles out a byte at a time). :func:`obey_injection` is a
script that does what an instruction planted in a clause says. No response outlives ``MAX_SECONDS``, the
client hanging up or the server stopping.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_SECONDS = 30.0
"""Every response ends after this long, whatever it was scripted to do."""


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
    endless: bool = False
    """The body never ends: a stream keeps sending ``text`` again chunk by chunk, a JSON body never closes its
    string (pace it with ``chunk_delay``)."""
    trickle: float = 0.0
    """Seconds between the bytes of the body, sent one at a time (``0``: as fast as it is written)."""


Script = Iterable[str | Reply] | Callable[[dict[str, Any]], str | Reply]


class FakeOpenAI:
    """Serves ``POST /v1/chat/completions`` and ``GET /v1/models`` from a script, recording the requests."""

    def __init__(self, script: Script = (), model: str = "fake") -> None:
        self._script = script if callable(script) else list(script)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
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
        self._stopping.set()  # wakes handlers that are sleeping out a delay or a pause
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.wait_idle(5)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no response is being sent (the client read it to the end or hung up)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

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

    def _busy(self, change: int) -> None:
        with self._idle:
            self._active += change
            self._idle.notify_all()

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
                fake._busy(+1)
                try:
                    if reply.delay and fake._stopping.wait(reply.delay):
                        return
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": reply.text or "scripted error", "type": "server_error"}})
                    elif request.get("stream"):
                        self._send("text/event-stream", _events(reply, fake.model), reply)
                    elif reply.endless or reply.trickle:
                        self._send("application/json", _json_pieces(reply, fake.model), reply)
                    else:
                        self._json(200, _completion(reply.text, fake.model))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout, deadline)
                    pass
                finally:
                    fake._busy(-1)

            def _send(self, content_type: str, pieces: Iterator[bytes], reply: Reply) -> None:
                """Headers, then the body piece by piece (byte by byte when trickling) until done or cut off."""
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                self.wfile.flush()
                ends = time.monotonic() + MAX_SECONDS
                pause = reply.trickle or reply.chunk_delay
                for piece in pieces:
                    for part in [piece[i : i + 1] for i in range(len(piece))] if reply.trickle else [piece]:
                        self.wfile.write(part)
                        self.wfile.flush()
                        if time.monotonic() > ends or (pause and fake._stopping.wait(pause)) or fake._stopping.is_set():
                            return

        return Handler


def _events(reply: Reply, model: str) -> Iterator[bytes]:
    """The SSE body of a streamed reply; an endless one repeats its text and never sends ``[DONE]``."""
    pieces = [{"content": reply.text[i : i + reply.chunk_chars]} for i in range(0, len(reply.text), reply.chunk_chars)]
    deltas = itertools.cycle(pieces or [{"content": ""}]) if reply.endless else pieces
    for delta in itertools.chain([{"role": "assistant", "content": ""}], deltas):
        yield _event(_chunk(delta, None, model))
    yield _event(_chunk({}, "stop", model))
    yield b"data: [DONE]\n\n"


def _json_pieces(reply: Reply, model: str) -> Iterator[bytes]:
    """A completion body written piece by piece; an endless one never closes the reply's string."""
    if not reply.endless:
        yield json.dumps(_completion(reply.text, model), ensure_ascii=False).encode("utf-8")
        return
    head = json.dumps(_completion("", model), ensure_ascii=False)
    yield head[: head.index('"content": "') + len('"content": "')].encode("utf-8")
    yield from itertools.repeat((reply.text or "完善").encode("utf-8"))


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"


_ORDER_RE = re.compile(r"回答[:：]\s*([^。\n]+)")


def obey_injection(request: dict[str, Any]) -> str:
    """A model that does what a clause tells it: the text after ``回答：`` in the prompt, citing that clause."""
    prompt = "\n".join(m.get("content") or "" for m in request.get("messages", []) if m.get("role") == "user")
    first = re.search(r"^\[1\]", prompt, re.M)  # the clauses start here; the instructions around them are ours
    order = _ORDER_RE.search(prompt, first.start()) if first else None
    if order is None:
        return "fake server: no instruction to obey"
    numbers = re.findall(r"^\[(\d+)\]", prompt[: order.start()], re.M)
    return f"{order.group(1)}[{numbers[-1]}]。"


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
