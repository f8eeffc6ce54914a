"""Structure parsers beside the plan and notice parser of ``ingest.clauses``: legislation (编 / 章 / 节 / 条 / 款 / 项)."""

from __future__ import annotations

from .legislation import is_legislation, parse_legislation

__all__ = ["is_legislation", "parse_legislation"]
