"""The evidence check: whether the retrieved clauses answer a question, and why not.

Checks that follow from the question's own content come first (a year or a quoted title no passage gives, a
metadata field the document lacks); the rest is the fitted answerability model's call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..retrieval.query import Query, asked, document_heads, hits_by_target
from ..store import lexical_text
from ..text import normalise
from ..types import DocumentMeta, Hit
from .answerability import AnswerabilityModel, signals


@dataclass(frozen=True)
class Evidence:
    """Whether the retrieved clauses answer the question, and why not."""

    confidence: float
    answerable: bool
    reason: str = ""
    signals: dict[str, float] = field(default_factory=dict)
    """The answerability model's inputs (empty when a check decided)."""


def assess(
    query: Query,
    hits: list[Hit],
    model: AnswerabilityModel,
    idf: Callable[[str], float],
    weights: dict[str, float],
    documents: dict[str, str] | None = None,
    threshold: float | None = None,
) -> Evidence:
    """Decide from the evidence whether to answer: years, titles and metadata no passage gives, then
    the answerability model's probability against its fitted threshold (or ``threshold``)."""
    if not hits:
        return Evidence(0.0, False, "没有检索到相关条款")
    texts = documents if documents is not None else {}
    pool = " ".join(texts.get(h.clause.source) or lexical_text(h.clause, h.meta) for h in hits) + " ".join(
        " ".join((h.meta.date_issued, h.meta.date_published, h.meta.effective, *h.meta.history)) for h in hits
    )  # a year the documents' own dates or history give (a revision named in the question: "（2024年修订）")
    missing_years = [y for y in query.years if y not in pool]
    if missing_years:
        return Evidence(0.0, False, f"相关文件没有提到{'、'.join(missing_years)}年")
    targeted = {s for t in query.targets for s in t.sources}
    for quoted in query.quoted:
        if any(_names_document(quoted, h.meta.title, h.clause.source in targeted) for h in hits):
            continue
        mentioned = any(quoted in normalise(h.clause.text) for h in hits)
        if query.intent == "metadata" or _asks_inside(query, strictly=mentioned):
            return Evidence(0.0, False, f"《{quoted}》不在已收录的文件中")
    if query.intent == "metadata":
        missing = _missing_field(query, hits)
        if missing:
            return Evidence(0.0, False, f"该文件没有注明{missing}")
        if query.targets:  # the document asked about is named: its header answers
            return Evidence(1.0, True)
        # no document named: which one is asked about is retrieval's guess, judged like any other evidence
    if query.targets and not query.key_terms:
        return Evidence(1.0, True)
    # a comparison is answered document by document: the evidence of the best-supported one (its hits alone;
    # the interleaved list of several would read as weak agreement)
    groups = [mine for _, mine in hits_by_target(query, hits)] if len(query.targets) >= 2 else []
    candidates = [signals(query, group, weights, idf) for group in groups] or [signals(query, hits, weights, idf)]
    values = max(candidates, key=model.probability)
    p = model.probability(values)
    cut = model.threshold if threshold is None else threshold
    reason = "" if p >= cut else f"证据不足（可回答概率 {p:.2f}，低于 {cut:.2f}）"
    return Evidence(p, p >= cut, reason, values)


def _missing_field(query: Query, hits: list[Hit]) -> str:
    """The metadata field a question asks for when the document does not give it (e.g. no 发文字号); for a
    question naming several documents, when none of them gives it."""
    missing = {_field_missing(query, head.meta) for head in document_heads(query, hits)}
    return missing.pop() if len(missing) == 1 else ""


def _field_missing(query: Query, meta: DocumentMeta) -> str:
    asking = asked(query)
    if re.search(r"文号|字号|令号|第几号|几号令|document number", asking) and not meta.doc_number:
        return "发文字号"
    if re.search(r"施行|生效|into (effect|force)|effective", asking) and not meta.effective:
        return "施行日期"
    if re.search(r"修正|修订|amend|revis", asking) and not meta.history:
        return "修改情况"
    if re.search(r"哪一?天|日期|什么时候|何时|\bwhen\b", asking) and not (meta.date_issued or meta.date_published or meta.effective):
        return "日期"
    return ""


def _names_document(quoted: str, title: str, named_otherwise: bool = False) -> bool:
    """Whether a title quoted in a question names this document, not just a document its title refers to
    (unless the question also names this document by its region: "内蒙古贯彻《纲要》的方案")."""
    title = normalise(title)
    key = re.sub(r"[\s()（）—\-]", "", quoted)
    own = re.sub(r"《[^》]*》", "", title)
    if key in re.sub(r"[\s()（）—\-]", "", own) or re.sub(r"[\s()（）—\-]", "", own) in key:
        return True
    # "关于印发《X》的通知" distributes X: the notice and X are one document
    pattern = r"《([^》]*)》" if named_otherwise else r"(?:印发|发布|颁布)《([^》]*)》"
    return any(key == re.sub(r"[\s()（）—\-]", "", inner) for inner in re.findall(pattern, title))


def _asks_inside(query: Query, strictly: bool = False) -> bool:
    """The question asks what a quoted document contains (《X》中/里); unless ``strictly``, also what it requires."""
    pattern = r"》(中|里|内|的内容)" if strictly else r"》(中|里|内|规定|要求|提出|明确|的内容|的规定|的要求)"
    return bool(re.search(pattern, query.norm))
