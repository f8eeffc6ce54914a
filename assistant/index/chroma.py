"""Chroma, the source of truth: the client, the collection, batched reads and the collection's revision."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..settings import Settings
from .errors import DamagedIndexError, EmbedderMismatchError, IndexError_

log = logging.getLogger(__name__)

READ_BATCH = 5000
"""Records per ``collection.get`` when reading everything (one call for all fails past ~32k records:
SQLite's limit on query variables)."""

HNSW = {"space": "cosine", "sync_threshold": 100, "batch_size": 100}
"""Persist the HNSW graph every 100 writes (incrementally; ingest is no slower) instead of every 1000: on
opening, Chroma replays the writes since the last persist, ~1.2 ms each, before the first query."""

_HNSW_HEADER_MIN = 64
"""Bytes in a sane hnswlib ``header.bin``; Chroma's native code crashes the process on a shorter one."""


def chroma_client(settings: Settings, *, fresh: bool = False) -> Any:
    """A Chroma client: ``HttpClient`` for a server URL, else the embedded store in ``data_dir``; telemetry off.

    ``fresh`` opens the embedded store anew: Chroma keeps one in-memory copy of the vector index per path and
    process, which never sees what another process wrote."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
        )
    if fresh:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # clients already open keep their own system
    check_hnsw_files(settings.chroma_dir)
    try:
        with opening_lock(settings.chroma_dir):
            return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises its own types for a damaged or foreign database
        raise DamagedIndexError(
            f"cannot open the vector index in {settings.chroma_dir} ({type(exc).__name__}: {exc}); "
            "rebuild it from the documents: python -m ingest FOLDER... --rebuild"
        ) from exc


@contextlib.contextmanager
def opening_lock(chroma_dir: Path) -> Iterator[None]:
    """Processes opening one embedded store take turns: two creating a new store at once race on its schema
    migrations, and one fails. Held for the opening only; a store on a read-only path is opened without it."""
    try:
        chroma_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = (chroma_dir.parent / "open.lock").open("a")
    except OSError:
        handle = None
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_hnsw_files(chroma_dir: Path) -> None:
    """Refuse vector index files that would crash Chroma's native code (a truncated ``header.bin``)."""
    for header in chroma_dir.glob("*/header.bin"):
        if header.stat().st_size < _HNSW_HEADER_MIN:
            raise DamagedIndexError(
                f"the vector index file {header} is damaged (truncated); rebuild the index from the documents: "
                "python -m ingest FOLDER... --rebuild"
            )


def read_only_copy(chroma_dir: Path) -> Path:
    """A private copy of a read-only embedded store (Chroma opens its files for writing)."""
    target = Path(tempfile.mkdtemp(prefix="policyqa-ro-")) / "chroma"
    shutil.copytree(chroma_dir, target)
    for root, dirs, files in os.walk(target):
        for name in dirs + files:
            os.chmod(Path(root) / name, 0o755 if name in dirs else 0o644)
    os.chmod(target, 0o755)
    return target


def open_collection(client: Any, settings: Settings, embedder_name: str, *, create: bool = True) -> Any:
    """The clause collection (created when ``create``), checked to be built with ``embedder_name``."""
    try:
        if create:
            collection = client.get_or_create_collection(
                settings.collection, embedding_function=None, configuration={"hnsw": HNSW},
                metadata={"embedder": embedder_name},
            )
        else:
            collection = client.get_collection(settings.collection)
    except Exception as exc:  # chromadb raises its own types, sqlite errors and value errors alike
        where = settings.chroma_url or settings.chroma_dir
        if settings.chroma_url and "connect" in str(exc).lower():
            raise IndexError_(f"cannot reach the Chroma server at {where} ({exc}); start it with chroma run") from exc
        raise DamagedIndexError(
            f"cannot open the vector index in {where} ({type(exc).__name__}: {exc}); "
            "rebuild it from the documents: python -m ingest FOLDER... --rebuild"
        ) from exc
    built_with = (collection.metadata or {}).get("embedder")
    if built_with and built_with != embedder_name:
        raise EmbedderMismatchError(
            f"the index in {settings.chroma_url or settings.chroma_dir} was built with embedder {built_with!r}, "
            f"but {embedder_name!r} is configured; re-ingest with the new embedder (python -m ingest --rebuild …) "
            f"or set embedder = {built_with!r}"
        )
    return collection


def update_metadata(collection: Any, current: dict[str, Any] | None = None, **fields: Any) -> None:
    """Set fields of the collection's metadata, keeping the others (of ``current`` when given: a fresh read)."""
    metadata = {k: v for k, v in (current if current is not None else collection.metadata or {}).items()
                if not k.startswith("hnsw:")}
    collection.modify(metadata={**metadata, **fields})


def bump_revision(collection: Any) -> str:
    """Write a new revision into the collection's metadata and return it."""
    new = uuid.uuid4().hex
    update_metadata(collection, revision=new)
    return new


def iter_metadatas(collection: Any, batch: int = READ_BATCH) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record's id and metadata, ``batch`` records per read."""
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=batch, offset=offset)
        ids = got["ids"]
        yield from zip(ids, got["metadatas"], strict=True)
        if len(ids) < batch:
            return
        offset += len(ids)
