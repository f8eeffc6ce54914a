"""Ingest a batch of files into the clause index; one bad file never stops the batch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.embedders import Embedder, make_embedder
from assistant.settings import Settings
from assistant.store import ClauseStore
from assistant.types import Document

from .documents import FileReport, fingerprint, read_document
from .loaders import SUPPORTED, LoadError
from .metadata import MetadataError

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    files: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> dict:
        return {
            "documents": [f.to_dict() for f in self.files],
            "summary": {
                "files": len(self.files),
                "ingested": sum(f.status == "ok" for f in self.files),
                "unchanged": sum(f.status == "unchanged" for f in self.files),
                "failed": len(self.failed),
                "removed": sum(f.status == "removed" for f in self.files),
                "clauses": sum(f.clauses for f in self.files if f.status in {"ok", "unchanged"}),
            },
        }


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the files inside folders named (recursively), sidecars excluded."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.endswith((".meta.json", ".meta.toml")) and not p.name.startswith(".")
            )
        else:
            found.append(path)
    return found


@dataclass
class _Prepared:
    doc: Document
    report: FileReport
    stamp: str
    vectors: np.ndarray | None
    """None when the stored copy is up to date."""


def _check(path: Path, settings: Settings, seen: set[str]) -> None:
    """What can be said of a file without reading it."""
    if not path.exists():
        raise LoadError("no such file")
    if path.suffix.lower() not in SUPPORTED:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}")
    size_mb = path.stat().st_size / 1e6
    if size_mb > settings.max_document_mb:
        raise LoadError(
            f"file too large: {size_mb:.1f} MB > max_document_mb = {settings.max_document_mb:g} MB "
            "(split the document, or raise max_document_mb in the settings)"
        )
    if path.name in seen:
        raise LoadError("another file of the same name was already ingested in this batch (names identify documents)")
    seen.add(path.name)


def _prepare(path: Path, settings: Settings, store: ClauseStore) -> _Prepared:
    stamp = fingerprint(path, settings.max_clause_chars)
    doc, report = read_document(path, settings.max_clause_chars)
    unchanged = store.fingerprint(path.name) == stamp
    return _Prepared(doc, report, stamp, None if unchanged else store.encode(doc))


def ingest(
    paths: Iterable[Path],
    settings: Settings,
    *,
    prune: bool = False,
    embedder: Embedder | None = None,
    store: ClauseStore | None = None,
    progress: Callable[[Path], None] | None = None,
) -> IngestResult:
    """Ingest files (re-ingesting changed ones, skipping unchanged ones); with ``prune`` remove the rest."""
    if store is None:
        store = ClauseStore(settings, embedder or make_embedder(settings))
    files = collect_files(Path(p) for p in paths)
    result = IngestResult()
    seen: set[str] = set()
    jobs: list[tuple[Path, LoadError | None]] = []
    for path in files:
        try:
            _check(path, settings, seen)
            jobs.append((path, None))
        except LoadError as exc:
            jobs.append((path, exc))
    # one document ahead: the next file is read, parsed and encoded (BLAS, outside the GIL) while this one is
    # written to Chroma and the catalog
    with ThreadPoolExecutor(1, thread_name_prefix="prepare") as pool:
        ahead: dict[int, Future[_Prepared]] = {}

        def prefetch(i: int) -> None:
            if i < len(jobs) and jobs[i][1] is None:
                ahead[i] = pool.submit(_prepare, jobs[i][0], settings, store)

        prefetch(0)
        for i, (path, error) in enumerate(jobs):
            prefetch(i + 1)
            report = FileReport(path=str(path))
            try:
                if error is not None:
                    raise error
                prepared = ahead.pop(i).result()
                report = prepared.report
                if prepared.vectors is None:
                    report.status = "unchanged"
                else:
                    report.clauses = store.upsert(prepared.doc, prepared.stamp, prepared.vectors)
            except (LoadError, MetadataError, OSError) as exc:
                report.status, report.error = "failed", str(exc)
                log.warning("%s: %s", path, exc)
            result.files.append(report)
            if progress:
                progress(path)
    if prune:
        for source in sorted(set(store.documents) - seen):
            count = store.delete(source)
            result.files.append(FileReport(path=source, status="removed", clauses=count))
    store.commit()
    return result


def remove(sources: Iterable[str], settings: Settings, embedder: Embedder | None = None) -> list[FileReport]:
    store = ClauseStore(settings, embedder or make_embedder(settings))
    reports = []
    for source in sources:
        name = Path(source).name
        if name not in store.documents:
            reports.append(FileReport(path=name, status="failed", error="not in the index"))
            continue
        reports.append(FileReport(path=name, status="removed", clauses=store.delete(name)))
    store.commit()
    return reports
