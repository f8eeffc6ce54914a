"""A fitted reordering of the fused candidates: a linear model over general signals of each candidate and of its
document, fitted listwise by ``python -m eval fit ranker`` on the train questions (``resources/ranker-<encoder>.json``).

Reciprocal-rank fusion sees two rankings and the key-term coverage of a clause; it does not see how close the two
scores are, how many of the candidates come from the clause's document, how much of what the question asks the
whole document holds, or how many of the question's character pairs the clause shares. Those say which law a
citizen's question is about and which of its articles answers it; the weights of each are fitted, not set.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..store import lexical_text
from ..text import normalise, pairs_of
from ..types import Hit
from .query import Query, coverage

ARTIFACT = "ranker-{encoder}.json"
ABSENT_RANK = 60
"""The rank a candidate one retriever did not return is given (twice the candidates each returns)."""
FEATURES = (
    "fused", "fused_share", "in_lexical", "lexical_rank", "in_dense", "dense_rank", "lexical_share", "cosine",
    "cosine_gap", "coverage", "document_share", "document_best", "document_rank", "document_mass",
    "document_mass_rank", "length", "not_clause", "depth", "piece", "english", "document_coverage",
    "document_coverage_gap", "title_coverage", "clause_coverage", "pair_share",
)
"""The signals, in the order of the fitted weights (:func:`features` documents each)."""


class RankerError(ValueError):
    """A ranker file is missing, unreadable or does not fit the encoder or the signals."""


def features(
    query: Query, hits: Sequence[Hit], cosines: Sequence[float], idf: Mapping[str, float],
    document_text: Callable[[str], str],
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate (``hits`` in fused order, ``cosines`` their dense similarity to the
    query; ``document_text``: a source's normalised text): the fused score and its share of the first's; each
    retriever's rank (log) and whether it returned the clause; the BM25 score as a share of the best; the cosine
    and its gap to the best; key-term coverage of title and clause; of the clause's document, its share of the
    candidates, its best fused score as a share of the first, its rank among the documents by best and by summed
    score (log), its share of the summed score and the key-term coverage of its whole text (and the gap to the best
    document's); the clause's length (log), kind, depth and whether it is a later piece of a split clause; whether
    the question is English; key-term coverage of the title alone and of the clause alone; and the share of the
    question's character pairs the clause holds."""
    if not hits:
        return np.zeros((0, len(FEATURES)))
    fused = np.array([h.score for h in hits], dtype=float)
    lexical = np.array([h.lexical_score for h in hits], dtype=float)
    cos = np.asarray(cosines, dtype=float)
    sources = [h.clause.source for h in hits]
    best: dict[str, float] = {}
    mass: dict[str, float] = {}
    count: dict[str, int] = {}
    for source, score in zip(sources, fused, strict=True):
        best[source] = max(best.get(source, 0.0), float(score))
        mass[source] = mass.get(source, 0.0) + float(score)
        count[source] = count.get(source, 0) + 1
    by_best = {s: r for r, s in enumerate(sorted(best, key=lambda s: -best[s]))}
    by_mass = {s: r for r, s in enumerate(sorted(mass, key=lambda s: -mass[s]))}
    held = {s: coverage(query.key_terms, document_text(s), idf) for s in best}
    titles = {h.clause.source: h.meta.title for h in hits}
    titled = {s: coverage(query.key_terms, normalise(t), idf) for s, t in titles.items()}
    top_held = max(held.values())
    asked = pairs_of(query.norm)  # (normalised, as lexical_text is)
    first, total, top_lexical, top_cos = fused[0] or 1.0, fused.sum() or 1.0, lexical.max() or 1.0, cos.max()
    rows = []
    for hit, score, lex, c, source in zip(hits, fused, lexical, cos, sources, strict=True):
        text = lexical_text(hit.clause, hit.meta)
        rows.append([
            score, score / first,
            float(hit.lexical_rank is not None), math.log1p(ABSENT_RANK if hit.lexical_rank is None else hit.lexical_rank),
            float(hit.dense_rank is not None), math.log1p(ABSENT_RANK if hit.dense_rank is None else hit.dense_rank),
            lex / top_lexical, c, c - top_cos, hit.coverage,
            count[source] / len(hits), best[source] / first, math.log1p(by_best[source]), mass[source] / total,
            math.log1p(by_mass[source]),
            math.log1p(len(hit.clause.text)), float(hit.clause.kind != "clause"), len(hit.clause.label_path),
            float(hit.clause.part > 0), float(query.english),
            held[source], held[source] - top_held,
            titled[source], coverage(query.key_terms, text, idf),
            len(asked & pairs_of(text)) / (len(asked) or 1),
        ])
    return np.array(rows, dtype=float)


@dataclass(frozen=True)
class Ranker:
    """Weights of the standardised signals; a candidate's score is their weighted sum."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    encoder: str
    provenance: dict = field(default_factory=dict, compare=False)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.scale) @ self.weights if len(rows) else np.zeros(0)

    def order(self, hits: Sequence[Hit], rows: np.ndarray) -> list[Hit]:
        """The hits by fitted score, best first (ties keep the fused order); each hit keeps its fused score."""
        scores = self.scores(rows)
        return [hits[i] for i in np.argsort(-scores, kind="stable")]

    def to_dict(self) -> dict:
        return {
            "encoder": self.encoder, "features": list(FEATURES), "weights": self.weights.round(6).tolist(),
            "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(), "provenance": self.provenance,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, encoder: str, path: Path | None = None) -> Ranker | None:
        """The ranker at ``path``, else the one shipped for ``encoder``; None when none is shipped for it."""
        if path is None:
            shipped = resources.files("assistant").joinpath("resources", ARTIFACT.format(encoder=encoder))
            if not shipped.is_file():
                return None
            path = Path(str(shipped))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights, mean, scale = (np.asarray(data[k], dtype=float) for k in ("weights", "mean", "scale"))
            names, fitted_for = tuple(data["features"]), data["encoder"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RankerError(f"ranker {path} is unreadable: {exc}") from exc
        if names != FEATURES or not (len(weights) == len(mean) == len(scale) == len(FEATURES)):
            raise RankerError(f"ranker {path} was fitted on other signals; refit it with 'python -m eval fit ranker'")
        if fitted_for != encoder:
            raise RankerError(f"ranker {path} was fitted for {fitted_for!r}, the index uses {encoder!r}")
        if not np.all(np.isfinite(weights)) or not np.all(scale > 0):
            raise RankerError(f"ranker {path} holds non-finite weights or a zero scale")
        return cls(weights, mean, scale, encoder, data.get("provenance", {}))


def load_ranker(encoder: str, setting: str) -> Ranker | None:
    """The ranker a ``ranker`` setting names: empty for the shipped one, ``none`` for none, else a path."""
    if setting.strip().lower() == "none":
        return None
    return Ranker.load(encoder, Path(setting) if setting.strip() else None)

