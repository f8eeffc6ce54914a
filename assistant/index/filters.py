"""What a search may look at: documents, regions, years, and documents left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..text import normalise


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents, regions or years (empty = no restriction)."""

    sources: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    exclude: tuple[str, ...] = ()
    """Documents left out (disabled ones, or an evaluation's ``exclude_sources``)."""

    def __bool__(self) -> bool:
        return bool(self.sources or self.regions or self.years or self.exclude)

    def where(self) -> dict[str, Any] | None:
        """The same restriction as a Chroma ``where`` clause."""
        conds: list[dict[str, Any]] = []
        if self.sources:
            conds.append({"source": {"$in": list(self.sources)}})
        if self.exclude:
            conds.append({"source": {"$nin": list(self.exclude)}})
        if self.regions:
            conds.append({"region_key": {"$in": [normalise(r) for r in self.regions]}})
        if self.years:
            conds.append({"year": {"$in": [int(y) for y in self.years]}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}
