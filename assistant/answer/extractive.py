"""The extractive answerer: quotes the sentences of the retrieved clauses that hold the question's key terms."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from ..embedders import Embedder
from ..retrieval.query import KeyTerm, Query, asked, document_heads, hits_by_target
from ..text import IN_FORCE_RE, cn_number, in_script, normalise, split_sentences
from ..types import HEADER_LABEL, PREAMBLE_LABEL, SIGNOFF_LABEL, Answer, Hit
from .compose import chinese_date, compose

MAX_SENTENCE_CHARS = 110
"""A longer sentence is cut to its comma-separated run holding most key terms (:class:`Lengths` overrides)."""
_LABEL_PREFIX_RE = re.compile(r"^\s*(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[）)]|\d+[.、．]|第[一二三四五六七八九十]+[，,、]|[一二三四五六七八九十]+[是要][，,]?)\s*")
_ITEM_RE = re.compile(r"^\s*(?:[（(][一二三四五六七八九十百\d]+[）)]|\d+[.、．)]|[①-⑳]|[一二三四五六七八九十]+、)")
_PHRASE_END_RE = re.compile(r"[，,；;。]")
_INLINE_LABEL = r"[（(](?:\d{1,2}|[一二三四五六七八九十]{1,3})[）)]"
_INLINE_LIST_RE = re.compile(rf"[：:](?=\s*{_INLINE_LABEL})")
"""A colon that announces items written on in the same line (…入住：（1）…；（2）…)."""
_INLINE_ITEM_RE = re.compile(rf"(?<=[；;])\s*(?={_INLINE_LABEL})")
LIST_CHARS = 200
"""Room for the items a sentence ending in a colon announces (:class:`Lengths` overrides)."""
LENGTHS_ARTIFACT = "answer-lengths.json"
_RESPONSIBLE_WORDS = ("责任单位", "牵头", "负责", "主体责任", "第一责任人", "配合")
DEADLINE_HINT_RE = re.compile(r"(?:19|20)\d{2}\s*年|年底前|年内|月底前|之前|以前|前完成|时限|期限|逐步|到\s*(?:19|20)\d{2}")


class Answerer(Protocol):
    """Writes the answer to a query from the hits that passed the evidence check."""

    name: str

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer: ...


# ---------------------------------------------------------------- sentence selection


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    text: str
    score: float
    terms: frozenset[str]
    end: int = 0
    """Where the sentence ends in the clause's text."""
    announces: bool = False
    """It ends with a colon: the items after it are its content (下列措施：（一）…)."""
    features: tuple[float, ...] = ()
    """The values of :data:`SENTENCE_FEATURES` the score was computed from."""
    lead: tuple[int, int] | None = None
    """For an item of a list, where the line announcing the list lies in the clause's text: what the item is."""


def fitted(path: Path | None, artifact: str) -> dict | None:
    """The fitted parameters of ``path``, else of the shipped ``resources/<artifact>``; None when neither is."""
    if path is None:
        shipped = resources.files("assistant").joinpath("resources").joinpath(artifact)
        if not shipped.is_file():
            return None
        return json.loads(shipped.read_text(encoding="utf-8"))
    return json.loads(path.read_text(encoding="utf-8"))


SENTENCE_FEATURES = ("coverage", "hint", "figure", "listing", "position", "rank", "clause_share",
                     "similarity", "similarity_gap", "english_similarity", "english_similarity_gap")
"""What a sentence is scored on: the share of the question's key-term weight it holds; whether it holds the hint
of the question's kind (a deadline's date words), a figure of the asked kind, a list for a question asking for
one; its position in the clause; the rank of its clause among the hits; its clause's key-term coverage relative
to the top clause's; the cosine of its vector to the question's and its gap to the best candidate's, and both
again for an English question (whose key terms are translations, so that the words say less)."""
DENSE_FEATURES = SENTENCE_FEATURES[7:]
SENTENCE_ARTIFACT = "sentence-ranker.json"

Similarity = Callable[[str, list[str]], np.ndarray]
"""The cosines of some sentences' vectors to a question's (:func:`similarity_of` an embedder)."""


