"""The answer path users get from every front end: condense → analyse → retrieve → assess → answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from .answer import (
    AnswerabilityModel,
    Answerer,
    Evidence,
    ExtractiveAnswerer,
    adds_own_words,
    assess,
    cannot_answer,
    combine,
    new_sentences,
)
from .embedders import Embedder, make_embedder
from .index.versions import NOT_IN_FORCE, Version
from .regions import Place, load_gazetteer
from .retrieval import Query, QueryAnalyzer, Reranker, Retriever, scope, term_weights
from .retrieval.adapter import load_adapter
from .retrieval.english import Glossary
from .retrieval.followup import Condenser, RuleCondenser, previous_turn
from .retrieval.intent import IntentModel
from .retrieval.query import Target, document_heads, question_parts
from .retrieval.ranker import load_ranker
from .retrieval.titles import TitleMatcher, load_cut
from .settings import Settings
from .store import ClauseStore, Filters, IndexError_
from .text import IN_FORCE_RE, normalise, tokenize
from .types import Answer, Citation, Clause, DocumentMeta, Hit

log = logging.getLogger(__name__)
RETRIEVED_SHOWN = 10
HISTORY_TURNS = 20
"""Earlier turns kept from a conversation (each cut to ``max_question_chars``): bounds the work per question."""
SECOND_OPINION_NOTICE = "检索证据不足以自动作答；大模型核对所引条款后认为可以回答，请对照原文。"
"""Shown with an answer the LLM gave to a question the answerability model refused (``llm_second_opinion``)."""


class Assistant:
    """Answers questions over one index. Build it once and share it; ``ask`` keeps no state between calls."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: ClauseStore | None = None,
        reranker: Reranker | None = None,
        answerer: Answerer | None = None,
        condenser: Condenser | None = None,
        model: AnswerabilityModel | None = None,
        intents: IntentModel | None = None,
    ) -> None:
        """``intents``: the intent model (default: the shipped one; the rules when none ships)."""
        self.settings = settings
        self.intents = intents or IntentModel.load()
        self.embedder = embedder or (store.embedder if store is not None else make_embedder(settings))
        # load the encoder's weights (mostly I/O and decompression, outside the GIL) while the index loads
        with ThreadPoolExecutor(1, thread_name_prefix="warm-up") as pool:
            warm = pool.submit(self.embedder.embed_query, "预热")
            self.store = store if store is not None else ClauseStore(settings, self.embedder)
            warm.result()
        _require_documents(self.store, settings)
        if reranker is None and settings.reranker:
            from .retrieval.rerank import make_reranker

            reranker = make_reranker(settings)
        self.model = model or AnswerabilityModel.load(
            Path(settings.answerability_model) if settings.answerability_model else None, self.embedder.name
        )
        self.adapter = load_adapter(self.embedder.name, settings.query_adapter)
        self.ranker = load_ranker(self.embedder.name, settings.ranker)
        self._refresh_lock = threading.Lock()
        self.retriever, self.analyzer = self._readers(self.store, reranker)
        if answerer is None and settings.llm_base_url:
            from .llm import make_llm_components

            answerer, condenser = make_llm_components(settings, ExtractiveAnswerer(embedder=self.embedder), condenser or RuleCondenser(self.analyzer))
        self.answerer = answerer or ExtractiveAnswerer(embedder=self.embedder)
        self.condenser = condenser or RuleCondenser(self.analyzer)
        # the English glossary takes seconds to read from the dictionary: in the background, once per process;
        # so do the titles' vectors English document names are matched against (of a large index)
        threading.Thread(target=Glossary.load, name="glossary", daemon=True).start()
        if self.analyzer.titles is not None and self.analyzer.titles.cut is not None:
            threading.Thread(target=self.analyzer.titles.vectors, name="titles", daemon=True).start()
        # load the segmenter's dictionary now, not on the first user's question
        self.analyzer.analyse("法治政府建设的主要任务是什么？")

    def _readers(self, store: ClauseStore, reranker: Reranker | None) -> tuple[Retriever, QueryAnalyzer]:
        cut = load_cut(self.embedder.name, Path(self.settings.english_names) if self.settings.english_names else None)
        cache = self.settings.data_dir / f"titles-{self.embedder.name}.npz"
        titles = TitleMatcher(store.metas(), self.embedder, cut, None if store.read_only else cache)
        analyzer = QueryAnalyzer(store.metas(), idf=store.idf, intents=self.intents, titles=titles)
        return Retriever(store, self.embedder, reranker, adapter=self.adapter, ranker=self.ranker), analyzer

    def _current(self) -> tuple[ClauseStore, Retriever, QueryAnalyzer]:
        """The store and its readers, reopened first when the index has changed since they were loaded (a CLI
        ingest or remove, another process, another machine on the same Chroma server): one revision read per
        question. Questions already being answered finish on the store they started with."""
        store = self.store
        if store.changed():
            with self._refresh_lock:
                if self.store is store:
                    log.info("the index changed; reloading it")
                    fresh = ClauseStore(self.settings, self.embedder, fresh=True)
                    retriever, analyzer = self._readers(fresh, self.retriever.reranker)
                    self.store, self.retriever, self.analyzer = fresh, retriever, analyzer
                    for condenser in (self.condenser, getattr(self.condenser, "fallback", None)):
                        if isinstance(condenser, RuleCondenser):
                            condenser.analyzer = analyzer
        _require_documents(self.store, self.settings)
        return self.store, self.retriever, self.analyzer

    def search(self, text: str, filters: Filters | None = None) -> tuple[Query, list[Hit]]:
        """What the answer path retrieves for a question (documents or regions it names, metadata questions),
        without answering: the analysed query and the ranked hits."""
        store, retriever, analyzer = self._current()
        query = analyzer.analyse(text)
        return query, self._retrieve(store, retriever, query, filters or Filters())

    def ask(self, question: str, history: Sequence[dict[str, str]] = (), filters: Filters | None = None) -> Answer:
        """Answer one question, using the conversation so far to resolve follow-ups."""
        *_, final = self._answer(question, history, filters, stream=False)
        return final

    def ask_stream(
        self, question: str, history: Sequence[dict[str, str]] = (), filters: Filters | None = None
    ) -> Iterator[Answer]:
        """Like :meth:`ask`, yielding partial answers while an LLM writes; the last one is final."""
        yield from self._answer(question, history, filters, stream=True)

    def _answer(
        self, question: str, history: Sequence[dict[str, str]], filters: Filters | None, stream: bool, in_context: bool = True
    ) -> Iterator[Answer]:
        """``in_context``: whether the conversation's subject may scope the question (:meth:`_in_conversation`); not
        for a part after one answered, which :meth:`_answer_part` scopes itself."""
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise QuestionError("the question is empty")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question has {len(question)} characters; at most {limit} are accepted (max_question_chars)")
        history = [
            {**turn, "content": turn.get("content", "")[-limit:]} for turn in history[-HISTORY_TURNS:]
        ]
        parts = question_parts(question)
        if len(parts) > 1 and self.answerer.name == "extractive":  # an LLM answers all parts at once
            answers: list[Answer] = []
            earlier = list(history)
            for part in parts:  # a later part leans on the earlier ones as on earlier turns ("它是从哪天…")
                answer = self._answer_part(part, earlier, filters or Filters(), answers)
                answers.append(answer)
                earlier += [{"role": "user", "content": part}, {"role": "assistant", "content": "……"}]  # a topic either way
            combined = combine(question, answers)
            combined.standalone_question = " ".join(a.standalone_question for a in answers)
            combined.latency_ms = (time.perf_counter() - started) * 1000
            yield combined
            return
        standalone = self.condenser.condense(question, history) if history else question
        read = self._in_conversation(question, history, filters or Filters()) if in_context and history and standalone == question else None
        assessed = read or self.assess(standalone, (), filters)
        store, query, hits, evidence = assessed.store, assessed.query, assessed.hits, assessed.evidence
        retrieved = [Citation.from_hit(n, h) for n, h in enumerate(hits, 1)]

        def finish(answer: Answer) -> Answer:
            answer.question, answer.standalone_question, answer.retrieved = question, assessed.standalone, retrieved
            if not answer.abstained:
                answer.notice = " ".join(filter(None, [answer.notice, *validity_notices(store, answer)]))
            answer.latency_ms = (time.perf_counter() - started) * 1000
            return answer

        if not evidence.answerable:
            second = self._second_opinion(assessed, question)
            if second is not None:
                yield finish(second)
                return
            related = assessed.related if assessed.elsewhere else hits
            yield finish(cannot_answer(question, related, evidence.reason, elsewhere=assessed.elsewhere))
            return
        weights = assessed.weights
        asked = replace(query, text=question)
        streamer = getattr(self.answerer, "stream", None) if stream else None
        if streamer is None:
            yield finish(self.answerer.answer(asked, hits, weights))
            return
        for partial in streamer(asked, hits, weights):
            yield finish(partial)

    def _second_opinion(self, assessed: Assessed, question: str) -> Answer | None:
        """The LLM's answer to a question the answerability model refused (``llm_second_opinion``), when it passes
        the citation check; None when there is no LLM, a check or an uncovered place refused, or the LLM does not
        answer from the clauses."""
        refused_by_model = bool(assessed.evidence.signals) and not assessed.elsewhere
        if not (self.settings.llm_second_opinion and self.answerer.name == "llm" and assessed.hits and refused_by_model):
            return None
        answer = self.answerer.answer(replace(assessed.query, text=question), assessed.hits, assessed.weights)
        if answer.abstained or answer.engine != "llm":
            return None
        answer.notice = " ".join(filter(None, [SECOND_OPINION_NOTICE, answer.notice]))
        return answer

    def _answer_part(self, part: str, earlier: list[dict[str, str]], filters: Filters, answers: list[Answer]) -> Answer:
        """One part of a question of several: a later part that names no document or place of its own is asked
        of the documents the earlier parts were answered from (one question is about one subject), and of all
        documents only when those do not answer it or only repeat what was said."""
        cited = tuple(dict.fromkeys(c.source for a in answers if not a.abstained for c in a.citations))
        if cited and not filters.sources:
            query = self._current()[2].analyse(part)
            if not query.targets and not query.places:
                said = [a.text for a in answers]
                scoped = replace(filters, sources=cited)
                *_, answer = self._answer(part, earlier, scoped, stream=False, in_context=False)
                if not answer.abstained and new_sentences(answer, said):
                    return answer  # (one that only repeats an earlier part's answer is not answered there)
                # else as the continuation of the part before it ("…罚款多少？情节严重的又怎么处理？"): the two asked
                # as one of those documents; the joined question's evidence is the earlier part's, so what it adds
                # must hold a word of this part's own (情节严重), or the part is not answered there
                before = answers[-1].question.strip()
                *_, answer = self._answer(f"{before.rstrip('？?')}，{part}", (), scoped, stream=False, in_context=False)
                if adds_own_words(answer, said, query.key_terms, before):
                    return replace(answer, question=part)
        *_, answer = self._answer(part, earlier, filters, stream=False, in_context=not cited)
        return answer

    def _in_conversation(self, question: str, history: Sequence[dict[str, str]], filters: Filters) -> Assessed | None:
        """A question asked in a conversation that the condenser left as it is (the caller's check) and that names
        no document or place of its own is asked first of the documents the previous question is about (one
        conversation is about one subject, as one question of several parts is): as about those the previous
        question names, else of the one its search finds first. None when they do not answer it: the question is
        then asked of all documents."""
        analyzer = self._current()[2]
        previous, before = previous_turn(history)
        if not previous or filters.sources:
            return None
        own = analyzer.analyse(question)
        if own.targets or own.places:
            return None
        earlier = self.condenser.condense(previous, before) if before else previous
        context, hits = self.search(earlier, filters)
        if not hits:
            return None
        if context.targets:  # the documents the conversation names are the question's ("各自的施行日期是哪天？")
            assessed = self.assess(question, (), filters, targets=context.targets, query=own)
        else:
            assessed = self.assess(question, (), replace(filters, sources=(hits[0].clause.source,)), query=own)
        return assessed if assessed.evidence.answerable else None

    def assess(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        filters: Filters | None = None,
        targets: tuple[Target, ...] = (),
        query: Query | None = None,
    ) -> Assessed:
        """Everything the answer rests on, before it is written: the standalone question, its analysis, the
        hits and the evidence check (what ``python -m eval fit`` learns from). ``targets``: documents or regions
        the question is about though it does not name them (the conversation's); ``query``: the question's
        analysis when the caller has it (of ``question`` itself, asked without history)."""
        filters = filters or Filters()
        store, retriever, analyzer = self._current()
        standalone = self.condenser.condense(question, history) if history else question
        if query is None or history or query.text != standalone:
            query = analyzer.analyse(standalone)
        if targets:
            query = replace(query, targets=targets, intent=analyzer.intent_of(query.norm, targets))
        scoped, uncovered = place_scope(store, query, filters)
        hits = self._retrieve(store, retriever, query, scoped) if scoped is not None else []
        weights = term_weights(store, query.key_terms)
        if uncovered:
            related = self._retrieve(store, retriever, query, filters)[:3]
            names = "、".join(p.name for p in uncovered)
            evidence = Evidence(0.0, False, f"已收录的文件没有适用于{names}的规定")
            return Assessed(store, standalone, query, hits, evidence, weights, related, names)
        documents = {s: store.document_text(s) for s in {h.clause.source for h in hits}}
        evidence = assess(
            query, hits, self.model, store.idf, weights, documents, threshold=self.settings.abstain_threshold or None
        )
        return Assessed(store, standalone, query, hits, evidence, weights)

    def _retrieve(self, store: ClauseStore, retriever: Retriever, query: Query, filters: Filters) -> list[Hit]:
        """Hits for a query; a question naming documents or regions searches within each of them."""
        k, candidates = max(self.settings.top_k, RETRIEVED_SHOWN), self.settings.candidates
        scoped = scope(query, filters)
        if scoped is None:
            hits = retriever.search_each(query, filters, k, candidates)
        else:
            hits = retriever.search(query, scoped, k, candidates)
        hits = prefer_current(hits, store.versions())
        if query.intent == "metadata" and hits:  # a question about the document itself: bring its header and sign-off
            sources = [h.clause.source for h in document_heads(query, hits)] or [hits[0].clause.source]
            have = {h.clause.id for h in hits}
            for source in sources:  # of each document a comparison names
                meta = store.meta(source)
                frame = [*store.frame(source), *in_force_clauses(store, source)]
                hits += [Hit(clause=c, meta=meta, score=0.0) for c in frame if c.id not in have]
                have |= {c.id for c in frame}
        return hits

    def documents(self) -> list[dict]:
        """The ingested documents with their metadata, clause counts and standing among the versions of their
        title (``current``: the version in force; ``superseded_by``: the next version, '' for the latest)."""
        store = self._current()[0]
        versions = store.versions()
        return [
            {
                **m.to_dict(), "clauses": store.documents[m.source].get("clauses", 0),
                "current": versions[m.source].current, "superseded_by": versions[m.source].superseded_by,
            }
            for m in store.metas()
        ]


