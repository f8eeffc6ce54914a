"""What ingest would make of a file, without writing an index: ``python -m ingest inspect FILE... [--json]``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.settings import Settings

from .documents import read_document
from .loaders import LoadError
from .metadata import MetadataError


def inspect_file(path: Path, settings: Settings) -> dict[str, Any]:
    """One file's metadata, clause records in order, coverage and warnings (or its error), as plain data."""
    try:
        doc, report = read_document(path, settings.max_clause_chars, max_bytes=settings.max_document_bytes)
    except (LoadError, MetadataError, OSError) as exc:
        return {"path": str(path), "source": path.name, "error": str(exc)}
    clauses = []
    for clause in doc.clauses:
        record = asdict(clause)
        record["label"] = clause.label
        record["id"] = clause.id
        record["fields"] = dict(clause.fields)
        clauses.append(record)
    return {
        "path": str(path),
        "source": doc.meta.source,
        "encoding": report.encoding,
        "format": report.format,
        "metadata": doc.meta.to_dict(),
        "clauses": clauses,
        "coverage": report.coverage,
        "uncovered": report.uncovered,
        "warnings": report.warnings,
        "removed_lines": report.removed_lines,
        "flagged_lines": report.flagged_lines,
        "repairs": report.repairs,
    }
