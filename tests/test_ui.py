"""The web UI, driven through its API with ``gradio_client`` against a real server over a real index."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AuthenticationError
from ui_support import UNSAFE_DOC, UNSAFE_NAME, ask, running, texts

from assistant import ui_render as render
from assistant.answer import ExtractiveAnswerer
from assistant.questionlog import LogQuery, QuestionLog
from assistant.service import Assistant
from assistant.settings import Settings, SettingsError, load_settings
from assistant.store import Filters
from assistant.types import Answer, Citation, DocumentMeta
from assistant.ui import Conversation, gradio_i18n, in_scope, launch_options, parse_auth

ZHANGYE = "004_86c396645597acb2.txt"
NEIMENGGU = "002_35979e58988424ba.txt"
ASK_ZHANGYE = "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？"

ASK_UNSAFE = "脚本标记原样显示有什么要求？"


def assert_shown_as_text(html: str, *escaped: str) -> None:
    """``html`` holds the ``escaped`` fragments and no live script or image tag."""
    for fragment in escaped:
        assert fragment in html
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sample_app(sample_settings: Settings, embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The app over a copy of the sample index (feedback goes to the copy)."""
    data = tmp_path_factory.mktemp("ui-sample") / "data"
    shutil.copytree(sample_settings.data_dir, data)
    settings = sample_settings.replace(data_dir=data)
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        yield url, settings