def similarity_of(embedder: Embedder) -> Similarity:
    """``embedder``'s cosines of sentences to a question (its vectors are unit length)."""

    def similarity(question: str, sentences: list[str]) -> np.ndarray:
        vectors = np.asarray(embedder.embed_documents(sentences), dtype=float)
        return vectors @ np.asarray(embedder.embed_query(question), dtype=float)

    return similarity


@dataclass(frozen=True)
class SentenceRanker:
    """A linear score of :data:`SENTENCE_FEATURES`. ``python -m eval fit sentences`` fits the weights (pairwise
    logistic regression: a sentence holding a gold quote against the other sentences of the same question) into
    ``resources/sentence-ranker.json``, used when it ships; none does yet, so the defaults, the hand-set weights,
    apply (``docs/answering.md``: the fit gained 0.012 top-1 in cross-validation but lost a deadline question)."""

    weights: tuple[float, ...] = (1.0, 0.5, 0.5, 0.5, -0.01, -0.08, 0.0, 0.0, 0.0, 0.0, 0.0)
    min_clause_share: float = 0.8
    """Clauses below the top one are read only when their coverage is at least this share of the top's."""

    def score(self, values: tuple[float, ...]) -> float:
        return float(sum(w * v for w, v in zip(self.weights, values, strict=True)))

    @property
    def reads_vectors(self) -> bool:
        """Whether any weight is on a dense feature (then the candidates are encoded at query time)."""
        return any(self.weights[SENTENCE_FEATURES.index(name)] for name in DENSE_FEATURES)

    @classmethod
    def from_dict(cls, data: dict) -> SentenceRanker:
        weights = data["weights"]
        return cls(tuple(float(weights.get(name, 0.0)) for name in SENTENCE_FEATURES), float(data.get("min_clause_share", 0.0)))

    @classmethod
    def load(cls, path: Path | None = None) -> SentenceRanker:
        """The ranker of ``path``, else the shipped fitted one (``resources/sentence-ranker.json``), else the
        hand-set one."""
        data = fitted(path, SENTENCE_ARTIFACT)
        return cls.from_dict(data) if data is not None else cls()


@dataclass(frozen=True)
class Lengths:
    """How much of the clauses an extractive answer quotes: a sentence's characters before it is cut to its best
    run, the characters shared by the items a sentence announces, and the sentences of one answer (a second only
    when it adds key terms). ``python -m eval fit lengths`` chooses them on the train questions into
    ``resources/answer-lengths.json``; without that file, the hand-set values below."""

    sentence_chars: int = MAX_SENTENCE_CHARS
    list_chars: int = LIST_CHARS
    sentences: int = 2

    def to_dict(self) -> dict[str, int]:
        return {"sentence_chars": self.sentence_chars, "list_chars": self.list_chars, "sentences": self.sentences}

    @classmethod
    def from_dict(cls, data: dict) -> Lengths:
        return cls(int(data["sentence_chars"]), int(data["list_chars"]), int(data["sentences"]))

    @classmethod
    def load(cls, path: Path | None = None) -> Lengths:
        """The lengths of ``path``, else the shipped fitted ones, else the hand-set ones."""
        data = fitted(path, LENGTHS_ARTIFACT)
        return cls.from_dict(data) if data is not None else cls()


def listed_items(text: str, end: int, budget: int = LIST_CHARS) -> list[str]:
    """The numbered items after ``end`` in a clause's text (one per line, as a colon announces them), each cut
    to its first phrase within a fair share of ``budget`` (``fair_share``)."""
    items = []
    for line in text[end:].splitlines():
        if not line.strip():
            continue
        if not _ITEM_RE.match(line):
            break
        items += [item.strip() for item in _INLINE_ITEM_RE.split(line) if item.strip()]  # （1）…；（2）… on one line
    if not items:
        return []
    phrases = []
    for item in items:
        label = _ITEM_RE.match(item)
        body_start = label.end() if label else 0
        cut = _PHRASE_END_RE.search(item, body_start)
        phrases.append(item[: cut.start()] if cut else item.rstrip("。；;"))
    share = max(16, fair_share([len(p) for p in phrases], budget))
    return [p if len(p) <= share else p[:share] + "…" for p in phrases]


