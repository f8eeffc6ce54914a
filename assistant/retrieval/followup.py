"""Rewrite a follow-up question into a standalone one, by rules (the LLM condenser lives in ``llm.py``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from ..text import normalise
from ..types import CANNOT_ANSWER
from .query import _DEADLINE_RE, _METADATA_RE, _RESPONSIBILITY_RE, QueryAnalyzer

_LEADING_RE = re.compile(r"^(那么|那|还有|另外|此外|而|再问一下|再问|同样|具体|then|and|what about|how about)[，,\s]*", re.I)
_TRAILING_RE = re.compile(r"(呢|吗|嘛|呀)?[？?。！!\s]*$")
_PRONOUN_RE = re.compile(
    r"这项|该项|此项|这个|那个|这些|那些|上述|以上|其中|它们|它的|它|其|该|这方面|这一|这部分|这里|那里|此类|同一|"
    r"\b(it|this|that|these|those|they|them)\b",
    re.I,
)


def _drop_ask(segment: str) -> str:
    """A question segment without its responsibility / deadline / metadata ask."""
    stripped = segment
    for pattern in (_RESPONSIBILITY_RE, _DEADLINE_RE, _METADATA_RE):
        stripped = pattern.sub("", stripped)
    leftover = re.sub(r"负责|工作|部门|单位|具体|主要|时间|什么|哪些|哪个|[由是的要在了吗呢？?。\s]", "", stripped)
    if stripped != segment and len(leftover) < 3:
        return ""
    return _TRAILING_RE.sub("", stripped)


class Condenser(Protocol):
    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str: ...


def user_turns(history: Sequence[dict[str, str]]) -> list[str]:
    """The user's earlier questions, without those the assistant could not answer (they set no topic)."""
    turns: list[str] = []
    for i, message in enumerate(history):
        content = message.get("content", "").strip()
        if message.get("role") != "user" or not content:
            continue
        reply = next((m.get("content", "") for m in history[i + 1 :] if m.get("role") == "assistant"), "")
        if CANNOT_ANSWER[:8] in normalise(reply)[:120]:  # an abstention (after an English lead)
            continue
        turns.append(content)
    return turns


def previous_turn(history: Sequence[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """The user's last question the assistant answered, and the conversation before it ('' when none)."""
    for i in range(len(history) - 1, -1, -1):
        message = history[i]
        if message.get("role") == "user" and message.get("content", "").strip() and user_turns(history[i:]):
            return message["content"].strip(), list(history[:i])
    return "", []


class RuleCondenser:
    """Carries the topic, document and region of earlier turns into a question that leans on them (a pronoun,
    "那…呢", no topic of its own); a question with a topic of its own is left as it is."""

    def __init__(self, analyzer: QueryAnalyzer) -> None:
        self.analyzer = analyzer

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        standalone = ""
        for turn in user_turns(history):
            standalone = self.rewrite(turn, standalone) if standalone else turn
        return self.rewrite(question, standalone) if standalone else question

    def is_followup(self, question: str) -> bool:
        """Whether a question leans on the previous turn for its topic (not just for its document or region)."""
        norm = normalise(question).strip()
        query = self.analyzer.analyse(question)
        if _PRONOUN_RE.search(norm) or norm.startswith("具体") or not query.key_terms:
            return True
        # "那…呢" / "还有…" with a topic of its own is a new question about the same document
        return bool(_LEADING_RE.match(norm)) and len(query.key_terms) <= 1

    def rewrite(self, question: str, previous: str) -> str:
        now, before = self.analyzer.analyse(question), self.analyzer.analyse(previous)
        if not self.is_followup(question):  # a topic of its own: the earlier document or region stays behind
            return question
        core = _TRAILING_RE.sub("", _LEADING_RE.sub("", question.strip()))
        carried = normalise(previous.strip())
        if now.targets:  # "那张掖市呢？": the same question about another document or region
            names = [t.name for t in now.targets]
            old = [t.name for t in before.targets]
            if old:
                carried = normalise(carried)
                for name in sorted(old, key=len, reverse=True):
                    carried = carried.replace(name, "\x00")
                carried = re.sub("\x00+", "和".join(names), carried, count=1).replace("\x00", "")
            else:
                carried = "和".join(names) + carried
            for name in names:
                core = normalise(core).replace(name, "")
            core = core.strip("的，, ")
        own_ask = _PRONOUN_RE.sub("", core).strip("，, ")
        if now.intent != "fact" or len(own_ask) >= 4:  # the follow-up asks something new of the same topic: drop the old ask
            carried = "，".join(p for p in (_drop_ask(seg) for seg in re.split(r"[，,]", carried)) if p)
        core = _PRONOUN_RE.sub("", core).strip("，, ")
        carried = _TRAILING_RE.sub("", carried)
        return f"{carried}，{core}？" if core else f"{carried}？"
