"""Reading, parsing and encoding files ahead of the writer: in a thread of this process, or in worker processes.

The encoders are numpy code that holds the GIL between its matrix products, so a thread encoding beside the
writer (Chroma, BM25 segmentation) runs mostly one at a time with it: on 2 cores an ingest of 14k lawcorpus
clauses used 1.0 core with one encoder thread. Worker processes (each its own encoder, one BLAS thread) run
beside the writer for real; they pay a start-up (a fresh interpreter and the encoder's weights, ~2 s), so they
are used for batches of at least :data:`PROCESS_MIN_FILES` files.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.embedders import Embedder, make_embedder
from assistant.settings import Settings
from assistant.store import encode_document
from assistant.types import Document

from .documents import FileReport, read_document

log = logging.getLogger(__name__)

PROCESS_MIN_FILES = 16
"""Batches with fewer files to parse are prepared in a thread: a few files do not repay the workers' start-up."""


@dataclass
class Prepared:
    doc: Document
    report: FileReport
    vectors: np.ndarray


def prepare(path: Path, source: str, settings: Settings, embedder: Embedder) -> Prepared:
    """Read, parse and encode one file."""
    doc, report = read_document(path, settings.max_clause_chars, max_bytes=settings.max_document_bytes, source=source)
    report.path = str(path)
    return Prepared(doc, report, encode_document(embedder, doc))


class Preparer(Protocol):
    depth: int
    """Files to keep in flight."""

    def submit(self, path: Path, source: str) -> Future[Prepared]: ...

    def close(self) -> None: ...


class ThreadPreparer:
    """One file at a time in a thread of this process, with the writer's own encoder."""

    depth = 1

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._settings, self._embedder = settings, embedder
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prepare")

    def submit(self, path: Path, source: str) -> Future[Prepared]:
        return self._pool.submit(prepare, path, source, self._settings, self._embedder)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class _Worker:
    """The state of one worker process: its settings and encoder (built once, when the process starts)."""

    settings: Settings
    embedder: Embedder


def _start_worker(settings: Settings) -> None:
    _Worker.settings = settings
    _Worker.embedder = make_embedder(settings)


def _prepare_in_worker(path: Path, source: str) -> Prepared:
    return prepare(path, source, _Worker.settings, _Worker.embedder)


class ProcessPreparer:
    """``workers`` processes (fresh interpreters, not forks of this one and its open stores), each with its own
    encoder on one BLAS thread."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.depth = 2 * workers
        worker_settings = settings.replace(encoder_threads=1)
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(worker_settings,))

    def submit(self, path: Path, source: str) -> Future[Prepared]:
        return self._pool.submit(_prepare_in_worker, path, source)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def make_preparer(settings: Settings, embedder: Embedder, files: int) -> Preparer:
    """The preparer for a batch of ``files`` files to parse. Worker processes only for the configured encoder
    (one given by the caller, such as a test's, stays here)."""
    workers = settings.ingest_workers
    if workers >= 1 and files >= PROCESS_MIN_FILES and embedder.name == settings.embedder.strip():
        log.info("preparing %d files in %d worker processes", files, workers)
        return ProcessPreparer(settings, workers)
    return ThreadPreparer(settings, embedder)


__all__ = ["BrokenProcessPool", "Prepared", "Preparer", "make_preparer", "prepare"]
