"""How much of a document's cleaned text its clause records hold, and the spans they leave out."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from assistant.types import Clause

SPAN_PREVIEW = 60


def _squeeze(text: str) -> str:
    return "".join(text.split())


def coverage(text: str, clauses: Iterable[Clause]) -> tuple[float, list[dict[str, object]]]:
    """The share of ``text``'s non-space characters held by the records: inside some clause's ``[start, end)``,
    or a heading line that records carry in their ``headings``; and each maximal run of text held by none that has
    a non-space character (``start``, ``end``, a preview)."""
    if not text:
        return 1.0, []
    inside = np.zeros(len(text) + 1, dtype=np.int32)
    headings: set[str] = set()
    for clause in clauses:
        headings.update(_squeeze(h) for h in clause.headings)
        start, end = max(0, clause.start), min(len(text), clause.end)
        if clause.fields:  # a table row's record holds its task cell as text and every cell in ``fields``
            start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", end)
            end = len(text) if line_end < 0 else line_end
        if end > start:
            inside[start] += 1
            inside[end] -= 1
    at = 0
    for line in text.split("\n"):  # heading lines are held by the records under them
        if line.strip() and _squeeze(line) in headings:
            inside[at] += 1
            inside[at + len(line)] -= 1
        at += len(line) + 1
    covered = np.cumsum(inside[:-1]) > 0
    visible = np.array([not ch.isspace() for ch in text], dtype=bool)
    total = int(visible.sum())
    share = float((covered & visible).sum()) / total if total else 1.0
    spans: list[dict[str, object]] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], (~covered).astype(np.int8), [0]))))
    for at, end in zip(edges[::2], edges[1::2], strict=True):
        if visible[at:end].any():
            piece = text[at:end].strip()
            preview = piece[:SPAN_PREVIEW] + ("…" if len(piece) > SPAN_PREVIEW else "")
            spans.append({"start": int(at), "end": int(end), "text": preview})
    return share, spans
