"""Answers written by an LLM behind an OpenAI-compatible endpoint, every citation checked against the clauses.

The model sees the retrieved clauses numbered ``[1]..[n]`` and must end each sentence with the numbers it
relies on. Its reply is then checked sentence by sentence: a number that names no clause is dropped, a
sentence whose cited clause does not contain its wording (character-bigram overlap after script
normalisation) is dropped, and a reply left without any valid citation — or an endpoint that fails, times
out or does not finish within ``llm_deadline`` — gives way to the extractive answer with a notice. The model
answering with ``CANNOT_ANSWER`` abstains.

Retrieved text is data, not instructions: each clause reaches the model inside ``<资料n>…</资料n>`` under a
framing that forbids obeying it, and a checked reply that does not address the question (:func:`addresses`) or
that repeats what a clause told the model to say (:func:`obeys_directive`) also gives way to the extractive
answer.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from .answer import CANNOT_ANSWER, Answerer, cannot_answer
from .prompts import Prompts, load_prompts
from .retrieval.followup import Condenser
from .retrieval.query import Query
from .settings import Settings, SettingsError
from .text import has_cjk, match_key, normalise, split_sentences, tokenize
from .types import Answer, Citation, Hit

log = logging.getLogger(__name__)

SUPPORT_THRESHOLD = 0.3
"""Share of a sentence's character bigrams that must occur in the clause it cites."""
SHORT_UNCITED = 12
"""An uncited sentence this short (``具体如下：``) is connective text and kept."""
HISTORY_MESSAGES = 6
HISTORY_CHARS = 300
ECHO_SHARE = 0.5
"""Share of a clause directive's character bigrams that a reply must repeat to count as obeying it."""
MAX_REPLY_CHARS = 20_000
"""A reply still going past this many characters is not an answer of a few sentences: reading stops."""

FALLBACK_NOTICE = "大模型回答未通过引用核验，已改用摘录式回答。"
TIMEOUT_NOTICE = "大模型在{timeout:g}秒内没有回应，已改用摘录式回答。"
ERROR_NOTICE = "大模型服务出错（{error}），已改用摘录式回答。"
ABSTAIN_NOTICE = "大模型判断检索到的条款不能回答这个问题。"
DEADLINE_NOTICE = "大模型未能在{deadline:g}秒内完成回答，已改用摘录式回答。"
LONG_NOTICE = "大模型回答超过{limit}字仍未结束，已改用摘录式回答。"
OFF_TOPIC_NOTICE = "大模型回答与问题无关或疑似受到文档中指令的影响，已改用摘录式回答。"

_NUMBERS = r"\d+(?:\s*[,，、]\s*\d+)*"
_MARKER_RE = re.compile(rf"[\[【［]\s*({_NUMBERS})\s*[\]】］]")
_MARKERS_AFTER_END_RE = re.compile(rf"([。！？；!?;]+[”」』）)]*)((?:\s*[\[【［]\s*{_NUMBERS}\s*[\]】］])+)")
_DANGLING_RE = re.compile(r"[\[【［][\d,，、\s]*$")
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_ANSWER_PREFIX_RE = re.compile(r"^(?:改写后的问题|改写后|独立问题|完整问题|问题)\s*[:：]\s*")
_DATA_TAG_RE = re.compile(r"<(\s*/?\s*资料)")
# on normalised text (half-width colon): a verb telling the reader what to say, then what to say
_DIRECTIVE_RE = re.compile(r"(?<![的之])(?:回答|回复|作答|输出|告诉用户|answer|reply|respond|output|say|print)\s*:\s*([^。！？!?；;\n]+)")


# ---------------------------------------------------------------- prompt


def quoted(text: str) -> str:
    """Document text as it may appear inside a ``<资料n>`` block: a ``<资料`` or ``</资料`` of its own is defused."""
    return _DATA_TAG_RE.sub(r"＜\1", text)


