"""A linear map of Chinese question vectors toward the clauses that answer them, fitted by ``python -m eval fit
adapter`` on the train questions (``resources/adapter-<encoder>.json`` and its ``.npy`` matrix).

A sentence encoder places a citizen's question (我被公司辞退了能拿多少补偿) and the article that answers it
(经济补偿按劳动者在本单位工作的年限…) further apart than two articles on the same subject: the two are
written in different registers. The map ``W = I + Δ`` is learnt contrastively on question–gold-clause pairs; the
clause vectors in the index are left as they are, so one map serves every index built with the encoder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

ARTIFACT = "adapter-{encoder}.json"


class AdapterError(ValueError):
    """A query adapter file is missing, altered or does not fit the encoder."""


@dataclass(frozen=True)
class QueryAdapter:
    """``W`` (dimension × dimension) applied to a query vector, the result L2-normalised."""

    matrix: np.ndarray
    encoder: str
    provenance: dict = field(default_factory=dict, compare=False)

    def apply(self, vector: np.ndarray) -> np.ndarray:
        mapped = self.matrix @ np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(mapped))
        return mapped / norm if norm > 0 else np.asarray(vector, dtype=np.float32)

    @classmethod
    def load(cls, encoder: str, path: Path | None = None) -> QueryAdapter | None:
        """The adapter at ``path`` (a ``.json`` beside its ``.npy``), else the one shipped for ``encoder``; None
        when none is shipped for it."""
        if path is None:
            shipped = resources.files("assistant").joinpath("resources", ARTIFACT.format(encoder=encoder))
            if not shipped.is_file():
                return None
            path = Path(str(shipped))
        if not path.is_file():
            raise AdapterError(f"query adapter {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            matrix_file = path.with_name(data["matrix"])
            raw = matrix_file.read_bytes()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AdapterError(f"query adapter {path} is unreadable: {exc}") from exc
        if hashlib.sha256(raw).hexdigest() != data.get("sha256"):
            raise AdapterError(f"query adapter matrix {matrix_file} does not match the checksum in {path}")
        if data.get("encoder") != encoder:
            raise AdapterError(f"query adapter {path} was fitted for {data.get('encoder')!r}, the index uses {encoder!r}")
        matrix = np.load(matrix_file, allow_pickle=False).astype(np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise AdapterError(f"query adapter matrix {matrix_file} is {matrix.shape}, not square")
        return cls(matrix, encoder, data.get("provenance", {}))

    def save(self, path: Path) -> None:
        """Write the ``.json`` at ``path`` and the matrix (float16) beside it."""
        matrix_file = path.with_suffix(".npy")
        np.save(matrix_file, self.matrix.astype(np.float16), allow_pickle=False)
        digest = hashlib.sha256(matrix_file.read_bytes()).hexdigest()
        data = {"encoder": self.encoder, "matrix": matrix_file.name, "sha256": digest, "dimension": int(self.matrix.shape[0]),
                "provenance": self.provenance}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_adapter(encoder: str, setting: str) -> QueryAdapter | None:
    """The adapter a ``query_adapter`` setting names: empty for the shipped one, ``none`` for none, else a path."""
    if setting.strip().lower() == "none":
        return None
    return QueryAdapter.load(encoder, Path(setting) if setting.strip() else None)
