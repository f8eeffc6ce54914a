"""Clause records by id, parsed lazily from a memory-mapped JSON Lines file."""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, MutableMapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Clause
from .errors import DamagedIndexError

REPAIR_HINT = "repair it with: python -m ingest repair (rebuilds the lexical index from the vector store)"


def clause_record(clause: Clause) -> dict[str, Any]:
    record = asdict(clause)
    record["id"] = clause.id
    return record


def clause_from(record: dict[str, Any]) -> Clause:
    data = {k: v for k, v in record.items() if k != "id"}
    for key in ("label_path", "headings", "lead_units", "units", "deadlines", "flags"):
        data[key] = tuple(data.get(key) or ())
    data["fields"] = tuple(tuple(pair) for pair in data.get("fields") or ())
    return Clause(**data)


def map_file(path: Path) -> Any:
    """A read-only memory map of a file (None for an empty one, which cannot be mapped)."""
    with path.open("rb") as fh:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else None


class Catalog(MutableMapping[str, Clause]):
    """Clause records by id. Loaded from ``catalog.jsonl`` with only the ids and line offsets read at start-up;
    a record is parsed when first used, so start-up does not grow with the number of clauses parsed."""

    def __init__(self, clauses: dict[str, Clause] | None = None, path: Path | None = None,
                 ids: list[str] | None = None, offsets: np.ndarray | None = None) -> None:
        self._parsed: dict[str, Clause] = dict(clauses or {})
        self._at: dict[str, int] = dict(zip(ids or [], range(len(ids or [])), strict=True))
        self._added: set[str] = set()
        self._offsets = offsets
        self._path = path
        self._map = map_file(path) if path is not None and ids else None
        for cid in self._parsed:
            if self._at.setdefault(cid, -1) < 0:
                self._added.add(cid)

    def __getitem__(self, cid: str) -> Clause:
        clause = self._parsed.get(cid)
        if clause is None:
            at = self._at[cid]
            if at < 0 or self._map is None or self._offsets is None:
                raise KeyError(cid)
            line = self._map[int(self._offsets[at]) : int(self._offsets[at + 1])]
            try:
                clause = self._parsed[cid] = clause_from(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise DamagedIndexError(f"the clause catalog {self._path} is damaged ({exc}); {REPAIR_HINT}") from exc
        return clause

    def added(self) -> list[str]:
        """Ids set since loading (not in the file)."""
        return list(self._added)

    def __setitem__(self, cid: str, clause: Clause) -> None:
        self._parsed[cid] = clause
        if self._at.setdefault(cid, -1) < 0:
            self._added.add(cid)

    def __delitem__(self, cid: str) -> None:
        del self._at[cid]
        self._parsed.pop(cid, None)
        self._added.discard(cid)

    def __contains__(self, cid: object) -> bool:
        return cid in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)
