"""An evaluation corpus given as a manifest: documents of a collection (``../shared/lawcorpus``) referred to by
path, each in a split (train / dev / test, by document), plus the sample corpus.

    {"corpus": "../shared/lawcorpus", "documents": [{"source": "行政法规/….md", "split": "dev"}, …]}

``corpus`` is relative to the repository; a document's ``source`` is its path inside ``corpus``, which is also
its identifier in the index and in the datasets' ``gold.source``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpus"
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Manifest:
    root: Path
    documents: tuple[tuple[str, str], ...]
    """(source, split) pairs."""

    def paths(self, splits: tuple[str, ...] = SPLITS) -> list[Path]:
        return [self.root / source for source, split in self.documents if split in splits]

    def split_of(self, source: str) -> str:
        return dict(self.documents).get(source, "")


def load_manifest(path: Path) -> Manifest:
    """Read a manifest; ``ValueError`` when it is malformed or names files that are not there."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        root = (ROOT / data["corpus"]).resolve()
        documents = tuple((d["source"], d["split"]) for d in data["documents"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a readable manifest ({exc})") from exc
    bad = [s for s, split in documents if split not in SPLITS]
    if bad:
        raise ValueError(f"{path}: documents with a split other than {SPLITS}: {bad[:3]}")
    missing = [s for s, _ in documents if not (root / s).is_file()]
    if missing:
        raise ValueError(f"{path}: {len(missing)} documents are not in {root}, e.g. {missing[0]}")
    return Manifest(root, documents)
