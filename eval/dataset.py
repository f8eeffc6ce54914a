"""Read datasets and result files of the known-answer format (``/work/shared/eval-format.md``).

A bad line never stops a run: it is skipped and described (with its line number) in ``problems``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

KeyFact = str | tuple[str, ...]
"""A fact the answer must contain; a tuple is satisfied by any one of its strings."""


class DatasetError(ValueError):
    """A dataset or results file cannot be used at all (missing, unreadable, no valid line)."""


@dataclass(frozen=True)
class Gold:
    source: str
    """The document's file name."""
    quote: str
    """A short verbatim span of the document."""


@dataclass(frozen=True)
class Question:
    """One dataset record; optional fields default to empty."""

    id: str
    question: str
    answerable: bool
    history: tuple[dict[str, str], ...] = ()
    answer: str = ""
    key_facts: tuple[KeyFact, ...] = ()
    gold: tuple[Gold, ...] = ()
    type: str = ""
    exclude_sources: tuple[str, ...] = ()
    """Documents left out of the search for this question (a counterfactual item: its gold documents)."""

    @property
    def counterfactual(self) -> bool:
        """An answerable question asked again without its documents: it must abstain."""
        return bool(self.exclude_sources) and not self.answerable

    @property
    def label(self) -> str:
        """The question's type for reporting (``untyped`` when the record has none)."""
        return self.type or "untyped"


@dataclass
class Loaded:
    """The usable records of a file and what was wrong with the others."""

    items: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _lines(path: Path) -> list[tuple[int, Any]]:
    """``(line number, parsed JSON or the error message)`` of each non-blank line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DatasetError(f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    out: list[tuple[int, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((n, _Invalid(f"not valid JSON ({exc.msg} at column {exc.colno})")))
    return out


@dataclass(frozen=True)
class _Invalid:
    reason: str


def _string(record: dict, name: str, *, required: bool = False) -> str:
    value = record.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{name!r} must be a non-empty string" if required else f"{name!r} must be a string")
    return value


def _history(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'history' must be a list of {role, content} objects")
    turns = []
    for i, turn in enumerate(value):
        if not isinstance(turn, dict) or turn.get("role") not in {"user", "assistant"} or not isinstance(turn.get("content"), str):
            raise ValueError(f"history[{i}] must be {{\"role\": \"user\"|\"assistant\", \"content\": string}}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    return tuple(turns)


def _key_facts(value: Any) -> tuple[KeyFact, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'key_facts' must be a list of strings or lists of strings")
    facts: list[KeyFact] = []
    for i, fact in enumerate(value):
        if isinstance(fact, str) and fact.strip():
            facts.append(fact)
        elif isinstance(fact, list) and fact and all(isinstance(a, str) and a.strip() for a in fact):
            facts.append(tuple(fact))
        else:
            raise ValueError(f"key_facts[{i}] must be a non-empty string or a non-empty list of non-empty strings")
    return tuple(facts)


def _gold(value: Any) -> tuple[Gold, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'gold' must be a list of {source, quote} objects")
    entries = []
    for i, entry in enumerate(value):
        ok = isinstance(entry, dict) and all(isinstance(entry.get(k), str) and entry[k].strip() for k in ("source", "quote"))
        if not ok:
            raise ValueError(f"gold[{i}] must be {{\"source\": string, \"quote\": string}}, both non-empty")
        entries.append(Gold(entry["source"], entry["quote"]))
    return tuple(entries)


def parse_question(record: Any) -> Question:
    """A :class:`Question` from one parsed line; ``ValueError`` says what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError("the line is not a JSON object")
    qid = record.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("'id' must be a non-empty string")
    if not isinstance(record.get("answerable"), bool):
        raise ValueError("'answerable' must be true or false")
    return Question(
        id=qid,
        question=_string(record, "question", required=True),
        answerable=record["answerable"],
        history=_history(record.get("history")),
        answer=_string(record, "answer"),
        key_facts=_key_facts(record.get("key_facts")),
        gold=_gold(record.get("gold")),
        type=_string(record, "type"),
        exclude_sources=_sources(record.get("exclude_sources")),
    )


def _sources(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("'exclude_sources' must be a list of document names")
    return tuple(value)


def counterfactuals(questions: list[Question]) -> list[Question]:
    """Each answerable question with gold, asked again with its gold documents excluded: it must abstain."""
    made = []
    for q in questions:
        sources = tuple(dict.fromkeys(g.source for g in q.gold))
        if q.answerable and sources and not q.exclude_sources:
            made.append(replace(q, id=f"{q.id}#cf", answerable=False, key_facts=(), gold=(), exclude_sources=sources,
                                type="counterfactual"))
    return made


def load_dataset(path: Path, counterfactual: bool = False) -> Loaded:
    """The valid questions of a dataset file; invalid and duplicate lines are listed in ``problems``. With
    ``counterfactual``, each answerable question is also asked without its gold documents (:func:`counterfactuals`)."""
    loaded, first_line = Loaded(), {}
    for n, record in _lines(path):
        try:
            if isinstance(record, _Invalid):
                raise ValueError(record.reason)
            question = parse_question(record)
            if question.id in first_line:
                raise ValueError(f"duplicate id {question.id!r} (first on line {first_line[question.id]})")
        except ValueError as exc:
            loaded.problems.append(f"{path}:{n}: {exc}; line skipped")
            continue
        first_line[question.id] = n
        loaded.items.append(question)
    if not loaded.items:
        raise DatasetError(f"{path} holds no valid question" + (f": {loaded.problems[0]}" if loaded.problems else ""))
    if counterfactual:
        taken = {q.id for q in loaded.items}
        loaded.items += [q for q in counterfactuals(loaded.items) if q.id not in taken]
    return loaded


_RESULT_TYPES = {"answer": str, "abstained": bool, "citations": list, "retrieved": list}


def load_results(path: Path) -> Loaded:
    """The result records of a run (dicts), checked for the fields the metrics read."""
    loaded, seen = Loaded(), set()
    for n, record in _lines(path):
        reason = ""
        if isinstance(record, _Invalid):
            reason = record.reason
        elif not isinstance(record, dict) or not isinstance(record.get("id"), str):
            reason = "not a result record (an object with a string 'id')"
        elif record["id"] in seen:
            reason = f"duplicate id {record['id']!r}"
        else:
            wrong = [k for k, t in _RESULT_TYPES.items() if not isinstance(record.get(k), t)]
            if not isinstance(record.get("latency_ms"), int | float) or isinstance(record.get("latency_ms"), bool):
                wrong.append("latency_ms")
            reason = f"missing or mistyped fields {wrong}" if wrong else ""
        if reason:
            loaded.problems.append(f"{path}:{n}: {reason}; line skipped")
            continue
        seen.add(record["id"])
        loaded.items.append(record)
    if not loaded.items:
        raise DatasetError(f"{path} holds no valid result record" + (f": {loaded.problems[0]}" if loaded.problems else ""))
    return loaded
