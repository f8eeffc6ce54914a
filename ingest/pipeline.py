"""Ingest a batch of files into the clause index; one bad file never stops the batch."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from assistant.embedders import Embedder, make_embedder
from assistant.index.writer import IndexWriter
from assistant.settings import Settings
from assistant.store import open_writer

from .documents import FileReport, fingerprint
from .loaders import SUPPORTED, LoadError, check_file
from .metadata import MetadataError
from .prepare import BrokenProcessPool, Prepared, ThreadPreparer, make_preparer, prepare

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
                "skipped": sum(f.status == "skipped" for f in self.files),
                "clauses": sum(f.clauses for f in self.files if f.status in {"ok", "unchanged"}),
            },
        }


class IngestPathError(ValueError):
    """A path given to ingest does not exist; nothing was changed."""


def scan(paths: Iterable[Path], root: Path | None = None) -> tuple[list[tuple[Path, str]], list[FileReport]]:
    """Files named, and the files inside folders named (recursively, sidecars excluded), each with the identifier
    of its document: its path relative to the folder given (``sub/name.txt``), or its name for a file given
    itself; with ``root``, every identifier is the path relative to ``root`` (a few files of a large collection
    keep the identifiers the whole collection would give them). Entries left out get a report line: hidden
    files and folders, symbolic link loops and broken links, special files."""

    def identify(path: Path, folder: Path | None) -> str:
        if root is not None:
            try:
                return path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                raise IngestPathError(f"{path} is not inside --root {root}") from None
        return path.relative_to(folder).as_posix() if folder is not None else path.name

    found: list[tuple[Path, str]] = []
    skipped: list[FileReport] = []

    def skip(path: Path, why: str) -> None:
        skipped.append(FileReport(path=str(path), status="skipped", error=why))

    for path in paths:
        if not path.is_dir():
            found.append((path, identify(path, None) if path.exists() else path.name))
            continue
        for walked, dirs, files in os.walk(path):
            here = Path(walked)
            for name in sorted(dirs):
                if name.startswith("."):
                    skip(here / name, "hidden folder, not read")
                elif (here / name).is_symlink():
                    skip(here / name, "symbolic link to a folder, not followed")
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here / d).is_symlink())
            for name in sorted(files):
                entry = here / name
                if name.endswith((".meta.json", ".meta.toml")):
                    continue
                if name.startswith("."):
                    skip(entry, "hidden file, not read")
                    continue
                try:
                    is_file = entry.is_file()
                except OSError as exc:  # a symbolic link loop
                    skip(entry, f"cannot be read ({exc.strerror or exc})")
                    continue
                if not is_file:
                    skip(entry, "broken symbolic link or special file, not read" if entry.is_symlink() or entry.exists()
                         else "vanished while the folder was read")
                    continue
                found.append((entry, identify(entry, path)))
    return found, skipped


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The files :func:`scan` finds."""
    return [path for path, _ in scan(paths)[0]]


def _check(path: Path, source: str, settings: Settings, seen: set[str]) -> None:
    """What can be said of a file without reading it."""
    if not path.exists():
        raise LoadError("no such file")
    if path.suffix.lower() not in SUPPORTED:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}")
    check_file(path, settings.max_document_bytes)
    if source in seen:
        raise LoadError(
            f"another file with the identifier {source} was already ingested in this batch (a document is identified "
            "by its path inside the folder given, or its name when given as a file)"
        )
    seen.add(source)


def ingest(
    paths: Iterable[Path],
    settings: Settings,
    *,
    prune: bool = False,
    embedder: Embedder | None = None,
    store: IndexWriter | None = None,
    progress: Callable[[Path], None] | None = None,
    root: Path | None = None,
    origins: Mapping[Path, Path] | None = None,
) -> IngestResult:
    """Ingest files (re-ingesting changed ones, skipping unchanged ones) under the data directory's write lock.

    With ``prune``, documents that were ingested from inside one of the folders given and are no longer there
    are removed; documents from anywhere else (other folders, uploads) are kept. A path that does not exist
    refuses the whole batch with ``prune`` (:class:`IngestPathError`, nothing changed), and is a failed report
    line without it. ``root``: identify documents by their path relative to it (see :func:`scan`). ``origins``:
    the path to record for a file read from elsewhere (an upload checked in a staging folder, then moved)."""
    paths = [Path(p) for p in paths]
    if prune:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise IngestPathError(
                f"no such file or folder: {', '.join(missing)}; nothing was ingested or removed "
                "(--prune removes the documents gone from the folders given, so every path must exist)"
            )
    if store is None:
        store = open_writer(settings, embedder or make_embedder(settings))
    store.begin_write()
    try:
        return _ingest(paths, settings, store, prune, progress, root, origins or {})
    finally:
        store.commit()


