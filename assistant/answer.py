"""Compose answers from retrieved clauses: evidence check, abstention, and the extractive answerer."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Protocol

from .query import KeyTerm, Query
from .store import lexical_text
from .text import in_script, is_traditional, normalise, split_sentences
from .types import HEADER_LABEL, PREAMBLE_LABEL, SIGNOFF_LABEL, Answer, Citation, Hit

CANNOT_ANSWER = "文件中没有找到能回答这个问题的内容。"
"""The one "cannot answer" wording, shared by code, prompts and tests."""

MAX_SENTENCE_CHARS = 110
_LABEL_PREFIX_RE = re.compile(r"^\s*(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[）)]|\d+[.、．]|第[一二三四五六七八九十]+[，,、]|[一二三四五六七八九十]+[是要][，,]?)\s*")
_RESPONSIBLE_WORDS = ("责任单位", "牵头", "负责", "主体责任", "第一责任人", "配合")
_DEADLINE_HINT_RE = re.compile(r"(?:19|20)\d{2}\s*年|年底前|年内|月底前|之前|以前|前完成|时限|期限|逐步|到\s*(?:19|20)\d{2}")


class Answerer(Protocol):
    """Writes the answer to a query from the hits that passed the evidence check."""

    name: str

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer: ...


@dataclass(frozen=True)
class Evidence:
    """Whether the retrieved clauses answer the question, and why not."""

    confidence: float
    answerable: bool
    reason: str = ""


def assess(
    query: Query, hits: list[Hit], threshold: float, documents: dict[str, str] | None = None, weights: dict[str, float] | None = None
) -> Evidence:
    """Decide from the evidence whether to answer: places, years, figures and documents no passage covers,
    key-term coverage and similarity."""
    if not hits:
        return Evidence(0.0, False, "没有检索到相关条款")
    if query.unknown_places:
        return Evidence(0.0, False, f"已收录的文件不涉及{'、'.join(query.unknown_places)}")
    texts = documents if documents is not None else {}
    pool = " ".join(texts.get(h.clause.source) or lexical_text(h.clause, h.meta) for h in hits) + " ".join(h.meta.date_issued for h in hits)
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
        return Evidence(1.0, True)
    if query.targets and not query.key_terms:
        return Evidence(1.0, True)
    best_coverage = max(h.coverage for h in hits[:5])
    if query.quantity is not None and not _gives_figure(query, hits[:5], best_coverage, weights or {}):
        return Evidence(0.0, False, "相关条款没有给出所问的具体数字")
    best = max(confidence(query, h) for h in hits[:5])
    return Evidence(best, best >= threshold, "" if best >= threshold else f"证据不足（最高匹配度 {best:.2f}，低于 {threshold:.2f}）")


def _missing_field(query: Query, hits: list[Hit]) -> str:
    """The metadata field a question asks for when the document does not give it (e.g. no 发文字号)."""
    wanted = {s for t in query.targets for s in t.sources}
    doc_hits = [h for h in hits if not wanted or h.clause.source in wanted] or hits
    meta = doc_hits[0].meta
    if re.search(r"文号|字号|document number", query.norm) and not meta.doc_number:
        return "发文字号"
    if re.search(r"哪一?天|日期|什么时候|何时|\bwhen\b", query.norm) and not (meta.date_issued or meta.date_published):
        return "日期"
    return ""


def _gives_figure(query: Query, hits: list[Hit], best_coverage: float, weights: dict[str, float]) -> bool:
    """Whether a sentence of a well-matching clause holds a figure of the kind asked for next to the key terms."""
    total = sum(weights.get(t.term, 0.0) for t in query.key_terms) or 1.0
    for hit in hits:
        if hit.coverage < 0.6 * best_coverage:
            continue
        context = normalise(" ".join(hit.clause.headings))
        for start, end in split_sentences(hit.clause.text):
            sentence = normalise(hit.clause.text[start:end])
            if not query.quantity.search(sentence):
                continue
            found = sum(weights.get(t.term, 0.0) for t in query.key_terms if any(a in sentence or a in context for a in t.alternatives))
            if not weights or found / total >= 0.25 * best_coverage:
                return True
    return False


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


def confidence(query: Query, hit: Hit) -> float:
    """How well one clause answers a query: key-term coverage, backed by dense similarity."""
    if not query.key_terms:
        return hit.dense_score
    score = 0.65 * hit.coverage + 0.35 * max(hit.dense_score, 0.0)
    # two independent retrievers putting the same clause on top is evidence the wording alone may not show
    if hit.lexical_rank is not None and hit.dense_rank is not None and max(hit.lexical_rank, hit.dense_rank) <= 1:
        score += 0.06
    return score


def cannot_answer(question: str, hits: list[Hit], evidence: Evidence, related: int = 3) -> Answer:
    script = "traditional" if is_traditional(question) else "simplified"
    text = in_script(CANNOT_ANSWER, script)
    shown = hits[:related]
    if shown:
        text += in_script("以下条款可能相关，供参考：", script)
        text += "；".join(f"《{h.meta.title}》{h.clause.label}" for h in shown) + "。"
    return Answer(
        question=question,
        text=text,
        abstained=True,
        related=[Citation.from_hit(n, h) for n, h in enumerate(shown, 1)],
        notice=evidence.reason,
    )


# ---------------------------------------------------------------- sentence selection


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    text: str
    score: float
    terms: frozenset[str]


def _strip_label(text: str) -> str:
    return _LABEL_PREFIX_RE.sub("", text, count=1)


def _window(sentence: str, terms: tuple[KeyTerm, ...], limit: int = MAX_SENTENCE_CHARS, focus: re.Pattern[str] | None = None) -> str:
    """A long sentence cut to the comma-separated run that holds most key terms (and the figure asked for)."""
    if len(sentence) <= limit:
        return sentence
    parts = re.split(r"(?<=[，,：:])", sentence)
    norm_parts = [normalise(p) for p in parts]
    best, best_score = (0, 1), -1.0
    for i in range(len(parts)):
        length = 0
        for j in range(i, len(parts)):
            length += len(parts[j])
            if length > limit and j > i:
                break
            joined = "".join(norm_parts[i : j + 1])
            score = sum(1 for t in terms if any(a in joined for a in t.alternatives)) - 0.001 * i
            if focus is not None and focus.search(joined):
                score += 2
            if score > best_score:
                best, best_score = (i, j + 1), score
    text = "".join(parts[best[0] : best[1]]).rstrip("，,：:")
    if best[0] > 0:
        text = "…" + text
    if best[1] < len(parts):
        text += "…"
    return text


def _has_bonus(norm: str, bonus: re.Pattern[str] | tuple[str, ...] | None) -> bool:
    if isinstance(bonus, re.Pattern):
        return bool(bonus.search(norm))
    return bool(bonus) and any(w in norm for w in bonus)


def sentences_of(hit: Hit, query: Query, weights: dict[str, float], bonus: re.Pattern[str] | tuple[str, ...] | None = None) -> list[Sentence]:
    """The sentences of a clause scored by the key-term weight they hold; a clause's title is context, not an answer."""
    text = hit.clause.text
    spans = split_sentences(text)
    out = []
    total = sum(weights.values()) or 1.0
    for position, (start, end) in enumerate(spans):
        raw = text[start:end].strip()
        body = _strip_label(raw) if position == 0 and hit.clause.part == 0 else raw
        is_title = position == 0 and hit.clause.part == 0 and len(body) <= 30 and body != raw and len(spans) > 1
        if len(body) < 4 or is_title:
            continue
        norm = normalise(body)
        terms = frozenset(t.term for t in query.key_terms if any(a in norm for a in t.alternatives))
        score = sum(weights.get(t, 0.0) for t in terms) / total
        if _has_bonus(norm, bonus):
            score += 0.5
        if query.quantity is not None and query.quantity.search(norm):
            score += 0.5
        score -= 0.01 * position
        focus = query.quantity or (bonus if isinstance(bonus, re.Pattern) else None)
        out.append(Sentence(hit, _window(body, query.key_terms, focus=focus), score, terms))
    return out


