"""The clause index of one data directory (or Chroma server) and collection: a thin facade over
:mod:`assistant.index` (Chroma vectors, the lexical directory, the write lock).

Chroma is the source of truth. The lexical directory (BM25, the clause catalog, the document records) mirrors
one Chroma revision and is rebuilt from Chroma whenever it does not match it or cannot be read. Writers take
the data directory's lock first; every write marks a new revision in the collection before touching it, so a
writer killed at any point leaves a revision no lexical generation matches, and the next reader rebuilds.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .embedders import Embedder
from .index import lexical, records
from .index.bm25 import idf as bm25_idf
from .index.catalog import Catalog
from .index.chroma import bump_revision, chroma_client, open_collection, read_only_copy, update_metadata
from .index.errors import DamagedIndexError, EmbedderMismatchError, IndexBusyError, IndexError_
from .index.filters import Filters
from .index.lexical import LexicalDamaged, Snapshot, lexical_text
from .index.lock import WriteLock
from .index.versions import Version, link_versions
from .index.writer import IndexWriter
from .settings import Settings
from .text import normalise, tokenize, tokenizer_version
from .types import Clause, Document, DocumentMeta

__all__ = [
    "ClauseStore", "DamagedIndexError", "EmbedderMismatchError", "Filters", "IndexBusyError", "IndexError_",
    "drop_index", "embed_text", "encode_document", "index_exists", "lexical_text",
]
log = logging.getLogger(__name__)
_DELETE_BATCH = 5000
_WRITE_BATCH = 500
"""Records per ``collection.add``: a document's clauses in one or a few calls."""


def embed_text(clause: Clause, meta: DocumentMeta) -> str:
    """What the dense encoder sees: Simplified text with the document title and heading chain."""
    context = " ".join([meta.title, *clause.headings])
    return normalise(f"{context}\n{clause.text}")


def encode_document(embedder: Embedder, doc: Document) -> np.ndarray:
    """Dense vectors of a document's distinct clauses, in the order :meth:`ClauseStore.upsert` stores them."""
    return embedder.embed_documents([embed_text(c, doc.meta) for c in _unique(doc.clauses)])


def _unique(clauses: list[Clause]) -> list[Clause]:
    """Clauses with distinct ids (a repeated identical clause is stored once), in document order."""
    return list({c.id: c for c in clauses}.values())


def _by_document(clauses: Iterable[Clause]) -> dict[str, list[Clause]]:
    """Clauses grouped by document, each group in document order."""
    grouped: dict[str, list[Clause]] = {}
    for clause in clauses:
        grouped.setdefault(clause.source, []).append(clause)
    for group in grouped.values():
        group.sort(key=lambda c: (c.start, c.part))
    return grouped


def _writable(path: Path) -> bool:
    """Whether files can be created under ``path`` (its nearest existing ancestor for a new one)."""
    while not path.exists():
        path = path.parent
    return os.access(path, os.W_OK)


LONG_FILTER = 200
"""Documents named in a filter beyond which dense search filters the neighbours itself."""
OVERFETCH = 8
"""Neighbours read per one wanted when dense search filters them itself."""
SMALL_SCOPE = 1000
"""Clauses a search scoped to a few documents scores itself, from their vectors: Chroma's ``where`` on a document
costs 0.17 s at 156k clauses (its vector search filters what it visits), reading 1,000 vectors by id 0.05 s and
scoring them under a millisecond."""
VECTOR_CACHE = 16_000
"""Clause vectors kept after such a search (2 KB each with a 512-dimension encoder: 32 MB at most)."""
TEXT_CACHE = 256
"""Normalised document texts kept for the ranker's document coverage (a law of 30,000 characters is ~60 KB in
memory; the longest ~0.2 MB): 15 MB typical, 50 MB at most."""


