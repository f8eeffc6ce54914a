"""The question log: records, feedback, filters, retention, CSV, several threads."""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path

import pytest

from assistant.questionlog import LogQuery, QuestionLog, to_csv
from assistant.types import Answer, Citation


def _answer(question: str, abstained: bool = False) -> Answer:
    cite = Citation(n=1, source="a.txt", title="某市实施方案", doc_number="某发〔2024〕1号", clause="二（一）", text="条文")
    return Answer(question=question, text=f"答：{question}[1]", citations=[] if abstained else [cite], abstained=abstained,
                  latency_ms=12.5)


def test_record_feedback_and_filters(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=30)
    first = log.record(_answer("谁牵头？"), "ui", "alice")
    second = log.record(_answer("离题问题", abstained=True), "api", "key1")
    log.add_feedback(first, "down", "引用不对")
    assert [r.id for r in log.list()] == [second, first]
    assert [r.id for r in log.list(LogQuery(channel="ui"))] == [first]
    assert [r.id for r in log.list(LogQuery(abstained=True))] == [second]
    assert [r.id for r in log.list(LogQuery(text="牵头"))] == [first]
    assert [r.id for r in log.list(LogQuery(rating="down"))] == [first]
    row = log.get(first)
    assert row is not None and row.rating == "down" and row.comment == "引用不对" and row.citations[0]["clause"] == "二（一）"
    with pytest.raises(KeyError):
        log.add_feedback("no-such-id", "up")
    with pytest.raises(ValueError):
        log.add_feedback(first, "meh")
    rows = list(csv.reader(io.StringIO(to_csv(log.list()).lstrip("\ufeff"))))
    assert rows[0][:4] == ["time", "channel", "user", "question"] and {r[3] for r in rows[1:]} == {"谁牵头？", "离题问题"}


def test_retention_deletes_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    log = QuestionLog(path, retention_days=1)
    old = log.record(_answer("旧问题"), "ui")
    log._connect().execute("UPDATE questions SET time = ? WHERE id = ?", (time.time() - 3 * 86400, old))
    log.add_feedback(old, "up")
    new = log.record(_answer("新问题"), "ui")
    reopened = QuestionLog(path, retention_days=1)
    assert [r.id for r in reopened.list()] == [new]
    assert reopened._connect().execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_concurrent_writers(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path / "q.sqlite3", retention_days=30)
    def write(n: int) -> None:
        for i in range(25):
            log.record(_answer(f"问题{n}-{i}"), "api")
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.list(LogQuery(limit=1000))) == 100
