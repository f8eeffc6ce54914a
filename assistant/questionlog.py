"""The question log: every question asked through a front end, its answer, citations, latency and feedback.

One SQLite file in the data directory (``questions.sqlite3``), safe for several threads and processes (WAL,
one short transaction per write). Rows older than ``log_retention_days`` are deleted when the log is opened.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .types import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY, time REAL NOT NULL, channel TEXT NOT NULL, user TEXT NOT NULL,
    question TEXT NOT NULL, standalone TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    abstained INTEGER NOT NULL, latency_ms REAL NOT NULL, engine TEXT NOT NULL, notice TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_time ON questions(time);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, question_id TEXT NOT NULL, time REAL NOT NULL, user TEXT NOT NULL,
    rating TEXT NOT NULL, comment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_question ON feedback(question_id);
"""
RATINGS = ("up", "down")


@dataclass(frozen=True)
class LoggedQuestion:
    """One row of the log, with its latest feedback."""

    id: str
    time: float
    channel: str
    """``ui``, ``api`` or ``cli``."""
    user: str
    question: str
    standalone: str
    answer: str
    citations: list[dict[str, Any]]
    abstained: bool
    latency_ms: float
    engine: str
    notice: str
    rating: str = ""
    comment: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class LogQuery:
    """Which rows to list (empty = any)."""

    since: float = 0.0
    until: float = 0.0
    channel: str = ""
    text: str = ""
    """Substring of the question or the answer."""
    abstained: bool | None = None
    rating: str = ""
    """``up``, ``down``, ``any`` (with feedback) or empty."""
    limit: int = 200
    offset: int = 0


class QuestionLog:
    """Record and read the question log of one data directory."""

    def __init__(self, path: Path, retention_days: int) -> None:
        self.path = path
        self.retention_days = retention_days
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)
        self.purge()

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    def purge(self) -> int:
        """Delete rows older than the retention period. Returns how many questions went."""
        cutoff = time.time() - self.retention_days * 86400
        db = self._connect()
        with db:
            db.execute("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE time < ?)", (cutoff,))
            return db.execute("DELETE FROM questions WHERE time < ?", (cutoff,)).rowcount

    def record(self, answer: Answer, channel: str, user: str = "") -> str:
        """Log an answer; returns its id (for feedback)."""
        qid = uuid.uuid4().hex
        citations = [{**c.record(), "n": c.n} for c in answer.citations]
        row = (
            qid, time.time(), channel, user or "", answer.question, answer.standalone_question or answer.question,
            answer.text, json.dumps(citations, ensure_ascii=False), int(answer.abstained), float(answer.latency_ms),
            answer.engine, answer.notice,
        )
        db = self._connect()
        with db:
            db.execute("INSERT INTO questions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
        return qid

    def add_feedback(self, question_id: str, rating: str, comment: str = "", user: str = "") -> None:
        """Attach a rating (``up``/``down``) and comment to a logged question; KeyError when it is not logged."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        db = self._connect()
        with db:
            if db.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is None:
                raise KeyError(question_id)
            db.execute("INSERT INTO feedback (question_id, time, user, rating, comment) VALUES (?,?,?,?,?)",
                       (question_id, time.time(), user or "", rating, comment))

    def get(self, question_id: str) -> LoggedQuestion | None:
        rows = self._select("q.id = ?", [question_id], 1, 0)
        return rows[0] if rows else None

    def list(self, query: LogQuery | None = None) -> list[LoggedQuestion]:
        """Rows matching ``query``, newest first."""
        query = query or LogQuery()
        conds, args = ["1=1"], []
        if query.since:
            conds.append("q.time >= ?")
            args.append(query.since)
        if query.until:
            conds.append("q.time < ?")
            args.append(query.until)
        if query.channel:
            conds.append("q.channel = ?")
            args.append(query.channel)
        if query.text:
            conds.append("(instr(q.question, ?) > 0 OR instr(q.answer, ?) > 0)")
            args += [query.text, query.text]
        if query.abstained is not None:
            conds.append("q.abstained = ?")
            args.append(int(query.abstained))
        if query.rating == "any":
            conds.append("f.rating IS NOT NULL")
        elif query.rating:
            conds.append("f.rating = ?")
            args.append(query.rating)
        return self._select(" AND ".join(conds), args, query.limit, query.offset)

    def _select(self, where: str, args: list[Any], limit: int, offset: int) -> list[LoggedQuestion]:
        sql = f"""
            SELECT q.*, f.rating AS rating, f.comment AS comment FROM questions q
            LEFT JOIN feedback f ON f.id = (SELECT max(id) FROM feedback WHERE question_id = q.id)
            WHERE {where} ORDER BY q.time DESC LIMIT ? OFFSET ?"""
        rows = self._connect().execute(sql, [*args, limit, offset]).fetchall()
        return [
            LoggedQuestion(
                id=r["id"], time=r["time"], channel=r["channel"], user=r["user"], question=r["question"],
                standalone=r["standalone"], answer=r["answer"], citations=json.loads(r["citations"]),
                abstained=bool(r["abstained"]), latency_ms=r["latency_ms"], engine=r["engine"], notice=r["notice"],
                rating=r["rating"] or "", comment=r["comment"] or "",
            )
            for r in rows
        ]


def to_csv(rows: list[LoggedQuestion]) -> str:
    """The rows as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "channel", "user", "question", "answer", "citations", "abstained", "latency_ms", "engine",
                     "rating", "comment"])
    for r in rows:
        cites = "; ".join(f"[{c.get('n', '')}]《{c['title']}》{c['clause']}" for c in r.citations)
        writer.writerow([time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.time)), r.channel, r.user, r.question,
                         r.answer, cites, int(r.abstained), round(r.latency_ms, 1), r.engine, r.rating, r.comment])
    return "\ufeff" + out.getvalue()