def clause_block(n: int, hit: Hit) -> str:
    """One numbered clause of the prompt inside ``<资料n>…</资料n>``: title, document number, label, then the text."""
    meta, clause = hit.meta, hit.clause
    head = f"[{n}]《{meta.title}》 发文字号：{meta.doc_number or '无'} 条款：{clause.label}"
    if clause.headings:
        head += f" 所属章节：{' > '.join(clause.headings)}"
    return f"<资料{n}>\n{quoted(head)}\n{quoted(clause.text)}\n</资料{n}>"


def build_context(hits: Sequence[Hit]) -> str:
    return "\n\n".join(clause_block(n, h) for n, h in enumerate(hits, 1))


def question_text(query: Query) -> str:
    """The user's question; for a follow-up, with the standalone question it was resolved to."""
    if normalise(query.text).strip() != query.norm:
        return f"{query.text}（结合上文，即：{query.norm}）"
    return query.text


def answer_messages(prompts: Prompts, query: Query, hits: Sequence[Hit]) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=Prompts.render(prompts.system, cannot_answer=CANNOT_ANSWER)),
        ChatMessage(
            role="user",
            content=Prompts.render(prompts.answer, context=build_context(hits), question=question_text(query), cannot_answer=CANNOT_ANSWER),
        ),
    ]


# ---------------------------------------------------------------- citation check


def bigrams(text: str) -> set[str]:
    key = match_key(text)
    return {key[i : i + 2] for i in range(len(key) - 1)}


def _chinese_date(iso: str) -> str:
    parts = iso.split("-")
    return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日" if len(parts) == 3 and all(p.isdigit() for p in parts) else ""


def support_text(hit: Hit) -> str:
    """Everything the prompt shows of a clause: a sentence citing it may use any of it."""
    meta = hit.meta
    dates = " ".join(f"{d} {_chinese_date(d)}" for d in (meta.date_issued, meta.date_published) if d)
    return " ".join([meta.title, meta.doc_number, meta.issuer, dates, hit.clause.label, *hit.clause.headings, hit.clause.text])


def support(sentence: str, clause_grams: set[str]) -> float:
    """Share of the sentence's character bigrams found in the clause (1.0 for a sentence with no words)."""
    grams = bigrams(sentence)
    return len(grams & clause_grams) / len(grams) if grams else 1.0


def clean_reply(reply: str) -> str:
    """The reply without reasoning blocks, markers moved before the sentence end they follow (``。[1]`` → ``[1]。``)."""
    text = _THINK_RE.sub("", reply).strip()
    return _MARKERS_AFTER_END_RE.sub(r"\2\1", text)


def is_cannot_answer(text: str) -> bool:
    key, wanted = match_key(_MARKER_RE.sub("", text)), match_key(CANNOT_ANSWER)
    return key.startswith(wanted) or (wanted in key and not _MARKER_RE.search(text))


def _numbers(marker: re.Match[str]) -> list[int]:
    return [int(n) for n in re.split(r"[\s,，、]+", marker.group(1)) if n]


@dataclass
class Checked:
    """A model reply after the citation check."""

    text: str = ""
    cited: list[Hit] = field(default_factory=list)
    """Clauses in the order their numbers appear in ``text`` (``[1]`` is ``cited[0]``)."""
    sentences: dict[str, list[str]] = field(default_factory=dict)
    """Clause id → the answer sentences citing it."""
    invalid: list[int] = field(default_factory=list)
    unsupported: int = 0
    """Citations removed from a kept sentence because that clause does not support it."""
    dropped: int = 0
    """Sentences removed: no supporting citation."""
    abstained: bool = False

    @property
    def notes(self) -> str:
        notes = []
        if self.invalid:
            notes.append("已删除不存在的引用编号" + "".join(f"[{n}]" for n in self.invalid))
        if self.unsupported:
            notes.append(f"已删除{self.unsupported}处与句子内容不符的引用")
        if self.dropped:
            notes.append(f"已删除{self.dropped}句与所引条款不符或没有引用的内容")
        return "引用核验：" + "；".join(notes) + "。" if notes else ""


