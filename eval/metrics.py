"""The evaluation maths as small pure functions: matching, per-question scores, aggregates.

Matching follows eval-format.md through :func:`assistant.text.match_key`. A score that does not apply to a
question (retrieval for an unanswerable one, citation hit without gold passages …) is ``None`` and is left out
of that metric's mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.text import match_key

from .dataset import Gold, KeyFact, Question

_key = lru_cache(maxsize=8192)(match_key)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    rate: bool = True
    """A share in [0, 1]; otherwise a count of characters or milliseconds."""
    higher_is_better: bool = True
    digits: int = 3


METRICS = (
    Metric("hit@1", "hit@1"),
    Metric("hit@5", "hit@5"),
    Metric("mrr@10", "MRR@10"),
    Metric("citation_hit", "citation hit"),
    Metric("citation_precision", "citation precision"),
    Metric("key_fact_accuracy", "key-fact accuracy"),
    Metric("answer_correctness", "answer correctness"),
    Metric("abstention_accuracy", "abstention accuracy"),
    Metric("counterfactual_abstention", "counterfactual abstention"),
    Metric("false_abstention_rate", "false-abstention rate", higher_is_better=False),
    Metric("answer_chars_median", "answer length median (chars)", rate=False, higher_is_better=False, digits=0),
    Metric("latency_p50_ms", "latency p50 (ms)", rate=False, higher_is_better=False, digits=1),
    Metric("latency_p95_ms", "latency p95 (ms)", rate=False, higher_is_better=False, digits=1),
)
DEFINITIONS = {
    "hit@1": "answerable questions with gold: the first retrieved passage supports a gold entry",
    "hit@5": "answerable questions with gold: one of the first 5 retrieved passages supports a gold entry",
    "mrr@10": "answerable questions with gold: mean of 1/rank of the first supporting passage in the top 10 (0 if none)",
    "citation_hit": "answerable questions with gold: some citation supports a gold entry",
    "citation_precision": "answerable questions with gold and citations: share of citations supporting a gold entry, averaged over questions",
    "key_fact_accuracy": "answerable questions with key facts: share of key facts present in the answer, averaged over questions",
    "answer_correctness": "answerable: not abstained, all key facts present and citation hit (checks without data are skipped); unanswerable: abstained",
    "abstention_accuracy": "unanswerable questions written as such (not counterfactual): share abstained",
    "counterfactual_abstention": "answerable questions asked without their documents (exclude_sources): share abstained",
    "false_abstention_rate": "answerable questions: share abstained",
    "answer_chars_median": "median length in characters of the answers that did not abstain",
    "latency_p50_ms": "median wall time per question",
    "latency_p95_ms": "95th percentile of wall time per question (linear interpolation)",
}


# ------------------------------------------------------------ matching


def supports(passage: Mapping[str, Any], gold: Gold) -> bool:
    """The passage is from the gold document and its normalised text contains the normalised quote."""
    return passage.get("source") == gold.source and _key(gold.quote) in _key(passage.get("text") or "")


def supports_any(passage: Mapping[str, Any], gold: Iterable[Gold]) -> bool:
    return any(supports(passage, g) for g in gold)


def first_hit_rank(passages: Sequence[Mapping[str, Any]], gold: Sequence[Gold]) -> int | None:
    """1-based rank of the first passage supporting any gold entry, or ``None``."""
    for rank, passage in enumerate(passages, 1):
        if supports_any(passage, gold):
            return rank
    return None


def hit_at(passages: Sequence[Mapping[str, Any]], gold: Sequence[Gold], k: int) -> bool:
    return first_hit_rank(passages[:k], gold) is not None


def reciprocal_rank(passages: Sequence[Mapping[str, Any]], gold: Sequence[Gold], k: int = 10) -> float:
    rank = first_hit_rank(passages[:k], gold)
    return 1.0 / rank if rank else 0.0


def fact_present(fact: KeyFact, answer: str) -> bool:
    """A fact (or any one alternative of a list fact) appears in the normalised answer."""
    alternatives = (fact,) if isinstance(fact, str) else fact
    normalised = _key(answer)
    return any(_key(alt) in normalised for alt in alternatives)


def key_fact_share(facts: Sequence[KeyFact], answer: str) -> float | None:
    if not facts:
        return None
    return sum(fact_present(f, answer) for f in facts) / len(facts)


def citation_precision(citations: Sequence[Mapping[str, Any]], gold: Sequence[Gold]) -> float | None:
    if not citations or not gold:
        return None
    return sum(supports_any(c, gold) for c in citations) / len(citations)


# ------------------------------------------------------------ one question


def score(question: Question, result: Mapping[str, Any]) -> dict[str, Any]:
    """Every per-question score of one result record against its dataset record."""
    abstained = bool(result.get("abstained"))
    answer = result.get("answer") or ""
    retrieved, citations = result.get("retrieved") or [], result.get("citations") or []
    graded = question.answerable and bool(question.gold)
    facts = key_fact_share(question.key_facts, answer) if question.answerable else None
    cited = any(supports_any(c, question.gold) for c in citations) if graded else None
    if question.answerable:
        correct = not abstained and (facts is None or facts == 1.0) and cited is not False
    else:
        correct = abstained
    return {
        "id": question.id,
        "type": question.label,
        "answerable": question.answerable,
        "abstained": abstained,
        "error": bool(result.get("error")),
        "rank": first_hit_rank(retrieved[:10], question.gold) if graded else None,
        "hit@1": hit_at(retrieved, question.gold, 1) if graded else None,
        "hit@5": hit_at(retrieved, question.gold, 5) if graded else None,
        "mrr@10": reciprocal_rank(retrieved, question.gold, 10) if graded else None,
        "citation_hit": cited,
        "citation_precision": citation_precision(citations, question.gold) if graded else None,
        "key_fact_accuracy": facts,
        "answer_correctness": correct,
        "abstention_accuracy": abstained if not question.answerable and not question.counterfactual else None,
        "counterfactual_abstention": abstained if question.counterfactual else None,
        "false_abstention_rate": abstained if question.answerable else None,
        "answer_chars": None if abstained else len(answer),
        "latency_ms": float(result.get("latency_ms") or 0.0),
    }


# ------------------------------------------------------------ aggregates


def mean(values: Iterable[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics of a group of per-question scores, with the group's counts."""
    latencies = [s["latency_ms"] for s in scores]
    summary: dict[str, Any] = {
        "questions": len(scores),
        "answerable": sum(s["answerable"] for s in scores),
        "unanswerable": sum(not s["answerable"] for s in scores),
        "errors": sum(s["error"] for s in scores),
    }
    for name in ("hit@1", "hit@5", "mrr@10", "citation_hit", "citation_precision", "key_fact_accuracy",
                 "answer_correctness", "abstention_accuracy", "counterfactual_abstention", "false_abstention_rate"):
        summary[name] = mean(s[name] for s in scores)
    summary["answer_chars_median"] = percentile([s["answer_chars"] for s in scores if s["answer_chars"] is not None], 50)
    summary["latency_p50_ms"] = percentile(latencies, 50)
    summary["latency_p95_ms"] = percentile(latencies, 95)
    return summary


def evaluate(questions: Sequence[Question], results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Scores of a run: overall, by question type, and per question. Questions without a result are listed."""
    scores = [score(q, results[q.id]) for q in questions if q.id in results]
    types = sorted({s["type"] for s in scores})
    return {
        "overall": summarise(scores),
        "by_type": {t: summarise([s for s in scores if s["type"] == t]) for t in types},
        "missing": [q.id for q in questions if q.id not in results],
        "questions": scores,
    }
