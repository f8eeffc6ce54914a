"""The clause index: dense vectors in Chroma (through llama-index), a persisted BM25 index and a clause catalog.

Chroma is the source of truth. The lexical index and the catalog (clause records with their document's
metadata, used to hydrate hits without a database round trip) are files in ``data_dir/lexical``; they are
rebuilt from Chroma whenever they do not match it, so a shared Chroma server stays consistent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterator, MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .embedders import Embedder
from .places import Gazetteer
from .settings import Settings
from .text import normalise, tokenize, tokenizer_version
from .types import Clause, Document, DocumentMeta

log = logging.getLogger(__name__)
_STATE = "state.json"
_CATALOG = "catalog.jsonl"
_DOCS = "documents.json"
_TOKENS = "tokens.jsonl"
_OFFSETS = "catalog.npz"
_TEXTS = "texts.txt"
_FORMAT = 2
"""Layout of the lexical directory; a directory of another layout is rebuilt from Chroma."""


class IndexError_(RuntimeError):
    """The index is missing or was built differently; the message says what to do."""


class EmbedderMismatchError(IndexError_):
    pass


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents, regions or years (empty = no restriction)."""

    sources: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.regions or self.years)

    def where(self) -> dict[str, Any] | None:
        conds: list[dict[str, Any]] = []
        if self.sources:
            conds.append({"source": {"$in": list(self.sources)}})
        if self.regions:
            conds.append({"region_key": {"$in": [normalise(r) for r in self.regions]}})
        if self.years:
            conds.append({"year": {"$in": [int(y) for y in self.years]}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}


def embed_text(clause: Clause, meta: DocumentMeta) -> str:
    """What the dense encoder sees: Simplified text with the document title and heading chain."""
    context = " ".join([meta.title, *clause.headings])
    return normalise(f"{context}\n{clause.text}")


def lexical_text(clause: Clause, meta: DocumentMeta) -> str:
    """What BM25 sees: the clause with its headings; the header and sign-off also carry the metadata."""
    extra = ""
    if clause.kind in {"header", "signoff"}:
        extra = " ".join([meta.title, meta.doc_number, meta.issuer, meta.date_issued, meta.region, meta.doc_type, "发文字号 印发 发布 日期"])
    return normalise(" ".join([*clause.headings, clause.text, extra]))


def _clause_record(clause: Clause) -> dict[str, Any]:
    record = asdict(clause)
    record["id"] = clause.id
    return record


def _unique(clauses: list[Clause]) -> list[Clause]:
    """Clauses with distinct ids (a repeated identical clause is stored once), in document order."""
    return list({c.id: c for c in clauses}.values())


def _clause_from(record: dict[str, Any]) -> Clause:
    data = {k: v for k, v in record.items() if k != "id"}
    for key in ("label_path", "headings", "lead_units", "units", "deadlines", "flags"):
        data[key] = tuple(data.get(key) or ())
    return Clause(**data)


class Catalog(MutableMapping[str, Clause]):
    """Clause records by id. Loaded from ``catalog.jsonl`` with only the ids and line offsets read at start-up;
    a record is parsed when first used, so start-up does not grow with the number of clauses parsed."""

    def __init__(self, clauses: dict[str, Clause] | None = None, path: Path | None = None,
                 ids: list[str] | None = None, offsets: np.ndarray | None = None) -> None:
        self._parsed: dict[str, Clause] = dict(clauses or {})
        self._at: dict[str, int] = dict(zip(ids or [], range(len(ids or [])), strict=True))
        self._offsets = offsets
        self._map = _map(path) if path is not None and ids else None
        for cid in self._parsed:
            self._at.setdefault(cid, -1)

    def __getitem__(self, cid: str) -> Clause:
        clause = self._parsed.get(cid)
        if clause is None:
            at = self._at[cid]
            if at < 0 or self._map is None or self._offsets is None:
                raise KeyError(cid)
            line = self._map[int(self._offsets[at]) : int(self._offsets[at + 1])]
            clause = self._parsed[cid] = _clause_from(json.loads(line))
        return clause

    def __setitem__(self, cid: str, clause: Clause) -> None:
        self._parsed[cid] = clause
        self._at.setdefault(cid, -1)

    def __delitem__(self, cid: str) -> None:
        del self._at[cid]
        self._parsed.pop(cid, None)

    def __contains__(self, cid: object) -> bool:
        return cid in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


class ClauseStore:
    """Read and write access to the index of one data directory (or Chroma server) and collection."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        if not settings.chroma_url:
            settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        self.client = chroma_client(settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection,
            embedding_function=None,
            # persist the HNSW graph every 100 writes (incrementally; ingest is no slower) instead of every 1000:
            # on opening, Chroma replays the writes since the last persist, ~1.2 ms each, before the first query
            configuration={"hnsw": {"space": "cosine", "sync_threshold": 100, "batch_size": 100}},
            metadata={"embedder": embedder.name},
        )
        built_with = (self.collection.metadata or {}).get("embedder")
        if built_with and built_with != embedder.name:
            raise EmbedderMismatchError(
                f"the index in {settings.chroma_url or settings.chroma_dir} was built with embedder {built_with!r}, "
                f"but {embedder.name!r} is configured; re-ingest with the new embedder (python -m ingest --rebuild …) "
                f"or set embedder = {built_with!r}"
            )
        self._vectors = None
        self.lexical_dir = settings.lexical_dir
        self._bm25 = None
        self.catalog: Catalog = Catalog()
        self.order: list[str] = []
        self.documents: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, DocumentMeta] = {}
        # the files are mapped, not reopened by name: a store keeps reading the files it loaded even after
        # another store (an upload in the UI) has swapped a new lexical directory in
        self._texts: Any = None
        self._load()

    # ------------------------------------------------------------ loading

    def _load(self) -> None:
        state_file = self.lexical_dir / _STATE
        state = json.loads(state_file.read_text()) if state_file.is_file() else {}
        count = self.collection.count()
        revision = (self.collection.metadata or {}).get("revision", "")
        if (
            state.get("count") != count
            or state.get("embedder") != self.embedder.name
            or state.get("revision", "") != revision
            or state.get("format") != _FORMAT
            or not all((self.lexical_dir / name).is_file() for name in (_CATALOG, _OFFSETS, _DOCS, _TEXTS))
        ):
            if count:
                log.info("lexical index out of date with the vector store; rebuilding it from %d records", count)
                self._rebuild_from_chroma()
            return
        self.documents = json.loads((self.lexical_dir / _DOCS).read_text(encoding="utf-8"))
        self._meta = {s: DocumentMeta(**d["meta"]) for s, d in self.documents.items()}
        self._texts = _map(self.lexical_dir / _TEXTS)
        with np.load(self.lexical_dir / _OFFSETS) as arrays:
            self.order = arrays["ids"].tolist()
            self.catalog = Catalog(path=self.lexical_dir / _CATALOG, ids=self.order, offsets=arrays["offsets"])
            src, frame = arrays["src"], arrays["frame"]
        if (self.lexical_dir / "bm25").is_dir():
            import bm25s

            self._bm25 = bm25s.BM25.load(str(self.lexical_dir / "bm25"), mmap=False)
        self._build_arrays(src, frame)

    def _rebuild_from_chroma(self) -> None:
        got = self.collection.get(include=["metadatas"])
        self.catalog, self.order, self.documents, self._meta = Catalog(), [], {}, {}
        for cid, md in zip(got["ids"], got["metadatas"], strict=True):
            clause = _clause_from(json.loads(md["clause_json"]))
            self.catalog[cid] = clause
            if clause.source not in self.documents:
                self.documents[clause.source] = json.loads(md["doc_json"])
        self._meta = {s: DocumentMeta(**d["meta"]) for s, d in self.documents.items()}
        self.order = self._document_order()
        self._write_lexical()

    def _document_order(self) -> list[str]:
        """Clause ids by document, then position in the document."""
        return sorted(self.catalog, key=lambda i: (self.catalog[i].source, self.catalog[i].start, self.catalog[i].part))

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

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.order)

    def meta(self, source: str) -> DocumentMeta:
        return self._meta[source]

    def metas(self) -> list[DocumentMeta]:
        return [self._meta[s] for s in sorted(self._meta)]

    def clauses_of(self, source: str) -> list[Clause]:
        if getattr(self, "_dirty", False) or source not in self._source_index:
            return [self.catalog[i] for i in self.order if self.catalog[i].source == source]
        return [self.catalog[self.order[at]] for at in np.flatnonzero(self._src == self._source_index[source])]

    def frame(self, source: str) -> list[Clause]:
        """The header, preamble and sign-off records of a document."""
        return [self.catalog[i] for i in self._frame.get(source, [])]

    def document_text(self, source: str) -> str:
        record = self.documents.get(source, {})
        if "text" in record:
            return record["text"]
        if "text_span" not in record:
            return ""
        start, end = record["text_span"]
        return bytes(self._texts[start:end]).decode("utf-8") if self._texts is not None else ""

    def places(self) -> set[str]:
        """The gazetteer places the documents mention (recorded at ingest)."""
        return {place for record in self.documents.values() for place in record.get("places", ())}

    def fingerprint(self, source: str) -> str:
        return self.documents.get(source, {}).get("fingerprint", "")

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        mask = np.ones(len(self.order), dtype=bool)
        if filters.sources:
            wanted = [self._source_index[s] for s in filters.sources if s in self._source_index]
            mask &= np.isin(self._src, wanted)
        if filters.regions:
            mask &= np.isin(self._region, [normalise(r) for r in filters.regions])
        if filters.years:
            mask &= np.isin(self._year, list(filters.years))
        return mask

    def lexical_search(self, tokens: list[str], k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if self._bm25 is None or not self.order:
            return []
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return []
        mask = self._mask(filters or Filters())
        if mask is not None and not mask.any():
            return []
        k = min(k, len(self.order))
        docs, scores = self._bm25.retrieve(
            [known], k=k, show_progress=False, weight_mask=None if mask is None else mask.astype(np.float32), n_threads=0
        )
        return [(self.order[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Nearest clauses by cosine similarity. Reads go to the collection directly: importing llama-index
        costs seconds at start-up and adds nothing to a single nearest-neighbour query."""
        if not self.order:
            return []
        where = (filters or Filters()).where()
        result = self.collection.query(
            query_embeddings=[vector.tolist()], n_results=min(k, len(self.order)), where=where, include=["distances"]
        )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    @property
    def vectors(self) -> Any:
        """The llama-index vector store writes go through (TextNode → Chroma record, delete by document)."""
        if self._vectors is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vectors = ChromaVectorStore(chroma_collection=self.collection)
        return self._vectors

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token in the lexical index (0 when unknown)."""
        if self._bm25 is None:
            return 0.0
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return 0.0
        df = self._df[tid] if tid < len(self._df) else 0
        n = len(self.order)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def max_idf(self) -> float:
        """The idf of a token found in one clause only."""
        n = max(len(self.order), 1)
        return float(np.log(1 + (n - 0.5) / 1.5))

    @property
    def _df(self) -> np.ndarray:
        if not hasattr(self, "_df_cache"):
            indptr = self._bm25.scores["indptr"]
            self._df_cache = np.diff(indptr)
        return self._df_cache

    # ------------------------------------------------------------ writing

    def encode(self, doc: Document) -> np.ndarray:
        """Dense vectors of a document's clauses, in the order :meth:`upsert` stores them. Touches nothing in
        the store, so the next document can be encoded while this one is written."""
        return self.embedder.embed_documents([embed_text(c, doc.meta) for c in _unique(doc.clauses)])

    def upsert(self, doc: Document, fingerprint: str, vectors: np.ndarray | None = None, batch: int = 64) -> int:
        """Replace everything stored for ``doc.meta.source`` with ``doc``'s clauses (encoded now unless
        ``vectors`` from :meth:`encode` are given). Returns the clause count."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        clauses = _unique(doc.clauses)
        if vectors is None:
            vectors = self.encode(doc)
        if len(vectors) != len(clauses):
            raise ValueError(f"{len(vectors)} vectors for {len(clauses)} clauses of {doc.meta.source}")
        self.delete(doc.meta.source)
        meta = doc.meta
        doc_json = json.dumps(
            {
                "meta": meta.to_dict(), "fingerprint": fingerprint, "text": doc.text, "clauses": len(doc.clauses),
                "places": Gazetteer.load().mentioned(doc.text),
            },
            ensure_ascii=False,
        )
        region_key = normalise(meta.region)
        for start in range(0, len(clauses), batch):
            nodes = []
            for j, clause in enumerate(clauses[start : start + batch], start):
                nodes.append(
                    TextNode(
                        id_=clause.id,
                        text=clause.text,
                        embedding=vectors[j].tolist(),
                        metadata={
                            "source": clause.source,
                            "label": clause.label,
                            "kind": clause.kind,
                            "region_key": region_key,
                            "year": meta.year,
                            "doc_type": meta.doc_type,
                            "clause_json": json.dumps(_clause_record(clause), ensure_ascii=False),
                            # the document record rides on its first clause only
                            "doc_json": doc_json if j == 0 else "",
                        },
                        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=clause.source)},
                    )
                )
            self.vectors.add(nodes)
        self.documents[meta.source] = json.loads(doc_json)
        self._meta[meta.source] = meta
        for clause in clauses:
            self.catalog[clause.id] = clause
        self._dirty = True
        return len(clauses)

    def delete(self, source: str) -> int:
        """Remove every record of one document. Returns how many clauses it had."""
        self.vectors.delete(ref_doc_id=source)
        gone = [i for i, c in self.catalog.items() if c.source == source]
        for i in gone:
            del self.catalog[i]
        self.documents.pop(source, None)
        self._meta.pop(source, None)
        self._dirty = True
        return len(gone)

    def commit(self) -> None:
        """Rebuild and persist the lexical index and catalog after writes, and mark the collection's new revision
        so that every other copy of the lexical index (another machine on the same Chroma server) rebuilds."""
        if getattr(self, "_dirty", False):
            import uuid

            self.collection.modify(metadata={**(self.collection.metadata or {}), "revision": uuid.uuid4().hex})
            self.order = self._document_order()
            self._write_lexical()
            self._dirty = False

    def _lexical_tokens(self, out: Path) -> list[list[str]]:
        """BM25 tokens of every clause in ``order``, written to ``out``. Tokens cached by the previous write are
        reused (keyed by a hash of the clause's lexical text and the tokenizer), so a commit segments only the
        clauses that are new or changed, not the whole index."""
        version = tokenizer_version()
        cached: dict[str, list[str]] = {}
        old = self.lexical_dir / _TOKENS
        if old.is_file():
            with old.open(encoding="utf-8") as fh:
                if json.loads(fh.readline() or "{}").get("tokenizer") == version:
                    for line in fh:
                        key, tokens = json.loads(line)
                        cached[key] = tokens
        corpus = []
        with out.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"tokenizer": version}) + "\n")
            for i in self.order:
                text = lexical_text(self.catalog[i], self._meta[self.catalog[i].source])
                key = hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
                tokens = cached.get(key)
                if tokens is None:
                    tokens = tokenize(text, normalised=True)
                fh.write(json.dumps([key, tokens], ensure_ascii=False) + "\n")
                corpus.append(tokens)
        return corpus

    def _write_lexical(self) -> None:
        """Write the lexical directory anew (beside the old one, then swapped in): catalog lines and their offsets,
        document records with their texts in one file, BM25 tokens and index, and the state that ties them
        to the collection."""
        import bm25s

        tmp = self.lexical_dir.with_name(self.lexical_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sources = sorted(self.documents)
        index = {s: i for i, s in enumerate(sources)}
        offsets, src, frame = [0], [], []
        with (tmp / _CATALOG).open("wb") as fh:
            for i in self.order:
                clause = self.catalog[i]
                offsets.append(offsets[-1] + fh.write((json.dumps(_clause_record(clause), ensure_ascii=False) + "\n").encode()))
                src.append(index.get(clause.source, -1))
                frame.append(clause.kind != "clause")
        ids = np.array(self.order, dtype=str)
        src_arr, frame_arr = np.array(src, dtype=np.int32), np.array(frame, dtype=bool)
        np.savez(tmp / _OFFSETS, ids=ids, offsets=np.array(offsets, dtype=np.int64), src=src_arr, frame=frame_arr)
        records, at = {}, 0
        with (tmp / _TEXTS).open("wb") as fh:
            for source in sources:
                text = self.document_text(source)
                data = text.encode("utf-8")
                fh.write(data)
                records[source] = {k: v for k, v in self.documents[source].items() if k not in {"text", "text_span"}}
                records[source]["text_span"] = [at, at + len(data)]
                if "places" not in records[source]:  # a document ingested before places were recorded
                    records[source]["places"] = Gazetteer.load().mentioned(text)
                at += len(data)
        (tmp / _DOCS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        self._bm25 = None
        if self.order:
            corpus = [tokens or ["∅"] for tokens in self._lexical_tokens(tmp / _TOKENS)]
            model = bm25s.BM25()
            model.index(corpus, show_progress=False)
            model.save(str(tmp / "bm25"), show_progress=False)
            self._bm25 = model
        state = {
            "count": self.collection.count(),
            "embedder": self.embedder.name,
            "revision": (self.collection.metadata or {}).get("revision", ""),
            "format": _FORMAT,
        }
        (tmp / _STATE).write_text(json.dumps(state))
        shutil.rmtree(self.lexical_dir, ignore_errors=True)
        tmp.rename(self.lexical_dir)
        self.documents = records
        self._texts = _map(self.lexical_dir / _TEXTS)
        self.catalog = Catalog({i: self.catalog[i] for i in self.order})
        if hasattr(self, "_df_cache"):
            del self._df_cache
        self._build_arrays(src_arr, frame_arr)


def _map(path: Path) -> Any:
    """A read-only memory map of a file (None for an empty one, which cannot be mapped)."""
    import mmap

    with path.open("rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else None


def chroma_client(settings: Settings) -> Any:
    """A Chroma client: ``HttpClient`` for a server URL, else the embedded store in ``data_dir``; telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
        )
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def drop_index(settings: Settings) -> None:
    """Delete the collection and the lexical index of these settings (to rebuild with another embedder)."""
    client = chroma_client(settings) if settings.chroma_url or settings.chroma_dir.is_dir() else None
    if client is not None and settings.collection in [c.name for c in client.list_collections()]:
        client.delete_collection(settings.collection)
    shutil.rmtree(settings.lexical_dir, ignore_errors=True)


def index_exists(settings: Settings) -> bool:
    return settings.chroma_url != "" or Path(settings.chroma_dir).is_dir()
