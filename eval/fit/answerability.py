"""Fit the answerability model: a logistic regression from the evidence signals of each question's hits to
whether the question should be answered.

Rows come from train datasets run through the real answer path (``Assistant.assess``) over their indexes:

* positive: an answerable question whose gold passage is among the top five hits (answering it can be right);
* negative: a question written as unanswerable, or an answerable one asked without its gold documents
  (counterfactual copy);
* left out: answerable questions whose gold the retrievers missed (neither answering nor abstaining is right),
  and questions a content check decided (a year or title no passage gives).

Folds group rows by document (a question and its counterfactual copy stay together), so the cross-validated
scores are those of documents the model has not seen. The coefficients keep the direction each signal can only
have (:data:`SIGNS`). The two kinds of negative weigh the same in the fit and in the threshold: counterfactual
copies outnumber the written near-misses five to one, and unweighted the model learns what tells a copy from its
original (the gold document is missing) and little of what a near-miss lacks (what it asks is not said). The
regularisation strength is chosen by the cross-validated (weighted) log loss. Weighted so that the negatives
together weigh as much as the answerable rows, the model answers above one half: the decision that maximises the
kind-balanced accuracy (the mean of the answerable questions' answer rate and the negative kinds' mean
abstention rate) for calibrated probabilities.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.answerability import FEATURES, AnswerabilityModel
from assistant.store import Filters

from ..dataset import Question, counterfactuals, load_dataset
from ..metrics import hit_at
from . import made_by

log = logging.getLogger(__name__)
SIGNS = {"unknown_share": -1, "terms": 0, "english": 0, "asks_figure": 0}
"""The direction each signal may move the probability in: evidence of a match never counts against answering
(+1, every signal not listed), words the corpus never saw never count for it (-1); 0 = free."""
FOLDS = 5
THRESHOLD = 0.5
"""Answer above one half: the fit's weights make that the kind-balanced decision (:func:`kind_weights`). A cut
searched on the cross-validated probabilities moved between 0.35 and 0.51 from one refit to the next, the
criterion being flat around its best; it is reported, not used."""
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
HEAD = 5


KINDS = ("answerable", "unanswerable", "counterfactual")


@dataclass(frozen=True)
class Row:
    id: str
    group: str
    label: int
    values: dict[str, float]
    kind: str = ""
    """One of :data:`KINDS` (by default that of the label: answerable or unanswerable)."""

    @property
    def of_kind(self) -> str:
        return self.kind or KINDS[0 if self.label else 1]


def neutral_model() -> AnswerabilityModel:
    """A model that answers everything: the fit needs the signals, not a decision."""
    n = len(FEATURES)
    return AnswerabilityModel(FEATURES, (0.0,) * n, (1.0,) * n, (0.0,) * n, 0.0, 0.0)


def group_of(question: Question, originals: dict[str, Question]) -> str:
    """The document a question is about (its gold's first source); unanswerables spread over the folds."""
    original = originals.get(question.id.removesuffix("#cf"), question)
    if original.gold:
        return original.gold[0].source
    return "unanswerable-" + hashlib.sha1(question.id.encode()).hexdigest()[:1]


def collect(assistant: Any, questions: Sequence[Question], cross_fit: Any = None) -> tuple[list[Row], dict[str, int]]:
    """Signals and labels of each usable question, and how many were left out and why; with ``cross_fit``
    (:class:`.adapter.CrossFit`), each question through the query adapter not fitted on its document."""
    originals = {q.id: q for q in questions}
    rows: list[Row] = []
    left = {"retrieval missed": 0, "decided by a check": 0}
    own = assistant.retriever.adapter
    for q in [*questions, *counterfactuals(list(questions))]:
        if cross_fit is not None:
            assistant.retriever.adapter = cross_fit.adapter_for(originals.get(q.id.removesuffix("#cf"), q), own)
        filters = Filters(exclude=q.exclude_sources) if q.exclude_sources else None
        assessed = assistant.assess(q.question, list(q.history), filters)
        if not assessed.evidence.signals:
            left["decided by a check"] += 1
            continue
        if q.answerable:
            passages = [{"source": h.clause.source, "text": h.clause.text} for h in assessed.hits[:HEAD]]
            if not q.gold or not hit_at(passages, q.gold, HEAD):
                left["retrieval missed"] += 1
                continue
        kind = "answerable" if q.answerable else "counterfactual" if q.counterfactual else "unanswerable"
        rows.append(Row(q.id, group_of(q, originals), int(q.answerable), assessed.evidence.signals, kind))
    assistant.retriever.adapter = own
    return rows, left


def _matrix(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([[r.values[f] for f in FEATURES] for r in rows], dtype=float)
    y = np.array([r.label for r in rows])
    groups = np.array([r.group for r in rows])
    kinds = np.array([r.of_kind for r in rows])
    return x, y, groups, kinds


def kind_weights(kinds: np.ndarray) -> np.ndarray:
    """Row weights under which the negative kinds present together weigh as much as the answerable rows, each
    kind the same: the fitted probability is then that of a question equally likely answerable or not and
    equally likely either kind of negative, and the kind-balanced decision is to answer above one half."""
    w = np.ones(len(kinds))
    negative = [k for k in KINDS[1:] if (kinds == k).any()]
    positive = int((kinds == KINDS[0]).sum()) or len(kinds)
    for k in negative:
        w[kinds == k] = positive / len(negative) / (kinds == k).sum()
    return w


class MonotoneLogistic:
    """L2-regularised logistic regression on standardised signals whose coefficients keep the signs of
    :data:`SIGNS` (L-BFGS-B with bounds), so that a signal outside the range seen in training cannot turn
    strong evidence into a reason to abstain."""

    def __init__(self, c: float) -> None:
        self.c = c

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> MonotoneLogistic:
        from scipy.optimize import minimize

        w_row = np.ones(len(y)) if weights is None else weights
        self.mean = x.mean(axis=0)
        self.scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z = (x - self.mean) / self.scale
        signs = [SIGNS.get(f, 1) for f in FEATURES]
        bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs] + [(None, None)]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            margin = z @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-margin))
            nll = (w_row * (np.logaddexp(0.0, margin) - y * margin)).sum()
            residual = w_row * (p - y)
            grad = np.append(z.T @ residual, residual.sum())
            reg = 0.5 / self.c
            grad[:-1] += 2 * reg * w[:-1]
            return float(nll + reg * (w[:-1] ** 2).sum()), grad

        w = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
        self.coef, self.intercept = w[:-1], float(w[-1])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(((x - self.mean) / self.scale) @ self.coef + self.intercept)))


