"""BM25 over segments: the scores of bm25s's Lucene BM25 (which the index used before) for one segment, and the
same scores whether the live clauses sit in one segment, in several with rows deleted, or in their merge."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from assistant.index.bm25 import Bm25, Postings

WORDS = [f"w{i}" for i in range(300)]


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    rng = random.Random(1)
    docs = [[rng.choice(WORDS[: rng.randint(5, 300)]) for _ in range(rng.randint(0, 40))] for _ in range(2000)]
    docs[7] = []  # a clause with no token
    return docs


QUERIES = [["w1", "w2", "w2"], ["w250"], ["w3", "w100", "w7"], ["w299", "w0"]]


def test_one_segment_scores_as_bm25s(corpus: list[list[str]]) -> None:
    reference = bm25s.BM25()
    reference.index([doc or ["∅"] for doc in corpus], show_progress=False)
    mine = Bm25([Postings.build(corpus)], [np.ones(len(corpus), dtype=bool)])
    for query in QUERIES:
        assert np.abs(reference.get_scores(query) - mine.scores(query)).max() < 1e-5


def test_segments_with_deleted_rows_score_as_one_index_of_the_live_rows(corpus: list[list[str]]) -> None:
    half = len(corpus) // 2
    first, second = Postings.build(corpus[:half]), Postings.build(corpus[half:])
    live = np.ones(half, dtype=bool)
    live[100:250] = False
    everywhere = np.ones(len(corpus) - half, dtype=bool)
    split = Bm25([first, second], [live, everywhere])
    kept = [doc for i, doc in enumerate(corpus) if not 100 <= i < 250]
    single = Bm25([Postings.build(kept)], [np.ones(len(kept), dtype=bool)])
    merged_postings = Postings.merge([(first, live), (second, everywhere)])
    merged = Bm25([merged_postings], [np.ones(merged_postings.n_rows, dtype=bool)])
    assert split.n == single.n == merged.n == len(kept)
    for query in QUERIES:
        assert np.abs(split.scores(query) - single.scores(query)).max() < 1e-5
        assert np.abs(merged.scores(query) - single.scores(query)).max() < 1e-5
        assert [p for p, _ in split.top(query, 5)] == [p for p, _ in single.top(query, 5)]
        assert split.df(query[0]) == single.df(query[0]) and split.idf(query[0]) == pytest.approx(single.idf(query[0]))


def test_top_honours_the_mask_and_returns_only_positive_scores(corpus: list[list[str]]) -> None:
    index = Bm25([Postings.build(corpus)], [np.ones(len(corpus), dtype=bool)])
    mask = np.zeros(len(corpus), dtype=bool)
    mask[::3] = True
    found = index.top(["w1", "w2"], 50, mask)
    assert found and all(mask[p] and score > 0 for p, score in found)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert index.top(["never-seen"], 5) == [] and not index.knows("never-seen")
