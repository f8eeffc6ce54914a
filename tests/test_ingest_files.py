"""Files of every kind in one batch: encodings, formats, broken and hostile files.

A batch goes on past a failed file, each failure says what is wrong, and the CLI exits 1 when any file failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.embedders import Usem3Embedder
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore
from assistant.text import tokenize
from ingest.clauses import parse_responsible
from ingest.documents import read_document
from ingest.loaders import LoadError, load, reflow_pdf_lines, strip_page_number
from ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))
S000, S001, S002, S003, S004 = SAMPLES

SIMPLIFIED = (
    "关于加强法治政府建设的通知\n"
    "各县区人民政府：\n"
    "为加强法治政府建设，现通知如下。\n"
    "一、总体要求\n"
    "（一）加强领导。各部门要把法治政府建设摆在突出位置，主要负责人要履行第一责任人职责。\n"
    "（二）完善制度。各部门要健全依法决策机制，确保决策合法合规。\n"
    "二、保障措施\n"
    "（一）强化督查。各级政府要定期开展督促检查，对工作不力的要通报批评。\n"
    "某某市人民政府\n"
    "2020年5月6日\n"
)
# the same notice in Traditional characters that Big5 can encode (為, not 爲)
TRADITIONAL = (
    "關於加強法治政府建設的通知\n"
    "各縣區人民政府：\n"
    "為加強法治政府建設，現通知如下。\n"
    "一、總體要求\n"
    "（一）加強領導。各部門要把法治政府建設擺在突出位置，主要負責人要履行第一責任人職責。\n"
    "（二）完善制度。各部門要健全依法決策機制，確保決策合法合規。\n"
    "二、保障措施\n"
    "（一）強化督查。各級政府要定期開展督促檢查，對工作不力的要通報批評。\n"
    "某某市人民政府\n"
    "2020年5月6日\n"
)
LABELS = ["文件头", "引言", "一", "一（一）", "一（二）", "二", "二（一）", "落款"]


def _cleaned(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if line)


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (CJK font by reference, UTF-16 codes, no embedding)."""
    ops = ["BT", "/F1 12 Tf", "16 TL", "50 800 Td"]
    ops += [f"<{line.encode('utf-16-be').hex()}> Tj T*" for line in lines]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] /ItalicAngle 0 "
        b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(path: Path, lines: list[str], table: list[str] | None = None) -> None:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    if table:
        row = document.add_table(rows=1, cols=len(table)).rows[0]
        for cell, text in zip(row.cells, table, strict=True):
            cell.text = text
    document.save(str(path))


