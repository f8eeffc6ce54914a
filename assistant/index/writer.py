"""What ingestion needs of an index: the one interface ``ingest/`` writes through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from ..embedders import Embedder
from ..types import Document


class IndexWriter(Protocol):
    """Stores documents' clauses; writes happen between :meth:`begin_write` and :meth:`commit`."""

    documents: Mapping[str, dict[str, Any]]
    """The stored documents' records by identifier."""
    embedder: Embedder
    """The encoder of the stored vectors."""

    def begin_write(self) -> None:
        """Take the index's write lock (an error when another writer holds it)."""
        ...

    def commit(self) -> None:
        """Make the writes since :meth:`begin_write` visible to every reader, and release the lock."""
        ...

    def checkpoint(self) -> None:
        """Make the writes so far visible and durable, keeping the lock."""
        ...

    def upsert(self, doc: Document, fingerprint: str, vectors: np.ndarray | None = None, batch: int = 500,
               origin: str = "") -> int:
        """Replace everything stored for the document (``vectors`` of its distinct clauses, see
        :func:`assistant.store.encode_document`; encoded here when not given); returns its clause count."""
        ...

    def delete(self, source: str) -> int:
        """Remove a document; returns how many clauses it had."""
        ...

    def fingerprint(self, source: str) -> str:
        """The stored copy's fingerprint ('' when not stored)."""
        ...

    def origin(self, source: str) -> str:
        """The path the stored copy was read from ('' when unknown)."""
        ...

    def set_origin(self, source: str, origin: str) -> None:
        """Record the path a stored document is read from."""
        ...
