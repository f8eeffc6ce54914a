"""Task-division tables (分工表) in .docx, .html and aligned text become one record per row; page-header tables of
government sites become metadata. All documents are written here."""

from __future__ import annotations

from pathlib import Path

from assistant.types import Clause
from ingest.clean import clean
from ingest.documents import read_document
from ingest.loaders import load

HEADER = ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"]
ROWS = [
    ["1", "建设全市统一的政务云平台", "市大数据局", "市财政局、各县区政府", "2024年底前"],
    ["2", "推进公共数据共享\n建立全市数据资源目录", "市大数据局、市发展改革委", "市直各部门", "长期坚持"],
    ["3", "推行政务服务一网通办", "市政务服务中心", "", "2025年6月底前"],
]


def rows_of(clauses: list[Clause]) -> list[Clause]:
    return [c for c in clauses if c.fields]


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for text in ["某市数字政府建设实施方案", "为加快数字政府建设，结合我市实际，制定本方案。", "一、重点任务",
                 "（一）建设一体化平台。统筹建设政务云。", "附件1", "数字政府建设重点任务分工表"]:
        document.add_paragraph(text)
    table = document.add_table(rows=1 + len(ROWS), cols=len(HEADER))
    for row, cells in zip(table.rows, [HEADER, *ROWS], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("附件2")
    document.add_paragraph("联系人名单")
    contacts = document.add_table(rows=1, cols=2)
    contacts.rows[0].cells[0].text = "联系人：张三"
    contacts.rows[0].cells[1].text = "电话：0936-1234567"
    document.save(str(path))


def test_docx_task_table_rows_become_records_in_document_order(tmp_path: Path) -> None:
    path = tmp_path / "plan.docx"
    make_docx(path)
    doc, report = read_document(path)
    rows = rows_of(doc.clauses)
    assert [c.label_path for c in rows] == [("附件1", "第1项"), ("附件1", "第2项"), ("附件1", "第3项")]
    first, second, third = rows
    assert first.text == "建设全市统一的政务云平台"
    assert first.kind == "clause" and first.headings == ("数字政府建设重点任务分工表",)
    assert first.fields == (("序号", "1"), ("重点任务", "建设全市统一的政务云平台"), ("牵头单位", "市大数据局"),
                            ("责任单位", "市财政局、各县区政府"), ("完成时限", "2024年底前"))
    assert first.lead_units == ("市大数据局",)
    assert first.units == ("市财政局", "各县区政府")
    assert first.deadlines == ("2024年底前",)
    assert first.responsible == "牵头单位：市大数据局；责任单位：市财政局、各县区政府"
    assert second.text == "推进公共数据共享，建立全市数据资源目录"  # a cell's paragraphs on one line
    assert second.lead_units == ("市大数据局", "市发展改革委")
    assert second.deadlines == ("长期坚持",)
    assert third.units == () and ("责任单位", "") not in third.fields  # an empty cell is left out
    assert all(doc.text[c.start : c.end] == c.text for c in doc.clauses)
    # paragraphs and tables in document order: the second attachment and its (non-task) table come after the rows
    loaded = load(path).text
    assert loaded.index("建设全市统一的政务云平台") < loaded.index("附件2") < loaded.index("联系人：张三 电话：0936-1234567")
    assert not report.unattached_lines


HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>某市数字政府建设实施方案</title></head><body>
<div>首页 &gt;&gt; 政府信息公开 &gt;&gt; 正文</div>
<table class="xxgk">
<tr><td>索引号：</td><td>11620700/2024-00012</td><td>主题分类：</td><td>政务公开</td></tr>
<tr><td>发文机关：</td><td>某市人民政府办公室</td><td>成文日期：</td><td>2024年03月01日</td></tr>
<tr><td>标题：</td><td colspan="3">某市人民政府办公室关于印发某市数字政府建设实施方案的通知</td></tr>
<tr><td>发文字号：</td><td>某政办发〔2024〕5号</td><td>发布日期：</td><td>2024年03月05日</td></tr>
</table>
<h1>某市人民政府办公室关于印发某市数字政府建设实施方案的通知</h1>
<p>各县区人民政府，市政府各部门：</p>
<p>现将《某市数字政府建设实施方案》印发给你们，请认真贯彻执行。</p>
<p>一、总体要求</p>
<p>到2025年，基本建成数字政府。</p>
<p>附件：重点任务分工表</p>
<table border="1">
<tr><th>序号</th><th>工作任务</th><th>牵头单位</th><th>配合单位</th><th>时间节点</th></tr>
<tr><td colspan="5">一、夯实数字基础</td></tr>
<tr><td>1</td><td>建设政务云平台</td><td rowspan="2">市大数据局</td><td>市财政局<br>市发展改革委</td><td>2024年6月底前</td></tr>
<tr><td>2</td><td>推进<span>公共数据</span>共享</td><td>市直各部门</td><td>2025年</td></tr>
<tr><td colspan="5">二、提升服务效能</td></tr>
<tr><td>3</td><td>推行一网通办</td><td>市政务服务中心</td><td>各县区政府</td><td>2025年底前</td></tr>
</table>
</body></html>"""


def test_html_header_table_is_metadata_and_task_table_rows_are_records(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    doc, _ = read_document(path)
    assert doc.meta.doc_number == "某政办发〔2024〕5号"
    assert doc.meta.date_issued == "2024-03-01"
    assert doc.meta.date_published == "2024-03-05"
    for field in ("索引号", "11620700/2024-00012", "主题分类", "成文日期", "发文字号"):
        assert field not in doc.text
    assert all("某政办发" not in c.text for c in doc.clauses)
    rows = rows_of(doc.clauses)
    assert [c.label for c in rows] == ["附件第1项", "附件第2项", "附件第3项"]
    assert [c.text for c in rows] == ["建设政务云平台", "推进公共数据共享", "推行一网通办"]  # inline tags joined
    # rows merged across the table are the headings of the rows below them
    assert rows[0].headings == ("重点任务分工表", "一、夯实数字基础")
    assert rows[2].headings == ("重点任务分工表", "二、提升服务效能")
    assert rows[1].lead_units == ("市大数据局",)  # a cell spanning two rows belongs to both
    assert rows[0].lead_units == ("市大数据局",)
    assert rows[0].units == ("市财政局", "市发展改革委")  # <br> inside a cell separates units
    assert rows[0].deadlines == ("2024年6月底前",)
    assert dict(rows[1].fields) == {"序号": "2", "工作任务": "推进公共数据共享", "牵头单位": "市大数据局",
                                    "配合单位": "市直各部门", "时间节点": "2025年"}
    assert [c.text for c in doc.clauses if c.kind == "preamble"] == ["现将《某市数字政府建设实施方案》印发给你们，请认真贯彻执行。"]


ALIGNED = """某县农村人居环境整治重点任务分工表

序号  重点任务                牵头单位      责任单位            完成时限
1     推进农村厕所革命        县农业农村局  各乡镇人民政府      2024年底前
2\t治理农村生活污水\t市生态环境局某县分局\t各乡镇人民政府\t2025年底前
3     建立村庄保洁长效机制    县住建局      各乡镇人民政府      长期坚持
"""


def test_aligned_text_task_table(tmp_path: Path) -> None:
    path = tmp_path / "table.txt"
    path.write_text(ALIGNED, encoding="utf-8")
    doc, _ = read_document(path)
    rows = rows_of(doc.clauses)
    assert [c.label for c in rows] == ["表1第1项", "表1第2项", "表1第3项"]
    assert [c.text for c in rows] == ["推进农村厕所革命", "治理农村生活污水", "建立村庄保洁长效机制"]
    assert rows[1].lead_units == ("市生态环境局某县分局",)
    assert rows[1].units == ("各乡镇人民政府",)
    assert rows[2].deadlines == ("长期坚持",)
    assert rows[0].headings == ("某县农村人居环境整治重点任务分工表",)
    # line numbers of the file are kept: the first row is reported on line 4
    lines, _ = clean(load(path).text)
    assert next(line.source_line for line in lines if "农村厕所革命" in line.text) == 4


def test_markdown_task_table_with_two_task_columns(tmp_path: Path) -> None:
    text = """某区重点工作任务清单

| 序号 | 重点任务 | 具体措施 | 责任单位 | 完成时限 |
|:---:|---|---|---|---|
| 1 | 改善营商环境 | 开展涉企收费专项检查 | 区市场监管局 | 2024年9月底前 |
"""
    path = tmp_path / "list.md"
    path.write_text(text, encoding="utf-8")
    doc, _ = read_document(path)
    (row,) = rows_of(doc.clauses)
    assert row.label == "表1第1项"
    assert row.text == "改善营商环境；具体措施：开展涉企收费专项检查"  # the task and its measures
    assert row.units == ("区市场监管局",) and row.deadlines == ("2024年9月底前",)


def test_row_numbers_starting_again_in_each_group() -> None:
    from ingest.clauses import parse_clauses
    from ingest.tables import table_lines

    header = ["序号", "重点任务", "牵头单位"]
    table = [header, ["一、夯实数字基础"] * 3, ["1", "建设政务云", "市大数据局"], ["2", "推进数据共享", "市大数据局"],
             ["二、提升服务效能"] * 3, ["1", "推行一网通办", "市政务服务中心"]]
    lines, _ = clean("\n".join(["附件1", *table_lines(table)]))
    parsed = parse_clauses("x", lines)
    rows = [c for c in parsed.clauses if c.fields]
    assert [c.label_path for c in rows] == [("附件1", "一", "第1项"), ("附件1", "一", "第2项"), ("附件1", "二", "第1项")]
    assert rows[2].headings == ("二、提升服务效能",)


def test_row_lines_survive_the_cleaner_and_read_back() -> None:
    from ingest.tables import parse_row, row_line, table_lines

    line = row_line(["序号", "工作任务", "牵头单位", "完成时间"], ["12", "完善(试行)办法", "市司法局", "2024年12月31日前"])
    table = [line, line.replace("12", "13", 1), line.replace("12", "14", 1)]
    cleaned, report = clean("\n".join(table))  # rows at the end of a document, not taken for teasers or chrome
    assert [c.text for c in cleaned] == [t.replace("(试行)", "（试行）") for t in table]
    assert not report.removed and not report.page_fields
    cells = parse_row(cleaned[0].text)
    assert cells is not None
    assert [(c.name, c.value, c.role) for c in cells] == [
        ("序号", "12", "number"), ("工作任务", "完善（试行）办法", "task"), ("牵头单位", "市司法局", "lead"),
        ("完成时间", "2024年12月31日前", "deadline"),
    ]
    assert parse_row("目标：到2025年；措施：加强领导。") is None  # prose with colons is no row
    # a table that is neither a task table nor a page header is left to the loader
    assert table_lines([["联系人：张三", "电话：0936-1234567"]]) is None


def test_column_names_are_read_by_their_head_words() -> None:
    from ingest.tables import column_role, is_task_header

    assert [column_role(n) for n in ["序号", "重点任务", "工作任务", "任务", "改革事项", "具体措施"]] == [
        "number", "task", "task", "task", "task", "task"]
    assert [column_role(n) for n in ["牵头单位", "牵头部门", "责任单位", "配合单位", "完成时限", "时间节点"]] == [
        "lead", "lead", "units", "units", "deadline", "deadline"]
    assert is_task_header(["序号", "工作任务", "配合单位", "时间节点"])
    assert not is_task_header(["序号", "姓名", "职务", "电话"])
    assert not is_task_header(["索引号", "主题分类"])
