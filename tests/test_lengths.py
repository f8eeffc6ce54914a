"""How the answer lengths are chosen (``python -m eval fit lengths``): the one-standard-error rule, by document."""

from __future__ import annotations

import numpy as np

from eval.fit.lengths import choose, cross_validated


def grid(means: list[float], medians: list[float], n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Questions × points with the given correctness rates and answer lengths."""
    correct = np.column_stack([np.arange(n) < round(m * n) for m in means]).astype(float)
    chars = np.column_stack([np.full(n, c, dtype=float) for c in medians])
    return correct, chars


def test_the_shortest_answers_within_one_standard_error_of_the_best_are_chosen() -> None:
    correct, chars = grid([0.80, 0.82, 0.60], [50, 120, 20])  # SE of .82 over 100 questions: .038
    assert choose(correct, chars) == 0
    correct, chars = grid([0.70, 0.82, 0.60], [50, 120, 20])  # .70 is three SEs below
    assert choose(correct, chars) == 1


def test_abstentions_do_not_count_towards_the_median_length() -> None:
    correct, chars = grid([0.8, 0.8], [80, 50])
    chars[:70, 0] = np.nan  # most of point 0's questions abstained: its answers are 80 long, not short
    assert choose(correct, chars) == 1


def test_the_cross_validated_choice_is_scored_on_documents_it_did_not_see() -> None:
    rng = np.random.default_rng(0)
    correct = (rng.random((200, 3)) < np.array([0.5, 0.8, 0.8])).astype(float)
    chars = np.tile([30.0, 60.0, 90.0], (200, 1))
    groups = [f"doc{i % 10}" for i in range(200)]
    score, choices = cross_validated(correct, chars, groups)
    assert len(choices) == 5 and all(j in (1, 2) for j in choices)  # never the far worse point 0
    assert 0.7 < score < 0.9
