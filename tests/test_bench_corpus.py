"""``python -m eval bench --corpus DIR`` on a small folder written here: ingest, the unchanged re-ingest, adding and
removing a document, ingest rates with and without encoding, start-up and latency in a fresh process (embedded and
through a real ``chroma run``, alone and two at once), quality over the folder, and the section it writes into
benchmark.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAN = """关于推进河谷市社区服务的实施方案

一、工作目标
到2030年，每个社区设立一个便民服务站，服务站每周开放不少于五天。

二、主要措施
（一）建设服务站。由市民政局牵头，各区政府负责，2027年底前完成选址。
（二）培训社工。每年组织社区工作者培训不少于40学时。
"""

QUESTIONS = [
    {"id": "b1", "question": "便民服务站每周至少开放几天？", "answerable": True, "key_facts": ["五天"],
     "gold": [{"source": "plan.txt", "quote": "每周开放不少于五天"}]},
    {"id": "b2", "question": "社区工作者每年培训多少学时？", "answerable": True, "key_facts": ["40学时"],
     "gold": [{"source": "plan.txt", "quote": "培训不少于40学时"}]},
    {"id": "b3", "question": "火星基地的建设补贴是多少？", "answerable": False},
]


def test_a_real_folder_is_benchmarked_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")  # a file that fails: the benchmark goes on
    dataset = tmp_path / "questions.jsonl"
    dataset.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    out_dir, data_dir = tmp_path / "docs", tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "eval", "bench", "--corpus", str(folder), "--data-dir", str(data_dir), "--out-dir", str(out_dir),
         "--dataset", str(dataset), "--bench-questions", str(dataset), "--queries", "6", "--sample-files", "2", "--server"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((data_dir / "corpus-folder.json").read_text(encoding="utf-8"))
    full, again, probe = result["full"], result["again"], result["probe"]
    assert full["ingested"] == 1 and full["failed"] == 1 and full["clauses"] >= 3 and full["peak_mb"] > 50
    assert again["ingested"] == 0 and again["unchanged"] == 1  # the incremental path parses nothing
    assert probe["queries"] == 6 and probe["p50_ms"] <= probe["p95_ms"] <= probe["p99_ms"] <= probe["max_ms"]
    assert probe["disk_mb"] > 0 and probe["startup_s"] > 0
    inc = result["incremental"]
    assert 0 < inc["add_s"] < 600 and 0 < inc["remove_s"] < 600
    rates = {r["embedder"]: r for r in result["rates"]}
    assert set(rates) == {"configured", "null"} and rates["null"]["clauses"] == rates["configured"]["clauses"] >= 3
    server = result["server"]
    assert server["one"]["queries"] == 6 and [t["queries"] for t in server["two"]] == [6, 6]
    assert server["one"]["clauses"] == probe["clauses"]  # the same index, read through the server
    assert server["rate"]["clauses"] == rates["configured"]["clauses"]  # ingested through the server too
    (own,) = result["own"]
    assert own["documents"] == 1 and own["questions"] == 5 and "only the documents they cite" in (
        out_dir / "benchmark.md").read_text(encoding="utf-8")
    (scores,) = result["quality"]
    assert scores["questions"] == 5  # three questions and the two answerable ones' counterfactual copies
    assert 0 <= scores["hit@5"] <= 1 and scores["counterfactual_abstention"] is not None
    text = (out_dir / "benchmark.md").read_text(encoding="utf-8")
    assert text.count("<!-- bench:corpus:folder -->") == 1 and "re-ingest of the unchanged folder" in text
    assert "add one document / remove it" in text and "two processes at once" in text and "without encoding" in text
    assert "(benchmark-folder.png)" in text and (out_dir / "benchmark-folder.png").stat().st_size > 10_000
    after = subprocess.run([sys.executable, "-m", "ingest", str(folder), "--data-dir", str(data_dir / "corpus-folder"),
                            "--json", "-q", "--report", str(tmp_path / "after.json")], cwd=ROOT, capture_output=True, timeout=600)
    assert after.returncode in (0, 1)
    summary = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))["summary"]
    assert summary["unchanged"] == 1 and summary["removed"] == 0  # the document added and removed left no trace