class ExtractiveAnswerer:
    """Answers by quoting the sentences of the retrieved clauses that hold the question's key terms."""

    name = "extractive"

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer:
        if query.intent == "metadata":
            parts = self._metadata(query, hits)
        elif query.intent == "comparison" and len(query.targets) >= 2:
            parts = self._comparison(query, hits, weights)
        elif query.intent == "responsibility":
            parts = self._responsibility(query, hits, weights)
        elif query.intent == "deadline":
            parts = self._picked(query, hits, weights, bonus=_DEADLINE_HINT_RE)
        else:
            parts = self._picked(query, hits, weights)
        return compose(query.text, parts)

    # each method returns (prefix, sentence, hit) triples; compose() numbers the citations

    def _picked(self, query: Query, hits: list[Hit], weights: dict[str, float], bonus=None, limit: int = 2) -> list[tuple[str, str, Hit]]:
        top = hits[0]
        # the best sentence may sit in a clause ranked just below the top one; a small penalty per rank
        pool: list[Sentence] = []
        for rank, hit in enumerate(hits[:3]):
            if rank and hit.coverage < 0.8 * top.coverage:
                continue
            pool += [replace(s, score=s.score - 0.08 * rank) for s in sentences_of(hit, query, weights, bonus)]
        if not pool:
            return [("", _window(top.clause.text, query.key_terms), top)]
        ranked = sorted(pool, key=lambda s: s.score, reverse=True)
        chosen = [ranked[0]]
        covered = set(ranked[0].terms)
        wanted = {t.term for t in query.key_terms}
        # a second sentence only when it adds key terms the first lacks
        for sentence in sorted(ranked[1:], key=lambda s: (len(s.terms - covered), s.score), reverse=True):
            if len(chosen) >= limit or not (wanted - covered):
                break
            if sentence.terms - covered and sentence.score > 0:
                chosen.append(sentence)
                covered |= sentence.terms
        return [("", s.text, s.hit) for s in chosen]

    def _responsibility(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> list[tuple[str, str, Hit]]:
        for hit in hits[:3]:
            if hit.clause.responsible and hit.coverage >= 0.6 * hits[0].coverage:
                topic = self._picked(query, [hit], weights, limit=1)
                written = re.match(r"^(责任|責任|牵头|牽頭|主办|主辦)", hit.clause.responsible)
                label = "" if written else in_script("责任单位：", hit.meta.script)
                return [*topic, (label, hit.clause.responsible, hit)]
        return self._picked(query, hits, weights, bonus=_RESPONSIBLE_WORDS)

    def _comparison(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> list[tuple[str, str, Hit]]:
        parts = []
        for target in query.targets:
            mine = [h for h in hits if h.clause.source in target.sources]
            if mine:
                best = self._picked(query, mine, weights, limit=1)[0]
                parts.append((f"{in_script(target.name, mine[0].meta.script)}：", best[1], best[2]))
        return parts

    def _metadata(self, query: Query, hits: list[Hit]) -> list[tuple[str, str, Hit]]:
        wanted = {s for t in query.targets for s in t.sources}
        doc_hits = [h for h in hits if not wanted or h.clause.source in wanted] or hits
        source = doc_hits[0].clause.source
        mine = [h for h in hits if h.clause.source == source]
        header = next((h for h in mine if h.clause.label == HEADER_LABEL), doc_hits[0])
        signoff = next((h for h in mine if h.clause.label == SIGNOFF_LABEL), None)
        meta = header.meta
        facts = []
        if meta.doc_type == "讲话":
            facts.append(f"讲话人：{meta.issuer}")
        elif meta.issuer:
            facts.append(f"发文机关：{meta.issuer}")
        if meta.doc_number:
            facts.append(f"发文字号：{meta.doc_number}")
        parts = [("", in_script(f"《{meta.title}》，" + "，".join(facts), meta.script), header)]
        preamble = next((h for h in mine if h.clause.label == PREAMBLE_LABEL), None)
        if preamble is not None and re.search(r"谁|哪个|机关|单位|issued|印发", query.norm):
            announce = next(
                (preamble.clause.text[a:b] for a, b in split_sentences(preamble.clause.text) if re.search(r"印發|印发|發布|发布", preamble.clause.text[a:b])),
                "",
            )
            if announce and len(announce) <= 160:
                parts.append(("", announce, preamble))
        recipients = next((line for line in header.clause.text.splitlines() if line.rstrip().endswith(("：", ":")) and "各" in line), "")
        if recipients and re.search(r"发给|主送|下发", query.norm):
            parts.append((in_script("主送：", meta.script), recipients.rstrip("：:"), header))
        dates = []
        if meta.date_issued:
            dates.append(f"成文日期：{_chinese_date(meta.date_issued)}")
        if meta.date_published and meta.date_published != meta.date_issued:
            dates.append(f"发布日期：{_chinese_date(meta.date_published)}")
        if dates:
            dated = signoff if signoff is not None and _chinese_date(meta.date_issued)[:4] in signoff.clause.text else header
            parts.append(("", in_script("，".join(dates), meta.script), dated))
        return parts


def _chinese_date(iso: str) -> str:
    parts = iso.split("-")
    if len(parts) == 3:
        return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"
    return iso


def compose(question: str, parts: list[tuple[str, str, Hit]]) -> Answer:
    """Join answer sentences, each followed by the number of the clause it comes from."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    lines = []
    for prefix, sentence, hit in parts:
        cid = hit.clause.id
        if cid not in numbers:
            numbers[cid] = len(numbers) + 1
            citations.append(Citation.from_hit(numbers[cid], hit, highlight=sentence.strip("…")))
        body = sentence.rstrip("。；;，, ")
        lines.append(f"{prefix}{body}[{numbers[cid]}]")
    separator = "\n" if any(p for p, _, _ in parts) and len(parts) > 1 and len({h.clause.source for _, _, h in parts}) > 1 else "。"
    text = separator.join(lines)
    if separator == "。" or not text.endswith("。"):
        text += "。"
    return Answer(question=question, text=text, citations=citations)
