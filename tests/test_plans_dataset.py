"""The plan-style evaluation set: its documents read back from every format they are written in, clause by clause
as the team wrote them, and its questions are split by document and quote the clauses ingest makes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.dataset import load_dataset
from eval.manifest import load_manifest
from ingest.documents import read_document

PLANS = Path(__file__).resolve().parent.parent / "eval" / "datasets" / "plans"
FILES = {"questions-train.jsonl": "train", "questions-dev.jsonl": "dev", "questions-test.jsonl": "test"}


def _key(text: str) -> str:
    from assistant.text import to_simplified

    return re.sub(r"[\W_]", "", to_simplified(text))


@pytest.fixture(scope="module")
def documents():
    manifest = load_manifest(PLANS / "documents.json")
    return manifest, {source: read_document(manifest.root / source)[0] for source, _ in manifest.documents}


def test_every_format_reads_back_the_written_paragraphs(documents) -> None:
    """GBK, Big5 Traditional, HTML in a page's chrome, a PDF that wraps its lines and numbers its pages, Word with a
    real table: every paragraph of the source lies whole in one clause, and no page chrome is left in any."""
    manifest, docs = documents
    assert {Path(s).suffix for s, _ in manifest.documents} >= {".txt", ".html", ".pdf", ".docx", ".md"}
    for source, doc in docs.items():
        written = (PLANS / "src" / f"{Path(source).stem}.txt").read_text(encoding="utf-8").splitlines()
        stored = [_key(c.text) for c in doc.clauses]
        whole = _key(" ".join(c.text for c in doc.clauses))
        headings = {_key(h) for c in doc.clauses for h in c.headings}  # 第一章 总则
        if doc.meta.script == "traditional":  # written in Simplified, converted s2tw (着 → 著 does not convert back)
            import opencc

            converter = opencc.OpenCC("s2tw")
            written = [converter.convert(p) for p in written]
        for paragraph in (p for p in written if p.strip() and " | " not in p):
            key = _key(paragraph)
            assert key in whole or key in headings, (source, paragraph[:30])
            if len(paragraph) < 300 and re.match(r"第[一二三四五六七八九十百]+条", paragraph):
                assert any(key in s for s in stored), (source, paragraph[:30])  # not cut at a PDF line's end
        for clause in doc.clauses:
            assert not re.search(r"ICP|网站标识码|— \d+ —|分享到", clause.text), (source, clause.label)


def test_the_committed_files_are_what_the_script_makes(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, str(PLANS.parent.parent.parent / "scripts" / "make_plan_documents.py"),
                    "--out-dir", str(tmp_path)], check=True, capture_output=True)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in (PLANS / "docs").iterdir())
    assert all((tmp_path / name).read_bytes() == (PLANS / "docs" / name).read_bytes() for name in made)


def test_an_order_heading_gives_way_to_the_act_it_promulgates(documents) -> None:
    _, docs = documents
    orders = [d.meta for s, d in docs.items() if s.startswith(("p03", "p08"))]
    assert [m.title for m in orders] == ["青岛市行政规范性文件管理办法", "江苏省电动自行车管理条例"]
    assert [m.doc_number for m in orders] == ["青岛市人民政府令第289号", "江苏省人民代表大会常务委员会公告第12号"]
    assert all(m.effective == "2024-01-01" for m in orders)


def test_questions_are_split_by_document_and_quote_a_clause(documents) -> None:
    manifest, docs = documents
    total = unanswerable = 0
    ids: set[str] = set()
    for name, split in FILES.items():
        loaded = load_dataset(PLANS / name)
        assert not loaded.problems, loaded.problems[:3]
        for q in loaded.items:
            assert q.id not in ids
            ids.add(q.id)
            total += 1
            unanswerable += not q.answerable
            assert bool(q.gold) == q.answerable, q.id
            for gold in q.gold:
                assert manifest.split_of(gold.source) == split, (q.id, gold.source)
                clauses = [_key(c.text) for c in docs[gold.source].clauses]
                assert any(_key(gold.quote) in c for c in clauses), (q.id, gold.quote)
    assert total >= 250 and unanswerable >= 0.2 * total
