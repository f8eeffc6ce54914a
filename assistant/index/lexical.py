"""The lexical directory: BM25 postings, clause catalog and document records, as generations of segments.

Layout: ``lexical/CURRENT`` names the live generation ``lexical/gen-…/``: ``state.json`` (the Chroma revision it
mirrors, its segments with their deleted rows, its files' sizes), ``documents.json`` (the document records, each
naming the segment that holds its text) and one folder per segment (:mod:`.segments`). A commit writes a new
generation beside the live one: segments it does not change are hard links to the live generation's files, the
documents written since the last commit go into one new segment, and the rows of documents replaced or removed
are marked deleted. It syncs what it wrote, then replaces ``CURRENT`` in one rename, so a reader or a writer killed
at any point finds either the old or the new generation complete, and a commit costs what changed, not the
corpus. Small segments are merged as they accumulate (see :data:`MERGE_FACTOR`). ``state.json`` records every
file's size, so a truncated or missing file is noticed on loading (and the store rebuilds from Chroma).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..text import normalise, tokenize, tokenizer_version
from ..types import Clause, DocumentMeta
from . import segments
from .bm25 import Bm25
from .catalog import Catalog
from .segments import Segment

log = logging.getLogger(__name__)

FORMAT = 4
"""Layout of a generation; a directory of another layout is rebuilt from Chroma."""
CURRENT, STATE, DOCS = "CURRENT", "state.json", "documents.json"
MERGE_FACTOR = 2
"""The newest segments are merged while the one before them holds fewer than ``MERGE_FACTOR`` times their live
rows: sizes then at least double from the newest segment to the oldest, so a corpus of n clauses has at most
log2(n) segments and a clause is rewritten at most that many times over any sequence of commits."""
MIN_LIVE = 0.5
"""A segment with a smaller share of live rows is rewritten without its deleted ones."""
_RECORD_ONLY = {"text", "text_span", "segment"}


class LexicalDamaged(Exception):
    """A generation that cannot be used as it is; the store rebuilds it from Chroma."""


def lexical_text(clause: Clause, meta: DocumentMeta) -> str:
    """What BM25 sees: the clause with its headings (a table row with its other cells); the header and sign-off
    also carry the metadata."""
    extra = ""
    if clause.kind in {"header", "signoff"}:
        extra = " ".join([meta.title, meta.doc_number, meta.issuer, meta.date_issued, meta.region, meta.doc_type, "发文字号 印发 发布 日期"])
    cells = " ".join(f"{name} {value}" for name, value in clause.fields if value not in clause.text)
    return normalise(" ".join([*clause.headings, clause.text, cells, extra]))


@dataclass
class Snapshot:
    """One loaded generation: everything the reading side needs, immutable once built. Positions (``order``,
    ``src``, ``frame``, BM25) count the live rows of the segments in order."""

    path: Path | None
    state: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    catalog: Catalog = field(default_factory=Catalog)
    src: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    """Index into the sorted document identifiers of each position."""
    frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    bm25: Bm25 | None = None
    segments: list[Segment] = field(default_factory=list)
    live: list[np.ndarray] = field(default_factory=list)

    def document_text(self, source: str) -> str:
        record = self.documents.get(source, {})
        if "text" in record:
            return record["text"]
        segment = next((s for s in self.segments if s.name == record.get("segment")), None)
        if segment is None or "text_span" not in record:
            return ""
        return segment.text(record["text_span"]).decode("utf-8")


def live_generation(lexical_dir: Path) -> Path | None:
    """The generation ``CURRENT`` names, or None when there is none (a new or old-layout directory)."""
    try:
        name = (lexical_dir / CURRENT).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name.startswith("gen-") or "/" in name:
        return None
    return lexical_dir / name


def read_state(lexical_dir: Path) -> dict[str, Any]:
    """The live generation's state (empty when there is none or it is unreadable)."""
    gen = live_generation(lexical_dir)
    try:
        return json.loads((gen / STATE).read_text(encoding="utf-8")) if gen else {}
    except (OSError, ValueError):
        return {}


def load(lexical_dir: Path) -> Snapshot | None:
    """The live generation; None when there is none (or it has another layout); :class:`LexicalDamaged` when it
    is unusable. A generation replaced (and removed) by a writer while it was being read is read again."""
    for _ in range(5):
        gen = live_generation(lexical_dir)
        if gen is None:
            return None
        try:
            return _load(gen)
        except LexicalDamaged:
            if live_generation(lexical_dir) == gen:
                raise
    raise LexicalDamaged(f"{lexical_dir} changed five times while it was read")