@dataclass
class Assessed:
    """A question's analysis, hits and evidence check; ``elsewhere`` names the places no document applies in
    (``related`` then holds the other regions' closest clauses)."""

    store: ClauseStore
    standalone: str
    query: Query
    hits: list[Hit]
    evidence: Evidence
    weights: dict[str, float]
    related: list[Hit] = field(default_factory=list)
    elsewhere: str = ""


def place_scope(store: ClauseStore, query: Query, filters: Filters) -> tuple[Filters | None, list]:
    """The search scope for the places a question names that it does not target by their documents: only the
    documents applying there (of the place, of a division containing it, national ones, or those whose title
    names it). Returns the filters (``None`` when no document applies) and the places no document applies in."""
    targeted = {normalise(t.name) for t in query.targets}
    gazetteer = load_gazetteer()
    # a place inside the name of a document the question names is that name's (浙江省台湾同胞投资保障条例)
    places = [
        p for p in query.places
        if not any(p.name.startswith(t) or name in t for t in targeted for name in (p.name, *gazetteer.short_names(p)))
    ]
    if not places:
        return filters, []
    metas = [m for m in store.metas() if m.source not in filters.exclude and (not filters.sources or m.source in filters.sources)]
    titles = store.titles()
    names = {p.adcode: (p.name, *gazetteer.short_names(p)) for p in places}

    def applies(meta: DocumentMeta, place: Place) -> bool:  # its region, or its subject (台湾同胞投资保障条例)
        title = titles.get(meta.source, "")
        return gazetteer.covers(meta.region_code, place) or any(name in title for name in names[place.adcode])

    applying = {p.adcode: {m.source for m in metas if applies(m, p)} for p in places}
    uncovered = [p for p in places if not applying[p.adcode]]
    if uncovered:
        return None, uncovered
    everywhere = set.intersection(*applying.values())
    outside = tuple(m.source for m in metas if m.source not in everywhere)
    if not outside:
        return filters, []
    inside = tuple(m.source for m in metas if m.source in everywhere)
    if len(inside) <= len(outside):
        return replace(filters, sources=inside), []
    return replace(filters, exclude=(*filters.exclude, *outside)), []


