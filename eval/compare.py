"""Which questions changed between two runs: regressions first, then improvements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .dataset import Question
from .metrics import score

WATCHED = ("answer_correctness", "hit@5")
"""The per-question outcomes whose change is reported, the first deciding the direction."""


@dataclass(frozen=True)
class Change:
    question: Question
    before: dict[str, Any]
    after: dict[str, Any]
    answer_before: str
    answer_after: str

    @property
    def delta(self) -> int:
        """Positive for an improvement: correctness counts before the retrieval hit."""
        return sum((bool(self.after[k]) - bool(self.before[k])) * 2 ** (len(WATCHED) - i) for i, k in enumerate(WATCHED))


def changes(questions: Sequence[Question], a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]]) -> list[Change]:
    """Questions answered in both runs whose watched outcomes differ; regressions first, in dataset order."""
    found = []
    for q in questions:
        if q.id not in a or q.id not in b:
            continue
        before, after = score(q, a[q.id]), score(q, b[q.id])
        if any(before[k] != after[k] for k in WATCHED):
            found.append(Change(q, before, after, a[q.id].get("answer", ""), b[q.id].get("answer", "")))
    return sorted(found, key=lambda c: c.delta > 0)


def _yes(value: Any) -> str:
    return "–" if value is None else ("yes" if value else "no")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_changes(found: Sequence[Change], *, width: int = 120) -> str:
    regressions = [c for c in found if c.delta < 0]
    improvements = [c for c in found if c.delta > 0]
    lines = []
    for title, group in (("Regressions", regressions), ("Improvements", improvements)):
        lines.append(f"{title} ({len(group)})")
        for c in group:
            q = c.question
            outcome = "; ".join(f"{k}: {_yes(c.before[k])} → {_yes(c.after[k])}" for k in WATCHED)
            lines += [
                f"- {q.id} [{q.label}] {_short(q.question, width)}",
                f"    {outcome}",
                f"    A: {_short(c.answer_before, width)}",
                f"    B: {_short(c.answer_after, width)}",
            ]
        lines.append("")
    return "\n".join(lines)