def _load(gen: Path) -> Snapshot | None:
    try:
        state = json.loads((gen / STATE).read_text(encoding="utf-8"))
        if state.get("format") != FORMAT:
            return None
        for name, size in state.get("sizes", {}).items():
            if (gen / name).stat().st_size != size:
                raise LexicalDamaged(f"{gen / name} has {(gen / name).stat().st_size} bytes, {size} expected")
        documents = json.loads((gen / DOCS).read_text(encoding="utf-8"))
        if not isinstance(documents, dict):
            raise LexicalDamaged(f"{gen / DOCS} is not a set of document records")
        index = {s: i for i, s in enumerate(sorted(documents))}
        loaded, live = [], []
        order: list[str] = []
        src, frame, file_of, rows = [], [], [], []
        for at, entry in enumerate(state["segments"]):
            segment = segments.load(gen / entry["name"])
            mask = np.ones(segment.n_rows, dtype=bool)
            mask[np.asarray(entry["deleted"], dtype=np.int64)] = False
            kept = np.flatnonzero(mask)
            global_src = np.array([index.get(s, -1) for s in segment.sources], dtype=np.int32)[segment.src[kept]]
            if (global_src < 0).any():
                raise LexicalDamaged(f"{gen / entry['name']} holds clauses of documents {gen / DOCS} does not list")
            loaded.append(segment)
            live.append(mask)
            order += [segment.ids[r] for r in kept]
            src.append(global_src)
            frame.append(segment.frame[kept])
            file_of.append(np.full(len(kept), at, dtype=np.int32))
            rows.append(kept.astype(np.int32))
        catalog = Catalog(ids=order, files=[(s.catalog_map, s.offsets) for s in loaded],
                          file_of=_concat(file_of, np.int32), rows=_concat(rows, np.int32), name=str(gen))
        bm25 = Bm25([s.postings for s in loaded], live) if order else None
        return Snapshot(gen, state, documents, order, catalog, _concat(src, np.int32), _concat(frame, bool), bm25,
                        loaded, live)
    except LexicalDamaged:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError) as exc:
        raise LexicalDamaged(f"{gen}: {type(exc).__name__}: {exc}") from exc


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Part:
    """A segment of the generation being written: one of the live generation's (``written`` False: linked) or
    one written by this commit."""

    segment: Segment
    live: np.ndarray
    documents: list[str]
    """Live documents whose text the segment holds."""
    written: bool

    @property
    def size(self) -> int:
        return int(self.live.sum())


def commit(
    lexical_dir: Path,
    base: Snapshot | None,
    replaced: Mapping[str, Sequence[Clause]],
    documents: Mapping[str, dict[str, Any]],
    document_text: Callable[[str], str],
    metas: Mapping[str, DocumentMeta],
    state: dict[str, Any],
    tokens: Mapping[str, list[str]] | None = None,
) -> Snapshot:
    """Write a new generation and make it live; return it loaded.

    ``base``: the live generation this one changes (None: write everything anew; then ``replaced`` must name
    every document). ``replaced``: each document written or removed since ``base``, with its clauses in document
    order (none for a removed one); their rows in ``base`` are marked deleted and the clauses go into a new
    segment. ``documents``: every stored document's record (a new one carries its ``text``). ``tokens``: BM25
    tokens of clauses by id, where already segmented."""
    lexical_dir.mkdir(parents=True, exist_ok=True)
    name = f"gen-{state.get('revision') or 'none'}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = lexical_dir / (name + ".tmp")
    tmp.mkdir()
    tokenizer = tokenizer_version()
    if base is not None and (base.path is None or base.state.get("tokenizer") != tokenizer):
        raise ValueError("an incremental commit needs a live generation segmented by the same tokenizer")
    parts: list[_Part] = []
    where: dict[str, tuple[str, list[int]]] = {}
    for segment, live in zip(base.segments if base else [], base.live if base else [], strict=True):
        live = live.copy()
        for source in replaced:
            live[segment.rows_of(source)] = False
        kept = [s for s in segment.sources if s in documents and s not in replaced
                and documents[s].get("segment") == segment.name]
        parts.append(_Part(segment, live, kept, written=False))
        where.update((s, (segment.name, documents[s]["text_span"])) for s in kept)
    new_clauses = [c for source in sorted(replaced) if source in documents for c in replaced[source]]
    new_documents = [s for s in sorted(replaced) if s in documents]
    log.info("writing lexical generation %s (%d clauses in a new segment)", name, len(new_clauses))
    written_files: list[Path] = []
    if new_clauses or new_documents:

        def analyse(clause: Clause) -> list[str]:
            known = tokens.get(clause.id) if tokens else None
            return known if known is not None else tokenize(lexical_text(clause, metas[clause.source]), normalised=True)

        path = tmp / f"seg-{uuid.uuid4().hex[:12]}"
        out = segments.write_new(path, new_clauses, [(s, document_text(s)) for s in new_documents], analyse)
        written_files += out.files
        where.update((s, (path.name, span)) for s, span in out.spans.items())
        segment = segments.load(path)
        parts.append(_Part(segment, np.ones(segment.n_rows, dtype=bool), new_documents, written=True))
    parts = _merge(tmp, [p for p in parts if p.size or p.documents], where, written_files)
    for part in parts:
        if not part.written:
            (tmp / part.segment.name).mkdir()
            for file in sorted(part.segment.path.iterdir()):
                os.link(file, tmp / part.segment.name / file.name)
    records = {}
    for source in sorted(documents):
        record = {k: v for k, v in documents[source].items() if k not in _RECORD_ONLY}
        record["segment"], record["text_span"] = where[source]
        records[source] = record
    (tmp / DOCS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    written_files.append(tmp / DOCS)
    sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
    entries = [{"name": p.segment.name, "deleted": np.flatnonzero(~p.live).tolist()} for p in parts]
    state = {**state, "format": FORMAT, "tokenizer": tokenizer, "segments": entries, "sizes": sizes}
    (tmp / STATE).write_text(json.dumps(state), encoding="utf-8")
    for path in [*written_files, tmp / STATE]:
        if path.exists():
            _fsync(path)
    for folder in [*(tmp / p.segment.name for p in parts), tmp]:
        _fsync(folder)
    gen = lexical_dir / name
    log.info("making lexical generation %s live", name)
    tmp.rename(gen)
    pointer = lexical_dir / (CURRENT + ".tmp")
    pointer.write_text(name + "\n", encoding="ascii")
    _fsync(pointer)
    os.replace(pointer, lexical_dir / CURRENT)
    _fsync(lexical_dir)
    for old in lexical_dir.iterdir():  # earlier generations, interrupted writes, earlier layouts
        if old.name not in {name, CURRENT}:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    snapshot = load(lexical_dir)
    assert snapshot is not None
    return snapshot


def _merge(tmp: Path, parts: list[_Part], where: dict[str, tuple[str, list[int]]], written: list[Path]) -> list[_Part]:
    """The segments after merging the newest ones while the one before is not ``MERGE_FACTOR`` times larger,
    and rewriting any with fewer than ``MIN_LIVE`` of its rows live."""
    if not parts:
        return parts
    group = [parts.pop()]
    while parts and parts[-1].size < MERGE_FACTOR * sum(p.size for p in group):
        group.insert(0, parts.pop())
    out = [p if _healthy(p) else _rewrite(tmp, [p], where, written) for p in parts]
    out.append(_rewrite(tmp, group, where, written) if len(group) > 1 or not _healthy(group[0]) else group[0])
    return out


def _healthy(part: _Part) -> bool:
    return part.size >= MIN_LIVE * part.segment.n_rows


def _rewrite(tmp: Path, group: list[_Part], where: dict[str, tuple[str, list[int]]], written: list[Path]) -> _Part:
    """One segment of the live rows and documents of ``group``."""
    path = tmp / f"seg-{uuid.uuid4().hex[:12]}"
    out = segments.write_merged(path, [(p.segment, p.live, p.documents) for p in group], lambda s: where[s][1])
    documents = [s for p in group for s in p.documents]
    for part in group:
        if part.written:  # written by this commit and merged at once: its files go
            shutil.rmtree(part.segment.path)
            written[:] = [f for f in written if f.parent != part.segment.path]
    written += out.files
    where.update((s, (path.name, span)) for s, span in out.spans.items())
    segment = segments.load(path)
    return _Part(segment, np.ones(segment.n_rows, dtype=bool), documents, written=True)
