"""CI gate: the held-out split must score at least the minimums of ``eval/thresholds.json``.

The thresholds are a measured run minus a small margin. Raise them when the assistant gets better; never
lower them to let a change pass. Re-measure with::

    python -m ingest corpus --data-dir /tmp/policyqa-eval
    python -m eval run --dataset eval/datasets/heldout.jsonl --out runs/heldout.jsonl --data-dir /tmp/policyqa-eval
    python -m eval report runs/heldout.jsonl --dataset eval/datasets/heldout.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.embedders import Usem3Embedder
from assistant.service import Assistant
from assistant.settings import Settings
from eval.dataset import load_dataset
from eval.report import build_report, markdown
from eval.runner import run

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "eval" / "datasets" / "heldout.jsonl"
THRESHOLDS = ROOT / "eval" / "thresholds.json"


@pytest.mark.slow
def test_heldout_metrics_meet_thresholds(sample_settings: Settings, embedder: Usem3Embedder) -> None:
    if not HELDOUT.is_file():
        pytest.fail(f"{HELDOUT.relative_to(ROOT)} is missing: the gate needs the held-out split of the evaluation set")
    gate = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    dataset = load_dataset(HELDOUT)
    assert not dataset.problems, "the held-out split has invalid lines:\n" + "\n".join(dataset.problems)

    records = run(Assistant(sample_settings, embedder=embedder), dataset.items)
    report = build_report(dataset.items, {r["id"]: r for r in records}, sources={"dataset": str(HELDOUT.relative_to(ROOT)), "results": "(in-process run)"})
    table = markdown(report)
    print(table)

    overall = report["assistant"]["overall"]
    shown = {name: "none" if value is None else f"{value:.3f}" for name, value in overall.items()}
    failures = [r["id"] + ": " + r["error"] for r in records if r.get("error")]
    failures += [
        f"{name} = {shown[name]} < minimum {floor:.3f}"
        for name, floor in gate["minimum"].items() if overall[name] is None or overall[name] < floor
    ]
    failures += [
        f"{name} = {shown[name]} > maximum {ceiling:.3f}"
        for name, ceiling in gate.get("maximum", {}).items() if overall[name] is None or overall[name] > ceiling
    ]
    assert not failures, "held-out metrics below the gate:\n" + "\n".join(failures) + "\n\n" + table
