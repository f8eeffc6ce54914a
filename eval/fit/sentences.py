"""Fit the extractive answerer's sentence ranker: which sentence of the top clauses to quote.

Each train question answered by sentence selection (not metadata, comparison or responsibility questions, which
have their own paths) is run through ``Assistant.assess``; the sentences of its top three hits are candidates,
labelled by whether they overlap a gold quote of the question (a common run of at least :data:`MIN_OVERLAP`
characters, or the whole of the shorter). Questions with no positive or no negative candidate teach nothing and
are left out. The weights come from a pairwise logistic regression without intercept (each positive sentence
against each negative one of the same question: the score's argmax is what the answerer uses), standardised;
the regularisation and the share of the top clause's coverage a lower clause needs to be read are chosen by
cross-validation grouped by document, scored by how often the top-scored sentence holds a gold quote.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.extractive import (
    DEADLINE_HINT_RE,
    SENTENCE_FEATURES,
    SentenceRanker,
    candidate_sentences,
    similarity_of,
)
from assistant.text import normalise

from ..dataset import Question, load_dataset
from . import made_by

log = logging.getLogger(__name__)
FOLDS = 5
C_GRID = (0.01, 0.1, 1.0, 10.0)
SHARE_GRID = (0.0, 0.5, 0.65, 0.8, 0.9)
MIN_OVERLAP = 10
OWN_PATHS = {"metadata", "comparison", "responsibility"}


@dataclass(frozen=True)
class Group:
    """The candidate sentences of one question."""

    id: str
    document: str
    x: np.ndarray
    """One row of :data:`SENTENCE_FEATURES` values per candidate."""
    y: np.ndarray


def overlaps(sentence: str, quote: str) -> bool:
    a, b = normalise(sentence).replace("…", ""), normalise(quote)
    if not a or not b:
        return False
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= min(MIN_OVERLAP, len(a), len(b))


def collect(assistant: Any, questions: Sequence[Question]) -> tuple[list[Group], dict[str, int]]:
    groups, left = [], {"no selection path": 0, "no hits": 0, "no gold among candidates": 0, "every candidate gold": 0}
    everything = SentenceRanker(min_clause_share=0.0)  # all three clauses: the share is chosen afterwards
    similarity = similarity_of(assistant.embedder)
    for q in questions:
        if not q.answerable or not q.gold:
            continue
        assessed = assistant.assess(q.question, list(q.history), None)
        if assessed.query.intent in OWN_PATHS:
            left["no selection path"] += 1
            continue
        if not assessed.hits:
            left["no hits"] += 1
            continue
        bonus = DEADLINE_HINT_RE if assessed.query.intent == "deadline" else None
        pool = candidate_sentences(assessed.query, assessed.hits, assessed.weights, bonus, everything, similarity=similarity)
        labels = [any(g.source == s.hit.clause.source and overlaps(s.text, g.quote) for g in q.gold) for s in pool]
        if not any(labels):
            left["no gold among candidates"] += 1
            continue
        if all(labels):
            left["every candidate gold"] += 1
            continue
        groups.append(Group(q.id, q.gold[0].source, np.array([s.features for s in pool], dtype=float),
                            np.array(labels, dtype=int)))
    return groups, left


def _admitted(x: np.ndarray, share: float) -> np.ndarray:
    rank, clause_share = x[:, SENTENCE_FEATURES.index("rank")], x[:, SENTENCE_FEATURES.index("clause_share")]
    return (rank == 0) | (clause_share >= share)


def top1(groups: Sequence[Group], weights: np.ndarray, share: float) -> float:
    """Share of questions whose best-scored admitted sentence holds a gold quote."""
    right = 0
    for g in groups:
        keep = _admitted(g.x, share)
        scores = np.where(keep, g.x @ weights, -np.inf)
        right += int(g.y[int(np.argmax(scores))])
    return right / len(groups) if groups else 0.0


def _pairs(groups: Sequence[Group], scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diffs = []
    for g in groups:
        z = g.x / scale
        pos, neg = z[g.y == 1], z[g.y == 0]
        diffs.append((pos[:, None, :] - neg[None, :, :]).reshape(-1, z.shape[1]))
    d = np.concatenate(diffs)
    return np.concatenate([d, -d]), np.concatenate([np.ones(len(d)), np.zeros(len(d))])


def _fit_weights(groups: Sequence[Group], c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    scale = np.concatenate([g.x for g in groups]).std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    x, y = _pairs(groups, scale)
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=1000).fit(x, y)
    return model.coef_[0] / scale


def fit(groups: Sequence[Group]) -> tuple[SentenceRanker, dict[str, Any]]:
    from sklearn.model_selection import GroupKFold

    documents = np.array([g.document for g in groups])
    folds = list(GroupKFold(n_splits=FOLDS).split(np.zeros(len(groups)), groups=documents))
    hand = SentenceRanker()
    scores: dict[tuple[float, float], float] = {}
    for c in C_GRID:
        fold_weights = [_fit_weights([groups[i] for i in train], c) for train, _ in folds]
        for share in SHARE_GRID:
            right = sum(top1([groups[i] for i in test], w, share) * len(test)
                        for w, (_, test) in zip(fold_weights, folds, strict=True))
            scores[(c, share)] = right / len(groups)
    c, share = max(scores, key=lambda k: (scores[k], -abs(k[1] - hand.min_clause_share)))
    weights = _fit_weights(groups, c)
    cv = {
        "folds": FOLDS, "grouped_by": "document", "questions": len(groups), "C": c, "min_clause_share": share,
        "top1_fitted": round(scores[(c, share)], 4),
        "top1_hand_set": round(top1(groups, np.array(hand.weights), hand.min_clause_share), 4),
        "top1_by_C_and_share": {f"{k[0]}/{k[1]}": round(v, 4) for k, v in scores.items()},
    }
    return SentenceRanker(tuple(round(float(w), 6) for w in weights), share), cv


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None) -> dict[str, Any]:
    """Fit on every (data dir, dataset) pair and write the ranker to ``out``; returns its provenance."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    groups: list[Group] = []
    used = []
    for data_dir, dataset in sets:
        assistant = Assistant(load_settings(config, data_dir=data_dir))
        got, left = collect(assistant, load_dataset(dataset).items)
        log.info("%s: %d questions (%s)", dataset, len(got), left)
        groups += got
        used.append({"dataset": dataset.as_posix(), "questions": len(got), "left_out": left})
    ranker, cv = fit(groups)
    provenance = {"made_by": made_by("sentences"), "date": date.today().isoformat(),
                  "encoder": load_settings(config).embedder, "datasets": used, "cv": cv}
    data = {"weights": dict(zip(SENTENCE_FEATURES, ranker.weights, strict=True)),
            "min_clause_share": ranker.min_clause_share, "provenance": provenance}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return provenance
