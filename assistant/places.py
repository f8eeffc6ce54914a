"""Place names (provinces and prefecture-level cities), to notice a question about a place no document covers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .text import normalise


@dataclass(frozen=True)
class Gazetteer:
    names: tuple[str, ...]
    """Short names in Simplified script, longest first."""

    @classmethod
    def load(cls) -> Gazetteer:
        return _load()

    def find(self, norm: str) -> list[str]:
        """The names in a normalised text, leaving out a name found only inside a longer one."""
        found: list[str] = []
        for name in self.names:
            if name in norm and not any(name in f for f in found):
                found.append(name)
        return found

    def mentioned(self, text: str) -> list[str]:
        """Every name a text mentions, in any script (kept with a document at ingest)."""
        norm = normalise(text)
        return [name for name in self.names if name in norm]


@lru_cache(maxsize=1)
def _load() -> Gazetteer:
    text = resources.files("assistant").joinpath("resources", "places.txt").read_text(encoding="utf-8")
    names = {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}
    return Gazetteer(tuple(sorted(names, key=lambda n: (-len(n), n))))
