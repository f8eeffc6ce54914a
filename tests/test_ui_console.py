"""The admin console, driven through its API with ``gradio_client`` against a real server over a copy of the
sample index: documents (enable, disable, delete, re-parse, clauses), the question log, CSV export, feedback."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client
from ui_support import TREES_NOTICE, ask, running, texts

from assistant import ui_console
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Clause
from ingest.pipeline import ingest

pytestmark = pytest.mark.slow

ZHANGYE = "004_86c396645597acb2.txt"
ASK_ZHANGYE = "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？"
ASK_OWN = "谁为古树名木建立电子档案？"
OWN_NAME = "古树名木.txt"
OWN_DOC = TREES_NOTICE


def copy_index(settings: Settings, data: Path) -> None:
    """A copy of the sample index without its question log (other tests may have asked questions over it)."""
    shutil.copytree(settings.data_dir, data, ignore=shutil.ignore_patterns("questions.sqlite3*"))


@pytest.fixture
def console(sample_settings: Settings, embedder, tmp_path: Path) -> Iterator[dict]:
    """The app over a copy of the sample index plus one document ingested from a file of the test's own."""
    data = tmp_path / "data"
    copy_index(sample_settings, data)
    settings = sample_settings.replace(data_dir=data)
    own = tmp_path / "own" / OWN_NAME
    own.parent.mkdir()
    own.write_text(OWN_DOC, encoding="utf-8")
    assert not ingest([own], settings, embedder=embedder).failed
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        yield {"client": Client(url, verbose=False), "settings": settings, "own": own, "url": url}


def rows(table: dict) -> dict[str, list]:
    """The console's documents table by file name."""
    return {row[0]: row for row in table["data"]}


def cards_of(client: Client, question: str) -> str:
    return ask(client, question)["cards"]


# ------------------------------------------------------------------ tables (no server)


def test_tables_show_the_log_and_documents_in_chinese() -> None:
    table = ui_console.document_rows([{"source": "a.txt", "title": "标题", "enabled": False, "clauses": 3, "origin": "/x/a.txt"}])
    assert table == [["a.txt", "标题", "已停用", 3, "", "/x/a.txt"]]
    clause = Clause("a.txt", ("一、", "（一）"), "第一条。", 0, 4)
    assert ui_console.clause_rows([clause]) == [["一、（一）", "条款", "第一条。"]]
    query = ui_console.log_query(" 政务 ", "abstained", "down", "ui")
    assert (query.text, query.abstained, query.rating, query.channel) == ("政务", True, "down", "ui")
    assert ui_console.log_query("", "all", "", "").abstained is None
    assert "请先选择" in ui_console.reparse_refusal(None)
    assert "找不到" in ui_console.reparse_refusal({"source": "a.txt", "origin": "/no/such/a.txt"})


# ------------------------------------------------------------------ documents


def test_documents_are_listed_with_their_clauses(console) -> None:
    client = console["client"]
    table, _ = client.predict(None, api_name="/console_documents")
    listed = rows(table)
    assert ZHANGYE in listed and OWN_NAME in listed
    assert listed[OWN_NAME][2] == "启用" and listed[OWN_NAME][5] == str(console["own"].resolve())
    clauses = client.predict(OWN_NAME, api_name="/console_clauses")["data"]
    assert any("市林业局为每一株古树名木建立电子档案" in row[2] for row in clauses)


def test_a_disabled_document_is_not_used_for_answers_until_enabled(console) -> None:
    client = console["client"]
    assert "古树名木" in cards_of(client, ASK_OWN)
    status, table, _ = client.predict(OWN_NAME, api_name="/console_disable")
    assert "已停用" in status and rows(table)[OWN_NAME][2] == "已停用"
    assert "古树名木" not in cards_of(client, ASK_OWN)
    public = [row[0] for row in client.predict(api_name="/documents")[0]["data"]]
    assert OWN_NAME not in public and ZHANGYE in public  # citizens see only what answers come from
    status, table, _ = client.predict(OWN_NAME, api_name="/console_enable")
    assert "已启用" in status and rows(table)[OWN_NAME][2] == "启用"
    assert "古树名木" in cards_of(client, ASK_OWN)


def test_deleting_needs_confirmation_and_removes_the_document(console) -> None:
    client = console["client"]
    status, table, _, confirmed = client.predict(OWN_NAME, False, api_name="/console_delete")
    assert "确认删除" in status and OWN_NAME in rows(table) and confirmed is False
    status, table, selected, _ = client.predict(OWN_NAME, True, api_name="/console_delete")
    assert "已从库中删除" in status and OWN_NAME not in rows(table)
    assert OWN_NAME not in [value for _, value in selected["choices"]] and selected["value"] is None
    assert "古树名木" not in cards_of(client, ASK_OWN)
    assert ZHANGYE in cards_of(client, ASK_ZHANGYE)  # the others stay
    fresh = Client(console["url"], verbose=False)
    assert OWN_NAME not in rows(fresh.predict(None, api_name="/console_documents")[0])


