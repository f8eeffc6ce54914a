"""Choose how much an extractive answer quotes (:class:`assistant.answer.Lengths`) on the train questions.

Every answerable train question is answered at each point of a grid of lengths (a sentence's characters before
it is cut, the characters the items of a list share, the sentences of an answer) and scored as the evaluator
scores it (every key fact in the answer, a gold passage cited). A longer quote holds more key facts by
construction, so the choice is the one-standard-error rule of model selection: of the points whose correctness is
within one standard error of the best, the one whose answers are shortest (median characters). Cross-validated by
document: the rule applied to the questions of four folds of documents, its choice scored on the fifth's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import load_dataset
from ..metrics import score
from ..runner import ask_one
from . import made_by
from .answerability import FOLDS, group_of

SENTENCE_CHARS = (80, 110, 150, 200)
LIST_CHARS = (120, 200, 300)
SENTENCES = (1, 2, 3)


def choose(correct: np.ndarray, chars: np.ndarray) -> int:
    """The grid point the one-standard-error rule picks: ``correct`` and ``chars`` are questions × points (an
    abstention's characters NaN); the shortest median answer among the points within one standard error of the
    best mean correctness (ties: the first)."""
    means = correct.mean(axis=0)
    best = float(means.max())
    se = math.sqrt(best * (1 - best) / len(correct)) if len(correct) else 0.0
    near = np.flatnonzero(means >= best - se - 1e-12)
    medians = np.array([np.nanmedian(chars[:, j]) if np.isfinite(chars[:, j]).any() else np.inf for j in near])
    return int(near[np.argmin(medians)])


def cross_validated(correct: np.ndarray, chars: np.ndarray, groups: Sequence[str]) -> tuple[float, list[int]]:
    """Correctness of the rule's choice on each fold of documents, made on the other folds, and the choices."""
    from sklearn.model_selection import GroupKFold

    held = np.zeros(len(correct))
    choices = []
    for train, test in GroupKFold(n_splits=FOLDS).split(correct, groups=list(groups)):
        j = choose(correct[train], chars[train])
        choices.append(j)
        held[test] = correct[test, j]
    return float(held.mean()), choices


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None) -> dict[str, Any]:
    """Answer every set's answerable questions at every grid point, choose, and write the lengths to ``out``."""
    from assistant.answer import ExtractiveAnswerer, Lengths
    from assistant.service import Assistant
    from assistant.settings import load_settings

    grid = [Lengths(s, items, n) for n in SENTENCES for s in SENTENCE_CHARS for items in LIST_CHARS]
    hand = Lengths()
    if hand not in grid:
        grid.append(hand)
    correct, chars, groups, used = [], [], [], []
    for data_dir, dataset in sets:
        questions = [q for q in load_dataset(dataset).items if q.answerable and q.gold]
        assistant = Assistant(load_settings(config, data_dir=data_dir))
        if assistant.answerer.name != "extractive":
            raise ValueError("fit lengths measures the extractive answerer: leave llm_base_url empty")
        ranker = assistant.answerer.ranker
        table = np.zeros((len(questions), len(grid)))
        lengths = np.full((len(questions), len(grid)), np.nan)
        for j, point in enumerate(grid):
            assistant.answerer = ExtractiveAnswerer(ranker, point)
            for i, question in enumerate(questions):
                scored = score(question, ask_one(assistant, question))
                table[i, j] = float(bool(scored["answer_correctness"]))
                if scored["answer_chars"] is not None:
                    lengths[i, j] = scored["answer_chars"]
        originals = {q.id: q for q in questions}
        correct.append(table)
        chars.append(lengths)
        groups += [group_of(q, originals) for q in questions]
        used.append({"dataset": dataset.as_posix(), "questions": len(questions)})
    all_correct, all_chars = np.vstack(correct), np.vstack(chars)
    if len(set(groups)) < FOLDS:
        raise ValueError(f"the lengths' fit needs questions about at least {FOLDS} documents")
    chosen = choose(all_correct, all_chars)
    cv, fold_choices = cross_validated(all_correct, all_chars, groups)
    hand_j = grid.index(hand)

    def label(p: Lengths) -> str:
        return f"{p.sentence_chars}/{p.list_chars}/{p.sentences}"

    provenance = {
        "made_by": made_by("lengths"), "date": date.today().isoformat(), "datasets": used,
        "questions": len(groups), "documents": len(set(groups)), "folds": f"{FOLDS}-fold by document",
        "rule": "one standard error: the shortest median answer within one SE of the best correctness",
        "grid": "sentence_chars/list_chars/sentences",
        "correctness": {label(p): round(float(all_correct[:, j].mean()), 4) for j, p in enumerate(grid)},
        "median_chars": {label(p): float(np.nanmedian(all_chars[:, j])) for j, p in enumerate(grid)},
        "cv": {"correctness_of_choice": round(cv, 4), "fold_choices": [label(grid[j]) for j in fold_choices],
               "hand_set_correctness": round(float(all_correct[:, hand_j].mean()), 4), "hand_set": label(hand)},
    }
    data = {**grid[chosen].to_dict(), "provenance": provenance}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return provenance
