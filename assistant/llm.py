"""Answers written by an LLM behind an OpenAI-compatible endpoint, every citation checked against the clauses.

The model sees the retrieved clauses numbered ``[1]..[n]`` and must end each sentence with the numbers it
relies on. Its reply is then checked sentence by sentence: a number that names no clause is dropped, a
sentence whose cited clause does not contain its wording (character-bigram overlap after script
normalisation) is dropped, and a reply left without any valid citation — or an endpoint that fails or times
out — gives way to the extractive answer with a notice. The model answering with ``CANNOT_ANSWER``
abstains.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from .answer import CANNOT_ANSWER, Answerer, Evidence, cannot_answer
from .followup import Condenser
from .prompts import Prompts, load_prompts
from .query import Query
from .settings import Settings, SettingsError
from .text import match_key, normalise, split_sentences
from .types import Answer, Citation, Hit

log = logging.getLogger(__name__)

SUPPORT_THRESHOLD = 0.3
"""Share of a sentence's character bigrams that must occur in the clause it cites."""
SHORT_UNCITED = 12
"""An uncited sentence this short (``具体如下：``) is connective text and kept."""
HISTORY_MESSAGES = 6
HISTORY_CHARS = 300

FALLBACK_NOTICE = "大模型回答未通过引用核验，已改用摘录式回答。"
TIMEOUT_NOTICE = "大模型在{timeout:g}秒内没有回应，已改用摘录式回答。"
ERROR_NOTICE = "大模型服务出错（{error}），已改用摘录式回答。"
ABSTAIN_NOTICE = "大模型判断检索到的条款不能回答这个问题。"

_NUMBERS = r"\d+(?:\s*[,，、]\s*\d+)*"
_MARKER_RE = re.compile(rf"[\[【［]\s*({_NUMBERS})\s*[\]】］]")
_MARKERS_AFTER_END_RE = re.compile(rf"([。！？；!?;]+[”」』）)]*)((?:\s*[\[【［]\s*{_NUMBERS}\s*[\]】］])+)")
_DANGLING_RE = re.compile(r"[\[【［][\d,，、\s]*$")
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_ANSWER_PREFIX_RE = re.compile(r"^(?:改写后的问题|改写后|独立问题|完整问题|问题)\s*[:：]\s*")


# ---------------------------------------------------------------- prompt


def clause_block(n: int, hit: Hit) -> str:
    """One numbered clause of the prompt: title, document number, clause label, then the text."""
    meta, clause = hit.meta, hit.clause
    head = f"[{n}]《{meta.title}》 发文字号：{meta.doc_number or '无'} 条款：{clause.label}"
    if clause.headings:
        head += f" 所属章节：{' > '.join(clause.headings)}"
    return f"{head}\n{clause.text}"


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


def make_llm(settings: Settings) -> OpenAILike:
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=settings.llm_api_key or "none",
        is_chat_model=True,
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=settings.llm_temperature,
    )


def _failure_notice(exc: Exception, timeout: float) -> str:
    import httpx
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return TIMEOUT_NOTICE.format(timeout=timeout)
    return ERROR_NOTICE.format(error=type(exc).__name__)


class LLMAnswerer:
    """Asks the model to answer from the top clauses, then keeps only what the cited clauses support."""

    name = "llm"

    def __init__(self, llm: OpenAILike, prompts: Prompts, fallback: Answerer, context_size: int, timeout: float) -> None:
        self.llm = llm
        self.prompts = prompts
        self.fallback = fallback
        self.context_size = context_size
        self.timeout = timeout

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer:
        shown = hits[: self.context_size]
        try:
            reply = self.llm.chat(answer_messages(self.prompts, query, shown)).message.content or ""
        except Exception as exc:  # any endpoint failure: the extractive answer still works
            return self._fall_back(query, hits, weights, exc)
        return self._final(query, hits, weights, reply)

    def stream(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Iterator[Answer]:
        """Partial answers while the model writes; the last one is the checked answer (or the fallback)."""
        shown = hits[: self.context_size]
        reply, last = "", ""
        try:
            chunks = iter(self.llm.stream_chat(answer_messages(self.prompts, query, shown)))
        except Exception as exc:
            yield self._fall_back(query, hits, weights, exc)
            return
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception as exc:
                yield self._fall_back(query, hits, weights, exc)
                return
            reply += chunk.delta or ""
            text, cited = partial_text(reply, shown)
            if text and text != last:
                last = text
                yield Answer(query.text, text, [Citation.from_hit(n, h) for n, h in enumerate(cited, 1)], engine="llm")
        yield self._final(query, hits, weights, reply)

    def _final(self, query: Query, hits: list[Hit], weights: dict[str, float], reply: str) -> Answer:
        shown = hits[: self.context_size]
        checked = check_reply(reply, shown)
        if checked.abstained:
            answer = cannot_answer(query.text, hits, Evidence(0.0, False, ABSTAIN_NOTICE))
            answer.engine = "llm"
            return answer
        if not checked.cited:
            log.info("LLM reply failed the citation check: %r", reply[:500])
            fallback = self.fallback.answer(query, hits, weights)
            fallback.notice = " ".join(filter(None, [FALLBACK_NOTICE, checked.notes, fallback.notice]))
            fallback.engine = "extractive"
            return fallback
        citations = [Citation.from_hit(n, h, highlight(h, checked.sentences[h.clause.id])) for n, h in enumerate(checked.cited, 1)]
        return Answer(query.text, checked.text, citations, notice=checked.notes, engine="llm")

    def _fall_back(self, query: Query, hits: list[Hit], weights: dict[str, float], exc: Exception) -> Answer:
        log.warning("LLM request failed (%s: %s); answering extractively", type(exc).__name__, exc)
        answer = self.fallback.answer(query, hits, weights)
        answer.notice = " ".join(filter(None, [_failure_notice(exc, self.timeout), answer.notice]))
        answer.engine = "extractive"
        return answer


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

    def __init__(self, llm: OpenAILike, prompts: Prompts, fallback: Condenser) -> None:
        self.llm = llm
        self.prompts = prompts
        self.fallback = fallback

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        past = format_history(history)
        if not past:
            return question
        prompt = Prompts.render(self.prompts.condense, history=past, question=question)
        try:
            reply = self.llm.chat([ChatMessage(role="user", content=prompt)]).message.content or ""
        except Exception as exc:  # the rules still resolve most follow-ups
            log.warning("LLM condense failed (%s: %s); using the rule condenser", type(exc).__name__, exc)
            return self.fallback.condense(question, history)
        return clean_standalone(reply) or self.fallback.condense(question, history)


def make_llm_components(settings: Settings, extractive: Answerer, rule_condenser: Condenser) -> tuple[LLMAnswerer, LLMCondenser]:
    """The LLM answerer and condenser for ``settings.llm_base_url``, falling back to the given ones."""
    if not settings.llm_model:
        raise SettingsError(f"llm_base_url is set ({settings.llm_base_url}) but llm_model is empty: set llm_model to a model the endpoint serves")
    prompts = load_prompts(settings.prompts_dir)
    llm = make_llm(settings)
    return (
        LLMAnswerer(llm, prompts, extractive, settings.top_k, settings.llm_timeout),
        LLMCondenser(llm, prompts, rule_condenser),
    )
