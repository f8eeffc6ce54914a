"""The records Chroma holds for a document, and reading them all back (to rebuild the lexical directory).

Each clause is one Chroma record whose metadata carries the clause (``clause_json``) and the filter columns;
the document's own record (``doc_json``: metadata, fingerprint, text, clause count, origin) rides on its
last clause, so a write interrupted mid-document leaves clauses without a document, which reading drops.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..text import normalise
from ..types import Clause, Document, DocumentMeta
from .catalog import clause_from, clause_record
from .chroma import iter_metadatas
from .errors import DamagedIndexError

log = logging.getLogger(__name__)


def document_record(doc: Document, fingerprint: str, stored: int, origin: str) -> dict[str, Any]:
    return {
        "meta": doc.meta.to_dict(), "fingerprint": fingerprint, "text": doc.text, "clauses": len(doc.clauses),
        "stored": stored, "path": origin,
    }


def clause_metadata(clause: Clause, meta: DocumentMeta, doc_json: str) -> dict[str, Any]:
    """The metadata of one clause's Chroma record (``doc_json`` on the document's last clause, else '')."""
    return {
        "source": clause.source,
        "label": clause.label,
        "kind": clause.kind,
        "region_key": normalise(meta.region),
        "year": meta.year,
        "doc_type": meta.doc_type,
        "clause_json": json.dumps(clause_record(clause), ensure_ascii=False),
        "doc_json": doc_json,
    }


@dataclass
class Recovered:
    """Everything read back from Chroma."""

    catalog: dict[str, Clause] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)
    """Ids of clauses whose document record never arrived (left out of ``catalog``)."""


def read_all(collection: Any) -> Recovered:
    """Every record of the collection, read in batches. A document with fewer clauses than it stored keeps its
    record without its fingerprint, so the next ingest writes it again."""
    got = Recovered()
    for cid, md in iter_metadatas(collection):
        try:
            clause = clause_from(json.loads(md["clause_json"]))
            if md.get("doc_json"):
                got.documents[clause.source] = json.loads(md["doc_json"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedIndexError(
                f"vector record {cid} is damaged ({exc}); rebuild the index from the documents: "
                "python -m ingest FOLDER... --rebuild"
            ) from exc
        got.catalog[cid] = clause
    got.orphans = [cid for cid, c in got.catalog.items() if c.source not in got.documents]
    if got.orphans:
        log.warning("%d clauses of interrupted writes have no document record; leaving them out", len(got.orphans))
        for cid in got.orphans:
            del got.catalog[cid]
    found = Counter(c.source for c in got.catalog.values())
    for source, record in got.documents.items():
        if found[source] < record.get("stored", 0):
            log.warning("%s lost clauses in an interrupted write; the next ingest writes it again", source)
            record["fingerprint"] = ""
    return got