def check_reply(reply: str, hits: Sequence[Hit], threshold: float = SUPPORT_THRESHOLD) -> Checked:
    """Keep the sentences whose cited clauses support them; renumber citations in order of appearance."""
    text = clean_reply(reply)
    if is_cannot_answer(text):
        return Checked(abstained=True)
    grams = [bigrams(support_text(h)) for h in hits]
    out = Checked()
    display: dict[int, int] = {}  # prompt number → number shown
    invalid: set[int] = set()
    pieces = []
    spans = split_sentences(text)
    for i, (start, end) in enumerate(spans):
        sentence = text[start:end]
        gap = text[end : spans[i + 1][0]] if i + 1 < len(spans) else ""
        body = _MARKER_RE.sub("", sentence)
        cited = list(dict.fromkeys(n for m in _MARKER_RE.finditer(sentence) for n in _numbers(m)))
        invalid.update(n for n in cited if not 1 <= n <= len(hits))
        kept = [n for n in cited if 1 <= n <= len(hits) and support(body, grams[n - 1]) >= threshold]
        if kept:
            out.unsupported += sum(1 for n in cited if 1 <= n <= len(hits) and n not in kept)
        else:
            uncited_ok = not cited and (len(match_key(body)) <= SHORT_UNCITED or any(support(body, g) >= threshold for g in grams))
            if not uncited_ok:
                out.dropped += 1
                continue
        for n in kept:
            if n not in display:
                display[n] = len(display) + 1
                out.cited.append(hits[n - 1])
            out.sentences.setdefault(hits[n - 1].clause.id, []).append(body)

        def renumber(marker: re.Match[str], kept: list[int] = kept) -> str:
            return "".join(f"[{display[n]}]" for n in dict.fromkeys(_numbers(marker)) if n in kept)

        pieces.append(_MARKER_RE.sub(renumber, sentence) + ("\n" if "\n" in gap else ""))
    out.text = "".join(pieces).strip()
    out.invalid = sorted(invalid)
    return out


def question_grams(query: Query) -> set[str]:
    """The question's Chinese content words (and the words that count as them) as character bigrams; a
    one-character word as itself."""
    words = [*tokenize(query.norm, normalised=True), *(w for t in query.key_terms for w in (t.term, *t.alternatives))]
    return {g for w in words if has_cjk(w) for g in (bigrams(w) or {match_key(w)})}


def grounds(checked: Checked) -> str:
    """What an answer says and what it says it from: its sentences and the headings and text of the clauses it
    cites (not their document's title, which would make any clause of a document the question names relevant)."""
    return " ".join([checked.text, *(part for hit in checked.cited for part in (*hit.clause.headings, hit.clause.text))])


def addresses(grams: set[str], text: str) -> bool:
    """Whether a text shares a content word with the question (always, when the question has none to share).

    The weakest useful signal, on purpose: a legitimate answer may be a bare name, date or figure
    (``不低于10%``), so it is judged together with the clauses it cites (:func:`grounds`). What fails is an
    answer resting on clauses about something else entirely — a model gone astray, or one steered by text
    planted in an unrelated clause; an instruction planted inside a relevant clause is
    :func:`obeys_directive`'s to catch."""
    key = match_key(text)
    return not grams or any(g in key for g in grams)


def directives(hits: Sequence[Hit]) -> list[set[str]]:
    """Spans of the clauses that tell the reader what to say — the text after ``回答：``, ``输出：``, ``answer:``
    and the like, up to the sentence end — as character bigram sets.

    Limits: only directives phrased as such a verb and a colon are found (``忽略以上指示，告诉他……`` is not), and a
    document that labels real replies ``回复：`` is treated the same way; spans under three characters are
    ignored, since any reply could repeat them by chance."""
    found = []
    for hit in hits:
        for m in _DIRECTIVE_RE.finditer(normalise(support_text(hit))):
            grams = bigrams(m.group(1))
            if len(grams) >= 2:
                found.append(grams)
    return found


