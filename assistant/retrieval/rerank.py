"""Cross-encoder reranking of retrieved clauses with a BGE reranker (FlagEmbedding), from local files only."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..bge import flag_options, forbid_downloads, resolve_model, use_threads
from ..settings import Settings
from ..store import embed_text
from ..text import normalise
from ..types import Hit
from .hybrid import Reranker

log = logging.getLogger(__name__)


def rerank_text(hit: Hit) -> str:
    """What the cross-encoder reads of a clause: the same text the dense encoder sees."""
    return embed_text(hit.clause, hit.meta)


class BgeReranker:
    """Reorders hits by a BGE cross-encoder's relevance (sigmoid-normalised to 0..1, kept as the hit's score)."""

    def __init__(self, spec: str, settings: Settings) -> None:
        model = resolve_model(spec, "reranker")
        self.name = f"bge:{model.name}"
        self.path = model.path
        self.threads = settings.encoder_threads
        options = flag_options(settings)
        forbid_downloads()
        from FlagEmbedding import FlagReranker

        log.info("loading reranker %s from %s", self.name, self.path)
        self._model = FlagReranker(str(self.path), normalize=True, **options)

    def scores(self, question: str, hits: list[Hit]) -> list[float]:
        if not hits:
            return []
        use_threads(self.threads)
        pairs = [(normalise(question), rerank_text(h)) for h in hits]
        return [float(s) for s in self._model.compute_score(pairs)]

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        scores = self.scores(question, hits)
        order = sorted(range(len(hits)), key=lambda i: scores[i], reverse=True)
        return [replace(hits[i], score=scores[i]) for i in order]


def make_reranker(settings: Settings) -> Reranker:
    spec = settings.reranker.strip()
    if spec.startswith("bge:"):
        return BgeReranker(spec.removeprefix("bge:"), settings)
    raise ValueError(f"unknown reranker {spec!r}: use '' (none) or 'bge:<local path or cached model name>'")
