"""``python -m eval bench`` on the sample corpus: its report goes to ``--data-dir`` unless ``--out-dir`` says
otherwise, so a quick run never overwrites the committed ``docs/benchmark.md``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from eval.bench import RESULTS_START, ROOT


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def test_a_quick_sample_bench_writes_its_report_beside_its_indexes(tmp_path: Path) -> None:
    committed = ROOT / "docs" / "benchmark.md"
    before = _digest(committed)
    data_dir = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "eval", "bench", "--sizes", "sample", "--queries", "2", "--repeat", "1", "--data-dir", str(data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _digest(committed) == before
    report = (data_dir / "benchmark.md").read_text(encoding="utf-8")
    assert RESULTS_START in report and "| sample |" in report
    results = json.loads((data_dir / "results.json").read_text(encoding="utf-8"))
    assert results["corpora"]["sample"]["p50_ms"] > 0
    assert {i["embedder"] for i in results["ingest"]} == {"null", "usem3"}
