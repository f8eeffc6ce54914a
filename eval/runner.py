"""Run every question of a dataset through an engine's ``ask`` and collect the result records.

Workers are threads sharing one engine (``Assistant.ask`` keeps no state between calls). The default of one
worker keeps the latencies honest: with several, questions compete for the CPU and each takes longer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from assistant.types import Answer

from .dataset import Question

log = logging.getLogger(__name__)


class Engine(Protocol):
    def ask(self, question: str, history: Sequence[dict[str, str]] = ..., filters: Any = ...) -> Answer: ...


def make_engine(
    kind: str, *, data_dir: Path | None = None, config: Path | None = None, corpus: Path = Path("corpus"),
    manifest: Path | None = None,
) -> Engine:
    """The assistant users get (over the index in ``data_dir``) or the naive baseline (over ``corpus``, or over a
    manifest's documents and the sample corpus)."""
    if kind == "baseline":
        from .baseline import BaselineEngine

        if manifest is not None:
            from .manifest import SAMPLES, load_manifest

            loaded = load_manifest(manifest)
            return BaselineEngine.from_files(
                [(p, p.relative_to(loaded.root).as_posix()) for p in loaded.paths()]
                + [(p, p.name) for p in sorted(SAMPLES.glob("*.txt"))]
            )
        return BaselineEngine.from_corpus(corpus)
    if kind != "assistant":
        raise ValueError(f"unknown engine {kind!r}: use 'assistant' or 'baseline'")
    from assistant.settings import load_settings
    from assistant.store import IndexError_, index_exists

    settings = load_settings(config, data_dir=data_dir)
    if not index_exists(settings):
        raise IndexError_(
            f"there is no index in {settings.data_dir}: build it with python -m ingest corpus --data-dir {settings.data_dir}"
        )
    from assistant.service import Assistant

    return Assistant(settings)


def result_record(question: Question, answer: Answer) -> dict[str, Any]:
    """The shared result record, plus the question's ``type`` for reading results on their own."""
    return {**answer.record(question.id), "type": question.type}


def failed_record(question: Question, error: BaseException, latency_ms: float) -> dict[str, Any]:
    """A result record for a question whose ``ask`` raised: scored as a wrong answer, with the error kept."""
    return {
        "id": question.id, "answer": "", "abstained": False, "citations": [], "retrieved": [],
        "latency_ms": round(latency_ms, 2), "standalone_question": "", "type": question.type,
        "error": f"{type(error).__name__}: {error}",
    }


def _filters(question: Question) -> Any:
    from assistant.store import Filters

    return Filters(exclude=question.exclude_sources) if question.exclude_sources else None


def ask_one(engine: Engine, question: Question) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        return result_record(question, engine.ask(question.question, list(question.history), _filters(question)))
    except Exception as exc:
        log.warning("question %s failed: %s: %s", question.id, type(exc).__name__, exc)
        log.debug("traceback of question %s", question.id, exc_info=True)
        return failed_record(question, exc, (time.perf_counter() - started) * 1000)


def warm_up(engine: Engine, question: Question) -> None:
    """One untimed question first, so lazy model loading is not charged to the first question's latency."""
    try:
        engine.ask(question.question, list(question.history))
    except Exception:  # the timed run records the error
        log.debug("warm-up question failed", exc_info=True)


def run(
    engine: Engine,
    questions: Sequence[Question],
    *,
    workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Result records in dataset order; ``progress`` is called with each record as it completes."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if questions:
        warm_up(engine, questions[0])
    records: dict[str, dict[str, Any]] = {}
    if workers == 1:
        for q in questions:
            records[q.id] = ask_one(engine, q)
            if progress:
                progress(records[q.id])
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
            futures = [pool.submit(ask_one, engine, q) for q in questions]
            for future in as_completed(futures):
                record = future.result()
                records[record["id"]] = record
                if progress:
                    progress(record)
    return [records[q.id] for q in questions]