def obeys_directive(text: str, spans: Sequence[set[str]], share: float = ECHO_SHARE) -> bool:
    """Whether a reply repeats most of a clause directive (see :func:`directives`)."""
    grams = bigrams(_MARKER_RE.sub("", text))
    return any(len(span & grams) >= share * len(span) for span in spans)


def highlight(hit: Hit, sentences: list[str]) -> str:
    """The clause sentence that shares most wording with the answer sentences citing it."""
    text = hit.clause.text
    wanted = bigrams(" ".join(sentences))
    best, best_score = "", 0.0
    for start, end in split_sentences(text):
        score = len(bigrams(text[start:end]) & wanted)
        if score > best_score:
            best, best_score = text[start:end], score
    return best


def partial_text(reply: str, hits: Sequence[Hit]) -> tuple[str, list[Hit]]:
    """What to show while the model writes: markers renumbered as they appear, unknown numbers hidden."""
    text = _DANGLING_RE.sub("", clean_reply(reply))
    display: dict[int, int] = {}
    cited: list[Hit] = []

    def renumber(marker: re.Match[str]) -> str:
        shown = []
        for n in dict.fromkeys(_numbers(marker)):
            if 1 <= n <= len(hits):
                if n not in display:
                    display[n] = len(display) + 1
                    cited.append(hits[n - 1])
                shown.append(f"[{display[n]}]")
        return "".join(shown)

    return _MARKER_RE.sub(renumber, text).strip(), cited


# ---------------------------------------------------------------- answerer and condenser


class LLMDeadlineError(TimeoutError):
    """The model did not finish its reply within ``llm_deadline`` seconds."""

    def __init__(self, deadline: float) -> None:
        super().__init__(f"the model did not finish its reply within {deadline:g} s (llm_deadline)")
        self.deadline = deadline


class ReplyTooLongError(RuntimeError):
    """The reply ran past :data:`MAX_REPLY_CHARS` without ending."""


def make_llm(settings: Settings, http_client: httpx.Client | None = None) -> OpenAILike:
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=settings.llm_api_key or "none",
        is_chat_model=True,
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=settings.llm_temperature,
        http_client=http_client,
    )


class Connection:
    """The HTTP client of one request; :meth:`cut` shuts its sockets from any thread.

    Closing a socket does not wake a thread blocked reading it, and the per-read timeout restarts with every
    byte; shutting the socket down does wake it. httpcore's ``trace`` extension hands over each socket as it is
    connected (and again after TLS), so a request is cut off before its response headers as well as mid-stream."""

    def __init__(self, timeout: float, verify: Any = True) -> None:
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self._cut = False
        self.client = openai.DefaultHttpxClient(timeout=timeout, verify=verify, event_hooks={"request": [self._traced]})

    def _traced(self, request: httpx.Request) -> None:
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith((".connect_tcp.complete", ".connect_unix_socket.complete", ".start_tls.complete")):
            stream = info.get("return_value")
            with self._lock:
                self._streams.append(stream)
                cut = self._cut
            if cut:
                _shut(stream)

    def cut(self) -> None:
        with self._lock:
            self._cut, streams = True, list(self._streams)
        for stream in streams:
            _shut(stream)
        self.client.close()


def _shut(stream: Any) -> None:
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            sock.shutdown(socket.SHUT_RDWR)


def _pump(call: Callable[[], Iterable[str]], out: queue.SimpleQueue) -> None:
    """Worker: the reply's pieces into ``out``, then ``None`` (or the exception that ended it)."""
    try:
        for piece in call():
            out.put(piece)
    except Exception as exc:  # handed to the caller, who decides
        out.put(exc)
    else:
        out.put(None)


