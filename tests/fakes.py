"""A fast deterministic embedder for tests that need many clauses or other processes (no model to load)."""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np


class HashEmbedder:
    """Hashed character bigrams into a small unit vector: texts sharing wording are near, nothing is learnt."""

    name = "hash-test"

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for a, b in pairwise(text):
            vector[int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little") % self.dim] += 1.0
        vector[0] += 1e-3
        return vector / np.linalg.norm(vector)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
