"""Fit the intent model: which answer path a question takes (metadata, responsibility, deadline, or the general
one), from character n-grams of the question, on the train questions' written types.

The labels are the datasets' ``type`` where it names an intent (``metadata``, ``responsibility``, ``deadline``);
every other type is ``fact`` (a paraphrase or an English question still asks for a fact). A TF-IDF over
character 1–3-grams (sublinear tf) and a multinomial logistic regression; C is chosen by 5-fold cross-validation
grouped by document, scored by macro-F1 over the four intents, and the rules of
``assistant/retrieval/query.py`` are scored on the same questions for comparison.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval.intent import INTENTS, IntentModel
from assistant.text import normalise

from ..dataset import Question, load_dataset
from . import made_by
from .answerability import group_of

FOLDS = 5
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
NGRAM = (1, 3)


def label(question: Question) -> str:
    return question.type if question.type in INTENTS else "fact"


def _pipeline(c: float) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=NGRAM, sublinear_tf=True, min_df=2),
                         LogisticRegression(C=c, max_iter=2000, class_weight="balanced"))


def fit(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], rules: Sequence[str]) -> tuple[IntentModel, dict[str, Any]]:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import GroupKFold

    texts, y, groups = list(texts), np.array(labels), np.array(groups)
    folds = list(GroupKFold(n_splits=FOLDS).split(texts, y, groups))
    scores = {}
    predictions = {}
    for c in C_GRID:
        got = np.empty(len(y), dtype=object)
        for train, test in folds:
            model = _pipeline(c).fit([texts[i] for i in train], y[train])
            got[test] = model.predict([texts[i] for i in test])
        scores[c] = f1_score(y, got, average="macro", labels=list(INTENTS))
        predictions[c] = got
    c = max(scores, key=scores.get)
    final = _pipeline(c).fit(texts, y)
    vectorizer, logistic = final.steps[0][1], final.steps[1][1]
    model = IntentModel(NGRAM, {t: int(i) for t, i in vectorizer.vocabulary_.items()}, vectorizer.idf_,
                        tuple(logistic.classes_), logistic.coef_, logistic.intercept_)
    cv = {
        "folds": FOLDS, "grouped_by": "document", "questions": len(y), "C": c,
        "macro_f1": round(float(scores[c]), 4), "accuracy": round(float(accuracy_score(y, predictions[c])), 4),
        "rules_macro_f1": round(float(f1_score(y, np.array(rules), average="macro", labels=list(INTENTS))), 4),
        "rules_accuracy": round(float(accuracy_score(y, np.array(rules))), 4),
        "macro_f1_by_C": {str(k): round(float(v), 4) for k, v in scores.items()},
        "per_class_f1": dict(zip(INTENTS, (round(float(v), 4) for v in f1_score(y, predictions[c], average=None, labels=list(INTENTS))), strict=True)),
        "rules_per_class_f1": dict(zip(INTENTS, (round(float(v), 4) for v in f1_score(y, np.array(rules), average=None, labels=list(INTENTS))), strict=True)),
    }
    return model, cv


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None) -> dict[str, Any]:
    """Fit on the questions of every (data dir, dataset) pair (the index gives the rules' intents for the
    comparison) and write the model to ``out``; returns its provenance."""
    from assistant.embedders import make_embedder
    from assistant.retrieval.query import QueryAnalyzer
    from assistant.settings import load_settings
    from assistant.store import ClauseStore

    texts, labels, groups, rules, used = [], [], [], [], []
    for data_dir, dataset in sets:
        settings = load_settings(config, data_dir=data_dir)
        store = ClauseStore(settings, make_embedder(settings))
        rules_only = QueryAnalyzer(store.metas(), idf=store.idf)  # without a model: the rules decide
        questions = load_dataset(dataset).items
        originals = {q.id: q for q in questions}
        for q in questions:
            texts.append(normalise(q.question))
            labels.append(label(q))
            groups.append(group_of(q, originals))
            rules.append(rules_only.analyse(q.question).intent.replace("comparison", "fact"))
        used.append({"dataset": dataset.as_posix(), "questions": len(questions)})
    model, cv = fit(texts, labels, groups, rules)
    provenance = {"made_by": made_by("intent"), "date": date.today().isoformat(), "datasets": used, "cv": cv}
    out.write_text(json.dumps({**model.to_dict(), "provenance": provenance}, ensure_ascii=False) + "\n", encoding="utf-8")
    return provenance