def _ingest(
    paths: list[Path], settings: Settings, store: IndexWriter, prune: bool, progress: Callable[[Path], None] | None,
    root: Path | None, origins: Mapping[Path, Path],
) -> IngestResult:
    files, skipped = scan(paths, root)
    result = IngestResult()
    seen: set[str] = set()
    jobs: list[tuple[Path, str, LoadError | None]] = []
    for path, source in files:
        try:
            _check(path, source, settings, seen)
            jobs.append((path, source, None))
        except LoadError as exc:
            jobs.append((path, source, exc))
    # files ahead: the next ones are read, parsed and encoded (in worker processes for a large batch, see
    # prepare.py) while this one is written to Chroma and segmented for BM25
    todo: list[int] = []
    stamps: dict[int, str] = {}
    for i, (path, source, error) in enumerate(jobs):
        if error is None:
            try:
                stamps[i] = fingerprint(path, settings.max_clause_chars)
            except OSError:
                stamps[i] = ""  # read again below, where the error is reported
            if store.fingerprint(source) != stamps[i] or not stamps[i]:
                todo.append(i)
    preparer = make_preparer(settings, store.embedder, len(todo))
    ahead: dict[int, Future[Prepared]] = {}
    queue, parse = deque(todo), set(todo)

    def refill() -> None:
        while queue and len(ahead) < preparer.depth:
            ahead[queue[0]] = preparer.submit(jobs[queue[0]][0], jobs[queue[0]][1])
            queue.popleft()

    def obtain(i: int) -> Prepared:
        """File ``i`` prepared; when the worker processes die, the rest is prepared in this process."""
        nonlocal preparer
        try:
            future = ahead.pop(i)
            refill()
            return future.result()
        except BrokenProcessPool:
            log.warning("the worker processes stopped; preparing the remaining files in this process")
            preparer.close()
            preparer = ThreadPreparer(settings, store.embedder)
            for j in list(ahead):
                ahead[j] = preparer.submit(jobs[j][0], jobs[j][1])
            refill()
            return prepare(jobs[i][0], jobs[i][1], settings, store.embedder)

    try:
        refill()
        checkpointed = time.monotonic()
        for i, (path, source, error) in enumerate(jobs):
            report = FileReport(path=str(path), source=source)
            try:
                if error is not None:
                    raise error
                origin = str(Path(origins.get(path, path)).resolve())
                if i not in parse:  # the stored copy is up to date: not parsed again
                    record = store.documents[source]
                    report = FileReport(path=str(path), source=source, status="unchanged", metadata=record["meta"],
                                        clauses=record.get("clauses", 0))
                    if store.origin(source) != origin:
                        store.set_origin(source, origin)
                else:
                    prepared = obtain(i)
                    report = prepared.report
                    log.info("writing %s", source)
                    report.clauses = store.upsert(prepared.doc, stamps[i], prepared.vectors, origin=origin)
            except (LoadError, MetadataError, OSError) as exc:
                report.status, report.error = "failed", str(exc)
                log.warning("%s: %s", path, exc)
            except Exception as exc:  # a parser bug on one odd file must not cost the rest of the batch
                report.status, report.error = "failed", f"could not be read ({type(exc).__name__}: {exc})"
                log.exception("%s: unexpected error", path)
            result.files.append(report)
            if progress:
                progress(path)
            if time.monotonic() - checkpointed > settings.checkpoint_seconds:
                log.info("checkpoint after %d of %d files", i + 1, len(jobs))
                store.checkpoint()
                checkpointed = time.monotonic()
    finally:
        preparer.close()
    result.files.extend(skipped)
    if prune:
        roots = [p.resolve() for p in paths if p.is_dir()]
        for source in sorted(set(store.documents) - seen):
            origin = store.origin(source)
            if origin and any(Path(origin).is_relative_to(root) for root in roots):
                count = store.delete(source)
                result.files.append(FileReport(path=origin, source=source, status="removed", clauses=count))
    return result


def remove(sources: Iterable[str], settings: Settings, embedder: Embedder | None = None) -> list[FileReport]:
    """Remove documents by name, under the write lock."""
    store = open_writer(settings, embedder or make_embedder(settings))
    store.begin_write()
    reports = []
    try:
        for given in sources:
            name = _identify(given, store.documents)
            if name is None:
                reports.append(FileReport(path=given, status="failed", error="not in the index"))
                continue
            reports.append(FileReport(path=name, source=name, status="removed", clauses=store.delete(name)))
    finally:
        store.commit()
    return reports


def _identify(given: str, documents: Iterable[str]) -> str | None:
    """The document a name given on the command line means: its identifier, or a file name only one has."""
    documents = list(documents)
    if given in documents:
        return given
    named = [d for d in documents if Path(d).name == Path(given).name]
    return named[0] if len(named) == 1 else None


def reingest(source: str, settings: Settings, *, store: IndexWriter | None = None,
             embedder: Embedder | None = None) -> FileReport:
    """Ingest a stored document again from the path it was read from, keeping its identifier (a document of a
    folder, ``sub/name.txt``, is read with that folder as the root)."""
    store = store if store is not None else open_writer(settings, embedder or make_embedder(settings))
    origin = store.origin(source)
    if not origin or not Path(origin).is_file():
        return FileReport(path=origin, source=source, status="failed",
                          error=f"the file it was ingested from is gone ({origin or 'no path recorded'}); ingest it again")
    path = Path(origin)
    root = None
    if path.name != source:
        if not path.as_posix().endswith("/" + source):
            return FileReport(path=origin, source=source, status="failed",
                              error=f"{origin} is not where {source} was ingested from; ingest its folder again")
        root = Path(path.as_posix()[: -len(source) - 1])
    return ingest([path], settings, store=store, embedder=embedder, root=root).files[0]


def repair(settings: Settings, embedder: Embedder | None = None) -> int:
    """Rebuild the lexical index and catalog from the vector store. Returns the clause count."""
    from assistant.store import ClauseStore

    return ClauseStore(settings, embedder or make_embedder(settings)).repair()
