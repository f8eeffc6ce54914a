"""BM25 over segments: each segment holds the term frequencies of its clauses, and scores are computed at query
time with collection-wide statistics, so adding a document writes only its own segment and removing one only
marks its rows deleted, while every score stays what a single index over the live clauses would give.

Scoring is Lucene's BM25 (the ``lucene`` method of ``bm25s``, which the index used before): idf
``ln(1 + (N - df + 0.5) / (df + 0.5))`` and term part ``tf / (tf + k1 (1 - b + b dl / avgdl))``, with N, df and
avgdl over live clauses only. A query token given twice counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1, B = 1.5, 0.75
EMPTY = "∅"
"""The token of a clause with no other (it has length 1, as in bm25s)."""


def idf(df: int, n: int) -> float:
    """Lucene's idf of a token held by ``df`` of ``n`` clauses."""
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))


@dataclass(frozen=True)
class Postings:
    """One segment's term frequencies, term-major: the rows holding term ``t`` are
    ``rows[indptr[t]:indptr[t + 1]]`` (ascending) with frequencies ``tf[…]``."""

    vocab: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray
    """Tokens in each row."""

    @property
    def n_rows(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, corpus: Sequence[Sequence[str]]) -> Postings:
        """Postings of token lists, one per row."""
        vocab: dict[str, int] = {}
        flat = [vocab.setdefault(t, len(vocab)) for tokens in corpus for t in (tokens or (EMPTY,))]
        lengths = np.array([len(tokens) or 1 for tokens in corpus], dtype=np.int32)
        row_of = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
        return cls._from_pairs(list(vocab), np.array(flat, dtype=np.int64), row_of, np.ones(len(flat), np.float32),
                               lengths)

    @classmethod
    def _from_pairs(cls, terms: list[str], term_of: np.ndarray, row_of: np.ndarray, counts: np.ndarray,
                    lengths: np.ndarray) -> Postings:
        """Postings from (term, row, count) triples, summing repeated pairs."""
        n_rows = max(len(lengths), 1)
        keys, inverse = np.unique(term_of * n_rows + row_of, return_inverse=True)
        tf = np.bincount(inverse, weights=counts).astype(np.float32)
        term, rows = keys // n_rows, (keys % n_rows).astype(np.int32)
        used = np.unique(term)
        remap = np.full(len(terms), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        indptr = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(np.bincount(remap[term], minlength=len(used)), out=indptr[1:])
        return cls({terms[t]: i for i, t in enumerate(used.tolist())}, indptr, rows, tf, lengths.astype(np.int32))

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """One segment's postings from the rows kept (a boolean array per part) of several, in order."""
        terms: dict[str, int] = {}
        term_parts, row_parts, tf_parts, length_parts, base = [], [], [], [], 0
        for postings, keep in parts:
            names = list(postings.vocab)
            ids = np.array([terms.setdefault(t, len(terms)) for t in names], dtype=np.int64)
            new_row = np.cumsum(keep) - 1 + base
            term_local = np.repeat(np.arange(len(names)), np.diff(postings.indptr))
            kept = keep[postings.rows]
            term_parts.append(ids[term_local[kept]])
            row_parts.append(new_row[postings.rows[kept]])
            tf_parts.append(postings.tf[kept])
            length_parts.append(postings.lengths[keep])
            base += int(keep.sum())
        lengths = np.concatenate(length_parts) if length_parts else np.zeros(0, np.int32)
        if not base:
            return cls({}, np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), lengths)
        return cls._from_pairs(list(terms), np.concatenate(term_parts), np.concatenate(row_parts),
                               np.concatenate(tf_parts), lengths)

    def save(self, folder: Path) -> list[Path]:
        """Write the arrays (``.npy``) and ``vocab.txt`` (one term a line, in id order); returns the files."""
        np.save(folder / "indptr.npy", self.indptr)
        np.save(folder / "rows.npy", self.rows)
        np.save(folder / "tf.npy", self.tf)
        np.save(folder / "lengths.npy", self.lengths)
        (folder / "vocab.txt").write_text("\n".join(self.vocab), encoding="utf-8")
        return [folder / n for n in ("indptr.npy", "rows.npy", "tf.npy", "lengths.npy", "vocab.txt")]

    @classmethod
    def load(cls, folder: Path) -> Postings:
        text = (folder / "vocab.txt").read_text(encoding="utf-8")
        terms = text.split("\n") if text else []
        arrays = [np.load(folder / n) for n in ("indptr.npy", "rows.npy", "tf.npy", "lengths.npy")]
        indptr, rows, tf, lengths = arrays
        if len(indptr) != len(terms) + 1 or len(rows) != len(tf) or (len(rows) and int(indptr[-1]) != len(rows)):
            raise ValueError(f"the postings in {folder} do not match their vocabulary")
        return cls(dict(zip(terms, range(len(terms)), strict=True)), indptr, rows, tf, lengths)


class Bm25:
    """Scores over the live rows of several segments; positions count live rows in segment order."""

    def __init__(self, segments: Sequence[Postings], live: Sequence[np.ndarray], k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self._segments = list(segments)
        self._live = [np.asarray(m, dtype=bool) for m in live]
        self._position: list[np.ndarray] = []
        base, total_length = 0, 0
        for postings, mask in zip(self._segments, self._live, strict=True):
            self._position.append((np.cumsum(mask) - 1 + base).astype(np.int64))
            base += int(mask.sum())
            total_length += int(postings.lengths[mask].sum())
        self.n = base
        self.avgdl = total_length / base if base else 1.0
        self._df: dict[str, int] = {}

    def _postings(self, token: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(positions, frequencies, lengths) of the live rows holding ``token``, per segment."""
        found = []
        for postings, live, position in zip(self._segments, self._live, self._position, strict=True):
            tid = postings.vocab.get(token)
            if tid is None:
                continue
            start, end = int(postings.indptr[tid]), int(postings.indptr[tid + 1])
            rows = postings.rows[start:end]
            kept = live[rows]
            rows = rows[kept]
            if len(rows):
                found.append((position[rows], postings.tf[start:end][kept], postings.lengths[rows]))
        return found

    def df(self, token: str) -> int:
        """Live clauses holding the token."""
        if token not in self._df:
            self._df[token] = sum(len(p) for p, _, _ in self._postings(token))
        return self._df[token]

    def knows(self, token: str) -> bool:
        return self.df(token) > 0

    def idf(self, token: str) -> float:
        df = self.df(token)
        return idf(df, self.n) if df else 0.0

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """The BM25 score of every live row for the query tokens."""
        scores = np.zeros(self.n, dtype=np.float32)
        for token in tokens:
            parts = self._postings(token)
            if not parts:
                continue
            weight = np.float32(idf(sum(len(p) for p, _, _ in parts), self.n))
            for position, tf, length in parts:
                norm = np.float32(self.k1) * (np.float32(1 - self.b) + np.float32(self.b) * length / np.float32(self.avgdl))
                scores[position] += weight * (tf / (tf + norm))
        return scores

    def top(self, tokens: Sequence[str], k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best positions with a positive score (among ``mask``), best first; ties by position."""
        if not self.n or k <= 0:
            return []
        scores = self.scores(tokens)
        if mask is not None:
            scores = np.where(mask, scores, np.float32(0))
        k = min(k, self.n)
        best = np.argpartition(-scores, k - 1)[:k] if k < self.n else np.arange(self.n)
        best = best[np.lexsort((best, -scores[best]))]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]
