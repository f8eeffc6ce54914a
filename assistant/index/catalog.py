"""Clause records by id, parsed lazily from memory-mapped JSON Lines files."""

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
    """Clause records by id. Loaded from the segments' ``catalog.jsonl`` files with only the ids and line
    offsets read at start-up; a record is parsed when first used, so start-up does not grow with the number of
    clauses parsed. ``files`` are (memory map, line offsets) pairs; clause ``ids[i]`` is line ``rows[i]`` of
    file ``files[file_of[i]]``."""

    def __init__(self, clauses: dict[str, Clause] | None = None, *, ids: list[str] | None = None,
                 files: list[tuple[Any, np.ndarray]] | None = None, file_of: np.ndarray | None = None,
                 rows: np.ndarray | None = None, name: str = "") -> None:
        self._parsed: dict[str, Clause] = dict(clauses or {})
        self._at: dict[str, int] = dict(zip(ids or [], range(len(ids or [])), strict=True))
        self._files = files or []
        self._file_of = file_of
        self._rows = rows
        self._name = name
        for cid in self._parsed:
            self._at.setdefault(cid, -1)  # -1: not in the files

    def __getitem__(self, cid: str) -> Clause:
        clause = self._parsed.get(cid)
        if clause is None:
            at = self._at[cid]
            if at < 0 or self._file_of is None or self._rows is None:
                raise KeyError(cid)
            mapped, offsets = self._files[int(self._file_of[at])]
            row = int(self._rows[at])
            try:
                line = mapped[int(offsets[row]) : int(offsets[row + 1])]
                clause = self._parsed[cid] = clause_from(json.loads(line))
            except (ValueError, TypeError, IndexError) as exc:
                raise DamagedIndexError(f"the clause catalog {self._name} is damaged ({exc}); {REPAIR_HINT}") from exc
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