def item_lead(text: str, start: int) -> tuple[int, int] | None:
    """The line announcing the list whose item holds offset ``start`` (``认证机构有下列情形之一的，处…罚款：`` above
    ``（一）超出批准范围…的；``): an item means what its lead says of it. None when ``start`` is in no item."""
    line_start = text.rfind("\n", 0, start) + 1
    if not _ITEM_RE.match(text[line_start:]):
        return None
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        line = text[previous : line_start - 1]
        if not _ITEM_RE.match(line):
            return (previous, line_start - 1) if line.rstrip().endswith(("：", ":")) else None
        line_start = previous
    return None


def fair_share(lengths: list[int], budget: int) -> int:
    """The largest cut such that the items, each cut to it, fit in ``budget`` (max-min fair: a short item keeps
    all of itself and leaves what it does not use to the longer ones)."""
    remaining = budget
    for i, length in enumerate(sorted(lengths)):
        equal = remaining // (len(lengths) - i)
        if length > equal:
            return equal
        remaining -= length
    return max(lengths, default=0)


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
            score = sum(1 for t in terms if t.found(joined)) - 0.001 * i
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


_PROVISO_RE = re.compile(r"(?:但是|但|除非)[，,]?|除[^。；]{1,40}外")
"""How a proviso (但书) or exception opens: 但是，…的除外; 除…外."""