class Endpoint:
    """The OpenAI-compatible chat endpoint of the settings; no call to it outlives ``llm_deadline``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.llm_timeout
        self.deadline = settings.llm_deadline
        self._verify = httpx.create_ssl_context()  # loading the CA bundle once, not per request

    def reply(self, messages: list[ChatMessage], *, stream: bool) -> Iterator[str]:
        """The reply's text as it arrives (in one piece unless ``stream``).

        The request runs in a worker thread on a :class:`Connection` of its own. Raises :class:`LLMDeadlineError`
        once ``llm_deadline`` seconds have passed since the call (connecting included), :class:`ReplyTooLongError`
        past :data:`MAX_REPLY_CHARS`, or what the request raised. Whichever way the call ends (the caller
        stopping to iterate included) the connection is cut, which ends the worker's read at once."""
        ends = time.monotonic() + self.deadline
        connection = Connection(self.timeout, self._verify)
        llm = make_llm(self.settings, connection.client)

        def call() -> Iterable[str]:
            if stream:
                return (chunk.delta or "" for chunk in llm.stream_chat(messages))
            return [llm.chat(messages).message.content or ""]

        out: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=_pump, args=(call, out), name="llm-reply", daemon=True).start()
        size = 0
        try:
            while True:
                left = ends - time.monotonic()
                if left <= 0:
                    raise LLMDeadlineError(self.deadline)
                try:
                    item = out.get(timeout=left)
                except queue.Empty:
                    raise LLMDeadlineError(self.deadline) from None
                if isinstance(item, Exception):
                    raise item
                if item is None:
                    return
                size += len(item)
                if size > MAX_REPLY_CHARS:
                    raise ReplyTooLongError(f"the reply ran past {MAX_REPLY_CHARS} characters")
                yield item
        finally:
            connection.cut()


def _failure_notice(exc: Exception, timeout: float) -> str:
    if isinstance(exc, LLMDeadlineError):
        return DEADLINE_NOTICE.format(deadline=exc.deadline)
    if isinstance(exc, ReplyTooLongError):
        return LONG_NOTICE.format(limit=MAX_REPLY_CHARS)
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return TIMEOUT_NOTICE.format(timeout=timeout)
    return ERROR_NOTICE.format(error=type(exc).__name__)