def _cv_probabilities(x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, weights: np.ndarray) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    p = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=FOLDS).split(x, y, groups):
        p[test] = MonotoneLogistic(c).fit(x[train], y[train], weights[train]).predict(x[test])
    return p


def best_threshold(p: np.ndarray, kinds: np.ndarray) -> tuple[float, float]:
    """The cut on probabilities with the highest kind-balanced accuracy (midpoint between neighbouring values)."""
    best, best_score = 0.5, -1.0
    values = np.unique(p)
    for lo, hi in itertools.pairwise(values):
        cut = (lo + hi) / 2
        score = kind_balanced_accuracy(p >= cut, kinds)
        if score > best_score:
            best, best_score = float(cut), score
    return best, best_score


def kind_rates(answered: np.ndarray, kinds: np.ndarray) -> dict[str, float]:
    """Of each kind present: the share answered (answerable) or abstained (the negative kinds)."""
    return {
        k: float(answered[kinds == k].mean() if k == KINDS[0] else (~answered[kinds == k]).mean())
        for k in KINDS if (kinds == k).any()
    }


def kind_balanced_accuracy(answered: np.ndarray, kinds: np.ndarray) -> float:
    """The mean of the answer rate of the answerable rows and the mean abstention rate of the negative kinds
    (with one negative kind: the balanced accuracy)."""
    rates = kind_rates(answered, kinds)
    negative = [v for k, v in rates.items() if k != KINDS[0]]
    return (rates.get(KINDS[0], 0.0) + (sum(negative) / len(negative) if negative else 0.0)) / 2