def test_reparse_reads_the_file_again_from_where_it_was_ingested(console) -> None:
    client = console["client"]
    status, *_ = client.predict(OWN_NAME, api_name="/console_reparse")
    assert "没有变化" in status
    console["own"].write_text(OWN_DOC.replace("市林业局为每一株", "市园林局为每一株"), encoding="utf-8")
    status, *_ = client.predict(OWN_NAME, api_name="/console_reparse")
    assert "已重新解析" in status
    clauses = client.predict(OWN_NAME, api_name="/console_clauses")["data"]
    assert any("市园林局为每一株" in row[2] for row in clauses)
    assert "市园林局" in cards_of(client, ASK_OWN)
    console["own"].unlink()
    status, *_ = client.predict(OWN_NAME, api_name="/console_reparse")
    assert "找不到导入时的原文件" in status


# ------------------------------------------------------------------ question log and feedback


def test_asked_questions_appear_in_the_log_and_its_csv_export(console) -> None:
    client = console["client"]
    ask(client, ASK_ZHANGYE)
    ask(client, "火星移民的补贴标准是多少？")
    logged = client.predict("", "all", "", "", api_name="/console_log")["data"]
    by_question = {row[3]: row for row in logged}
    row = by_question[ASK_ZHANGYE]
    assert row[1] == "ui" and "市委组织部" in row[4] and "[1]《" in row[5] and row[6] == "" and float(row[7]) > 0
    assert by_question["火星移民的补贴标准是多少？"][6] == "是"
    abstained = client.predict("", "abstained", "", "", api_name="/console_log")["data"]
    assert [r[3] for r in abstained] == ["火星移民的补贴标准是多少？"]
    assert [r[3] for r in client.predict("火星", "all", "", "", api_name="/console_log")["data"]] == ["火星移民的补贴标准是多少？"]

    path = Path(client.predict("", "all", "", "", api_name="/console_export"))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, for spreadsheet programs
    records = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {r["question"] for r in records} == {ASK_ZHANGYE, "火星移民的补贴标准是多少？"}
    zhangye = next(r for r in records if r["question"] == ASK_ZHANGYE)
    assert zhangye["channel"] == "ui" and "市委组织部" in zhangye["answer"] and zhangye["abstained"] == "0"


def test_feedback_is_recorded_and_reviewed(console) -> None:
    client = console["client"]
    ask(client, ASK_ZHANGYE)
    assert "已记录" in client.predict("down", "希望列出完成时限", api_name="/feedback")
    ask(client, ASK_OWN)
    assert "已记录" in client.predict("up", "", api_name="/feedback")
    reviewed = client.predict("any", api_name="/console_feedback")["data"]
    assert {(r[2], r[5], r[6]) for r in reviewed} == {(ASK_ZHANGYE, "没有帮助", "希望列出完成时限"), (ASK_OWN, "有帮助", "")}
    assert [r[2] for r in client.predict("down", api_name="/console_feedback")["data"]] == [ASK_ZHANGYE]
    logged = client.predict("", "all", "up", "", api_name="/console_log")["data"]
    assert [(r[3], r[8]) for r in logged] == [(ASK_OWN, "有帮助")]


# ------------------------------------------------------------------ who may use it


def test_only_the_admin_may_use_the_console(sample_settings: Settings, embedder, tmp_path: Path) -> None:
    data = tmp_path / "data"
    copy_index(sample_settings, data)
    settings = sample_settings.replace(data_dir=data, auth="admin:root-pw,reader:reader-pw")
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        reader = Client(url, auth=("reader", "reader-pw"), verbose=False)
        for args, api in (((None,), "/console_documents"), ((ZHANGYE,), "/console_disable"),
                          ((ZHANGYE, True), "/console_delete"), (("", "all", "", ""), "/console_export")):
            with pytest.raises(Exception, match="只有管理员"):
                reader.predict(*args, api_name=api)
        assert "[1]" in texts(ask(reader, ASK_ZHANGYE)["chat"])[-1]  # the documents are untouched
        admin = Client(url, auth=("admin", "root-pw"), verbose=False)
        assert ZHANGYE in rows(admin.predict(None, api_name="/console_documents")[0])
        logged = admin.predict("", "all", "", "", api_name="/console_log")["data"]
        assert [(r[2], r[3]) for r in logged] == [("reader", ASK_ZHANGYE)]