@pytest.fixture(scope="module")
def uploaded(embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """An app started on an empty index, after uploading one good and two bad files through the UI."""
    settings = load_settings(env={}, data_dir=tmp_path_factory.mktemp("ui-upload") / "data")
    files = tmp_path_factory.mktemp("ui-files")
    (files / UNSAFE_NAME).write_text(UNSAFE_DOC, encoding="utf-8")
    (files / "empty.txt").write_bytes(b"")
    (files / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 64)
    with running(settings, embedder=embedder) as url:
        client = Client(url, verbose=False)
        before = client.predict(api_name="/documents")[0]
        unanswered = texts(ask(client, "如何推进政务公开？")["chat"])[-1]
        names = [UNSAFE_NAME, "empty.txt", "binary.txt"]
        report_html, report, _files, table, *_ = client.predict([handle_file(str(files / n)) for n in names], api_name="/upload")
        yield {"url": url, "settings": settings, "client": client, "before": before, "report_html": report_html,
               "report": report, "table": table, "unanswered": unanswered}


# ------------------------------------------------------------------ rendering (no server)


def test_rendered_text_is_escaped_and_the_supporting_sentence_marked() -> None:
    text = "（一）总则。<b>加粗</b>不是标记。第二句。"
    html = render.highlighted(text, "…<b>加粗</b>不是标记。")
    assert html == '（一）总则。<mark class="support">&lt;b&gt;加粗&lt;/b&gt;不是标记。</mark>第二句。'
    assert render.highlighted(text, "不在文中") == render.esc(text)


def test_source_view_marks_the_clause_at_its_offsets() -> None:
    document = "标题\n一、总则\n（一）第一条<i>。\n（二）第二条。"
    start = document.index("（一）")
    end = document.index("\n（二）")
    c = Citation(1, "a.txt", "标题", "某发〔2024〕1号", "一（一）", document[start:end], "abc123", "第一条<i>。", start, end)
    html = render.source_view(document, DocumentMeta(source="a.txt", title="标题"), c)
    assert '<mark class="clause" id="clause-abc123">（一）<mark class="support">第一条&lt;i&gt;。</mark></mark>' in html
    assert html.index("一、总则") < html.index("<mark") < html.index("（二）第二条")


def test_ingest_errors_are_explained_in_chinese() -> None:
    assert render.explain_error("file is empty").startswith("文件是空的")
    assert "二进制" in render.explain_error("binary file (contains NUL bytes); convert it to text, .docx or .pdf first")
    assert "不支持" in render.explain_error("unsupported file type .xlsx; supported: .txt")
    assert render.explain_error("something new").startswith("无法导入：something new")


def cited_answer() -> Answer:
    c1 = Citation(1, "a.txt", "关于<加强>管理的通知", "某发〔2024〕1号", "一（一）", "第一条。", "abc")
    c2 = Citation(2, "b.txt", "", "", "二", "第二条。", "def")
    return Answer(question="问？", text="要求一<b>[1]</b>。要求二[2]。不是出处[3]。", citations=[c1, c2])


def test_markers_link_to_their_citations_and_the_copy_is_plain_text() -> None:
    answer = cited_answer()
    html = render.chat_message(answer, turn=2)
    assert html.count('class="cite-link"') == 2
    assert 'href="#cite-2-1"' in html and 'href="#cite-2-2"' in html and "#cite-2-3" not in html
    assert "&lt;b&gt;" in html and "<b>" not in html  # the answer text stays text
    plain = render.plain_text(answer)
    assert plain.splitlines() == [
        "要求一<b>[1]</b>。要求二[2]。不是出处[3]。", "", "出处：",
        "[1] 《关于<加强>管理的通知》（某发〔2024〕1号） 条款 一（一）", "[2] 《b.txt》 条款 二",
    ]
    assert f'<span class="copy-text" style="display: none;">{render.esc(plain)}</span>' in html
    partial = render.chat_message(answer)  # while it is written: no links, no copy button yet
    assert "cite-link" not in partial and "copy-plain" not in partial
    abstained = replace(answer, abstained=True)
    assert "cite-link" not in render.chat_message(abstained, turn=1)
    conv = Conversation()
    conv.add(answer, "id-1")
    conv.add(replace(answer, question="又问？"), "id-2")
    assert "#cite-1-1" in conv.messages()[1]["content"] and "#cite-2-1" in conv.messages()[3]["content"]
    assert conv.current_log_id == "id-2"


def test_abstention_reasons_keep_scores_out_of_sight() -> None:
    assert render.abstention_reason("证据不足（可回答概率 0.31，低于 0.52）") == (render.NOT_ENOUGH, "可回答概率 0.31，低于 0.52")
    assert render.abstention_reason("《X》不在已收录的文件中") == ("《X》不在已收录的文件中", "")
    answer = Answer(question="问？", text="没有找到。", abstained=True, notice="证据不足（可回答概率 0.31，低于 0.52）")
    cards = render.cards(answer)
    shown = cards.split("<details>", 1)[0]
    assert "原因：" + render.NOT_ENOUGH in shown and "0.31" not in shown and "可回答概率" not in shown
    assert "<details><summary>详情</summary>可回答概率 0.31，低于 0.52</details>" in cards


def test_active_filters_are_summarised_and_an_empty_scope_is_found() -> None:
    assert render.scope_summary([], [], [], False) == ""
    line = render.scope_summary(["标题<甲>"], ["张掖市"], ["2017"], True)
    assert "检索范围" in line and "《标题&lt;甲&gt;》" in line and "张掖市" in line and "2017" in line
    assert "所选范围内没有文档" in line
    documents = [
        {"source": "a.txt", "region": "张掖市", "date_issued": "2017-04-24"},
        {"source": "b.txt", "region": "内蒙古自治区", "date_published": "2021-08-01"},
    ]
    assert [d["source"] for d in in_scope(documents, Filters(regions=("张掖市",)))] == ["a.txt"]
    assert [d["source"] for d in in_scope(documents, Filters(years=(2021,)))] == ["b.txt"]
    assert in_scope(documents, Filters(sources=("b.txt",), regions=("张掖市",))) == []


def test_gradio_strings_are_chinese_whatever_the_browser_language() -> None:
    translations = gradio_i18n().translations_dict
    for locale in ("en", "zh-CN"):
        assert translations[locale]["chatbot.copy_message"] == "复制消息"
        assert translations[locale]["errors.use_via_api"] == "通过 API 使用"
    assert launch_options(load_settings(env={}))["i18n"].translations_dict == translations


def test_login_pairs_come_from_settings() -> None:
    assert parse_auth("") == []
    assert parse_auth("admin:s3cret, reader:pw:with:colons") == [("admin", "s3cret"), ("reader", "pw:with:colons")]
    with pytest.raises(SettingsError):
        parse_auth("no-password")
    options = launch_options(load_settings(env={}, host="0.0.0.0", port=8123, auth="a:b", max_upload_mb=1.5))
    assert (options["server_name"], options["server_port"], options["max_file_size"]) == ("0.0.0.0", 8123, 1_500_000)
    assert options["auth"]("a", "b") and not options["auth"]("a", "x") and not options["auth"]("b", "b")
    assert launch_options(load_settings(env={}))["auth"] is None


# ------------------------------------------------------------------ the running app


@pytest.mark.slow
def test_answer_cites_clauses_and_follow_ups_use_the_conversation(sample_app) -> None:
    url, _ = sample_app
    client = Client(url, verbose=False)
    first = ask(client, ASK_ZHANGYE)
    answer = texts(first["chat"])[-1]
    assert "市委组织部" in answer and "[1]" in answer
    assert first["box"] == ""
    assert "张掖市法治政府建设实施方案" in first["cards"] and "二（二十七）" in first["cards"]
    assert "市委发〔2017〕23号" in first["cards"] and '<mark class="support">' in first["cards"]

    follow = ask(client, "这项制度哪年全面实行？")
    chat = texts(follow["chat"])
    assert len(chat) == 4 and chat[0] == ASK_ZHANGYE
    assert "2018" in chat[-1] and "按上下文理解为" in chat[-1]

    viewer = client.predict(1, api_name="/source")
    assert "张掖市法治政府建设实施方案" in viewer and '<mark class="clause"' in viewer
    marked = viewer.split('<mark class="clause"', 1)[1].split("</mark></mark>", 1)[0]
    assert "2018年全面实行公务员晋升依法行政考核制度" in marked
    assert viewer.index("各县区委") < viewer.index('<mark class="clause"')  # the whole document, not just the clause


@pytest.mark.slow
def test_filters_restrict_retrieval(sample_app) -> None:
    client = Client(sample_app[0], verbose=False)
    everywhere = ask(client, "如何推进政务公开？")["cards"]
    within = ask(client, "如何推进政务公开？", sources=[NEIMENGGU])["cards"]
    assert "张掖" in everywhere
    assert "內蒙古" in within and "张掖" not in within
    by_region = ask(client, "如何推进政务公开？", regions=["张掖市"], years=["2017"])["cards"]
    assert "张掖" in by_region and "內蒙古" not in by_region


@pytest.mark.slow
def test_abstention_is_explained_with_the_closest_clauses(sample_app) -> None:
    client = Client(sample_app[0], verbose=False)
    result = ask(client, "火星移民的补贴标准是多少？")
    assert "没有找到" in texts(result["chat"])[-1]
    assert 'class="abstain"' in result["cards"] and "最接近的条款" in result["cards"] and "原因：" in result["cards"]
    assert result["cards"].count('class="cite-card"') >= 1
    shown = result["cards"].split("<details>", 1)[0]  # what a citizen sees before asking for the details
    assert "可回答概率" not in shown and "低于" not in shown


@pytest.mark.slow
def test_a_filter_matching_nothing_says_so(sample_app) -> None:
    client = Client(sample_app[0], verbose=False)
    summary = client.predict([NEIMENGGU], ["张掖市"], [], api_name="/scope")
    assert "检索范围" in summary and "所选范围内没有文档" in summary
    result = ask(client, "如何推进政务公开？", sources=[NEIMENGGU], regions=["张掖市"])
    assert texts(result["chat"])[-1] == render.EMPTY_SCOPE
    assert "所选范围内没有文档" in result["cards"] and "cite-card" not in result["cards"]
    assert result["box"] == "如何推进政务公开？"  # kept, to ask again once the filter is cleared
    assert "所选范围内没有文档" not in client.predict([NEIMENGGU], [], [], api_name="/scope")
    assert client.predict([], [], [], api_name="/scope") == ""


@pytest.mark.slow
def test_concurrent_sessions_keep_their_own_conversations(sample_app) -> None:
    url = sample_app[0]
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    questions = {"a": ["如何推进政务公开？", "重大行政决策程序有哪些要求？"], "b": ["内蒙古如何发挥行政复议化解行政争议的主渠道作用？"]}
    chats: dict[str, list[str]] = {}

    def converse(name: str, client: Client) -> None:
        for q in questions[name]:
            chats[name] = texts(ask(client, q)["chat"])

    threads = [threading.Thread(target=converse, args=(n, c)) for n, c in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert chats["a"][0::2] == questions["a"]
    assert chats["b"][0::2] == questions["b"]

    b.predict(api_name="/new")
    assert texts(ask(b, "如何推进政务公开？")["chat"])[0::2] == ["如何推进政务公开？"]
    assert texts(ask(a, "行政复议有哪些要求？")["chat"])[0::2] == [*questions["a"], "行政复议有哪些要求？"]


@pytest.mark.slow
def test_answers_are_logged_and_feedback_goes_to_the_question_log(sample_app) -> None:
    url, settings = sample_app
    client = Client(url, verbose=False)
    assert "请先提问" in client.predict("up", "", api_name="/feedback")
    ask(client, ASK_ZHANGYE)
    questions = QuestionLog(settings.question_log, settings.log_retention_days)
    logged = questions.list(LogQuery(text=ASK_ZHANGYE, limit=1))[0]
    assert logged.channel == "ui" and "市委组织部" in logged.answer and not logged.abstained
    assert logged.citations[0]["source"] == ZHANGYE and logged.citations[0]["clause"] == "二（二十七）"
    assert logged.latency_ms > 0 and logged.rating == ""
    assert "请选择" in client.predict(None, "", api_name="/feedback")
    assert "已记录" in client.predict("down", "希望列出完成时限", api_name="/feedback")
    rated = questions.get(logged.id)
    assert (rated.rating, rated.comment) == ("down", "希望列出完成时限")
    assert not settings.feedback_file.exists()  # the question log is the one record of feedback


def as_read(message: str) -> str:
    """A chat message as the user reads it: without tags (the final one's marker links) and its copy button."""
    return re.sub(r"<[^>]+>", "", message.split('<br><span class="copy-wrap">', 1)[0])


class TypingAnswerer(ExtractiveAnswerer):
    """The extractive answer, written a few characters at a time like a streaming LLM."""

    name = "typing"

    def stream(self, query, hits, weights):
        final = self.answer(query, hits, weights)
        for end in range(4, len(final.text), 16):
            time.sleep(0.02)
            yield replace(final, text=final.text[:end], citations=[])
        yield final


@pytest.mark.slow
def test_answers_are_shown_while_they_are_written(sample_app, embedder) -> None:
    settings = sample_app[1]
    with running(settings, Assistant(settings, embedder=embedder, answerer=TypingAnswerer())) as url:
        job = Client(url, verbose=False).submit(ASK_ZHANGYE, [], [], [], api_name="/ask")
        job.result(timeout=60)
        answers = [as_read(texts(out[0])[-1]) for out in job.outputs() if len(out[0]) == 2]
    final = answers[-1]
    assert "市委组织部" in final
    partial = [a for a in answers if a != final and a != "正在查找相关条款…"]
    assert len(partial) >= 2 and all(final.startswith(a) for a in partial)


@pytest.mark.slow
def test_login_is_required_when_configured(sample_app, embedder) -> None:
    settings = sample_app[1].replace(auth="reader:pa55")
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False).predict("如何推进政务公开？", [], [], [], api_name="/ask")
        client = Client(url, auth=("reader", "pa55"), verbose=False)
        assert "[1]" in texts(ask(client, "如何推进政务公开？")["chat"])[-1]


@pytest.mark.slow
def test_upload_reports_bad_files_and_adds_the_good_one(uploaded) -> None:
    assert not any(row and row[0] for row in uploaded["before"]["data"])
    assert render.NO_INDEX in uploaded["unanswered"]  # an empty index: the UI says to upload first
    statuses = {d["file"]: d["status"] for d in uploaded["report"]["documents"]}
    assert statuses == {UNSAFE_NAME: "ok", "empty.txt": "failed", "binary.txt": "failed"}
    html = uploaded["report_html"]
    assert "文件是空的" in html and "二进制文件" in html and "已导入" in html
    assert [row[0] for row in uploaded["table"]["data"]] == [UNSAFE_NAME]
    assert uploaded["table"]["data"][0][2] == "青政发〔2024〕1号"
    uploads = uploaded["settings"].data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == [".owners.json", UNSAFE_NAME]  # failed uploads are deleted
    assert "文件未保存" in html
    fresh = Client(uploaded["url"], verbose=False).predict(api_name="/documents")[0]
    assert [row[0] for row in fresh["data"]] == [UNSAFE_NAME]


@pytest.mark.slow
def test_document_text_that_looks_like_markup_is_shown_as_text(uploaded) -> None:
    client = Client(uploaded["url"], verbose=False)
    result = ask(client, ASK_UNSAFE)
    assert "一（一）" in result["cards"]
    assert_shown_as_text(result["cards"], "&lt;script&gt;alert")
    assert_shown_as_text(texts(result["chat"])[-1])
    viewer = client.predict(1, api_name="/source")
    assert '<mark class="clause"' in viewer
    assert_shown_as_text(viewer, "&lt;script&gt;alert", "&lt;img src=x onerror=alert", "alert&amp;#40;2&amp;#41;")
    images = ask(client, "图片标记原样显示有什么要求？")["cards"]
    assert_shown_as_text(images, "&lt;img src=x onerror=alert")


@pytest.mark.slow
def test_a_slow_llm_answer_does_not_hold_up_other_sessions(sample_app, embedder) -> None:
    """Questions of different sessions are answered at the same time: while the LLM is still writing one
    session's answer, another session's question already reaches it (Gradio runs one at a time by default)."""
    from fake_openai import FakeOpenAI, Reply

    arrived: list[float] = []
    delay = 3.0

    def reply(request: dict) -> Reply:
        arrived.append(time.monotonic())
        return Reply("文件中没有找到能回答这个问题的内容。", delay=delay)

    with FakeOpenAI(reply) as server:
        # over the module's copy of the index: the questions are logged in its data dir
        settings = sample_app[1].replace(llm_base_url=server.url, llm_model="fake", llm_timeout=20)
        with running(settings, Assistant(settings, embedder=embedder)) as url:
            clients = [Client(url, verbose=False) for _ in range(2)]
            answers: dict[int, list[str]] = {}

            def converse(n: int) -> None:
                answers[n] = texts(ask(clients[n], ["如何推进政务公开？", "行政复议有哪些要求？"][n])["chat"])

            threads = [threading.Thread(target=converse, args=(n,)) for n in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
    assert sorted(answers) == [0, 1] and all(len(chat) == 2 for chat in answers.values())
    assert len(arrived) == 2
    # one at a time, the second request would only arrive after the first answer's delay
    assert abs(arrived[1] - arrived[0]) < delay
