"""Legislation structure: 编 / 分编 / 章 / 节 headings, 条 records, 款 pieces, 项 and 目; detection; the lawcorpus
golden files and check.

The documents below are written for these tests; lawcorpus files are used by path only (skipped when absent).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from assistant.text import cn_number
from assistant.types import HEADER_LABEL, PREAMBLE_LABEL
from ingest.clauses import parse_clauses
from ingest.clean import clean, normalise_spacing
from ingest.documents import read_document
from ingest.structure import is_legislation, parse_legislation
from ingest.structure.legislation import article_start, cn_numeral, provisions

ROOT = Path(__file__).resolve().parent.parent
LAWCORPUS = ROOT.parent / "shared" / "lawcorpus"
GOLDEN_LAW = Path(__file__).resolve().parent / "golden" / "law"
needs_lawcorpus = pytest.mark.skipif(not LAWCORPUS.is_dir(), reason="no ../shared/lawcorpus beside the repository")

REGULATION = """# 某某市重大行政决策程序规定

2021年3月1日 某某市人民代表大会常务委员会第二十次会议通过

2021年5月1日 施行

<!-- INFO END -->

## 第一章　总则

第一条　为了规范重大行政决策程序，制定本规定。

第二条 本规定所称重大行政决策，是指市人民政府作出的下列决策：
（一）制定公共服务的重大政策措施；
（二）制定经济和社会发展的重要规划，包括：
1.国民经济和社会发展规划；
2.国土空间规划；
（三）决定重大公共建设项目。

前款规定的事项，依照本规定第十四条确定。

第三条 第二条规定的决策事项目录，由市人民政府公布。

## 第二章 决策草案的形成

### 第一节 决策启动

第四条 决策机关应当确定决策承办单位。
第十二条规定的听证程序，适用本节。

第五条 决策承办单位应当依照本规定第十四条的规定开展调查研究。

### 第二节　公众参与

第六条 决策承办单位应当采取便于社会公众参与的方式听取意见。

第六条之一 涉及特定群体利益的，应当听取其代表的意见。

## 第三章 附则

第七条 本规定自2021年5月1日起施行。
"""

NOTICE = """关于做好法治政府建设工作的通知
各区人民政府：
为贯彻落实条例，现通知如下。
一、加强学习
第十二条规定的各项制度，各区要组织学习。
二、抓好落实
第十三条 规定的公开要求，各区要逐项落实。
三、强化督查
第十四条明确的时限，各区要严格遵守。
某某市人民政府办公室
2021年6月1日
"""

CODE = """中华人民共和国某某法典

第一编 总则

第一章 基本规定

第一百一十六条 为了保护当事人的合法权益，制定本法。

第一百一十七条 本法调整平等主体之间的关系。

第二编 物权

第一分编 通则

第一章 一般规定

第一百一十八条 本编调整因物的归属和利用产生的关系。

第二分编 所有权

第二章 一般规定

第一百一十九条 所有权人对自己的不动产或者动产，依法享有占有、使用、收益和处分的权利。

第一百二十条 对依法取得的财产，所有权人有权依法处分。

第一百二十条之一 资助违法活动的，依法处罚。

第一百二十条之二 为违法活动提供培训的，依法处罚。

第一百二十一条 参照适用本编的规定。