HTML = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>关于加强法治政府建设的通知</title>"
    "<style>p { color: red }</style><script>var menu = '一、脚本菜单';</script></head><body>"
    "<div class='nav'>首页 &gt;&gt; 政府文件 &gt;&gt; 正文</div>"
    "<h1>关于加强法治政府建设的通知</h1>"
    "<p>各县区人民政府：</p>"
    "<p>为加强法治政府建设，<span>现通知如下</span>。</p>"
    "<h2>一、总体要求</h2>"
    "<p><strong>（一）加强领导。</strong>各部门要把法治政府建设摆在<a href='#'>突出位置</a>，主要负责人要履行第一责任人职责。</p>"
    "<div>（二）完善制度。各部门要健全依法决策机制，<br>确保决策合法合规。</div>"
    "<ul><li>二、保障措施</li></ul>"
    "<p>（一）强化督查。各级政府要定期开展督促检查，对工作不力的要通报批评。</p>"
    "<p>某某市人民政府</p><p>2020年5月6日</p>"
    "<div class='footer'>返回顶部</div></body></html>"
)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """A folder with good files in several formats and encodings, and bad files among them."""
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a_empty.txt").write_bytes(b"")
    (folder / "b_blank.md").write_bytes(b" \r\n\t\n\xe3\x80\x80\n")  # spaces, tab, ideographic space
    (folder / "c_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (folder / "d_sheet.xls").write_bytes(b"\xd0\xcf\x11\xe0 not really a spreadsheet")
    (folder / "e_noext").write_text(SIMPLIFIED, encoding="utf-8")
    (folder / "f_gbk.txt").write_bytes(SIMPLIFIED.encode("gbk"))
    (folder / "g_big5.txt").write_bytes(TRADITIONAL.encode("big5"))
    (folder / "h_utf16.txt").write_bytes(SIMPLIFIED.encode("utf-16"))  # with BOM
    (folder / "i_page.html").write_text(HTML, encoding="utf-8")
    make_docx(folder / "j_notice.docx", SIMPLIFIED.strip().split("\n"))
    (folder / "k_notice.pdf").write_bytes(make_pdf(SIMPLIFIED.strip().split("\n")))
    (folder / "l_scanned.pdf").write_bytes(make_pdf([]))
    (folder / "m_broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    (folder / "n_broken.docx").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (folder / "o_chrome.html").write_text(
        "<html><body><div>首页 &gt;&gt; 正文</div><div>返回顶部</div></body></html>", encoding="utf-8"
    )
    (folder / "p_bom.md").write_bytes(SIMPLIFIED.encode("utf-8-sig"))
    return folder


EXPECTED_ERRORS = {
    "a_empty.txt": "file is empty",
    "b_blank.md": "no text left",  # the ideographic space is not bytes whitespace
    "c_binary.txt": "binary file (contains NUL bytes)",
    "d_sheet.xls": "unsupported file type .xls",
    "e_noext": "unsupported file type (none)",
    "l_scanned.pdf": "no text layer",
    "m_broken.pdf": "not a readable PDF",
    "n_broken.docx": "not a readable .docx",
    "o_chrome.html": "no text left after removing page boilerplate",
}
GOOD = ["f_gbk.txt", "g_big5.txt", "h_utf16.txt", "i_page.html", "j_notice.docx", "k_notice.pdf", "p_bom.md"]


# ---------------------------------------------------------------- loading, one file at a time


@pytest.mark.parametrize(
    ("name", "encoding"),
    [("f_gbk.txt", "gb18030"), ("g_big5.txt", "big5"), ("h_utf16.txt", "utf-16"), ("p_bom.md", "utf-8-sig")],
)
def test_text_encodings_are_detected(batch: Path, name: str, encoding: str) -> None:
    loaded = load(batch / name)
    assert loaded.encoding == encoding
    expected = TRADITIONAL if name == "g_big5.txt" else SIMPLIFIED
    assert loaded.text.replace("\r\n", "\n").strip() == expected.strip()
    doc, report = read_document(batch / name)
    assert report.encoding == encoding
    assert doc.text == _cleaned(expected)
    assert [c.label for c in doc.clauses] == LABELS


def test_big5_document_stays_traditional(batch: Path) -> None:
    doc, _ = read_document(batch / "g_big5.txt")
    assert doc.meta.script == "traditional"
    assert doc.meta.title == "關於加強法治政府建設的通知"
    clause = next(c for c in doc.clauses if c.label_path == ("一", "（一）"))
    assert clause.text == "（一）加強領導。各部門要把法治政府建設擺在突出位置，主要負責人要履行第一責任人職責。"


@pytest.mark.parametrize(("name", "message"), sorted(EXPECTED_ERRORS.items()))
def test_bad_files_raise_a_clear_error(batch: Path, name: str, message: str) -> None:
    with pytest.raises(LoadError) as err:
        read_document(batch / name)
    assert message in str(err.value)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected(tmp_path: Path, codec: str) -> None:
    path = tmp_path / f"{codec}.txt"
    path.write_bytes(SIMPLIFIED.encode(codec))
    doc, report = read_document(path)
    assert report.encoding == codec
    assert [c.label for c in doc.clauses] == LABELS


def test_html_keeps_block_structure(batch: Path) -> None:
    loaded = load(batch / "i_page.html")
    lines = [line for line in loaded.text.split("\n") if line.strip()]
    assert "（一）加强领导。各部门要把法治政府建设摆在突出位置，主要负责人要履行第一责任人职责。" in lines  # inline tags joined
    assert "为加强法治政府建设，现通知如下。" in lines
    assert "（二）完善制度。各部门要健全依法决策机制，" in lines and "确保决策合法合规。" in lines  # <br> breaks
    assert "脚本菜单" not in loaded.text and "color" not in loaded.text
    doc, report = read_document(batch / "i_page.html")
    assert [c.label for c in doc.clauses] == LABELS
    assert doc.meta.title == "关于加强法治政府建设的通知"
    assert next(c for c in doc.clauses if c.label == "一（二）").text == "（二）完善制度。各部门要健全依法决策机制，\n确保决策合法合规。"
    assert {n["reason"] for n in report.removed_lines} >= {"breadcrumb", "back-to-top link"}
    assert "首页" not in doc.text and "返回顶部" not in doc.text


def test_docx_paragraphs_and_tables(batch: Path, tmp_path: Path) -> None:
    doc, report = read_document(batch / "j_notice.docx")
    assert report.format == "docx"
    assert doc.text == _cleaned(SIMPLIFIED)
    assert [c.label for c in doc.clauses] == LABELS
    lines = SIMPLIFIED.strip().split("\n")
    make_docx(tmp_path / "with_table.docx", lines[:-2], table=["联系人：张三", "电话：0936-1234567"])
    assert "联系人：张三 电话：0936-1234567" in load(tmp_path / "with_table.docx").text


def test_pdf_text_layer(batch: Path) -> None:
    doc, report = read_document(batch / "k_notice.pdf")
    assert report.format == "pdf"
    assert doc.text == _cleaned(SIMPLIFIED)
    assert [c.label for c in doc.clauses] == LABELS


def test_pdf_lines_wrapped_at_the_page_width_are_one_paragraph() -> None:
    """A PDF's text layer breaks every line at the page width and numbers its pages: the paragraphs come back
    whole (across the page break too), a line that ends a sentence ends its paragraph, the page numbers go."""
    first = "第一条 为了规范管理，根据有关法律、法规的规定，结合本市实际情况，制定"
    pages = [
        [first, "本办法。", "第二条 本办法适用于本市行政区域内的停车设施规划、建设和管理活动，以及", "相关的监督管理工作。",
         "第三条 市交通运输局是本市停车管理工作的主管部门，负责组织实施本办法；", "（一）编制规划；",
         "第四条 停车设施的建设应当符合城市总体规划和停车设施专项规划的要求，并"],
        ["依法办理审批手续。", "第五条 任何单位和个人不得擅自改变停车设施的使用性质，不得占用停车泊位", "堆放物品。",
         "第六条 本办法自2024年1月1日起施行。", "— 2 —"],
    ]
    assert strip_page_number(pages[1]) == pages[1][:-1]
    assert reflow_pdf_lines([pages[0], strip_page_number(pages[1])]) == [
        first + "本办法。",
        "第二条 本办法适用于本市行政区域内的停车设施规划、建设和管理活动，以及相关的监督管理工作。",
        "第三条 市交通运输局是本市停车管理工作的主管部门，负责组织实施本办法；",
        "（一）编制规划；",
        "第四条 停车设施的建设应当符合城市总体规划和停车设施专项规划的要求，并依法办理审批手续。",
        "第五条 任何单位和个人不得擅自改变停车设施的使用性质，不得占用停车泊位堆放物品。",
        "第六条 本办法自2024年1月1日起施行。",
    ]
    assert reflow_pdf_lines([pages[0][:3]]) == pages[0][:3]  # too few lines to know the page's width
    wrapped = [*pages[1][:-2], "第七条 本办法由市人民政府于2023年12月5日公布，自公布之日起三十日后施行，有效期至202", "8年12月31日。"]
    assert reflow_pdf_lines([pages[0], wrapped])[-1].endswith("有效期至2028年12月31日。")  # a number wraps anywhere


# ---------------------------------------------------------------- a mixed batch


@pytest.mark.slow
def test_batch_goes_on_past_failures(batch: Path, fresh_settings: Settings, embedder: Usem3Embedder) -> None:
    (batch / "sub").mkdir()
    (batch / "sub" / "f_gbk.txt").write_text(SIMPLIFIED, encoding="utf-8")  # same name, another folder: its own document
    elsewhere = batch.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f_gbk.txt").write_text(SIMPLIFIED, encoding="utf-8")  # given as a file: identified by its name, taken
    missing = batch.parent / "missing.txt"

    result = ingest([batch, missing, elsewhere / "f_gbk.txt"], fresh_settings, embedder=embedder)

    gone, duplicate = result.files[-2:]
    assert (duplicate.path, duplicate.status) == (str(elsewhere / "f_gbk.txt"), "failed")
    assert "identifier f_gbk.txt" in duplicate.error
    assert (gone.path, gone.status, gone.error) == (str(missing), "failed", "no such file")
    by_name = {f.source: f for f in result.files[:-2]}
    assert sorted(by_name) == sorted([*EXPECTED_ERRORS, *GOOD, "sub/f_gbk.txt"])
    for name, message in EXPECTED_ERRORS.items():
        assert by_name[name].status == "failed", name
        assert message in by_name[name].error, (name, by_name[name].error)
        assert by_name[name].clauses == 0
    for name in [*GOOD, "sub/f_gbk.txt"]:
        assert by_name[name].status == "ok", (name, by_name[name].error)
        assert by_name[name].clauses == len(LABELS)
    summary = result.to_dict()["summary"]
    assert summary == {
        "files": len(EXPECTED_ERRORS) + len(GOOD) + 3, "ingested": len(GOOD) + 1, "unchanged": 0,
        "failed": len(EXPECTED_ERRORS) + 2, "removed": 0, "skipped": 0, "clauses": (len(GOOD) + 1) * len(LABELS),
    }
    (batch / "sub" / "f_gbk.txt").unlink()
    assert ingest([batch], fresh_settings, prune=True, embedder=embedder).to_dict()["summary"]["removed"] == 1

    store = ClauseStore(fresh_settings, embedder)
    assert sorted(store.documents) == sorted(GOOD)
    assert store.collection.count() == len(store) == len(GOOD) * len(LABELS)
    assert store.document_text("f_gbk.txt") == _cleaned(SIMPLIFIED)
    assert store.document_text("g_big5.txt") == _cleaned(TRADITIONAL)
    # the GBK and Big5 files decoded right: their clauses are found by the words they contain
    hits = {store.catalog[i].source for i, _ in store.lexical_search(tokenize("加强领导 第一责任人"), k=len(store))}
    assert hits >= set(GOOD)
    assert store.meta("g_big5.txt").script == "traditional"
    assert [c.text for c in store.clauses_of("g_big5.txt") if c.label == "二（一）"] == [
        "（一）強化督查。各級政府要定期開展督促檢查，對工作不力的要通報批評。"
    ]


@pytest.mark.slow
def test_cli_reports_failures_and_exits_1(batch: Path, tmp_path: Path) -> None:
    for name in (S001, S003):
        (batch / name).write_bytes((CORPUS / name).read_bytes())
    report_file = tmp_path / "out" / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "ingest", str(batch), "--data-dir", str(tmp_path / "data"), "--report", str(report_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert "failed" in run.stderr

    report = json.loads(report_file.read_text(encoding="utf-8"))
    docs = {Path(d["path"]).name: d for d in report["documents"]}
    assert report["summary"]["failed"] == len(EXPECTED_ERRORS)
    assert report["summary"]["ingested"] == len(GOOD) + 2
    for name, message in EXPECTED_ERRORS.items():
        assert docs[name]["status"] == "failed" and message in docs[name]["error"]
    for name in [*GOOD, S001, S003]:
        doc = docs[name]
        assert doc["status"] == "ok" and doc["error"] == ""
        assert set(doc) >= {"metadata", "clauses", "removed_lines", "repairs", "unattached_lines", "encoding", "format"}
        assert doc["metadata"]["source"] == name and doc["metadata"]["title"]
        assert doc["clauses"] > 0
        assert isinstance(doc["removed_lines"], list) and isinstance(doc["repairs"], dict)
        assert doc["unattached_lines"] == []
    assert docs[S001]["metadata"]["doc_number"] == "敦政办发〔2017〕110号"
    assert docs[S001]["clauses"] == 17
    assert {n["reason"] for n in docs[S001]["removed_lines"]} == {"breadcrumb", "page metadata"}
    teasers = [n for n in docs[S003]["removed_lines"] if n["reason"] == "unrelated teaser after the document"]
    assert len(teasers) == 10 and all({"line", "reason", "text"} <= set(n) for n in teasers)
    assert docs[S003]["repairs"]["punctuation made full-width"] > 0
    assert docs["g_big5.txt"]["encoding"] == "big5" and docs["g_big5.txt"]["metadata"]["script"] == "traditional"


# ---------------------------------------------------------------- a 10 MB single-line file


def _single_line(size: int) -> str:
    """Real policy text with its line breaks lost, repeated to ``size`` bytes of UTF-8."""
    doc, _ = read_document(CORPUS / S004)
    flat = doc.text.replace("\n", "")
    return flat * (size // len(flat.encode("utf-8")) + 1)


@pytest.mark.slow
def test_10mb_single_line_of_plain_sentences_is_parsed_without_truncation(tmp_path: Path) -> None:
    sentence = "各级政府要加强组织领导，健全工作机制，确保各项任务落到实处。"
    text = "一、总体要求" + sentence * (10_000_000 // len(sentence.encode("utf-8")))
    path = tmp_path / "huge.txt"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size >= 10_000_000
    started = time.monotonic()
    doc, _ = read_document(path)
    elapsed = time.monotonic() - started
    assert doc.text == text
    pieces = sorted(doc.clauses, key=lambda c: (c.start, c.part))
    assert "".join(c.text for c in pieces) == text
    assert all(len(c.text) <= 360 for c in pieces)
    assert elapsed < 30, f"parsing took {elapsed:.0f} s"


@pytest.mark.slow
def test_10mb_single_line_file_ingests_or_fails_clearly_within_60_s(tmp_path: Path, embedder: Usem3Embedder) -> None:
    text = _single_line(10_000_000)
    path = tmp_path / "huge.txt"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size >= 10_000_000
    report_file = tmp_path / "report.json"
    data = tmp_path / "data"
    run = subprocess.run(
        [sys.executable, "-m", "ingest", str(path), "--data-dir", str(data), "--report", str(report_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    report = json.loads(report_file.read_text(encoding="utf-8"))
    (entry,) = report["documents"]
    if entry["status"] == "failed":
        assert run.returncode == 1
        assert entry["error"] and re.search(r"large|size|long|MB", entry["error"]), entry["error"]
        return
    assert run.returncode == 0
    store = ClauseStore(load_settings(env={}, data_dir=data), embedder)
    pieces = sorted(store.clauses_of("huge.txt"), key=lambda c: (c.start, c.part))
    assert re.sub(r"\s", "", "".join(c.text for c in pieces)) == re.sub(r"\s", "", store.document_text("huge.txt"))
    assert len(re.sub(r"\s", "", store.document_text("huge.txt"))) == len(re.sub(r"\s", "", text))


# ---------------------------------------------------------------- responsibility notes on long bodies


def test_responsible_note_does_not_swallow_following_text() -> None:
    body = (
        "（一）加强领导。各部门要负责。（牵头单位：市政府办，责任单位：各县区政府）"
        "同时要加强督查。（牵头单位：市监察局，责任单位：市直各部门）"
    )
    raw, lead, units = parse_responsible(body)
    assert "同时要加强督查" not in raw
    assert all("）" not in unit and "。" not in unit for unit in (*lead, *units))


def test_responsible_notes_of_a_long_body_stay_separate() -> None:
    body = _single_line(60_000)  # 6 copies of 004's text: ~20 000 characters, 170 notes
    _raw, lead, units = parse_responsible(body)
    assert all("）" not in unit and "。" not in unit and len(unit) < 40 for unit in (*lead, *units))
    assert len(set(lead)) == len(lead) and len(set(units)) == len(units)
