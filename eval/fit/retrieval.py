"""Fit the fusion of the retrievers: the dense ranking's weight against the lexical one's, for Chinese and for
English questions, and the weight of key-term coverage, by grid search for the highest MRR@10 of the train
questions' gold passages through the real search path (``Assistant.search``).

The score reported is cross-validated by document: for each of :data:`FOLDS` folds, the grid point best on the
other folds is scored on this one. The weights written are the best on all the train questions.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval.hybrid import Fusion

from ..dataset import Question, load_dataset
from ..metrics import reciprocal_rank
from . import made_by
from .adapter import CrossFit
from .answerability import FOLDS, group_of

DENSE = (0.5, 0.8, 1.3, 2.0, 3.0, 5.0)
COVERAGE = (0.0, 0.02, 0.04, 0.08, 0.16, 0.32, 1.0)
"""Fused reciprocal-rank scores are about 1/60 per list: 1.0 ranks by coverage first, the fusion breaking ties."""
PREVIOUS = (0.8, 1.3, 0.02)
"""The hand-set constants the fit replaced (dense, dense for English, coverage), scored for comparison."""


def _rr(assistant: Any, question: Question) -> float:
    _, hits = assistant.search(question.question)
    passages = [{"source": h.clause.source, "text": h.clause.text} for h in hits]
    return reciprocal_rank(passages, question.gold)


def grid(
    assistant: Any, questions: Sequence[Question], english: bool, cross_fit: CrossFit | None = None
) -> tuple[list[Fusion], np.ndarray]:
    """Every grid point and the reciprocal rank of each question under it (questions × points); with
    ``cross_fit``, each question through the query adapter not fitted on its document."""
    base = assistant.retriever.fusion
    own = assistant.retriever.adapter
    points = [
        replace(base, dense_english=d, coverage=c) if english else replace(base, dense=d, coverage=c)
        for d, c in itertools.product(DENSE, COVERAGE)
    ]
    scores = np.zeros((len(questions), len(points)))
    for j, point in enumerate(points):
        assistant.retriever.fusion = point
        for i, q in enumerate(questions):
            if cross_fit is not None:
                assistant.retriever.adapter = cross_fit.adapter_for(q, own)
            scores[i, j] = _rr(assistant, q)
    assistant.retriever.fusion = base
    assistant.retriever.adapter = own
    return points, scores


def cross_validated(scores: np.ndarray, groups: Sequence[str]) -> float:
    """Mean MRR of each fold under the grid point best on the other folds (folds by document)."""
    from sklearn.model_selection import GroupKFold

    if len(set(groups)) < FOLDS:
        return float(scores.max(axis=1).mean()) if len(scores) else 0.0
    total = 0.0
    for train, test in GroupKFold(n_splits=FOLDS).split(scores, groups=groups):
        best = int(scores[train].mean(axis=0).argmax())
        total += scores[test, best].sum()
    return total / len(scores)


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None,
        cross_fit: Path | None = None) -> dict[str, Any]:
    """Fit the weights, write them to ``out``; ``cross_fit``: the fold adapters of ``fit adapter --folds-out``."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    found: dict[bool, list[tuple[Fusion, np.ndarray, list[str]]]] = {False: [], True: []}
    encoder = ""
    folds: CrossFit | None = None
    for data_dir, dataset in sets:
        questions = [q for q in load_dataset(dataset).items if q.answerable and q.gold and not q.history]
        originals = {q.id: q for q in questions}
        assistant = Assistant(load_settings(config, data_dir=data_dir))
        encoder = assistant.embedder.name
        if cross_fit is not None and folds is None:  # the same fold maps serve every set
            folds = CrossFit.load(cross_fit, encoder)
        for english in (False, True):
            chosen = [q for q in questions if (not any("\u4e00" <= ch <= "\u9fff" for ch in q.question)) == english]
            if chosen:
                points, scores = grid(assistant, chosen, english, folds)
                found[english].append((points, scores, [group_of(q, originals) for q in chosen]))
    fitted: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for english, parts in found.items():
        if not parts:
            continue
        points = parts[0][0]
        scores = np.vstack([s for _, s, _ in parts])
        groups = [g for _, _, gs in parts for g in gs]
        best = int(scores.mean(axis=0).argmax())
        key = "english" if english else "chinese"
        fitted[key] = points[best]
        dense, dense_english, cover = PREVIOUS
        default = next(
            (j for j, p in enumerate(points) if (p.dense_english if english else p.dense) == (dense_english if english else dense)
             and p.coverage == cover), None,
        )
        report[key] = {
            "questions": len(scores), "mrr@10": round(float(scores[:, best].mean()), 4),
            "cv_mrr@10": round(cross_validated(scores, groups), 4),
            "mrr@10_of_previous_constants": round(float(scores[:, default].mean()), 4) if default is not None else None,
        }
    chinese = fitted.get("chinese", Fusion())
    fusion = Fusion(
        dense=chinese.dense, dense_english=fitted.get("english", chinese).dense_english, coverage=chinese.coverage,
        provenance={
            "made_by": made_by("retrieval"),
            "date": date.today().isoformat(), "encoder": encoder, "grid": {"dense": DENSE, "coverage": COVERAGE},
            "datasets": [q.as_posix() for _, q in sets], "scores": report,
            "query_adapter": "cross-fitted by document" if cross_fit is not None else "as configured",
        },
    )
    out.write_text(json.dumps(fusion.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return fusion.to_dict()