第一百二十五条 本法自公布之日起施行。
"""


def _paragraph(n: int, length: int) -> str:
    sentence = f"第{n}款的一句话，用于测试长条文的切分。"
    return (sentence * (length // len(sentence) + 1))[:length - 1] + "。"


def _parse(text: str, max_chars: int = 360):
    lines, _ = clean(text)
    return lines, parse_legislation("test.md", lines, max_chars=max_chars)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- cleaning


def test_cleaning_keeps_the_space_after_article_and_heading_labels() -> None:
    assert normalise_spacing("第一条　为了规范重大行政决策程序，制定本规定。") == "第一条 为了规范重大行政决策程序，制定本规定。"
    assert normalise_spacing("第一百二十条之一　资助违法活动的") == "第一百二十条之一 资助违法活动的"
    assert normalise_spacing("第一分编  通则") == "第一分编 通则"
    assert normalise_spacing("第四章  肖 像 权") == "第四章 肖像权"
    assert normalise_spacing("依照 第 十二条 规定") == "依照第十二条规定"


def test_markdown_marks_are_structure_and_the_marker_is_not_content() -> None:
    lines, report = clean(REGULATION)
    texts = [line.text for line in lines]
    assert "<!-- INFO END -->" not in "\n".join(texts)
    assert any(n.reason == "markup comment" for n in report.removed)
    assert not any(t.startswith("#") for t in texts)
    title = lines[0]
    assert title.text == "某某市重大行政决策程序规定" and "title" in title.flags and "info" in title.flags
    assert report.page_fields["标题"] == "某某市重大行政决策程序规定"
    chapter = next(line for line in lines if line.text == "第一章 总则")
    assert "heading" in chapter.flags and "h2" in chapter.flags and "info" not in chapter.flags
    assert [line.text for line in lines if "info" in line.flags][1:] == [
        "2021年3月1日某某市人民代表大会常务委员会第二十次会议通过",
        "2021年5月1日施行",
    ]


# ---------------------------------------------------------------- numbers and labels


@pytest.mark.parametrize(
    ("text", "number"),
    [("一", 1), ("十", 10), ("十二", 12), ("一百零五", 105), ("一百二十", 120), ("一千一百六十四", 1164), ("一千", 1000)],
)
def test_chinese_numerals_both_ways(text: str, number: int) -> None:
    assert cn_number(text) == number
    assert cn_numeral(number) == text


def test_article_starts_and_references() -> None:
    assert article_start("第十二条 本规定所称").label == "第十二条"
    assert article_start("第十二条本规定所称").label == "第十二条"
    inserted = article_start("第一百二十条之一 资助")
    assert (inserted.label, inserted.number, inserted.sub) == ("第一百二十条之一", 120, 1)
    for reference in ("第十二条规定的听证程序", "第十二条的规定", "第十二条、第十三条", "第十二条第二款", "第十二条（一）"):
        assert article_start(reference) is None, reference


# ---------------------------------------------------------------- detection


def test_detection_tells_a_regulation_from_a_notice_that_cites_articles() -> None:
    assert is_legislation(clean(REGULATION)[0])
    assert is_legislation(clean(CODE)[0])
    assert not is_legislation(clean(NOTICE)[0])


def test_read_document_parses_a_notice_as_a_notice(tmp_path: Path) -> None:
    doc, _ = read_document(_write(tmp_path, "notice.txt", NOTICE))
    lines, _ = clean(NOTICE)
    assert [c.label for c in doc.clauses] == [c.label for c in parse_clauses("notice.txt", lines).clauses]
    assert "一" in [c.label for c in doc.clauses]


# ---------------------------------------------------------------- a regulation with 章 / 节 / 条 / 款 / 项 / 目


def test_regulation_records_headings_and_offsets() -> None:
    lines, parsed = _parse(REGULATION)
    text = "\n".join(line.text for line in lines)
    labels = [c.label for c in parsed.clauses]
    assert labels == [HEADER_LABEL, "第一条", "第二条", "第三条", "第四条", "第五条", "第六条", "第六条之一", "第七条"]
    by_label = {c.label: c for c in parsed.clauses}
    assert by_label[HEADER_LABEL].kind == "header"
    assert parsed.header_lines[0] == "某某市重大行政决策程序规定"
    assert by_label["第一条"].headings == ("第一章 总则",)
    assert by_label["第四条"].headings == ("第二章 决策草案的形成", "第一节 决策启动")
    assert by_label["第六条之一"].headings == ("第二章 决策草案的形成", "第二节 公众参与")
    assert by_label["第七条"].headings == ("第三章 附则",)
    for c in parsed.clauses:
        assert text[c.start : c.end] == c.text
    # the items, sub-items and the second paragraph stay in their article; in-text references are not articles
    two = by_label["第二条"].text
    assert two.startswith("第二条 本规定所称") and "2.国土空间规划；" in two and two.endswith("依照本规定第十四条确定。")
    assert "第十二条规定的听证程序" in by_label["第四条"].text
    assert by_label["第一条"].text == "第一条 为了规范重大行政决策程序，制定本规定。"
    assert parsed.unattached == [] and parsed.warnings == []


def test_provisions_of_an_article_are_cited_as_lawyers_write_them() -> None:
    _, parsed = _parse(REGULATION)
    two = next(c for c in parsed.clauses if c.label == "第二条")
    texts = two.text.split("\n")
    found = {"".join(p.label_path): texts[p.first] for p in provisions("第二条", texts)}
    assert list(found) == [
        "第二条第一款",
        "第二条第一款第（一）项",
        "第二条第一款第（二）项",
        "第二条第一款第（二）项第1目",
        "第二条第一款第（二）项第2目",
        "第二条第一款第（三）项",
        "第二条第二款",
    ]
    assert found["第二条第一款第（三）项"] == "（三）决定重大公共建设项目。"
    assert found["第二条第二款"].startswith("前款规定的事项")
    spans = {"".join(p.label_path): (p.first, p.last) for p in provisions("第二条", texts)}
    assert spans["第二条第一款"] == (0, 5) and spans["第二条第一款第（二）项"] == (2, 4)


def test_preamble_before_the_first_article() -> None:
    text = "某某条例\n（2020年1月1日某某市人民代表大会常务委员会通过）\n目录\n第一章 总则\n第二章 附则\n" \
           "第一章 总则\n第一条 为了规范管理，制定本条例。\n第二条 本条例适用于本市。\n第二章 附则\n第三条 本条例自公布之日起施行。\n"
    lines, parsed = _parse(text)
    assert is_legislation(lines)
    assert [c.label for c in parsed.clauses] == [HEADER_LABEL, PREAMBLE_LABEL, "第一条", "第二条", "第三条"]
    preamble = next(c for c in parsed.clauses if c.kind == "preamble")
    assert preamble.text == "目录\n第一章 总则\n第二章 附则"  # the table of contents is not the heading chain
    assert next(c for c in parsed.clauses if c.label == "第一条").headings == ("第一章 总则",)
    assert parsed.header_lines == ["某某条例", "（2020年1月1日某某市人民代表大会常务委员会通过）"]


# ---------------------------------------------------------------- long articles


def test_a_long_article_is_split_at_its_paragraphs() -> None:
    article = "第十二条 " + _paragraph(1, 200) + "\n" + _paragraph(2, 250) + "\n" + _paragraph(3, 120)
    text = "某某办法\n第十条 第一句。\n第十一条 第二句。\n" + article + "\n第十三条 最后一条。\n"
    lines, parsed = _parse(text, max_chars=360)
    pieces = [c for c in parsed.clauses if c.label_path[0] == "第十二条"]
    assert [(c.label, c.part) for c in pieces] == [("第十二条第一款", 0), ("第十二条第二款", 0), ("第十二条第三款", 0)]
    assert [c.label_path for c in pieces][1] == ("第十二条", "第二款")
    assert pieces[0].text.startswith("第十二条 ") and pieces[1].text.startswith("第2款")
    doc_text = "\n".join(line.text for line in lines)
    assert all(doc_text[c.start : c.end] == c.text and len(c.text) <= 360 for c in pieces)
    assert pieces[0].end + 1 == pieces[1].start  # nothing between the pieces but the line break


def test_a_paragraph_still_too_long_is_cut_between_items_then_sentences() -> None:
    items = "\n".join(f"（{n}）" + _paragraph(n, 150) for n in "一二三四")
    article = "第五条 有下列情形之一的，依法处理：\n" + items + "\n" + _paragraph(9, 500)
    text = "某某办法\n第三条 一。\n第四条 二。\n" + article + "\n"
    lines, parsed = _parse(text, max_chars=360)
    pieces = [(c.label, c.part, c.text[:3]) for c in parsed.clauses if c.label_path[0] == "第五条"]
    assert [p[:2] for p in pieces] == [
        ("第五条第一款", 0), ("第五条第一款", 1), ("第五条第二款", 0), ("第五条第二款", 1),
    ]
    assert [p[2] for p in pieces[:2]] == ["第五条", "（三）"]  # the 款 is cut between its items
    doc_text = "\n".join(line.text for line in lines)
    assert all(doc_text[c.start : c.end] == c.text and len(c.text) <= 360 for c in parsed.clauses)


def test_a_long_single_paragraph_keeps_the_article_label_with_parts() -> None:
    text = "某某办法\n第一条 一。\n第二条 二。\n第三条 " + _paragraph(1, 900) + "\n"
    _, parsed = _parse(text, max_chars=360)
    pieces = [c for c in parsed.clauses if c.label_path[0] == "第三条"]
    assert {c.label for c in pieces} == {"第三条"} and [c.part for c in pieces] == [0, 1, 2]


# ---------------------------------------------------------------- 编 / 分编 and 之一


def test_code_with_books_parts_and_inserted_articles() -> None:
    _, parsed = _parse(CODE)
    by_label = {c.label: c for c in parsed.clauses}
    assert list(by_label) == [
        HEADER_LABEL, "第一百一十六条", "第一百一十七条", "第一百一十八条", "第一百一十九条",
        "第一百二十条", "第一百二十条之一", "第一百二十条之二", "第一百二十一条", "第一百二十五条",
    ]
    assert by_label["第一百一十六条"].headings == ("第一编 总则", "第一章 基本规定")
    assert by_label["第一百一十八条"].headings == ("第二编 物权", "第一分编 通则", "第一章 一般规定")
    assert by_label["第一百二十条之一"].headings == ("第二编 物权", "第二分编 所有权", "第二章 一般规定")
    assert by_label["第一百二十条之一"].text == "第一百二十条之一 资助违法活动的，依法处罚。"
    assert parsed.header_lines == ["中华人民共和国某某法典"]
    assert parsed.warnings == ["article numbering gap: 第一百二十五条 after 第一百二十一条"]


def test_a_book_named_in_the_header_encloses_every_article() -> None:
    text = "# 某某法典\n\n# 物权编\n\n2020年5月28日 某某会议通过\n\n<!-- INFO END -->\n\n## 第一分编 通则\n\n" \
           "### 第一章 一般规定\n\n第二百零五条 本编调整物权关系。\n\n第二百零六条 国家坚持基本经济制度。\n\n" \
           "### 第二章 物权的设立\n\n#### 第一节 不动产登记\n\n第二百零七条 不动产物权依法登记。\n"
    lines, parsed = _parse(text)
    assert is_legislation(lines)
    assert parsed.header_lines == ["某某法典", "物权编", "2020年5月28日某某会议通过"]
    assert [(c.label, c.headings) for c in parsed.clauses if c.kind == "clause"] == [
        ("第二百零五条", ("物权编", "第一分编 通则", "第一章 一般规定")),
        ("第二百零六条", ("物权编", "第一分编 通则", "第一章 一般规定")),
        ("第二百零七条", ("物权编", "第一分编 通则", "第二章 物权的设立", "第一节 不动产登记")),
    ]


def test_out_of_sequence_article_starts_are_text() -> None:
    text = "某某办法\n第一条 一。\n第二条 二。\n第三条 修改为：\n第九十九条 这是引用的新条文。\n第四条 四。\n"
    _, parsed = _parse(text)
    three = next(c for c in parsed.clauses if c.label == "第三条")
    assert [c.label for c in parsed.clauses if c.kind == "clause"] == ["第一条", "第二条", "第三条", "第四条"]
    assert three.text.endswith("第九十九条 这是引用的新条文。")


# ---------------------------------------------------------------- lawcorpus: golden files and check


def _law_update():
    spec = importlib.util.spec_from_file_location("law_update", GOLDEN_LAW.parent / "law_update.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_module():
    path = ROOT / "scripts" / "check_lawcorpus.py"
    spec = importlib.util.spec_from_file_location("check_lawcorpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_lawcorpus", module)
    spec.loader.exec_module(module)
    return module


GOLDEN_FILES = sorted(p.name for p in GOLDEN_LAW.glob("*.json"))


def test_golden_selection_covers_every_folder() -> None:
    update = _law_update()
    paths = update.SELECTION
    assert len(paths) >= 30 and len(GOLDEN_FILES) == len(paths)
    folders = {p.split("/")[0] if not p.startswith("DLC/") else p.split("/")[1] for p in paths}
    national = {"宪法", "宪法相关法", "民法典", "民法商法", "行政法", "经济法", "社会法", "刑法", "诉讼与非诉讼程序法"}
    provinces = {f"{p}地方法规" for p in ("上海", "北京", "山东", "河南", "浙江", "重庆")}
    assert national | provinces | {"行政法规", "部门规章", "司法解释"} <= folders


@needs_lawcorpus
@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_lawcorpus_document_matches_golden_file(name: str) -> None:
    update = _law_update()
    expected = json.loads((GOLDEN_LAW / name).read_text(encoding="utf-8"))
    actual = update.clause_tree(expected["path"])
    assert actual["path"] == expected["path"]
    for i, (got, want) in enumerate(zip(actual["clauses"], expected["clauses"], strict=False)):
        assert got == want, f"{expected['path']}: record #{i} differs (regenerate with tests/golden/law_update.py only if intended)"
    assert len(actual["clauses"]) == len(expected["clauses"])


@needs_lawcorpus
def test_golden_records_hold_hashes_not_text() -> None:
    update = _law_update()
    tree = json.loads((GOLDEN_LAW / GOLDEN_FILES[0]).read_text(encoding="utf-8"))
    doc, _ = read_document(LAWCORPUS / tree["path"], source=tree["path"])
    first = tree["clauses"][0]
    assert set(first) == {"label", "kind", "part", "headings", "start", "end", "sha1"}
    assert first["sha1"] == hashlib.sha1(doc.clauses[0].text.encode("utf-8")).hexdigest()[:12]
    assert (GOLDEN_LAW / GOLDEN_FILES[0]).read_text(encoding="utf-8") == update.dumps(tree)


@needs_lawcorpus
def test_golden_selection_has_books_sections_and_versions() -> None:
    update = _law_update()
    trees = [json.loads((GOLDEN_LAW / n).read_text(encoding="utf-8")) for n in GOLDEN_FILES]
    with_books = [t for t in trees if any(h.split("#")[0].endswith("编") for c in t["clauses"] for h in c["headings"])]
    with_sections = [t for t in trees if any(h.split("#")[0].endswith("节") for c in t["clauses"] for h in c["headings"])]
    assert len(with_books) >= 3 and len(with_sections) >= 3
    titles: dict[str, list[str]] = {}
    for path in update.SELECTION:
        stem = Path(path).stem
        titles.setdefault(stem.split("(")[0], []).append(stem)
    assert sum(1 for versions in titles.values() if len(versions) >= 2) >= 3


@needs_lawcorpus
@pytest.mark.slow
def test_check_lawcorpus_on_a_sample(tmp_path: Path) -> None:
    check = _check_module()
    files = check.sample(check.lawcorpus_files(), 60)
    assert 50 <= len(files) <= 70
    result = check.run(files, workers=2)
    assert result["files"] == len(files)
    assert "failed" not in result["mismatches by kind"]
    assert result["articles"] > 3000
    # every file of the sample passes the check, or its exception is a known defect of the source text
    assert result["files with problems"] <= 2, result["problems"]


def test_older_items_written_as_numbered_sections_are_items() -> None:
    texts = ["第九条 合同应当载明下列事项：", "一、货物名称；", "二、违约责任。", "合同的变更应当采用书面形式。"]
    labels = ["".join(p.label_path) for p in provisions("第九条", texts)]
    assert labels == ["第九条第一款", "第九条第一款第一项", "第九条第一款第二项", "第九条第二款"]
