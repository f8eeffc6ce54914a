"""The documents an English question names (``the Trust Law`` → 《中华人民共和国信托法》): each English name it gives
(:func:`.english.document_names`) against the titles of the index, by the dense encoder (multilingual, so the
English name and the Chinese title meet in one space). A name picks the most similar title when the similarity
reaches the cut fitted by ``python -m eval fit english-names`` on the train questions' names
(``resources/english-names-{encoder}.json``); an encoder without a fitted cut names nothing this way."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..embedders import Embedder
from ..text import normalise
from ..types import DocumentMeta

log = logging.getLogger(__name__)
ARTIFACT = "english-names-{encoder}.json"
STATE_NAME = "中华人民共和国"
"""The state's name, which legislation is cited without (in Chinese and in English)."""


def title_key(meta: DocumentMeta) -> str:
    """The title a document is named by in English (without the state's name, which English names leave out)."""
    return normalise(meta.title).strip().removeprefix(STATE_NAME)


def load_cut(encoder: str, path: Path | None = None) -> float | None:
    """The fitted similarity cut for ``encoder`` (from ``path`` or the shipped artifact); None when none was fitted."""
    if path is None:
        shipped = resources.files("assistant").joinpath("resources", ARTIFACT.format(encoder=encoder))
        if not shipped.is_file():
            return None
        return float(json.loads(shipped.read_text(encoding="utf-8"))["cut"])
    return float(json.loads(path.read_text(encoding="utf-8"))["cut"])


@dataclass(frozen=True)
class Match:
    title: str
    sources: tuple[str, ...]
    similarity: float


class TitleMatcher:
    """Titles of the index (the versions of one title together) and their vectors, encoded on first use and kept
    in ``cache`` (a file of the data directory, per encoder) so that a restart encodes only new titles."""

    def __init__(
        self, metas: Sequence[DocumentMeta], embedder: Embedder, cut: float | None, cache: Path | None = None
    ) -> None:
        groups: dict[str, list[str]] = {}
        for meta in metas:
            key = title_key(meta)
            if key:
                groups.setdefault(key, []).append(meta.source)
        self.titles = sorted(groups)
        self.sources = {t: tuple(sorted(groups[t])) for t in self.titles}
        self.embedder = embedder
        self.cut = cut
        self.cache = cache
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def vectors(self) -> np.ndarray:
        with self._lock:
            if self._vectors is None:
                known = self._cached()
                missing = [t for t in self.titles if t not in known]
                if missing:
                    known.update(zip(missing, np.asarray(self.embedder.embed_documents(missing), dtype=np.float32), strict=True))
                    self._store(known)
                v = np.array([known[t] for t in self.titles], dtype=float) if self.titles else np.zeros((0, 1))
                norms = np.linalg.norm(v, axis=1, keepdims=True)
                self._vectors = v / np.where(norms > 0, norms, 1.0)
            return self._vectors

    def _cached(self) -> dict[str, np.ndarray]:
        if self.cache is None or not self.cache.is_file():
            return {}
        try:
            with np.load(self.cache, allow_pickle=False) as data:
                return dict(zip(data["titles"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError) as e:  # a damaged cache is encoded again
            log.warning("ignoring the title vectors in %s: %s", self.cache, e)
            return {}

    def _store(self, known: dict[str, np.ndarray]) -> None:
        """Write the current titles' vectors (replacing the file at once; a read-only data directory keeps none)."""
        if self.cache is None or not self.titles:
            return
        partial = self.cache.with_name(f"{self.cache.name}.{os.getpid()}.tmp.npz")
        try:
            np.savez(partial, titles=np.array(self.titles), vectors=np.array([known[t] for t in self.titles], dtype=np.float32))
            os.replace(partial, self.cache)
        except OSError as e:
            log.info("the title vectors are not kept (%s)", e)
            partial.unlink(missing_ok=True)

    def _similarities(self, name: str) -> np.ndarray:
        """Cosine similarity of an English name to each title, in :attr:`titles` order."""
        q = np.asarray(self.embedder.embed_query(name), dtype=float)
        return self.vectors() @ (q / (np.linalg.norm(q) or 1.0))

    def ranked(self, name: str) -> list[Match]:
        """Every title, the most similar to an English name first."""
        if not self.titles:
            return []
        sims = self._similarities(name)
        return [Match(self.titles[i], self.sources[self.titles[i]], float(sims[i])) for i in np.argsort(-sims, kind="stable")]

    def match(self, name: str) -> Match | None:
        """The title an English name gives (the first of :meth:`ranked`), when its similarity reaches the fitted cut."""
        if self.cut is None or not self.titles:
            return None
        sims = self._similarities(name)
        best = int(np.argmax(sims))
        title = self.titles[best]
        return Match(title, self.sources[title], float(sims[best])) if sims[best] >= self.cut else None
