"""The naive baseline a user builds first: fixed-size chunks, BM25, the top chunk's opening as the answer.

It reads the documents with the same cleaning as ingestion, but knows nothing of clauses, follow-ups
(the history is ignored), thresholds or the dense encoder. It abstains only when no chunk shares a term
with the question. Every report can then show the gain of the assistant over it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from assistant.answer import CANNOT_ANSWER
from assistant.text import tokenize
from assistant.types import Answer, Citation
from ingest.documents import read_document
from ingest.loaders import LoadError
from ingest.metadata import MetadataError
from ingest.pipeline import scan

log = logging.getLogger(__name__)
CHUNK_CHARS = 300
OVERLAP_CHARS = 50
ANSWER_CHARS = 200
RETRIEVED = 10


@dataclass(frozen=True)
class Chunk:
    source: str
    title: str
    doc_number: str
    text: str


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Windows of ``size`` characters, each starting ``size - overlap`` after the previous; the last reaches the end."""
    if size <= overlap:
        raise ValueError("the chunk size must exceed the overlap")
    step, chunks = size - overlap, []
    for start in range(0, max(len(text), 1), step):
        chunks.append(text[start : start + size])
        if start + size >= len(text):
            break
    return [c for c in chunks if c.strip()]


def corpus_chunks(corpus: Path, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """Chunks of every readable document under ``corpus`` (unreadable files are logged and skipped)."""
    return file_chunks(scan([Path(corpus)])[0], size, overlap)


def file_chunks(files: Sequence[tuple[Path, str]], size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """Chunks of the readable files among ``(path, identifier)`` pairs."""
    chunks = []
    for path, source in files:
        try:
            doc, _ = read_document(path, source=source)
        except (LoadError, MetadataError, OSError) as exc:
            log.warning("baseline skips %s: %s", path, exc)
            continue
        meta = doc.meta
        chunks.extend(Chunk(meta.source, meta.title, meta.doc_number, text) for text in chunk_text(doc.text, size, overlap))
    return chunks


class BaselineEngine:
    """Answers like :class:`assistant.service.Assistant` does (``ask`` → :class:`Answer`), naively."""

    name = "baseline"

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            raise ValueError("the baseline has no text to search: the corpus folder holds no readable document")
        self.chunks = list(chunks)
        self.bm25 = bm25s.BM25()
        self.bm25.index([tokenize(c.text) or ["∅"] for c in self.chunks], show_progress=False)

    @classmethod
    def from_files(cls, files: Sequence[tuple[Path, str]]) -> BaselineEngine:
        return cls(file_chunks(files))

    @classmethod
    def from_corpus(cls, corpus: Path) -> BaselineEngine:
        if not Path(corpus).is_dir():
            raise ValueError(f"corpus folder {corpus} does not exist: pass --corpus DIR")
        return cls(corpus_chunks(corpus))

    def search(self, question: str, k: int = RETRIEVED, exclude: Sequence[str] = ()) -> list[Chunk]:
        vocab = self.bm25.vocab_dict
        tokens = [t for t in tokenize(question) if t in vocab]
        if not tokens:
            return []
        mask = None
        if exclude:
            mask = np.array([c.source not in set(exclude) for c in self.chunks], dtype=np.float32)
            if not mask.any():
                return []
        docs, scores = self.bm25.retrieve(
            [tokens], k=min(k, len(self.chunks)), show_progress=False, n_threads=0, weight_mask=mask
        )
        return [self.chunks[int(d)] for d, s in zip(docs[0], np.asarray(scores[0]), strict=True) if s > 0]

    def ask(self, question: str, history: Sequence[dict[str, str]] = (), filters: object = None) -> Answer:
        """The top chunk's first characters, citing that chunk (no clause label); the history is ignored, and of
        the filters only the documents to exclude (for counterfactual questions)."""
        started = time.perf_counter()
        found = self.search(question, exclude=tuple(getattr(filters, "exclude", ()) or ()))
        retrieved = [Citation(n, c.source, c.title, c.doc_number, "", c.text) for n, c in enumerate(found, 1)]
        if found:
            answer = Answer(question, found[0].text[:ANSWER_CHARS].strip(), citations=retrieved[:1])
        else:
            answer = Answer(question, CANNOT_ANSWER, abstained=True)
        answer.retrieved, answer.standalone_question, answer.engine = retrieved, question, self.name
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer
