"""The lexical directory: BM25 index, clause catalog and document records, written as whole generations.

Layout: ``lexical/CURRENT`` names the live generation ``lexical/gen-<revision>/``. A commit writes a new
generation beside the live one, syncs it, then replaces ``CURRENT`` in one rename, so a reader or a writer
killed at any point finds either the old or the new generation complete. Each generation's ``state.json``
ties it to the Chroma revision it mirrors and records its files' sizes, so a truncated or missing file is
noticed on loading (and the store rebuilds the directory from Chroma).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..text import normalise, tokenize, tokenizer_version
from ..types import Clause, DocumentMeta
from .catalog import Catalog, clause_record, map_file

log = logging.getLogger(__name__)

FORMAT = 3
"""Layout of a generation; a directory of another layout is rebuilt from Chroma."""
CURRENT = "CURRENT"
STATE, CATALOG, OFFSETS, DOCS, TOKENS, TEXTS, BM25 = (
    "state.json", "catalog.jsonl", "catalog.npz", "documents.json", "tokens.jsonl", "texts.txt", "bm25",
)


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
    """One loaded generation: everything the reading side needs, immutable once built."""

    path: Path | None
    state: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    catalog: Catalog = field(default_factory=Catalog)
    src: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    frame: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    bm25: Any = None
    texts: Any = None

    def document_text(self, source: str) -> str:
        record = self.documents.get(source, {})
        if "text" in record:
            return record["text"]
        if "text_span" not in record or self.texts is None:
            return ""
        start, end = record["text_span"]
        return bytes(self.texts[start:end]).decode("utf-8")


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
    """The live generation; None when there is none; :class:`LexicalDamaged` when it is unusable."""
    gen = live_generation(lexical_dir)
    if gen is None:
        return None
    try:
        state = json.loads((gen / STATE).read_text(encoding="utf-8"))
        if state.get("format") != FORMAT:
            return None
        for name, size in state.get("sizes", {}).items():
            if (gen / name).stat().st_size != size:
                raise LexicalDamaged(f"{gen / name} has {(gen / name).stat().st_size} bytes, {size} expected")
        documents = json.loads((gen / DOCS).read_text(encoding="utf-8"))
        with np.load(gen / OFFSETS) as arrays:
            order = arrays["ids"].tolist()
            offsets, src, frame = arrays["offsets"], arrays["src"].astype(np.int32), arrays["frame"]
        if len(offsets) != len(order) + 1 or len(src) != len(order) or len(frame) != len(order):
            raise LexicalDamaged(f"{gen / OFFSETS} does not match its catalog")
        if not isinstance(documents, dict) or (order and int(src.max(initial=-1)) >= len(documents)):
            raise LexicalDamaged(f"{gen / DOCS} does not match the catalog")
        bm25 = None
        if order:
            import bm25s

            bm25 = bm25s.BM25.load(str(gen / BM25), mmap=False)
        catalog = Catalog(path=gen / CATALOG, ids=order, offsets=offsets)
        return Snapshot(gen, state, documents, order, catalog, src, frame, bm25, map_file(gen / TEXTS))
    except LexicalDamaged:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise LexicalDamaged(f"{gen}: {type(exc).__name__}: {exc}") from exc


def _cached_tokens(lexical_dir: Path) -> dict[str, list[str]]:
    """BM25 tokens of the live generation by lexical-text hash (a cache: damage only costs segmenting)."""
    gen = live_generation(lexical_dir)
    cached: dict[str, list[str]] = {}
    if gen is None or not (gen / TOKENS).is_file():
        return cached
    try:
        with (gen / TOKENS).open(encoding="utf-8") as fh:
            if json.loads(fh.readline() or "{}").get("tokenizer") != tokenizer_version():
                return cached
            for line in fh:
                key, tokens = json.loads(line)
                cached[key] = tokens
    except (OSError, ValueError) as exc:
        log.warning("ignoring the damaged token cache %s (%s)", gen / TOKENS, exc)
    return cached


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(
    lexical_dir: Path,
    order: list[str],
    catalog: Mapping[str, Clause],
    documents: Mapping[str, dict[str, Any]],
    document_text: Callable[[str], str],
    metas: Mapping[str, DocumentMeta],
    state: dict[str, Any],
    extra_record: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
) -> Snapshot:
    """Write a new generation from clause ids in document order, their records and their documents, make it
    live, and return it loaded. ``extra_record(record, text)`` adds fields to a document record."""
    import bm25s

    lexical_dir.mkdir(parents=True, exist_ok=True)
    name = f"gen-{state.get('revision') or 'none'}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = lexical_dir / (name + ".tmp")
    tmp.mkdir()
    log.info("writing lexical generation %s (%d clauses)", name, len(order))
    sources = sorted(documents)
    index = {s: i for i, s in enumerate(sources)}
    offsets, src, frame = [0], [], []
    with (tmp / CATALOG).open("wb") as fh:
        for cid in order:
            clause = catalog[cid]
            line = (json.dumps(clause_record(clause), ensure_ascii=False) + "\n").encode()
            offsets.append(offsets[-1] + fh.write(line))
            src.append(index.get(clause.source, -1))
            frame.append(clause.kind != "clause")
    src_arr, frame_arr = np.array(src, dtype=np.int32), np.array(frame, dtype=bool)
    np.savez(tmp / OFFSETS, ids=np.array(order, dtype=str), offsets=np.array(offsets, dtype=np.int64), src=src_arr, frame=frame_arr)
    records, at = {}, 0
    with (tmp / TEXTS).open("wb") as fh:
        for source in sources:
            text = document_text(source)
            data = text.encode("utf-8")
            fh.write(data)
            records[source] = {k: v for k, v in documents[source].items() if k not in {"text", "text_span"}}
            records[source]["text_span"] = [at, at + len(data)]
            if extra_record is not None:
                records[source].update(extra_record(records[source], text))
            at += len(data)
    (tmp / DOCS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    if order:
        cached = _cached_tokens(lexical_dir)
        corpus = []
        with (tmp / TOKENS).open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"tokenizer": tokenizer_version()}) + "\n")
            for cid in order:
                text = lexical_text(catalog[cid], metas[catalog[cid].source])
                key = hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
                tokens = cached.get(key)
                if tokens is None:
                    tokens = tokenize(text, normalised=True)
                fh.write(json.dumps([key, tokens], ensure_ascii=False) + "\n")
                corpus.append(tokens or ["∅"])
        model = bm25s.BM25()
        model.index(corpus, show_progress=False)
        model.save(str(tmp / BM25), show_progress=False)
    sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != TOKENS}
    state = {**state, "format": FORMAT, "sizes": sizes}
    (tmp / STATE).write_text(json.dumps(state), encoding="utf-8")
    for path in tmp.rglob("*"):
        if path.is_file():
            _fsync(path)
    gen = lexical_dir / name
    log.info("making lexical generation %s live", name)
    tmp.rename(gen)
    pointer = lexical_dir / (CURRENT + ".tmp")
    pointer.write_text(name + "\n", encoding="ascii")
    _fsync(pointer)
    os.replace(pointer, lexical_dir / CURRENT)
    _fsync(lexical_dir)
    for old in lexical_dir.iterdir():  # earlier generations, interrupted writes, the pre-generation layout
        if old.name not in {name, CURRENT}:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    snapshot = load(lexical_dir)
    assert snapshot is not None
    return snapshot
