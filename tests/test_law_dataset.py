"""The law evaluation set is well formed, split by document, and its gold quotes are in the documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import load_dataset
from eval.manifest import load_manifest

LAW = Path(__file__).resolve().parent.parent / "eval" / "datasets" / "law"
FILES = {
    "questions-train.jsonl": "train", "questions-train-2.jsonl": "train", "questions-train-3.jsonl": "train",
    "questions-dev.jsonl": "dev", "questions-dev-2.jsonl": "dev", "questions-dev-3.jsonl": "dev",
    "questions-test.jsonl": "test",
}


@pytest.fixture(scope="module")
def manifest():
    if not (LAW.parent.parent.parent.parent / "shared" / "lawcorpus").is_dir():
        pytest.skip("../shared/lawcorpus is not here")
    return load_manifest(LAW / "documents.json")


def _squeeze(text: str) -> str:
    return "".join(text.split())


def test_questions_are_split_by_document_and_quote_their_documents(manifest) -> None:
    total = unanswerable = 0
    texts = {source: _squeeze(path.read_text(encoding="utf-8"))
             for source, path in ((s, manifest.root / s) for s, _ in manifest.documents)}
    for name, split in FILES.items():
        loaded = load_dataset(LAW / name)
        assert not loaded.problems, loaded.problems[:3]
        seen_ids: set[str] = set()  # (unique within a dataset, as the format asks)
        for q in loaded.items:
            assert q.id not in seen_ids
            seen_ids.add(q.id)
            total += 1
            unanswerable += not q.answerable
            if q.answerable:
                assert q.gold, q.id
            for gold in q.gold:
                assert manifest.split_of(gold.source) == split, (q.id, gold.source)
                assert _squeeze(gold.quote) in texts[gold.source], (q.id, gold.source)
    assert total >= 400 and unanswerable >= 0.2 * total
    splits = {s for _, s in manifest.documents}
    assert splits == set(FILES.values())
    assert len(manifest.documents) >= 40 and len(json.loads((LAW / "documents.json").read_text())["documents"]) == 53
