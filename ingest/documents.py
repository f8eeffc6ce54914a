"""One file in, one parsed :class:`Document` and its report out."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.types import Document

from .clauses import parse_clauses
from .clean import clean
from .coverage import coverage
from .loaders import LoadError, load, read_file
from .metadata import apply_sidecar, extract_metadata, sidecar_path
from .structure import is_legislation, parse_legislation


@dataclass
class FileReport:
    """What ingestion did to one file; serialised into the ``--report`` JSON."""

    path: str
    source: str = ""
    """The document's identifier (its path inside the folder ingested, or its file name)."""
    status: str = "ok"
    """``ok``, ``unchanged``, ``failed`` or ``removed``."""
    error: str = ""
    encoding: str = ""
    format: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    clauses: int = 0
    removed_lines: list[dict[str, Any]] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)
    flagged_lines: list[dict[str, Any]] = field(default_factory=list)
    unattached_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    coverage: float = 0.0
    """Share of the cleaned text (non-space characters) that lies in clause records."""
    uncovered: list[dict[str, Any]] = field(default_factory=list)
    """The spans of cleaned text in no clause record: ``start``, ``end`` and a preview."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PARSER_VERSION = 3
"""Raise when cleaning, parsing or metadata extraction change what a file gives: every file is then parsed anew."""


def fingerprint(path: Path, max_chars: int) -> str:
    """Changes when the file, its sidecar or the parsing settings change. ``LoadError`` for a directory, FIFO, …"""
    digest = hashlib.sha1(read_file(path))
    sidecar = sidecar_path(path)
    if sidecar is not None:
        digest.update(sidecar.read_bytes())
    digest.update(f"max_chars={max_chars};parser={PARSER_VERSION}".encode())
    return digest.hexdigest()


def read_document(
    path: Path, max_chars: int = 360, max_bytes: int | None = None, source: str | None = None
) -> tuple[Document, FileReport]:
    """Load, clean, parse and describe one file. Raises ``LoadError`` or ``MetadataError`` for bad input.

    ``max_bytes`` bounds the file's size and a .docx's unpacked size (None: no limit). ``source`` identifies the
    document (its path relative to the folder ingested; default: the file name).
    """
    source = source or path.name
    report = FileReport(path=str(path), source=source)
    loaded = load(path, None if max_bytes is None else int(max_bytes))
    report.encoding, report.format = loaded.encoding, loaded.format
    lines, cleaning = clean(loaded.text)
    if not lines:
        raise LoadError("no text left after removing page boilerplate")
    parsed = (parse_legislation if is_legislation(lines) else parse_clauses)(source, lines, max_chars=max_chars)
    text = "\n".join(line.text for line in lines)
    preamble = next((c.text for c in parsed.clauses if c.kind == "preamble"), "")
    meta = extract_metadata(source, parsed.header_lines, parsed.signoff_lines, preamble, text, cleaning.page_fields)
    meta = apply_sidecar(meta, path)
    report.metadata = meta.to_dict()
    report.clauses = len(parsed.clauses)
    report.removed_lines = [asdict(n) for n in cleaning.removed]
    report.flagged_lines = [asdict(n) for n in cleaning.flagged]
    report.repairs = dict(cleaning.repairs)
    report.unattached_lines = parsed.unattached
    report.warnings = [*loaded.warnings, *parsed.warnings]
    report.coverage, report.uncovered = coverage(text, parsed.clauses)
    return Document(meta=meta, text=text, clauses=parsed.clauses), report