def fit(rows: Sequence[Row]) -> tuple[AnswerabilityModel, dict[str, Any]]:
    """The model fitted on all rows, and its cross-validated scores (by document)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    x, y, groups, kinds = _matrix(rows)
    if len(set(y)) < 2:
        raise ValueError("the datasets give rows of one label only: need answerable and unanswerable questions")
    weights = kind_weights(kinds)
    losses = {c: log_loss(y, _cv_probabilities(x, y, groups, c, weights), sample_weight=weights) for c in C_GRID}
    c = min(losses, key=losses.get)
    p = _cv_probabilities(x, y, groups, c, weights)
    threshold = THRESHOLD
    answered = p >= threshold
    score = kind_balanced_accuracy(answered, kinds)
    positive = kinds == KINDS[0]
    cv = {
        "folds": FOLDS, "grouped_by": "document", "C": c, "weighted_by_kind": True,
        "log_loss": round(float(log_loss(y, p, sample_weight=weights)), 4),
        "brier": round(float(brier_score_loss(y, p, sample_weight=weights)), 4),
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "roc_auc_by_kind": {
            k: round(float(roc_auc_score(y[positive | (kinds == k)], p[positive | (kinds == k)])), 4)
            for k in KINDS[1:] if (kinds == k).any()
        },
        "kind_balanced_accuracy": round(score, 4),
        "best_threshold_in_hindsight": {k: round(v, 4) for k, v in zip(("threshold", "kind_balanced_accuracy"), best_threshold(p, kinds), strict=True)},
        "rates_by_kind": {k: round(v, 4) for k, v in kind_rates(answered, kinds).items()},
        "rows_by_kind": {k: int((kinds == k).sum()) for k in KINDS if (kinds == k).any()},
        "log_loss_by_C": {str(k): round(float(v), 4) for k, v in losses.items()},
    }
    final = MonotoneLogistic(c).fit(x, y, weights)
    model = AnswerabilityModel(
        features=FEATURES, mean=tuple(float(v) for v in final.mean), scale=tuple(float(v) for v in final.scale),
        coef=tuple(round(float(v), 6) for v in final.coef), intercept=round(final.intercept, 6),
        threshold=round(threshold, 6),
    )
    return model, cv


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None,
        cross_fit: Path | None = None) -> dict[str, Any]:
    """Fit on every (data dir, dataset) pair and write the model to ``out``; returns its provenance.
    ``cross_fit``: the fold adapters of ``python -m eval fit adapter --folds-out``."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    from .adapter import CrossFit

    rows: list[Row] = []
    used = []
    encoder = ""
    folds: CrossFit | None = None
    for data_dir, dataset in sets:
        loaded = load_dataset(dataset)
        settings = load_settings(config, data_dir=data_dir)
        assistant = Assistant(settings, model=neutral_model())
        encoder = assistant.embedder.name
        if cross_fit is not None and folds is None:  # the same fold maps serve every set
            folds = CrossFit.load(cross_fit, encoder)
        got, left = collect(assistant, loaded.items, folds)
        log.info("%s: %d rows (%s)", dataset, len(got), left)
        rows += got
        used.append({"dataset": dataset.as_posix(), "rows": len(got), "positives": sum(r.label for r in got), "left_out": left})
    model, cv = fit(rows)
    provenance = {
        "made_by": made_by("answerability"),
        "date": date.today().isoformat(), "encoder": encoder, "datasets": used, "cv": cv,
        "query_adapter": "cross-fitted by document" if cross_fit is not None else "as configured",
    }
    model = AnswerabilityModel(**{**model.__dict__, "provenance": provenance})
    out.write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return provenance


def coefficients(model: AnswerabilityModel) -> list[tuple[str, float]]:
    """The standardised coefficients, largest effect first (for the report)."""
    return sorted(zip(model.features, model.coef, strict=True), key=lambda fc: -math.fabs(fc[1]))
