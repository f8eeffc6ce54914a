"""Domain objects that flow through the system: Document → Clause → Hit → Citation → Answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

HEADER_LABEL = "文件头"
PREAMBLE_LABEL = "引言"
SIGNOFF_LABEL = "落款"
CANNOT_ANSWER = "文件中没有找到能回答这个问题的内容。"
"""The one "cannot answer" wording, shared by code, prompts and tests."""


@dataclass(frozen=True)
class DocumentMeta:
    """Metadata of one document, in the document's own script."""

    source: str
    """File name; citations and evaluation refer to documents by it."""
    title: str = ""
    doc_number: str = ""
    issuer: str = ""
    date_issued: str = ""
    """ISO date (YYYY-MM-DD) the document was signed or issued."""
    date_published: str = ""
    """ISO date the page was published, where different."""
    region: str = ""
    doc_type: str = ""
    period: str = ""
    script: str = "simplified"
    """``traditional`` or ``simplified``: the script the document is written in."""
    effective: str = ""
    """ISO date the document takes effect (施行), where it says."""
    status: str = ""
    """``现行有效``, ``已修订``, ``已废止`` or ``失效`` where the text or its header says so; empty = not stated."""
    history: tuple[str, ...] = ()
    """The adoption, promulgation and amendment lines (公布 / 通过 / 修正 / 修订), as written."""
    region_code: str = ""
    """Administrative division code (adcode) of ``region``, from the gazetteer."""
    region_path: tuple[str, ...] = ()
    """The region and the divisions containing it, outermost first (湖南省, 湘西土家族苗族自治州, 吉首市)."""
    period_end: str = ""
    """ISO date a plan's period ends (the end of ``period``)."""

    @property
    def year(self) -> int:
        date = self.date_issued or self.date_published
        return int(date[:4]) if date[:4].isdigit() else 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-shaped data (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentMeta:
        """The inverse of :meth:`to_dict` (JSON lists back to tuples; unknown keys of newer records ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


@dataclass(frozen=True)
class Clause:
    """One citable unit of a document: a numbered clause, or the header, preamble or sign-off."""

    source: str
    label_path: tuple[str, ...]
    text: str
    start: int
    """Offset of the clause in the cleaned document text."""
    end: int
    headings: tuple[str, ...] = ()
    """Titles of the enclosing section and subsection, outermost first."""
    kind: str = "clause"
    """``clause``, ``header``, ``preamble`` or ``signoff``."""
    part: int = 0
    """Index of this piece when a long clause was split at sentence boundaries."""
    responsible: str = ""
    """The clause's ``责任单位`` text, as written."""
    lead_units: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    deadlines: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    """Quality flags such as ``mis-decoded``."""
    fields: tuple[tuple[str, str], ...] = ()
    """Structured fields of a table row (``("牵头单位", "市司法局")``, ``("完成时限", "2024年底前")`` …)."""

    @property
    def label(self) -> str:
        return "".join(self.label_path)

    @cached_property
    def id(self) -> str:
        key = "\x1f".join([self.source, self.label, str(self.part), self.text])
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


@dataclass
class Document:
    """A cleaned document, its metadata and its clauses."""

    meta: DocumentMeta
    text: str
    clauses: list[Clause] = field(default_factory=list)


@dataclass(frozen=True)
class Hit:
    """A retrieved clause with its document's metadata and fused score."""

    clause: Clause
    meta: DocumentMeta
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_score: float = 0.0
    lexical_score: float = 0.0
    """BM25 score (0 when the clause was not among the lexical candidates)."""
    coverage: float = 0.0
    """Share of the question's key-term weight found in the clause."""


@dataclass(frozen=True)
class Citation:
    """A passage shown to the user as evidence, in the document's own script."""

    n: int
    source: str
    title: str
    doc_number: str
    clause: str
    text: str
    clause_id: str = ""
    highlight: str = ""
    """The sentence of ``text`` that supports the answer."""
    start: int = 0
    end: int = 0

    def record(self) -> dict[str, Any]:
        """The fields of the shared evaluation result format."""
        return {
            "source": self.source,
            "title": self.title,
            "doc_number": self.doc_number,
            "clause": self.clause,
            "text": self.text,
        }

    @classmethod
    def from_hit(cls, n: int, hit: Hit, highlight: str = "") -> Citation:
        c = hit.clause
        return cls(
            n=n,
            source=c.source,
            title=hit.meta.title,
            doc_number=hit.meta.doc_number,
            clause=c.label,
            text=c.text,
            clause_id=c.id,
            highlight=highlight,
            start=c.start,
            end=c.end,
        )


@dataclass
class Answer:
    """What the assistant says, with the evidence behind it."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    related: list[Citation] = field(default_factory=list)
    """Closest passages, shown when abstaining."""
    retrieved: list[Citation] = field(default_factory=list)
    standalone_question: str = ""
    notice: str = ""
    """A message for the user about how the answer was made (e.g. LLM fell back)."""
    engine: str = "extractive"
    latency_ms: float = 0.0

    def record(self, qid: str = "") -> dict[str, Any]:
        """A result record in the shared evaluation format."""
        return {
            "id": qid,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.record() for c in self.citations],
            "retrieved": [c.record() for c in self.retrieved],
            "latency_ms": round(self.latency_ms, 2),
            "standalone_question": self.standalone_question,
        }

    def to_json(self) -> str:
        return json.dumps(self.record(), ensure_ascii=False)