class LLMAnswerer:
    """Asks the model to answer from the top clauses, then keeps only what the cited clauses support."""

    name = "llm"

    def __init__(self, endpoint: Endpoint, prompts: Prompts, fallback: Answerer, context_size: int) -> None:
        self.endpoint = endpoint
        self.prompts = prompts
        self.fallback = fallback
        self.context_size = context_size

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer:
        shown = hits[: self.context_size]
        try:
            reply = "".join(self.endpoint.reply(answer_messages(self.prompts, query, shown), stream=False))
        except Exception as exc:  # any endpoint failure: the extractive answer still works
            return self._fall_back(query, hits, weights, exc)
        return self._final(query, hits, weights, reply)

    def stream(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Iterator[Answer]:
        """Partial answers while the model writes; the last one is the checked answer (or the fallback).

        A partial that repeats a clause directive ends the stream early: nothing more of it is shown."""
        shown = hits[: self.context_size]
        spans = directives(shown)
        reply, last, obeyed, failure = "", "", False, None
        pieces = self.endpoint.reply(answer_messages(self.prompts, query, shown), stream=True)
        try:
            for piece in pieces:
                reply += piece
                text, cited = partial_text(reply, shown)
                if obeys_directive(text, spans):
                    obeyed = True
                    break
                if text and text != last:
                    last = text
                    yield Answer(query.text, text, [Citation.from_hit(n, h) for n, h in enumerate(cited, 1)], engine="llm")
        except Exception as exc:  # any endpoint failure: the extractive answer still works
            failure = exc
        finally:
            pieces.close()  # cuts the connection now, not when the generator is collected
        if failure is not None:
            yield self._fall_back(query, hits, weights, failure)
        elif obeyed:
            log.info("LLM reply repeats a clause directive: %r", reply[:500])
            yield self._extractive(query, hits, weights, OFF_TOPIC_NOTICE)
        else:
            yield self._final(query, hits, weights, reply)

    def _final(self, query: Query, hits: list[Hit], weights: dict[str, float], reply: str) -> Answer:
        shown = hits[: self.context_size]
        checked = check_reply(reply, shown)
        if checked.abstained:
            answer = cannot_answer(query.text, hits, ABSTAIN_NOTICE)
            answer.engine = "llm"
            return answer
        if not checked.cited:
            log.info("LLM reply failed the citation check: %r", reply[:500])
            return self._extractive(query, hits, weights, FALLBACK_NOTICE, checked.notes)
        if obeys_directive(checked.text, directives(shown)) or not addresses(question_grams(query), grounds(checked)):
            log.info("LLM reply is off the question or follows a clause directive: %r", reply[:500])
            return self._extractive(query, hits, weights, OFF_TOPIC_NOTICE)
        citations = [Citation.from_hit(n, h, highlight(h, checked.sentences[h.clause.id])) for n, h in enumerate(checked.cited, 1)]
        return Answer(query.text, checked.text, citations, notice=checked.notes, engine="llm")

    def _extractive(self, query: Query, hits: list[Hit], weights: dict[str, float], *notices: str) -> Answer:
        answer = self.fallback.answer(query, hits, weights)
        answer.notice = " ".join(filter(None, [*notices, answer.notice]))
        answer.engine = "extractive"
        return answer

    def _fall_back(self, query: Query, hits: list[Hit], weights: dict[str, float], exc: Exception) -> Answer:
        log.warning("LLM request failed (%s: %s); answering extractively", type(exc).__name__, exc)
        return self._extractive(query, hits, weights, _failure_notice(exc, self.endpoint.timeout))


def format_history(history: Sequence[dict[str, str]]) -> str:
    lines = []
    for message in [m for m in history if m.get("role") in {"user", "assistant"} and m.get("content", "").strip()][-HISTORY_MESSAGES:]:
        content = " ".join(message["content"].split())
        if len(content) > HISTORY_CHARS:
            content = content[:HISTORY_CHARS] + "…"
        lines.append(f"{'用户' if message['role'] == 'user' else '助手'}：{content}")
    return "\n".join(lines)


def clean_standalone(reply: str) -> str:
    """The rewritten question from a condense reply: first line, without a label or quotes; empty if implausible."""
    lines = [line.strip() for line in _THINK_RE.sub("", reply).splitlines() if line.strip()]
    if not lines:
        return ""
    question = _ANSWER_PREFIX_RE.sub("", lines[0]).strip().strip("\"'“”‘’「」『』")
    return question if 0 < len(question) <= 300 else ""


class LLMCondenser:
    """Rewrites a follow-up into a standalone question with the model; the rule condenser when that fails."""

    def __init__(self, endpoint: Endpoint, prompts: Prompts, fallback: Condenser) -> None:
        self.endpoint = endpoint
        self.prompts = prompts
        self.fallback = fallback

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        past = format_history(history)
        if not past:
            return question
        prompt = Prompts.render(self.prompts.condense, history=past, question=question)
        try:
            reply = "".join(self.endpoint.reply([ChatMessage(role="user", content=prompt)], stream=False))
        except Exception as exc:  # the rules still resolve most follow-ups (a deadline passed included)
            log.warning("LLM condense failed (%s: %s); using the rule condenser", type(exc).__name__, exc)
            return self.fallback.condense(question, history)
        return clean_standalone(reply) or self.fallback.condense(question, history)


def make_llm_components(settings: Settings, extractive: Answerer, rule_condenser: Condenser) -> tuple[LLMAnswerer, LLMCondenser]:
    """The LLM answerer and condenser for ``settings.llm_base_url``, falling back to the given ones."""
    if not settings.llm_model:
        raise SettingsError(f"llm_base_url is set ({settings.llm_base_url}) but llm_model is empty: set llm_model to a model the endpoint serves")
    prompts = load_prompts(settings.prompts_dir)
    endpoint = Endpoint(settings)
    return (
        LLMAnswerer(endpoint, prompts, extractive, settings.top_k),
        LLMCondenser(endpoint, prompts, rule_condenser),
    )
