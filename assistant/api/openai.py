"""``POST /v1/chat/completions`` and ``GET /v1/models``, in the OpenAI format (ask scope).

The last user message is the question; earlier user and assistant messages are the conversation it follows
(system messages are ignored). The answer text carries ``[n]`` markers and ends with a plain reference list;
the message also carries the citations as data (``citations``), ``abstained``, ``related`` (the closest
passages when abstaining), ``notice`` and ``question_id`` (its row in the question log). Optional extra request
fields restrict retrieval: ``source``, ``region``, ``year`` (one value or a list each).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from ..store import Filters
from ..types import Answer, Citation
from .auth import AskCaller, Caller
from .backend import Backend
from .errors import APIError, error_body

log = logging.getLogger(__name__)
MODEL_ID = "policyqa"
REFERENCES = "\n\n参考：\n"
CHANNEL = "api"

router = APIRouter(prefix="/v1", tags=["chat"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """A chat completion request. OpenAI parameters the assistant has no use for (temperature, max_tokens…)
    are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage]
    stream: bool = False
    source: str | list[str] | None = None
    """Only these documents (file names, as ``GET /v1/documents`` lists them)."""
    region: str | list[str] | None = None
    year: int | list[int] | None = None


# ------------------------------------------------------------------ request → question


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # content parts: only text parts count
        return "".join(str(p.get("text", "")) for p in content if p.get("type", "text") == "text")
    return content or ""


def strip_references(text: str) -> str:
    """An earlier answer as the assistant wrote it, without the reference list this API appended."""
    return text.split(REFERENCES, 1)[0]


def conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the history before it."""
    turns = [(m.role, _text(m.content)) for m in messages if m.role in {"user", "assistant"}]
    if not turns or turns[-1][0] != "user":
        raise APIError(400, "the last message must be the user's question (role 'user')", "invalid_question")
    history = [{"role": role, "content": strip_references(text)} for role, text in turns[:-1] if text.strip()]
    return turns[-1][1], history


def _listed(value: Any) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def filters_of(body: Any, known: set[str]) -> Filters:
    """The retrieval filters of a request; 400 for a document the index does not hold."""
    sources = tuple(str(s) for s in _listed(body.source))
    unknown = [s for s in sources if s not in known]
    if unknown:
        raise APIError(400, f"unknown document(s) {unknown}; GET /v1/documents lists them", "unknown_document")
    return Filters(sources, tuple(str(r) for r in _listed(body.region)), tuple(int(y) for y in _listed(body.year)))


# ------------------------------------------------------------------ answer → response


def citation_data(c: Citation) -> dict[str, Any]:
    return {"n": c.n, "source": c.source, "title": c.title, "doc_number": c.doc_number, "clause": c.clause,
            "text": c.text, "clause_id": c.clause_id}


def references(answer: Answer) -> str:
    """The plain reference list appended to the text, for clients that ignore the extra fields."""
    def line(c: Citation) -> str:
        return " ".join(part for part in (f"《{c.title}》" if c.title else c.source, c.doc_number, c.clause) if part)

    if answer.abstained:  # the text already names the closest passages; they come as data in ``related``
        return ""
    return REFERENCES + "\n".join(f"[{c.n}] {line(c)}" for c in answer.citations) if answer.citations else ""


def extras(answer: Answer, question_id: str) -> dict[str, Any]:
    """The fields this API adds to the assistant's message."""
    return {
        "citations": [citation_data(c) for c in answer.citations],
        "abstained": answer.abstained,
        "related": [citation_data(c) for c in answer.related] if answer.abstained else [],
        "notice": answer.notice,
        "standalone_question": answer.standalone_question,
        "engine": answer.engine,
        "question_id": question_id,
    }


def _record(backend: Backend, answer: Answer, caller: Caller) -> str:
    try:
        return backend.log.record(answer, CHANNEL, caller.name)
    except Exception:  # the answer still goes out; the log is not worth a failed request
        log.exception("could not record the question in the question log")
        return ""


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


@router.get("/models", summary="The one model this server answers as")
def models(caller: AskCaller) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "policyqa"}]}


@router.post("/chat/completions", summary="Answer the last user message, citing clauses", response_model=None)
def chat_completions(
    body: ChatRequest, request: Request, caller: AskCaller
) -> dict[str, Any] | StreamingResponse:
    if body.model != MODEL_ID:
        raise APIError(404, f"the model {body.model!r} does not exist; use {MODEL_ID!r}", "model_not_found")
    backend: Backend = request.app.state.backend
    question, history = conversation(body.messages)
    assistant = backend.assistant()
    known = {d["source"] for d in assistant.documents()} if body.source else set()
    filters = filters_of(body, known)
    if not body.stream:
        answer = assistant.ask(question, history, filters)
        qid = _record(backend, answer, caller)
        message = {"role": "assistant", "content": answer.text + references(answer), **extras(answer, qid)}
        return {
            "id": _completion_id(), "object": "chat.completion", "created": int(time.time()), "model": MODEL_ID,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
    partials = assistant.ask_stream(question, history, filters)
    first = next(partials)  # a question refused (empty, too long) is a 400, not a broken stream
    return StreamingResponse(_events(backend, caller, first, partials), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _events(backend: Backend, caller: Caller, first: Answer, partials: Iterator[Answer]) -> Iterator[str]:
    """Server-sent events in the OpenAI chunk format: the role, the text as it grows, the reference list, then a
    last chunk with the citations and ``finish_reason``, then ``[DONE]``.

    A streamed LLM answer can be replaced at the end (its citation check failed, or it fell back to the extractive
    answer): text already sent cannot be taken back, so the final answer follows it after its notice, and the
    last chunk carries the whole final ``text``."""
    cid, created = _completion_id(), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    sent, answer = "", first
    try:
        for answer in _chain(first, partials):
            if answer.text.startswith(sent):
                piece = answer.text[len(sent):]
            else:
                piece = "\n\n" + (answer.notice or "（以下为核对后的答案）") + "\n\n" + answer.text
            if piece:
                yield chunk({"content": piece})
                sent = answer.text
    except Exception as exc:
        log.exception("streamed answer failed")
        yield f"data: {json.dumps(error_body(500, f'the answer failed ({type(exc).__name__})', 'internal_error'))}\n\n"
        yield "data: [DONE]\n\n"
        return
    qid = _record(backend, answer, caller)
    tail = references(answer)
    if tail:
        yield chunk({"content": tail})
    yield chunk({**extras(answer, qid), "text": answer.text + tail}, "stop")
    yield "data: [DONE]\n\n"


def _chain(first: Answer, rest: Iterator[Answer]) -> Iterator[Answer]:
    yield first
    yield from rest
