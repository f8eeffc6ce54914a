"""One lexical segment: the clause records, document texts and BM25 postings of some documents, written once and
never changed (a generation marks rows deleted instead; a merge writes a new segment from the live rows of old
ones, copying record lines and text bytes without parsing them again).

Files of a segment folder: ``catalog.jsonl`` (one clause record a line), ``rows.npz`` (ids, line offsets, the
document of each row as an index into ``sources``, frame flags), ``texts.txt`` (the documents' texts one after
another; a document's span is kept in its record) and the postings of :mod:`.bm25`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Clause
from .bm25 import Postings
from .catalog import clause_record, map_file

CATALOG, ROWS, TEXTS = "catalog.jsonl", "rows.npz", "texts.txt"


@dataclass
class Segment:
    name: str
    path: Path
    ids: list[str]
    offsets: np.ndarray
    sources: list[str]
    src: np.ndarray
    """Index into ``sources`` of each row."""
    frame: np.ndarray
    postings: Postings
    catalog_map: Any
    texts_map: Any

    @property
    def n_rows(self) -> int:
        return len(self.ids)

    def rows_of(self, source: str) -> np.ndarray:
        """The rows of one document (none when the segment does not hold it)."""
        if "_index" not in self.__dict__:
            self._index = {s: i for i, s in enumerate(self.sources)}
        at = self._index.get(source)
        return np.zeros(0, dtype=np.int64) if at is None else np.flatnonzero(self.src == at)

    def line(self, row: int) -> bytes:
        return bytes(self.catalog_map[int(self.offsets[row]) : int(self.offsets[row + 1])])

    def text(self, span: Sequence[int]) -> bytes:
        return b"" if self.texts_map is None else bytes(self.texts_map[span[0] : span[1]])


def load(path: Path) -> Segment:
    with np.load(path / ROWS) as arrays:
        ids, offsets = arrays["ids"].tolist(), arrays["offsets"]
        sources, src, frame = arrays["sources"].tolist(), arrays["src"].astype(np.int32), arrays["frame"]
    postings = Postings.load(path)
    if len(offsets) != len(ids) + 1 or len(src) != len(ids) or len(frame) != len(ids) or postings.n_rows != len(ids):
        raise ValueError(f"the rows of segment {path} do not match")
    if len(ids) and int(src.max()) >= len(sources):
        raise ValueError(f"segment {path} names documents it does not list")
    return Segment(path.name, path, ids, offsets, sources, src, frame, postings, map_file(path / CATALOG),
                   map_file(path / TEXTS))


@dataclass
class Written:
    """A segment written: its files, and the span of each document's text in ``texts.txt``."""

    files: list[Path]
    spans: dict[str, list[int]]


def _write(path: Path, ids: list[str], lines: list[bytes], row_sources: list[str], frame: list[bool],
           texts: list[tuple[str, bytes]], postings: Postings) -> Written:
    path.mkdir()
    offsets = [0]
    with (path / CATALOG).open("wb") as fh:
        for line in lines:
            offsets.append(offsets[-1] + fh.write(line))
    sources = sorted({s for s, _ in texts} | set(row_sources))
    index = {s: i for i, s in enumerate(sources)}
    np.savez(path / ROWS, ids=np.array(ids, dtype=str), offsets=np.array(offsets, dtype=np.int64),
             sources=np.array(sources, dtype=str), src=np.array([index[s] for s in row_sources], dtype=np.int32),
             frame=np.array(frame, dtype=bool))
    spans, at = {}, 0
    with (path / TEXTS).open("wb") as fh:
        for source, data in texts:
            fh.write(data)
            spans[source] = [at, at + len(data)]
            at += len(data)
    files = [path / CATALOG, path / ROWS, path / TEXTS, *postings.save(path)]
    return Written(files, spans)


def write_new(path: Path, clauses: Sequence[Clause], texts: Sequence[tuple[str, str]],
              analyse: Callable[[Clause], list[str]]) -> Written:
    """A segment of clauses (in the order given) and their documents' texts; ``analyse`` gives a clause's
    BM25 tokens."""
    lines = [(json.dumps(clause_record(c), ensure_ascii=False) + "\n").encode() for c in clauses]
    postings = Postings.build([analyse(c) for c in clauses])
    return _write(path, [c.id for c in clauses], lines, [c.source for c in clauses],
                  [c.kind != "clause" for c in clauses], [(s, t.encode("utf-8")) for s, t in texts], postings)


def write_merged(path: Path, parts: Sequence[tuple[Segment, np.ndarray, Sequence[str]]],
                 spans: Callable[[str], Sequence[int]]) -> Written:
    """A segment of the rows kept (a boolean array per part) of several segments, in order, with the texts of
    the documents kept (the third of each part; ``spans(source)``: where its text lies in its segment)."""
    ids, lines, row_sources, frame, texts = [], [], [], [], []
    for segment, keep, documents in parts:
        rows = np.flatnonzero(keep)
        ids += [segment.ids[r] for r in rows]
        lines += [segment.line(r) for r in rows]
        row_sources += [segment.sources[i] for i in segment.src[rows]]
        frame += segment.frame[rows].tolist()
        texts += [(s, segment.text(spans(s))) for s in documents]
    return _write(path, ids, lines, row_sources, frame, texts, Postings.merge([(s.postings, k) for s, k, _ in parts]))