class ClauseStore:
    """Read and write access to the index of one data directory (or Chroma server) and collection.

    ``fresh`` opens the embedded Chroma store anew instead of reusing this process's open copy, which does not
    see what other processes wrote (see :meth:`changed`)."""

    def __init__(self, settings: Settings, embedder: Embedder, *, fresh: bool = False) -> None:
        self.settings = settings
        self.embedder = embedder
        data_dir = settings.data_dir
        if data_dir.exists() and not data_dir.is_dir():
            raise IndexError_(f"the data directory {data_dir} is a file; pass a folder with --data-dir")
        self.read_only = not _writable(data_dir)
        self.lexical_dir = settings.lexical_dir
        chroma_settings = settings
        if not settings.chroma_url:
            if self.read_only:
                if not settings.chroma_dir.is_dir():
                    raise IndexError_(f"the data directory {data_dir} holds no index and cannot be written to")
                log.info("the data directory %s is read-only; reading a private copy of its vector index", data_dir)
                chroma_settings = settings.replace(data_dir=read_only_copy(settings.chroma_dir).parent)
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        if not self.read_only:
            data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = None if self.read_only else WriteLock(data_dir / "write.lock")
        self._vectors_lock = threading.Lock()
        self.client = chroma_client(chroma_settings, fresh=fresh)
        self.collection = open_collection(self.client, settings, embedder.name, create=not self.read_only)
        self._dirty = self._writing = False
        self._replaced: set[str] = set()
        self._written: dict[str, list[str]] = {}
        """Clause ids of each document written since the last commit."""
        self._tokens: dict[str, list[str]] = {}
        """BM25 tokens of the clauses written since the last commit, segmented as each document is written
        (while ingest encodes the next one)."""
        self._load()

    # ------------------------------------------------------------ loading

    def _use(self, snap: Snapshot) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._snap = snap
        self.documents: dict[str, dict[str, Any]] = snap.documents
        self.order: list[str] = snap.order
        self.catalog: Catalog = snap.catalog
        self._bm25 = snap.bm25
        self._meta = {s: DocumentMeta.from_dict(d["meta"]) for s, d in self.documents.items()}
        self._versions: dict[str, Version] | None = None
        self.__dict__.pop("_titles", None)
        self._build_arrays(snap.src, snap.frame)

    def _load(self) -> None:
        """Load the live lexical generation, or rebuild it from Chroma when it does not mirror the collection."""
        count = self.collection.count()
        current = (self.collection.metadata or {}).get("revision", "")
        self.disabled = _disabled(self.collection.metadata)
        try:
            snap = lexical.load(self.lexical_dir)
        except LexicalDamaged as exc:
            log.warning("the lexical index is damaged (%s); rebuilding it from the vector store", exc)
            snap = None
        if snap is not None and (
            snap.state.get("count") == count
            and snap.state.get("embedder") == self.embedder.name
            and snap.state.get("revision", "") == current
        ):
            self._use(snap)
            self._seen = current
            return
        self._seen = current
        if not count:
            self._use(Snapshot(None, {"revision": current}))
            return
        took = writer_busy = False
        if self._lock is not None and not self._lock.held:
            took = self._lock.try_acquire()
            writer_busy = not took
        if writer_busy and snap is not None:
            # a writer is between its first write and its commit: its last committed generation is whole
            log.info("another process is writing; reading the last committed lexical index")
            self._use(snap)
            return
        try:
            self._rebuild_from_chroma(private=writer_busy or self.read_only, base=snap)
        finally:
            if took and self._lock is not None:
                self._lock.release()

    def _rebuild_from_chroma(self, private: bool = False, base: Snapshot | None = None) -> None:
        """Bring the lexical directory up to every Chroma record (see :func:`records.read_all`); clauses of
        interrupted writes are deleted when this process holds the lock. With ``base``, the last committed
        generation, only the documents that differ from it are segmented again (an interrupted ingest costs what
        it wrote since its last commit). ``private`` builds it in a temporary directory (another writer is at
        work, or the data directory is read-only)."""
        log.info("rebuilding the lexical index from %d vector records", self.collection.count())
        current = (self.collection.metadata or {}).get("revision", "")
        got = records.read_all(self.collection)
        if got.orphans and not private and self._lock is not None and self._lock.held:
            for at in range(0, len(got.orphans), _DELETE_BATCH):
                self.collection.delete(ids=got.orphans[at : at + _DELETE_BATCH])
        by_source = _by_document(got.catalog.values())
        documents = got.documents
        metas = {s: DocumentMeta.from_dict(d["meta"]) for s, d in documents.items()}
        target = Path(tempfile.mkdtemp(prefix="policyqa-lexical-")) if private else self.lexical_dir
        if private or base is None or base.path is None or base.state.get("tokenizer") != tokenizer_version():
            base, changed = None, set(documents)
        else:
            changed = _differing(base, documents, by_source)
            documents = {s: d if s in changed else {**d, **_placement(base.documents[s])} for s, d in documents.items()}
            log.info("%d of %d documents differ from the last committed lexical index", len(changed), len(documents))
        state = {"count": self.collection.count(), "embedder": self.embedder.name, "revision": current}
        snap = lexical.commit(target, base, {s: by_source.get(s, []) for s in changed}, documents,
                              lambda s: documents[s].get("text", ""), metas, state)
        if private:
            self.lexical_dir = target
        self._use(snap)

    def _build_arrays(self, src: np.ndarray, frame: np.ndarray) -> None:
        """Per-clause filter columns (document, region, year) and the frame records of each document, from the
        document index of each clause and the positions of frame records."""
        sources = sorted(self.documents)
        self._source_index = {s: i for i, s in enumerate(sources)}
        regions = np.array([normalise(self._meta[s].region) for s in sources] + [""], dtype=object)
        years = np.array([self._meta[s].year for s in sources] + [0], dtype=np.int32)
        self._src = src.astype(np.int32)
        self._region, self._year = regions[self._src], years[self._src]
        self._frame: dict[str, list[str]] = {}
        for at in np.flatnonzero(frame):
            self._frame.setdefault(sources[self._src[at]], []).append(self.order[at])

    def changed(self) -> bool:
        """Whether the collection has moved on since this store loaded (a commit by another store, process or
        machine): one metadata read, cheap enough before every answer."""
        try:
            metadata = self.client.get_collection(self.settings.collection).metadata or {}
            return metadata.get("revision", "") != self._seen or _disabled(metadata) != self.disabled
        except Exception as exc:  # a dropped collection, an unreachable server: the caller reopens and reports
            log.warning("cannot read the index revision (%s)", exc)
            return True

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.order)

    def meta(self, source: str) -> DocumentMeta:
        return self._meta[source]

    def titles(self) -> dict[str, str]:
        """Each document's title, normalised (for matching names in it); computed once per loaded store."""
        if "_titles" not in self.__dict__:
            self._titles = {source: normalise(meta.title) for source, meta in self._meta.items()}
        return self._titles

    def metas(self) -> list[DocumentMeta]:
        return [self._meta[s] for s in sorted(self._meta)]

    def clauses_of(self, source: str) -> list[Clause]:
        if self._dirty or source not in self._source_index:
            return [self.catalog[i] for i in self.order if i in self.catalog and self.catalog[i].source == source]
        return [self.catalog[self.order[at]] for at in np.flatnonzero(self._src == self._source_index[source])]

    def frame(self, source: str) -> list[Clause]:
        """The header, preamble and sign-off records of a document."""
        return [self.catalog[i] for i in self._frame.get(source, []) if i in self.catalog]

    def document_text(self, source: str) -> str:
        record = self.documents.get(source, {})
        return record["text"] if "text" in record else self._snap.document_text(source)

    def normalised_text(self, source: str) -> str:
        """A document's text normalised as questions are (:func:`normalise`), the last :data:`TEXT_CACHE` kept."""
        with self._vectors_lock:
            if source in self._texts:
                self._texts.move_to_end(source)
                return self._texts[source]
        text = normalise(self.document_text(source))
        with self._vectors_lock:
            self._texts[source] = text
            while len(self._texts) > TEXT_CACHE:
                self._texts.popitem(last=False)
        return text

    def versions(self) -> dict[str, Version]:
        """Where each document stands among the versions of its title (documents with one version included)."""
        if self._versions is None:
            self._versions = link_versions(self._meta[s] for s in sorted(self._meta))
        return self._versions

    def fingerprint(self, source: str) -> str:
        return self.documents.get(source, {}).get("fingerprint", "")

    def origin(self, source: str) -> str:
        """The absolute path the document was ingested from ('' when unknown)."""
        return self.documents.get(source, {}).get("path", "")

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        mask = np.ones(len(self.order), dtype=bool)
        if filters.sources:
            wanted = [self._source_index[s] for s in filters.sources if s in self._source_index]
            mask &= np.isin(self._src, wanted)
        if filters.exclude:
            unwanted = [self._source_index[s] for s in filters.exclude if s in self._source_index]
            mask &= ~np.isin(self._src, unwanted)
        if filters.regions:
            mask &= np.isin(self._region, [normalise(r) for r in filters.regions])
        if filters.years:
            mask &= np.isin(self._year, list(filters.years))
        return mask

    def lexical_search(self, tokens: list[str], k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if self._bm25 is None or not self.order:
            return []
        known = [t for t in tokens if self._bm25.knows(t)]
        if not known:
            return []
        mask = self._mask(self._without_disabled(filters))
        if mask is not None and not mask.any():
            return []
        return [(self.order[at], score) for at, score in self._bm25.top(known, min(k, len(self.order)), mask)]

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Nearest clauses by cosine similarity, among the clauses of the catalog. Reads go to the collection
        directly: importing llama-index costs seconds at start-up and adds nothing to a single query.

        A filter listing many documents (a place's scope over a large corpus) makes Chroma's ``where`` slow
        (0.4 s for 1,700 names at 156k clauses): then ``OVERFETCH`` times as many neighbours are read without
        the list and filtered here, and only when too few remain is the filtered query made."""
        if not self.order:
            return []
        filters = self._without_disabled(filters)
        n = min(k, len(self.order))
        mask = self._mask(filters)
        if mask is not None:
            rows = np.flatnonzero(mask)
            if len(rows) <= SMALL_SCOPE:
                return self._dense_exact(vector, [self.order[at] for at in rows], n)
        if (filters.exclude and not filters.sources) or len(filters.sources) + len(filters.exclude) > LONG_FILTER:
            loose = replace(filters, sources=(), exclude=())
            wanted, unwanted = set(filters.sources), set(filters.exclude)
            found = self._dense(vector, min(n * OVERFETCH, len(self.order)), loose)
            kept = [(i, s) for i, s in found if self._admits(i, wanted, unwanted)]
            if len(kept) >= n or len(found) >= len(self.order):
                return kept[:n]
        return self._dense(vector, n, filters)

    def _dense_exact(self, vector: np.ndarray, ids: list[str], n: int) -> list[tuple[str, float]]:
        """The ``n`` of ``ids`` nearest by cosine similarity, scored here (exact, unlike the index's search)."""
        vectors = self._clause_vectors(ids)
        ids = [i for i in ids if i in vectors]  # a record missing from the collection is not searched
        if not ids:
            return []
        scores = np.stack([vectors[i] for i in ids]) @ (vector / (np.linalg.norm(vector) or 1.0))
        best = np.argsort(-scores, kind="stable")[:n]
        return [(ids[i], float(scores[i])) for i in best]

    def cosines(self, vector: np.ndarray, ids: list[str]) -> list[float]:
        """Cosine similarity of a query vector to each clause of ``ids`` (0 for a clause the collection lacks)."""
        vectors = self._clause_vectors(ids)
        unit = vector / (np.linalg.norm(vector) or 1.0)
        return [float(vectors[i] @ unit) if i in vectors else 0.0 for i in ids]

    def read_vectors(self, ids: list[str]) -> np.ndarray:
        """Unit vectors of clauses (one row per id, in order) read from the collection, not cached: for fitting
        on a whole index; ``KeyError`` for an id the collection does not hold."""
        found = self._fetch_vectors(ids)
        return np.stack([found[i] for i in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    def _fetch_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Unit vectors of the clauses of ``ids`` the collection holds, read in batches."""
        read: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), SMALL_SCOPE):
            got = self.collection.get(ids=ids[start:start + SMALL_SCOPE], include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
                v = np.asarray(emb, dtype=np.float32)
                read[cid] = v / (np.linalg.norm(v) or 1.0)
        return read

    def _clause_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Unit vectors of clauses, read by id and kept in a bounded cache (cleared whenever the store reloads)."""
        with self._vectors_lock:
            missing = [i for i in ids if i not in self._vectors]
        read = self._fetch_vectors(missing)
        with self._vectors_lock:
            self._vectors.update(read)
            out = {i: self._vectors[i] for i in ids if i in self._vectors}
            for i in out:
                self._vectors.move_to_end(i)
            while len(self._vectors) > VECTOR_CACHE:
                self._vectors.popitem(last=False)
        return out

    def _admits(self, cid: str, wanted: set[str], unwanted: set[str]) -> bool:
        source = self.catalog[cid].source
        return (not wanted or source in wanted) and source not in unwanted

    def _dense(self, vector: np.ndarray, n: int, filters: Filters) -> list[tuple[str, float]]:
        result = self.collection.query(
            query_embeddings=[vector.tolist()], n_results=n, where=filters.where(), include=["distances"]
        )
        return [
            (i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True) if i in self.catalog
        ]

    def _without_disabled(self, filters: Filters | None) -> Filters:
        filters = filters or Filters()
        if not self.disabled:
            return filters
        return replace(filters, exclude=tuple(sorted(set(filters.exclude) | self.disabled)))

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token in the lexical index (0 when unknown)."""
        return 0.0 if self._bm25 is None else self._bm25.idf(token)

    def max_idf(self) -> float:
        """The idf of a token found in one clause only."""
        return bm25_idf(1, max(len(self.order), 1))

    # ------------------------------------------------------------ writing

    def begin_write(self) -> None:
        """Take the data directory's write lock (:class:`IndexBusyError` when another process holds it) and
        catch up with commits made since this store loaded. Every write calls it; :meth:`commit` ends it."""
        if self.read_only or self._lock is None:
            raise IndexError_(f"the data directory {self.settings.data_dir} is read-only; it can be queried, not changed")
        if self._writing:
            return
        self._lock.acquire()
        try:
            if self.changed():
                self.client = chroma_client(self.settings, fresh=True)
                self.collection = open_collection(self.client, self.settings, self.embedder.name)
                self._load()
        except BaseException:
            self._lock.release()
            raise
        self._writing = True

    def _first_write(self) -> None:
        self.begin_write()
        if not self._dirty:
            # before anything changes: no lexical generation matches the collection until the commit
            self._seen = bump_revision(self.collection)
            self._dirty = True

    def encode(self, doc: Document) -> np.ndarray:
        """Dense vectors of a document's clauses, in the order :meth:`upsert` stores them. Touches nothing in
        the store, so the next document can be encoded while this one is written."""
        return encode_document(self.embedder, doc)

    def upsert(self, doc: Document, fingerprint: str, vectors: np.ndarray | None = None, batch: int = _WRITE_BATCH,
               origin: str = "") -> int:
        """Replace everything stored for ``doc.meta.source`` with ``doc``'s clauses (encoded now unless
        ``vectors`` from :meth:`encode` are given). ``origin`` is the path it was read from. Returns the clause
        count.

        Records go to the collection directly, without the text as Chroma documents (it is in each record's
        ``clause_json``): llama-index's Chroma adapter adds the node serialised once more and Chroma indexes the
        documents for full-text search nobody runs here, which made writes 2.6× slower and the store 2.7× larger
        (``docs/benchmark.md``)."""
        clauses = _unique(doc.clauses)
        if vectors is None:
            vectors = self.encode(doc)
        if len(vectors) != len(clauses):
            raise ValueError(f"{len(vectors)} vectors for {len(clauses)} clauses of {doc.meta.source}")
        self.delete(doc.meta.source)
        meta = doc.meta
        record = records.document_record(doc, fingerprint, len(clauses), origin)
        doc_json = json.dumps(record, ensure_ascii=False)
        for start in range(0, len(clauses), batch):
            chunk = clauses[start : start + batch]
            self.collection.add(
                ids=[c.id for c in chunk],
                embeddings=np.asarray(vectors[start : start + len(chunk)], dtype=np.float32),
                metadatas=[records.clause_metadata(c, meta, doc_json if j == len(clauses) - 1 else "")
                           for j, c in enumerate(chunk, start)],
            )
        self.documents[meta.source] = record
        self._meta[meta.source] = meta
        self._replaced.add(meta.source)
        self._written[meta.source] = [c.id for c in clauses]
        for clause in clauses:
            self.catalog[clause.id] = clause
            self._tokens[clause.id] = tokenize(lexical_text(clause, meta), normalised=True)
        return len(clauses)

    def delete(self, source: str) -> int:
        """Remove every record of one document. Returns how many clauses it had."""
        self._first_write()
        self._replaced.add(source)
        if source in self.documents:  # a consistent index holds no record of a document it does not list
            self.collection.delete(where={"source": source})
        gone = []
        if source in self._source_index:
            at = np.flatnonzero(self._src == self._source_index[source])
            gone = [self.order[i] for i in at if self.order[i] in self.catalog]
        gone += [i for i in self._written.pop(source, []) if i in self.catalog]
        for i in dict.fromkeys(gone):
            del self.catalog[i]
            self._tokens.pop(i, None)
        self.documents.pop(source, None)
        self._meta.pop(source, None)
        return len(gone)

    def set_origin(self, source: str, origin: str) -> None:
        """Record the path a stored document was ingested from (an index written before paths were recorded)."""
        self._first_write()
        record = self.documents[source]
        record["path"] = origin
        got = self.collection.get(where={"source": source}, include=["metadatas"])
        for cid, md in zip(got["ids"], got["metadatas"], strict=True):
            if md.get("doc_json"):
                stored = json.loads(md["doc_json"])
                stored["path"] = origin
                self.collection.update(ids=[cid], metadatas=[{**md, "doc_json": json.dumps(stored, ensure_ascii=False)}])

    def set_enabled(self, source: str, enabled: bool) -> None:
        """Enable or disable a document: a disabled one stays stored but is never retrieved, by any store on any
        machine (the set lives in the collection's metadata)."""
        if source not in self.documents:
            raise IndexError_(f"no document {source!r} in the index")
        self.begin_write()
        try:
            metadata = self.client.get_collection(self.settings.collection).metadata or {}
            disabled = _disabled(metadata) - {source} if enabled else _disabled(metadata) | {source}
            update_metadata(self.collection, metadata, disabled=json.dumps(sorted(disabled), ensure_ascii=False))
            self.disabled = disabled
        finally:
            self._end_write()

    def _end_write(self) -> None:
        self._writing = False
        self._replaced, self._written, self._tokens = set(), {}, {}
        if self._lock is not None:
            self._lock.release()

    def commit(self) -> None:
        """End a write: persist a new lexical generation mirroring the collection under a new revision (every
        other copy of the lexical index, on any machine, then rebuilds or reloads) and release the lock."""
        if not self._writing:
            return
        try:
            self.checkpoint()
        finally:
            self._end_write()

    def checkpoint(self) -> None:
        """Make the writes so far visible to every reader and durable, keeping the write lock (a long ingest
        checkpoints now and then, so an interrupted one loses only what followed its last checkpoint)."""
        if not (self._writing and self._dirty):
            return
        current = bump_revision(self.collection)
        state = {"count": self.collection.count(), "embedder": self.embedder.name, "revision": current}
        incremental = self._snap.path is not None and self._snap.state.get("tokenizer") == tokenizer_version()
        if incremental:
            written = _by_document(self.catalog[i] for ids in self._written.values() for i in ids)
            replaced = {s: written.get(s, []) for s in self._replaced}
        else:  # a new index, or one segmented by another tokenizer: everything anew
            stored = _by_document(self.catalog.values())
            replaced = {s: stored.get(s, []) for s in set(self.documents) | self._replaced}
        snap = lexical.commit(self.lexical_dir, self._snap if incremental else None, replaced, self.documents,
                              self.document_text, self._meta, state, tokens=self._tokens)
        self._dirty = False
        self._replaced, self._written, self._tokens = set(), {}, {}
        self._use(snap)
        self._seen = current

    def repair(self) -> int:
        """Rebuild the lexical directory from Chroma (under the write lock). Returns the clause count."""
        self.begin_write()
        try:
            self._rebuild_from_chroma()
        finally:
            self._end_write()
        return len(self.order)


def _placement(record: dict[str, Any]) -> dict[str, Any]:
    """Where a committed document's text lies (its segment and span)."""
    return {k: record[k] for k in ("segment", "text_span") if k in record}


def _differing(base: Snapshot, documents: dict[str, dict[str, Any]], clauses: dict[str, list[Clause]]) -> set[str]:
    """Documents whose Chroma records differ from a committed lexical generation (or that only one of the two
    holds): another fingerprint, metadata, clause count or set of clause ids."""
    committed: dict[str, set[str]] = {}
    sources = sorted(base.documents)
    for cid, at in zip(base.order, base.src.tolist(), strict=True):
        committed.setdefault(sources[at], set()).add(cid)
    changed = set(documents) ^ set(base.documents)
    for source in set(documents) & set(base.documents):
        new, old = documents[source], base.documents[source]
        if any(new.get(k) != old.get(k) for k in ("fingerprint", "meta", "stored", "clauses", "path")) or (
            {c.id for c in clauses.get(source, [])} != committed.get(source, set())
        ):
            changed.add(source)
    return changed


def _disabled(metadata: dict[str, Any] | None) -> set[str]:
    try:
        return set(json.loads((metadata or {}).get("disabled") or "[]"))
    except ValueError:
        return set()


def open_writer(settings: Settings, embedder: Embedder) -> IndexWriter:
    """The index of these settings, as ingestion writes to it."""
    return ClauseStore(settings, embedder)


def drop_index(settings: Settings) -> None:
    """Delete the collection and the lexical index of these settings (to rebuild with another embedder, or after
    damage): the embedded store's folder is removed whole, so even a store Chroma cannot open goes."""
    lock = WriteLock(settings.data_dir / "write.lock") if settings.data_dir.is_dir() else None
    if lock is not None:
        lock.acquire()
    try:
        if settings.chroma_url:
            client = chroma_client(settings)
            if settings.collection in [c.name for c in client.list_collections()]:
                client.delete_collection(settings.collection)
        elif settings.chroma_dir.is_dir():
            from chromadb.api.shared_system_client import SharedSystemClient

            shutil.rmtree(settings.chroma_dir)
            SharedSystemClient.clear_system_cache()  # this process's open copy of the removed store
        shutil.rmtree(settings.lexical_dir, ignore_errors=True)
    finally:
        if lock is not None:
            lock.release()


def index_exists(settings: Settings) -> bool:
    return settings.chroma_url != "" or Path(settings.chroma_dir).is_dir()
