"""Check the legislation parser over the lawcorpus (../shared/lawcorpus): articles, numbering, coverage, title.

    .venv/bin/python scripts/check_lawcorpus.py --out /tmp/lawcheck.json [--sample 60] [--workers 2]

For each file: the articles found equal an independent count of line-initial ``第…条`` in the raw file; article
numbers rise by one through the document (``之一`` insertions allowed); the clause records hold the cleaned text
(coverage ≥ 0.99, headings counted as held, since every record carries them); the title is the ``# `` line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAWCORPUS = ROOT.parent / "shared" / "lawcorpus"
MIN_COVERAGE = 0.99

if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ingest.documents import read_document  # noqa: E402

RAW_ARTICLE_RE = re.compile(r"^第([零〇一二三四五六七八九十百千]+)条(之[一二三四五六七八九十]+)?[ \u3000]")
RAW_TITLE_RE = re.compile(r"^# +(.+?)\s*$")
RECORD_ARTICLE_RE = re.compile(r"^第([零〇一二三四五六七八九十百千]+)条(?:之([一二三四五六七八九十]+))?$")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0}


def numeral(text: str) -> int:
    """Value of a Chinese numeral below 10000; written again here so that the check does not use the parser's."""
    total = current = 0
    for ch in text:
        if ch in "十百千":
            total += (current or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            current = 0
        else:
            current = _DIGITS.get(ch, 0)
    return total + current


def raw_facts(raw: str) -> tuple[int, str]:
    """``(article starts, title)`` read from the raw Markdown: article lines after ``<!-- INFO END -->``."""
    lines = raw.splitlines()
    title = next((m.group(1) for line in lines if (m := RAW_TITLE_RE.match(line))), "")
    marker = next((i for i, line in enumerate(lines) if line.strip() == "<!-- INFO END -->"), -1)
    body = lines[marker + 1 :]
    return sum(1 for line in body if RAW_ARTICLE_RE.match(line.lstrip())), title


def same_title(title: str) -> str:
    """A title as the cleaner writes it: no spaces, full-width parentheses."""
    return re.sub(r"\s", "", title).replace("(", "（").replace(")", "）")


def article_sequence(labels: list[str]) -> list[str]:
    """Numbering exceptions in a document's article labels: each must be the one before plus one, or a 之 insertion."""
    problems = []
    last: tuple[int, int] | None = None
    for label in labels:
        m = RECORD_ARTICLE_RE.match(label)
        if not m:
            continue
        current = (numeral(m.group(1)), numeral(m.group(2)) if m.group(2) else 0)
        ok = last is None or current in {(last[0] + 1, 0), (last[0], last[1] + 1)}
        if not ok:
            problems.append(f"{label} after {last}")
        last = current
    return problems


def check_file(path: Path) -> dict[str, Any]:
    """The check's findings for one lawcorpus file."""
    rel = str(path.relative_to(LAWCORPUS))
    raw = path.read_text(encoding="utf-8")
    expected, title = raw_facts(raw)
    try:
        doc, report = read_document(path, source=rel)
    except Exception as exc:  # a failure is a finding, the run goes on
        return {"path": rel, "problems": {"failed": f"{type(exc).__name__}: {exc}"}}
    labels: list[str] = []
    for c in doc.clauses:
        if c.kind == "clause" and RECORD_ARTICLE_RE.match(c.label_path[0]) and c.label_path[0] not in labels[-1:]:
            labels.append(c.label_path[0])
    headings = {h for c in doc.clauses for h in c.headings}
    heading_chars = sum(
        len(re.sub(r"\s", "", doc.text[s["start"] : s["end"]]))
        for s in report.uncovered
        if all(line.strip() in headings for line in doc.text[s["start"] : s["end"]].split("\n") if line.strip())
    )
    visible = len(re.sub(r"\s", "", doc.text)) or 1
    held = min(1.0, report.coverage + heading_chars / visible)
    problems: dict[str, Any] = {}
    if len(labels) != expected:
        problems["article count"] = {"found": len(labels), "raw": expected}
    if len(set(labels)) != len(labels):
        problems["duplicate article"] = sorted(label for label, n in Counter(labels).items() if n > 1)
    sequence = article_sequence(labels)
    if sequence:
        problems["numbering"] = sequence[:10]
    if held < MIN_COVERAGE:
        problems["coverage"] = {"coverage": round(report.coverage, 4), "with headings": round(held, 4),
                                "uncovered": report.uncovered[:5]}
    if same_title(doc.meta.title) != same_title(title):
        problems["title"] = {"meta": doc.meta.title, "raw": title}
    return {
        "path": rel,
        "articles": len(labels),
        "raw articles": expected,
        "records": len(doc.clauses),
        "legislation": bool(labels),
        "coverage": round(report.coverage, 4),
        "coverage with headings": round(held, 4),
        "problems": problems,
    }


def lawcorpus_files(root: Path = LAWCORPUS) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if p.name != "README.md")


def sample(files: list[Path], n: int, root: Path = LAWCORPUS) -> list[Path]:
    """About ``n`` files spread evenly over the folders (every folder at least one), the same every run."""
    by_folder: dict[str, list[Path]] = {}
    for p in files:
        by_folder.setdefault(str(p.relative_to(root).parent), []).append(p)
    share = max(1, -(-n // len(by_folder)))
    picked = []
    for folder in sorted(by_folder):
        group = by_folder[folder]
        step = max(1, len(group) // share)
        picked += group[::step][:share]
    return picked


def run(files: list[Path], workers: int = 2) -> dict[str, Any]:
    """Check ``files``; the totals and every file with a problem."""
    began = time.perf_counter()
    with Pool(workers) as pool:
        results = pool.map(check_file, files, chunksize=8)
    kinds = Counter(kind for r in results for kind in r["problems"])
    return {
        "files": len(results),
        "legislation files": sum(1 for r in results if r.get("legislation")),
        "articles": sum(r.get("articles", 0) for r in results),
        "raw articles": sum(r.get("raw articles", 0) for r in results),
        "records": sum(r.get("records", 0) for r in results),
        "files with problems": sum(1 for r in results if r["problems"]),
        "files under the coverage bar without counting headings": sum(
            1 for r in results if r.get("coverage", 1.0) < MIN_COVERAGE
        ),
        "lowest coverage with headings": min((r.get("coverage with headings", 1.0) for r in results), default=1.0),
        "mismatches by kind": dict(sorted(kinds.items())),
        "seconds": round(time.perf_counter() - began, 1),
        "problems": [r for r in results if r["problems"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON report")
    parser.add_argument("--sample", type=int, default=0, help="check about this many files (0: all)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not LAWCORPUS.is_dir():
        parser.error(f"no lawcorpus at {LAWCORPUS}")
    files = lawcorpus_files()
    if args.sample:
        files = sample(files, args.sample)
    result = run(files, args.workers)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    for key, value in result.items():
        if key != "problems":
            print(f"{key}: {value}")
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
