"""Fit the similarity an English document name needs to name a title (``the Trust Law`` → 信托法): on the train
questions' English names (:func:`assistant.retrieval.english.document_names`), each against the titles of its
index by the dense encoder.

Rows: a name and its gold document's title (positive: the name should pick it), and the same name against the
index without its gold document, the most similar other title (negative: a document not in the index is named
and must not be replaced by its nearest neighbour; the counterfactual construction). The cut is the midpoint
between neighbouring similarities that classifies the most rows right (positives and negatives weighing the
same: the answerability fit's search, :func:`.answerability.best_threshold`); it is cross-validated leaving one
document's names out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import load_dataset
from . import made_by
from .answerability import KINDS, best_threshold, kind_balanced_accuracy, neutral_model

log = logging.getLogger(__name__)


def _kinds(labels: np.ndarray) -> np.ndarray:
    """The labels as the answerability fit's kinds (a name to accept is "answerable"), so that its cut search and
    balanced accuracy serve here."""
    return np.where(labels == 1, KINDS[0], KINDS[1])


def collect(assistant: Any, dataset: Path) -> list[tuple[str, float, int, str]]:
    """(name, similarity, label, gold document) rows of a dataset's English questions over the assistant's index."""
    from assistant.retrieval.english import Glossary, document_names
    from assistant.text import is_english, normalise

    titles = assistant.analyzer.titles
    rows = []
    for q in load_dataset(dataset).items:
        if not q.gold or not is_english(normalise(q.question)):
            continue
        gold = {g.source for g in q.gold}
        for name in document_names(q.question, Glossary.load().stopwords):
            ranked = titles.ranked(name)
            own = [m.similarity for m in ranked if set(m.sources) & gold]
            other = [m.similarity for m in ranked if not set(m.sources) & gold]
            if own and other:
                rows += [(name, own[0], 1, sorted(gold)[0]), (name, other[0], 0, sorted(gold)[0])]
    return rows


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None) -> dict[str, Any]:
    from assistant.service import Assistant
    from assistant.settings import load_settings

    rows: list[tuple[str, float, int, str]] = []
    used = []
    encoder = ""
    for data_dir, dataset in sets:
        assistant = Assistant(load_settings(config, data_dir=data_dir), model=neutral_model())
        encoder = assistant.embedder.name
        got = collect(assistant, dataset)
        rows += got
        used.append({"dataset": dataset.as_posix(), "names": len(got) // 2})
    if not rows:
        raise ValueError("the datasets give no English question naming its gold document")
    sims = np.array([r[1] for r in rows])
    labels = np.array([r[2] for r in rows])
    groups = np.array([r[3] for r in rows])
    kinds = _kinds(labels)
    cut, score = best_threshold(sims, kinds)
    held = np.zeros(len(rows), dtype=bool)
    for g in np.unique(groups):  # leave one document's names out
        inside = groups == g
        fold_cut, _ = best_threshold(sims[~inside], kinds[~inside]) if (~inside).any() else (cut, 0.0)
        held[inside] = sims[inside] >= fold_cut
    provenance = {
        "made_by": made_by("english-names"), "date": date.today().isoformat(), "encoder": encoder, "datasets": used,
        "rows": len(rows), "documents": len(np.unique(groups)),
        "balanced_accuracy_in_sample": round(score, 4),
        "balanced_accuracy_leave_one_document_out": round(kind_balanced_accuracy(held, kinds), 4),
        "positives": {"min": round(float(sims[labels == 1].min()), 4), "median": round(float(np.median(sims[labels == 1])), 4)},
        "negatives": {"max": round(float(sims[labels == 0].max()), 4), "median": round(float(np.median(sims[labels == 0])), 4)},
    }
    out.write_text(json.dumps({"cut": round(cut, 4), "provenance": provenance}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return provenance
