"""Split a dataset by document: every question goes where its first gold document goes, so no document is on
both sides (questions without gold are spread by a hash of their id). Seeded and repeatable; writes
``<stem>-train.jsonl`` and ``<stem>-dev.jsonl`` (e.g. into ``runs/``, outside the repository).

    python -m eval split --dataset ../shared/stard/stard-dev.jsonl --fraction 0.6 --out-dir runs/stard
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from pathlib import Path

SEED = 7


def document_of(record: dict) -> str:
    gold = record.get("gold") or []
    if gold:
        return gold[0]["source"]
    return "~" + hashlib.sha1(str(record.get("id", "")).encode()).hexdigest()[:2]


def split(records: list[dict], fraction: float, seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """Documents shuffled by ``seed`` and taken in turn into train until it holds ``fraction`` of the
    questions; the rest is dev."""
    if not 0 < fraction < 1:
        raise ValueError("--fraction must be between 0 and 1")
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[document_of(record)].append(record)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    train: list[dict] = []
    dev: list[dict] = []
    for key in keys:
        (train if len(train) < fraction * len(records) else dev).extend(groups[key])
    return train, dev


def run(dataset: Path, fraction: float, out_dir: Path, seed: int = SEED) -> dict[str, int]:
    records = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    train, dev = split(records, fraction, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, part in (("train", train), ("dev", dev)):
        path = out_dir / f"{dataset.stem}-{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
        counts[name] = len(part)
        counts[f"{name}_documents"] = len({document_of(r) for r in part})
    return counts
