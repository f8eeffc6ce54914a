"""Fit the candidate ranker (``assistant/retrieval/ranker.py``): a linear model over the signals of each fused
candidate, fitted listwise (the softmax over a question's candidates, the mass on its gold clauses maximised, as
ListNet / the contrastive loss of dense retrieval) with an L2 penalty on the standardised weights.

The train questions are searched as the answer path searches them, with no ranker (the fusion's candidates); the
penalty is chosen by MRR@10 of the reordered candidates, cross-validated by document (:data:`FOLDS` folds). The
fit comes after the fusion's (whose score is one of its signals) and before the answerability model's (which
reads the hits it orders). A question comparing documents is left out (its hits are each document's, interleaved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval import scope
from assistant.retrieval.ranker import FEATURES, Ranker
from assistant.store import Filters

from ..dataset import Question, load_dataset
from ..metrics import supports_any
from . import made_by
from .answerability import FOLDS, group_of

PENALTIES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
"""L2 penalties tried (per question, on standardised signals)."""
CUTOFF = 10


@dataclass(frozen=True)
class Candidates:
    """One question's fused candidates: their signals, which are gold, and the document the question is about."""

    rows: np.ndarray
    gold: np.ndarray
    group: str


def collect(assistant: Any, questions: Sequence[Question], originals: dict[str, Question]) -> list[Candidates]:
    """The candidates of each answerable question with gold, scoped to the document it names as the answer path
    scopes it."""
    retriever, analyzer = assistant.retriever, assistant.analyzer
    found = []
    for q in questions:
        query = analyzer.analyse(q.question)
        filters = scope(query, Filters())
        if filters is None:  # a question naming several documents: the ranker orders one search's candidates
            continue
        hits, vector = retriever.fused(query, filters, assistant.settings.candidates)
        if not hits:
            continue
        gold = np.array([supports_any({"source": h.clause.source, "text": h.clause.text}, q.gold) for h in hits])
        found.append(Candidates(retriever.signals(query, hits, vector), gold, group_of(q, originals)))
    return found


def rank_scores(lists: Sequence[Candidates], scores: Sequence[np.ndarray]) -> tuple[float, float]:
    """MRR@10 and hit@5 of the candidates ordered by ``scores`` (a question with no gold candidate counts 0)."""
    rr, hit5 = [], []
    for c, s in zip(lists, scores, strict=True):
        gold = c.gold[np.argsort(-s, kind="stable")]
        first = np.flatnonzero(gold[:CUTOFF])
        rr.append(1.0 / (first[0] + 1) if len(first) else 0.0)
        hit5.append(bool(gold[:5].any()))
    return float(np.mean(rr)) if rr else 0.0, float(np.mean(hit5)) if hit5 else 0.0


def fit(lists: Sequence[Candidates], penalty: float, encoder: str) -> Ranker:
    """The listwise fit of the lists that hold a gold candidate, the signals standardised over all their rows."""
    from scipy.optimize import minimize

    usable = [c for c in lists if c.gold.any()]
    stacked = np.vstack([c.rows for c in usable])
    mean = stacked.mean(axis=0)
    scale = stacked.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    standard = [((c.rows - mean) / scale, c.gold.astype(bool)) for c in usable]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for z, gold in standard:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            on_gold = p[gold].sum()
            total -= np.log(on_gold + 1e-12)
            grad -= z.T @ (np.where(gold, p / (on_gold + 1e-12), 0.0) - p)
        n = len(standard)
        return total / n + penalty * float(w @ w), grad / n + 2 * penalty * w

    weights = minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B").x
    return Ranker(weights, mean, scale, encoder)


def cross_validated(lists: Sequence[Candidates], penalty: float, encoder: str) -> list[np.ndarray]:
    """Each question's candidate scores under the ranker fitted without its fold's documents."""
    from sklearn.model_selection import GroupKFold

    scores: list[np.ndarray] = [np.zeros(0)] * len(lists)
    for train, test in GroupKFold(n_splits=FOLDS).split(lists, groups=[c.group for c in lists]):
        ranker = fit([lists[i] for i in train], penalty, encoder)
        for i in test:
            scores[i] = ranker.scores(lists[i].rows)
    return scores


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None) -> dict[str, Any]:
    """Fit the ranker on the train sets' candidates and write it to ``out``."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    lists: list[Candidates] = []
    encoder = ""
    for data_dir, dataset in sets:
        questions = [q for q in load_dataset(dataset).items if q.answerable and q.gold and not q.history]
        assistant = Assistant(load_settings(config, data_dir=data_dir, ranker="none"))
        encoder = assistant.embedder.name
        lists += collect(assistant, questions, {q.id: q for q in questions})
    if len({c.group for c in lists}) < FOLDS:
        raise ValueError(f"the ranker's fit needs questions about at least {FOLDS} documents")
    fused = rank_scores(lists, [-np.arange(len(c.gold), dtype=float) for c in lists])
    cv = {p: rank_scores(lists, cross_validated(lists, p, encoder)) for p in PENALTIES}
    penalty = max(PENALTIES, key=lambda p: cv[p][0])
    ranker = fit(lists, penalty, encoder)
    in_sample = rank_scores(lists, [ranker.scores(c.rows) for c in lists])
    provenance = {
        "made_by": made_by("ranker"), "date": date.today().isoformat(), "encoder": encoder,
        "datasets": [d.as_posix() for _, d in sets], "questions": len(lists),
        "documents": len({c.group for c in lists}), "with_gold_candidate": sum(bool(c.gold.any()) for c in lists),
        "penalty": penalty, "folds": f"{FOLDS}-fold by document",
        "scores": {
            "fused_order": {"mrr@10": round(fused[0], 4), "hit@5": round(fused[1], 4)},
            "cv": {str(p): {"mrr@10": round(m, 4), "hit@5": round(h, 4)} for p, (m, h) in cv.items()},
            "in_sample": {"mrr@10": round(in_sample[0], 4), "hit@5": round(in_sample[1], 4)},
        },
    }
    ranker = Ranker(ranker.weights, ranker.mean, ranker.scale, encoder, provenance)
    ranker.save(out)
    return ranker.to_dict()
