"""``python -m ingest inspect``: what ingest would make of files, as JSON, writing nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.documents import read_document

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "001_fa6429744c7c8563.txt"


def _inspect(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest", "inspect", *args, "--json"], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_inspect_prints_the_records_ingest_would_store_and_writes_nothing(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("关于做好窗口服务的通知\n一、总体要求\n（一）窗口单位要公开办事指南。\n（二）窗口单位要限时办结。\n二、保障措施\n各单位要加强领导。\n",
                     encoding="utf-8")
    run = _inspect(str(SAMPLE), str(notes), str(tmp_path / "missing.txt"), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert run.returncode == 1  # one of the files does not exist
    sample, mine, missing = json.loads(run.stdout)
    assert "error" in missing and "Traceback" not in run.stderr
    doc, report = read_document(SAMPLE)
    assert [c["label"] for c in sample["clauses"]] == [c.label for c in doc.clauses]
    assert [(c["start"], c["end"]) for c in sample["clauses"]] == [(c.start, c.end) for c in doc.clauses]
    assert sample["metadata"]["doc_number"] == doc.meta.doc_number != ""
    assert sample["coverage"] == report.coverage
    assert [c["label"] for c in mine["clauses"] if c["kind"] == "clause"] == ["一", "一（一）", "一（二）", "二"]
    record = mine["clauses"][2]
    assert {"label", "label_path", "kind", "start", "end", "text", "headings", "fields"} <= set(record)
    assert record["headings"] == ["总体要求"]
    assert mine["coverage"] == 1.0 and mine["uncovered"] == []
    assert not (tmp_path / "data").exists()


def test_coverage_names_text_outside_every_record(tmp_path: Path) -> None:
    from assistant.types import Clause
    from ingest.coverage import coverage

    text = "第一段文字。\n游离的一行\n第二段文字。"
    first, second = text.index("第一段"), text.index("第二段")
    clauses = [Clause("x", ("一",), "第一段文字。", first, first + 6), Clause("x", ("二",), "第二段文字。", second, len(text))]
    share, spans = coverage(text, clauses)
    assert spans == [{"start": 6, "end": 13, "text": "游离的一行"}]
    assert abs(share - 12 / 17) < 1e-9