def announced(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans with a sentence that announces items inline (``优先接收以下老年人：（1）…；（2）…``) ended
    at its colon, as one whose items start on their own lines is."""
    out = []
    for start, end in spans:
        m = _INLINE_LIST_RE.search(text, start, end)
        out += [(start, m.end()), (m.end(), end)] if m else [(start, end)]
    return out


def with_provisos(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans with each proviso joined to the sentence it qualifies (``…不得请求…；但是，…的除外``): a rule
    quoted without its exception says what the law does not."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and _PROVISO_RE.match(text, start) and text[joined[-1][1] - 1] in "；;，,":
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _focus(query: Query, bonus: re.Pattern[str] | tuple[str, ...] | None) -> re.Pattern[str] | None:
    """What a long sentence is cut around: the figure asked for, else the pattern of what is asked (by when)."""
    return query.quantity or (bonus if isinstance(bonus, re.Pattern) else None)


def sentences_of(hit: Hit, query: Query, weights: dict[str, float], bonus: re.Pattern[str] | tuple[str, ...] | None = None,
                 rank: int = 0, clause_share: float = 1.0, ranker: SentenceRanker | None = None,
                 window: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """The sentences of a clause (the ``rank``-th hit, holding ``clause_share`` of the top hit's key-term coverage)
    scored by ``ranker``, each cut to ``window`` characters; a clause's title is context, not an answer."""
    ranker = ranker or SentenceRanker()
    text = hit.clause.text
    spans = announced(text, with_provisos(text, split_sentences(text)))
    out = []
    total = sum(weights.values()) or 1.0
    for position, (start, end) in enumerate(spans):
        raw = text[start:end].strip()
        body = _strip_label(raw) if position == 0 and hit.clause.part == 0 else raw
        is_title = position == 0 and hit.clause.part == 0 and len(body) <= 30 and body != raw and len(spans) > 1
        if len(body) < 4 or is_title:
            continue
        norm = normalise(body)
        terms = frozenset(t.term for t in query.key_terms if t.found(norm))
        announces = raw.rstrip().endswith(("：", ":"))
        values = (
            sum(weights.get(t, 0.0) for t in terms) / total,
            float(_has_bonus(norm, bonus)),
            float(query.quantity is not None and bool(query.quantity.search(norm))),
            float(query.enumerates and (announces or norm.count("、") >= 2)),  # a list for a question asking for one
            float(position),
            float(rank),
            clause_share,
        ) + (0.0,) * len(DENSE_FEATURES)  # filled in by candidate_sentences from the pool's vectors
        focus = _focus(query, bonus)
        out.append(Sentence(hit, _window(body, query.key_terms, window, focus), ranker.score(values), terms, end, announces,
                            values, item_lead(text, start)))
    return out


def candidate_sentences(query: Query, hits: list[Hit], weights: dict[str, float], bonus=None,
                        ranker: SentenceRanker | None = None, window: int = MAX_SENTENCE_CHARS,
                        similarity: Similarity | None = None) -> list[Sentence]:
    """The scored sentences of the top three hits (a lower one only with enough of the top one's coverage); with
    ``similarity``, their dense features too."""
    ranker = ranker or SentenceRanker()
    top = hits[0]
    pool: list[Sentence] = []
    for rank, hit in enumerate(hits[:3]):
        share = hit.coverage / top.coverage if top.coverage else 1.0
        if rank and share < ranker.min_clause_share:
            continue
        pool += sentences_of(hit, query, weights, bonus, rank, share, ranker, window)
    if similarity is None or not pool:
        return pool
    cosines = similarity(query.text, [s.text.replace("…", "") for s in pool])
    best, english = float(cosines.max()), float(query.english)
    out = []
    for sentence, cosine in zip(pool, cosines, strict=True):
        dense = (float(cosine), float(cosine) - best)
        values = sentence.features[: -len(DENSE_FEATURES)] + dense + (english * dense[0], english * dense[1])
        out.append(replace(sentence, score=ranker.score(values), features=values))
    return out


def named_article(part: tuple[str, str, Hit]) -> tuple[str, str, Hit]:
    """A part of an answer to "which article…" that names its article (《…》第二十条：…) unless it does."""
    prefix, sentence, hit = part
    label = hit.clause.label
    if not label.startswith("第") or label in sentence or label.split("第")[1][:2] in sentence[:12]:
        return part
    return (f"{prefix}《{hit.meta.title}》{label}：", sentence, hit)


_ARTICLE_LABEL_RE = re.compile(r"^第([零〇一二三四五六七八九十百千]+)条(?:之([一二三四五六七八九十]+))?(?:第([一二三四五六七八九十]+)款)?")


def english_label(label: str) -> str:
    """A clause label for an English answer: 第二十条第二款 → Article 20(2); plan labels as they are."""
    m = _ARTICLE_LABEL_RE.match(label)
    if not m:
        return label
    article = f"Article {cn_number(m.group(1))}" + (f"-{cn_number(m.group(2))}" if m.group(2) else "")
    return article + (f"({cn_number(m.group(3))})" if m.group(3) else "")


def in_english(parts: list[tuple[str, str, Hit]]) -> list[tuple[str, str, Hit]]:
    """The parts of an answer to an English question, framed in English around the Chinese quotes: once for
    consecutive quotes of the same clause."""
    framed, previous = [], None
    for prefix, sentence, hit in parts:
        here = (hit.clause.source, hit.clause.label)
        if here != previous:
            prefix = f"{prefix}Under 《{hit.meta.title}》 {english_label(hit.clause.label)}: "
        framed.append((prefix, sentence, hit))
        previous = here
    return framed


def with_items(sentence: Sentence, budget: int = LIST_CHARS) -> str:
    """A sentence announcing a list, followed by its items (in ``budget`` characters); any other as it is."""
    if not sentence.announces:
        return sentence.text
    items = listed_items(sentence.hit.clause.text, sentence.end, budget)
    return f"{sentence.text.rstrip('：:')}：{'；'.join(items)}" if items else sentence.text


_HISTORY_WORDS = {"amend": "修正", "revis": "修订", "adopt": "通过", "promulgat": "公布", "令": "令"}


def history_line(history: tuple[str, ...], asked: str, norm: str) -> str:
    """The line of a law's history a question asks for: of the kind asked (修正, 公布 …), the first when it
    asks for the first (最初, 第一次, originally), else the latest."""
    word = _HISTORY_WORDS.get(asked, asked)
    lines = [h for h in history if word in h] or list(history)
    first = re.search(r"最初|最早|第一次|首次|original|first", norm)
    return lines[0] if first else lines[-1]


class ExtractiveAnswerer:
    """Answers by quoting the sentences of the retrieved clauses that hold the question's key terms, best first
    by ``ranker`` (the fitted one that ships, by default), as much of them as ``lengths`` allows; ``embedder``
    encodes the candidates for a ranker that weighs their vectors."""

    name = "extractive"

    def __init__(self, ranker: SentenceRanker | None = None, lengths: Lengths | None = None,
                 embedder: Embedder | None = None) -> None:
        self.ranker = ranker or SentenceRanker.load()
        self.lengths = lengths or Lengths.load()
        self.similarity = similarity_of(embedder) if embedder is not None and self.ranker.reads_vectors else None

    def answer(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> Answer:
        if query.intent == "metadata":
            parts = self._metadata(query, hits)
        elif query.intent == "comparison" and len(query.targets) >= 2:
            parts = self._comparison(query, hits, weights)
        elif query.intent == "responsibility":
            parts = self._responsibility(query, hits, weights)
        elif query.intent == "deadline":
            parts = self._giving(query, hits, weights, DEADLINE_HINT_RE)
        else:
            parts = self._picked(query, hits, weights)
        if query.english:
            parts = in_english(parts)
        elif query.asks_article:
            parts = [named_article(part) for part in parts]
        return compose(query.text, parts)

    # each method returns (prefix, sentence, hit) triples; compose() numbers the citations

    def _picked(self, query: Query, hits: list[Hit], weights: dict[str, float], bonus=None, limit: int = 0) -> list[tuple[str, str, Hit]]:
        """The best sentences, at most ``limit`` (0: as many as :class:`Lengths` allows)."""
        top, lengths = hits[0], self.lengths
        limit = limit or lengths.sentences
        # the best sentence may sit in a clause ranked just below the top one
        pool = candidate_sentences(query, hits, weights, bonus, self.ranker, lengths.sentence_chars, self.similarity)
        if not pool:
            return [("", _window(top.clause.text, query.key_terms, lengths.sentence_chars), top)]
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
        # the best clause first; sentences of one clause in the clause's order, so that it reads as written
        clauses = list(dict.fromkeys(s.hit.clause.id for s in chosen))
        chosen.sort(key=lambda s: (clauses.index(s.hit.clause.id), s.end))
        quoted = [with_items(s, lengths.list_chars) for s in chosen]
        focus = _focus(query, bonus)
        parts: list[tuple[str, str, Hit]] = []
        led: set[tuple[str, tuple[int, int]]] = set()
        for s, text in zip(chosen, quoted, strict=True):  # an item after the line announcing its list, unless that
            if s.lead is not None:  # line is quoted with its items
                start, end = s.lead
                lists = [
                    listed for c, listed in zip(chosen, quoted, strict=True)
                    if c.announces and c.hit.clause.id == s.hit.clause.id and start < c.end <= end + 1
                ]
                if any(s.text.strip("…").rstrip("。；;") in listed for listed in lists):
                    continue  # the list quotes the whole item already
                if not lists and (s.hit.clause.id, s.lead) not in led:
                    led.add((s.hit.clause.id, s.lead))
                    lead = _window(s.hit.clause.text[start:end].strip(), query.key_terms, lengths.sentence_chars, focus)
                    parts.append(("", lead.rstrip("：:"), s.hit))
            parts.append(("", text, s.hit))
        return parts

    def _responsibility(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> list[tuple[str, str, Hit]]:
        for hit in hits[:3]:
            if hit.clause.responsible and hit.coverage >= 0.6 * hits[0].coverage:
                topic = self._picked(query, [hit], weights, limit=1)
                written = re.match(r"^(责任|責任|牵头|牽頭|主办|主辦)", hit.clause.responsible)
                label = "" if written else in_script("责任单位：", hit.meta.script)
                return [*topic, (label, hit.clause.responsible, hit)]
        return self._giving(query, hits, weights, _RESPONSIBLE_WORDS)

    def _giving(self, query: Query, hits: list[Hit], weights: dict[str, float], kind) -> list[tuple[str, str, Hit]]:
        """The best sentences, and when none holds what the question asks for (``kind``: who leads, by when), the
        first clause's best sentence that does: asked who, the answer names someone (…。由市委编办牵头负责。);
        asked by when, it gives a date (a table row's 完成时限：2024年10月底前)."""
        parts = self._picked(query, hits, weights, bonus=kind)
        if any(_has_bonus(normalise(text), kind) for _, text, _ in parts):
            return parts
        first = parts[0][2]
        giving = [s for s in candidate_sentences(query, [first], weights, kind, self.ranker,
                                                 self.lengths.sentence_chars) if s.features[1]]
        if giving:
            best = max(giving, key=lambda s: s.score)
            return [*parts, ("", with_items(best, self.lengths.list_chars), first)]
        if kind is DEADLINE_HINT_RE and first.clause.deadlines:  # a table row's own field (完成时限：2024年10月底前)
            named = next((name for name, value in first.clause.fields if value in first.clause.deadlines), "")
            label = f"{named}：" if named else in_script("完成时限：", first.meta.script)
            return [*parts, (label, "、".join(first.clause.deadlines), first)]
        return parts

    def _comparison(self, query: Query, hits: list[Hit], weights: dict[str, float]) -> list[tuple[str, str, Hit]]:
        parts = []
        for target, mine in hits_by_target(query, hits):
            best = self._picked(query, mine, weights, limit=1)[0]
            parts.append((f"{in_script(target.name, mine[0].meta.script)}：", best[1], best[2]))
        return parts

    def _metadata(self, query: Query, hits: list[Hit]) -> list[tuple[str, str, Hit]]:
        """The facts of the document asked about; of each, for a question naming several ("…和…分别…")."""
        return [part for head in document_heads(query, hits) for part in self._metadata_of(query, hits, head.clause.source)]

    def _metadata_of(self, query: Query, hits: list[Hit], source: str) -> list[tuple[str, str, Hit]]:
        asking = asked(query)
        mine = [h for h in hits if h.clause.source == source]
        header = next((h for h in mine if h.clause.label == HEADER_LABEL), mine[0])
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
        if preamble is not None and re.search(r"谁|哪个|机关|单位|issued|印发", asking):
            announce = next(
                (preamble.clause.text[a:b] for a, b in split_sentences(preamble.clause.text) if re.search(r"印發|印发|發布|发布", preamble.clause.text[a:b])),
                "",
            )
            if announce and len(announce) <= 160:
                parts.append(("", announce, preamble))
        recipients = next((line for line in header.clause.text.splitlines() if line.rstrip().endswith(("：", ":")) and "各" in line), "")
        if recipients and re.search(r"发给|主送|下发", asking):
            parts.append((in_script("主送：", meta.script), recipients.rstrip("：:"), header))
        dates = []
        if meta.date_issued:
            dates.append(f"成文日期：{chinese_date(meta.date_issued)}")
        if meta.date_published and meta.date_published != meta.date_issued:
            dates.append(f"发布日期：{chinese_date(meta.date_published)}")
        if meta.effective:
            dates.append(f"施行日期：{chinese_date(meta.effective)}")
        if dates:
            dated = signoff if signoff is not None and chinese_date(meta.date_issued)[:4] in signoff.clause.text else header
            parts.append(("", in_script("，".join(dates), meta.script), dated))
        in_force = next((h for h in mine if IN_FORCE_RE.search(normalise(h.clause.text))), None)
        if in_force is not None and meta.effective and re.search(r"施行|生效|实施|into (effect|force)|effective", asking):
            text = in_force.clause.text
            said = next(
                (text[a:b] for a, b in split_sentences(text) if IN_FORCE_RE.search(normalise(text[a:b]))), ""
            )
            if said:  # the article that says so, cited: 第十六条 本法自公布之日起施行
                parts.append(("", said, in_force))
        event = re.search(r"修正|修订|通过|公布|令|amend|revis|adopt|promulgat", asking)
        if meta.history and event:
            line = history_line(meta.history, event.group(0), asking)
            date = re.match(r"\d{4}年\d{1,2}月\d{1,2}日", line)
            # cited where the document says it (an order's promulgating sentence), else the header
            holder = next((h for h in mine if h.clause.kind != "header" and date and date.group(0) in h.clause.text), header)
            parts.append(("", line, holder))
        return parts