def in_force_clauses(store: ClauseStore, source: str) -> list[Clause]:
    """The clause of a document saying when it takes effect (``本法自…起施行``), when it has one: the metadata
    answer cites it beside the date."""
    if not store.meta(source).effective:
        return []
    found = store.lexical_search(tokenize("施行 实施 生效"), 5, Filters(sources=(source,)))
    clauses = [store.catalog.get(cid) for cid, _ in found]
    return [c for c in clauses if c is not None and IN_FORCE_RE.search(normalise(c.text))][:1]


def prefer_current(hits: list[Hit], versions: dict[str, Version]) -> list[Hit]:
    """Where versions of one document say the same thing, keep the passage of the latest version among them, at
    the rank of the best of them (a later version's identical article is the one in force)."""
    best: dict[tuple, Hit] = {}
    order: list[tuple] = []
    for hit in hits:
        version = versions.get(hit.clause.source)
        key: tuple = (hit.clause.id,)
        if version is not None and len(version.group.versions) > 1:
            key = (version.group.key, normalise(hit.clause.text))
        if key not in best:
            order.append(key)
            best[key] = hit
        elif version is not None and version.position > versions[best[key].clause.source].position:
            best[key] = hit
    return [best[key] for key in order]


def validity_notices(store: ClauseStore, answer: Answer, today: date | None = None) -> list[str]:
    """What a reader must know about the documents an answer cites: a later version exists (naming it), the
    version is repealed, or a plan's period has ended."""
    today = today or date.today()
    versions = store.versions()
    notes: list[str] = []
    for source in dict.fromkeys(c.source for c in answer.citations):
        if source not in store.documents:
            continue
        meta, version = store.meta(source), versions.get(source)
        dated = f"《{meta.title}》（{meta.date_issued or meta.effective or source}）"
        if version is not None and version.superseded_by:
            newer = store.meta(version.group.current or version.group.versions[-1])
            notes.append(f"{dated}已有更新的版本《{newer.title}》（{newer.date_issued or newer.source}），以上引用的是旧版本。")
        elif meta.status in NOT_IN_FORCE:
            notes.append(f"{dated}已{meta.status.removeprefix('已')}。")
        elif meta.period_end and meta.period_end < today.isoformat():
            notes.append(f"{dated}的实施期限已于{meta.period_end}结束。")
    return notes


class QuestionError(ValueError):
    """A question that cannot be asked (empty or too long); the message says why."""


def _require_documents(store: ClauseStore, settings: Settings) -> None:
    if not len(store):
        where = settings.chroma_url or settings.data_dir
        raise IndexError_(f"the index in {where} is empty: ingest documents first, e.g. python -m ingest corpus --data-dir {where}")
