"""Regenerate the golden clause records of a selection of lawcorpus documents (../shared/lawcorpus).

    .venv/bin/python tests/golden/law_update.py

Each ``tests/golden/law/<sha1 of the path, 12 hex>.json`` holds the document's path inside the lawcorpus and, per
record in document order, its label, kind, part, headings, start and end offsets and the sha1 of its text (first
12 hex). Never the text: the lawcorpus must not be copied into the project, so a heading is kept as its number
and the hash of its text (``第二章#1a2b3c4d5e6f``). After regenerating, read the diff
(``git diff tests/golden/law``) and the documents it names before committing it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAWCORPUS = ROOT.parent / "shared" / "lawcorpus"
GOLDEN_LAW = Path(__file__).resolve().parent / "law"

if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from assistant.types import Clause  # noqa: E402
from ingest.documents import read_document  # noqa: E402

SELECTION = [
    # national laws, one folder after the other; 编: 刑法, 物权编, 民事诉讼法; versions: 公司法, 文物保护法, 民事诉讼法
    "宪法/宪法.md",
    "宪法/宪法修正案（2018年）.md",
    "宪法相关法/人民法院组织法(2018-10-26).md",
    "民法典/物权编.md",
    "民法典/人格权编.md",
    "民法典/附则.md",
    "民法商法/公司法(2018-10-26).md",
    "民法商法/公司法(2023-12-29).md",
    "民法商法/专利法(2020-10-17).md",
    "行政法/文物保护法(2017-11-04).md",
    "行政法/文物保护法(2024-11-08).md",
    "经济法/预算法(2018-12-29).md",
    "经济法/个人所得税法(2018-08-31).md",
    "社会法/劳动合同法(2012-12-28).md",
    "社会法/劳动法(2018-12-29).md",
    "刑法/刑法.md",
    "诉讼与非诉讼程序法/民事诉讼法(2021-12-24).md",
    "诉讼与非诉讼程序法/民事诉讼法(2023-09-01).md",
    "诉讼与非诉讼程序法/刑事诉讼法(2018-10-26).md",
    # State Council regulations; versions: 专利法实施细则
    "行政法规/专利法实施细则(2010-01-09).md",
    "行政法规/专利法实施细则(2023-12-11).md",
    "行政法规/专利代理条例(2018-11-06).md",
    "行政法规/水路货物运输合同实施细则(2011-01-08).md",
    "行政法规/飞行基本规则(2007-10-18).md",
    # ministry rules
    "部门规章/公安部/机动车登记规定(2021-12-17).md",
    "部门规章/市场监督管理总局/侵害消费者权益行为处罚办法(2015-01-05).md",
    # judicial interpretations
    "司法解释/最高人民法院关于适用《刑事诉讼法》的解释(2021-01-26).md",
    "司法解释/最高人民法院关于审理倒卖车票刑事案件有关问题的解释(1999-09-06).md",
    "司法解释/最高人民法院、最高人民检察院关于检察公益诉讼案件适用法律若干问题的解释.md",
    # local regulations, two per province
    "DLC/上海地方法规/地方性法规/上海/上海市人才流动条例.md",
    "DLC/上海地方法规/地方性法规/上海/上海市经济技术开发区条例.md",
    "DLC/北京地方法规/地方性法规/北京/北京市中小学生人身伤害事故预防与处理条例.md",
    "DLC/北京地方法规/地方性法规/北京/北京市河湖保护管理条例(2019-07-26).md",
    "DLC/山东地方法规/地方性法规/山东/东营市湿地城市建设条例(2020-12-14).md",
    "DLC/山东地方法规/地方性法规/山东/山东省中医药条例(2020-11-27).md",
    "DLC/河南地方法规/地方性法规/河南/信阳市文明行为促进条例(2020-10-20).md",
    "DLC/河南地方法规/地方性法规/河南/河南省气候资源保护与开发利用条例(2018-06-04).md",
    "DLC/浙江地方法规/地方性法规/浙江/丽水市饮用水水源保护条例(2017-12-18).md",
    "DLC/浙江地方法规/地方性法规/浙江/浙江省动物防疫条例.md",
    "DLC/重庆地方法规/地方性法规/重庆/重庆市乡镇人民代表大会工作条例(2016-03-31).md",
    "DLC/重庆地方法规/地方性法规/重庆/重庆市合同格式条款监督条例(2010-07-30).md",
]
"""Documents parsed as legislation only: plans and notices go through ``ingest.clauses``, which has golden files
of its own."""


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


HEADING_NUMBER_RE = re.compile(r"^(?:第[零〇一二三四五六七八九十百千]+(?:分编|编|章|节)|[零〇一二三四五六七八九十百千]+、)")


def heading_record(heading: str) -> str:
    """A heading's number (``第二章``, ``一、``) and the hash of its text, never the text."""
    m = HEADING_NUMBER_RE.match(heading)
    return f"{m.group(0) if m else ''}#{text_hash(heading)}"


def clause_record(clause: Clause) -> dict[str, Any]:
    return {
        "label": clause.label,
        "kind": clause.kind,
        "part": clause.part,
        "headings": [heading_record(h) for h in clause.headings],
        "start": clause.start,
        "end": clause.end,
        "sha1": text_hash(clause.text),
    }


def clause_tree(path: str) -> dict[str, Any]:
    """The golden record of the lawcorpus document at ``path`` (relative to the lawcorpus) as parsed now."""
    doc, _ = read_document(LAWCORPUS / path, source=path)
    return {"path": path, "clauses": [clause_record(c) for c in doc.clauses]}


def golden_path(path: str) -> Path:
    return GOLDEN_LAW / f"{text_hash(path)}.json"


def dumps(tree: dict[str, Any]) -> str:
    """JSON with one record a line, so that a diff shows which records changed."""
    lines = ",\n".join("  " + json.dumps(record, ensure_ascii=False) for record in tree["clauses"])
    return f'{{"path": {json.dumps(tree["path"], ensure_ascii=False)}, "clauses": [\n{lines}\n]}}\n'


def main() -> int:
    if not LAWCORPUS.is_dir():
        print(f"no lawcorpus at {LAWCORPUS}", file=sys.stderr)
        return 1
    GOLDEN_LAW.mkdir(exist_ok=True)
    wanted = {golden_path(p) for p in SELECTION}
    for stale in sorted(set(GOLDEN_LAW.glob("*.json")) - wanted):
        stale.unlink()
        print(f"{stale.relative_to(ROOT)}: removed")
    for path in SELECTION:
        target = golden_path(path)
        text = dumps(clause_tree(path))
        changed = not target.is_file() or target.read_text(encoding="utf-8") != text
        target.write_text(text, encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {'updated' if changed else 'unchanged'} ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
