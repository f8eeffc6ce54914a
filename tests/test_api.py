"""The HTTP API, served for real (API + mounted UI on a local port) over a copy of the sample index, driven with
the official ``openai`` client and ``httpx``."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn
from ui_support import free_port

from assistant.answer import ExtractiveAnswerer
from assistant.api.app import create_app
from assistant.api.keys import KeyStore, keys_path
from assistant.questionlog import QuestionLog
from assistant.server import build_server
from assistant.service import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow

DUNHUANG = "001_fa6429744c7c8563.txt"
ZHANGYE = "004_86c396645597acb2.txt"
OFF_TOPIC = "火星基地的氧气配额是多少？"
NEW_DOC_NAME = "青禾市测试通知.txt"
NEW_DOC = """青禾市人民政府关于开展电动自行车充电安全检查的通知
青政发〔2024〕7号
各区县人民政府，市政府各部门：
为做好电动自行车充电安全工作，现就有关事项通知如下。
一、检查安排
（一）检查频次。各街道每月对居民小区电动自行车集中充电点开展一次充电安全检查。（牵头单位：市消防救援支队）
（二）整改要求。检查发现的飞线充电问题应当在七日内整改完毕。（牵头单位：市住房和城乡建设局）
青禾市人民政府
2024年3月1日
"""


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free local port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Served:
    url: str
    settings: Settings
    assistant: Assistant
    ask_key: str
    admin_key: str
    app: object

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key or self.ask_key, max_retries=0)

    def http(self, key: str | None = "admin") -> httpx.Client:
        token = {"admin": self.admin_key, "ask": self.ask_key}.get(key or "", key)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def served(sample_settings: Settings, embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The whole server (API and UI) over a writable copy of the sample index, with an ask and an admin key."""
    data = tmp_path_factory.mktemp("api") / "data"
    shutil.copytree(sample_settings.data_dir, data)
    settings = sample_settings.replace(data_dir=data, api_rate_limit=0)
    keys = KeyStore(keys_path(settings))
    ask_key, admin_key = keys.create("asker", "ask"), keys.create("boss", "admin")
    assistant = Assistant(settings, embedder=embedder)
    app = build_server(settings, assistant)
    with serving(app) as url:
        yield Served(url, settings, assistant, ask_key, admin_key, app)


def ask(served: Served, *messages: str, **extra):
    """A chat completion over alternating user/assistant messages (the last is the question)."""
    roles = ["user", "assistant"]
    chat = [{"role": roles[i % 2], "content": m} for i, m in enumerate(messages)]
    return served.client().chat.completions.create(model="policyqa", messages=chat, extra_body=extra or None)


def cited_sources(message) -> set[str]:
    return {c["source"] for c in message.citations}


# ------------------------------------------------------------------ chat completions


def test_models_lists_the_one_model(served: Served) -> None:
    assert [m.id for m in served.client().models.list()] == ["policyqa"]


def test_plain_answer_cites_clauses_as_text_and_data(served: Served) -> None:
    completion = ask(served, "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？")
    message = completion.choices[0].message
    assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
    assert not message.abstained and message.citations
    first = message.citations[0]
    assert set(first) >= {"n", "source", "title", "doc_number", "clause", "text"}
    assert first["source"] == ZHANGYE and first["text"] and first["clause"]
    body, _, refs = message.content.partition("\n\n参考：\n")
    assert "[1]" in body
    assert f"[1] 《{first['title']}》{' ' + first['doc_number'] if first['doc_number'] else ''} {first['clause']}" in refs
    # logged with the API channel and the key's name
    log = QuestionLog(served.settings.question_log, served.settings.log_retention_days)
    row = log.get(message.question_id)
    assert row is not None and (row.channel, row.user) == ("api", "asker")
    assert row.citations[0]["source"] == ZHANGYE


def test_streamed_answer_is_the_plain_answer_in_chunks(served: Served) -> None:
    question = [{"role": "user", "content": "如何推进政务公开？"}]
    plain = served.client().chat.completions.create(model="policyqa", messages=question).choices[0].message
    chunks = list(served.client().chat.completions.create(model="policyqa", messages=question, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert last.delta.citations == plain.citations and last.delta.abstained is False
    assert last.delta.text == plain.content
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    # the raw stream: server-sent events ending with [DONE]
    with served.http("ask") as http, http.stream("POST", "/v1/chat/completions",
                                                  json={"messages": question, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"


class TypingAnswerer(ExtractiveAnswerer):
    """The extractive answer written a few characters at a time, like a streaming LLM; with ``retract``, the
    partials are a draft the final answer replaces (as when an LLM reply fails its citation check)."""

    def __init__(self, retract: bool = False) -> None:
        super().__init__()
        self.retract = retract

    def stream(self, query, hits, weights):
        final = self.answer(query, hits, weights)
        draft = "草稿：" + final.text if self.retract else final.text
        for end in range(4, len(draft), 16):
            yield replace(final, text=draft[:end], citations=[])
        yield replace(final, notice="回答未通过引用核对，以下为依据条款的答案。") if self.retract else final


@pytest.mark.parametrize("retract", [False, True])
def test_a_written_answer_streams_as_it_grows(served: Served, embedder, retract: bool) -> None:
    assistant = Assistant(served.settings, embedder=embedder, answerer=TypingAnswerer(retract))
    question = [{"role": "user", "content": "如何推进政务公开？"}]
    with serving(create_app(served.settings, assistant)) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key=served.ask_key, max_retries=0)
        chunks = list(client.chat.completions.create(model="policyqa", messages=question, stream=True))
        plain = client.chat.completions.create(model="policyqa", messages=question).choices[0].message
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) >= 4
    streamed, final = "".join(pieces), chunks[-1].choices[0].delta
    assert final.text == plain.content and final.citations == plain.citations
    if retract:  # text sent cannot be taken back: the final answer follows the draft, after its notice
        assert final.notice.startswith("回答未通过引用核对，以下为依据条款的答案。")  # (then any validity notice)
        assert streamed.startswith("草稿：") and streamed.endswith("\n\n" + final.notice + "\n\n" + plain.content)
    else:
        assert streamed == plain.content


def test_follow_up_reads_the_conversation(served: Served) -> None:
    first = ask(served, "敦煌市如何推进政务公开？").choices[0].message
    assert cited_sources(first) == {DUNHUANG}
    follow = ask(served, "敦煌市如何推进政务公开？", first.content, "那张掖市呢？").choices[0].message
    assert "张掖" in follow.standalone_question
    assert cited_sources(follow) == {ZHANGYE}
    alone = ask(served, "那张掖市呢？").choices[0].message
    assert alone.content != follow.content  # without the history the question means something else


def test_off_topic_question_abstains(served: Served) -> None:
    message = ask(served, OFF_TOPIC).choices[0].message
    assert message.abstained is True
    assert message.citations == [] and "\n\n参考：\n" not in message.content
    assert message.related and all(r["source"] for r in message.related)


def test_filters_restrict_the_documents(served: Served) -> None:
    message = ask(served, "如何推进政务公开？", source=DUNHUANG).choices[0].message
    assert cited_sources(message) == {DUNHUANG}
    message = ask(served, "如何推进政务公开？", region=["张掖市"]).choices[0].message
    assert cited_sources(message) == {ZHANGYE}
    with pytest.raises(openai.BadRequestError) as caught:
        ask(served, "如何推进政务公开？", source="没有这个文件.txt")
    assert caught.value.body["code"] == "unknown_document"


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"role": "user", "content": "   "}], "invalid_question"),
        ([{"role": "user", "content": "问" * 2001}], "invalid_question"),
        ([{"role": "user", "content": "如何推进政务公开？"}, {"role": "assistant", "content": "……"}], "invalid_question"),
        ([], "invalid_question"),
    ],
)
def test_bad_questions_are_400_in_the_openai_shape(served: Served, messages, code) -> None:
    for stream in (False, True):
        with served.http("ask") as http:
            response = http.post("/v1/chat/completions", json={"model": "policyqa", "messages": messages, "stream": stream})
        assert response.status_code == 400
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "code"} and error["type"] == "invalid_request_error"
        assert error["code"] == code and error["message"]
    with pytest.raises(openai.BadRequestError):
        served.client().chat.completions.create(model="policyqa", messages=messages or [{"role": "system", "content": "x"}])


def test_unknown_model_and_malformed_body(served: Served) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        served.client().chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "如何推进政务公开？"}])
    assert caught.value.body["code"] == "model_not_found"
    with served.http("ask") as http:
        response = http.post("/v1/chat/completions", json={"messages": "not a list"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


# ------------------------------------------------------------------ keys, scopes, rate limits


def _routes(served: Served) -> list[tuple[str, str, str]]:
    """Every API route the server documents, as (method, path, scope needed), with a real document in the path."""
    with httpx.Client(base_url=served.url, timeout=30) as http:
        paths = http.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path.replace("{source}", DUNHUANG), "admin" if path.startswith("/v1/documents") else "ask")
        for path, operations in paths.items()
        for method in operations
    ]


def test_every_route_needs_a_key_with_the_right_scope(served: Served) -> None:
    routes = _routes(served)
    assert len(routes) >= 9
    for method, path, scope in routes:
        for key, status, code in [(None, 401, "missing_api_key"), ("pqa-wrong", 401, "invalid_api_key"),
                                  (served.admin_key[:-2], 401, "invalid_api_key")]:
            with served.http(key) as http:
                response = http.request(method, path)
            assert response.status_code == status, (method, path, key)
            assert response.json()["error"]["code"] == code
        if scope == "admin":
            with served.http("ask") as http:
                response = http.request(method, path)
            assert response.status_code == 403, (method, path)
            assert response.json()["error"] == {
                "message": "the key 'asker' has scope 'ask'; this route needs 'admin'", "type": "permission_error",
                "param": None, "code": "insufficient_scope",
            }
    with pytest.raises(openai.AuthenticationError):
        served.client("pqa-wrong").models.list()
    # admin implies ask
    assert ask(served, "如何推进政务公开？").choices[0].message.citations
    assert served.client(served.admin_key).models.list().data[0].id == "policyqa"


def test_a_revoked_key_is_refused_at_once(served: Served) -> None:
    keys = KeyStore(keys_path(served.settings))
    temporary = keys.create("temporary", "ask")
    assert served.client(temporary).models.list().data
    keys.revoke("temporary")
    with pytest.raises(openai.AuthenticationError):
        served.client(temporary).models.list()


def test_rate_limit_per_key(served: Served) -> None:
    app = create_app(served.settings.replace(api_rate_limit=3), served.assistant)
    with serving(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key=served.ask_key, max_retries=0)
        for _ in range(3):
            client.models.list()
        with pytest.raises(openai.RateLimitError) as caught:
            client.models.list()
        assert caught.value.body["code"] == "rate_limit_exceeded"
        assert int(caught.value.response.headers["retry-after"]) >= 1
        # another key has its own allowance
        assert openai.OpenAI(base_url=url + "/v1", api_key=served.admin_key, max_retries=0).models.list().data


def test_open_without_keys_and_clear_on_an_empty_index(fresh_settings: Settings, embedder) -> None:
    with serving(create_app(fresh_settings, embedder=embedder)) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/v1/models").status_code == 200
        assert http.get("/v1/documents").json()["data"] == []
        response = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "如何推进政务公开？"}]})
        assert response.status_code == 503 and response.json()["error"]["code"] == "index_unavailable"
        assert "ingest" in response.json()["error"]["message"]


# ------------------------------------------------------------------ documents


def test_documents_list_metadata_counts_and_validity(served: Served) -> None:
    with served.http() as http:
        listed = http.get("/v1/documents").json()["data"]
    by_source = {d["source"]: d for d in listed}
    assert {DUNHUANG, ZHANGYE} <= set(by_source) and len(listed) == 5
    doc = by_source[ZHANGYE]
    assert doc["title"].startswith("中共张掖市委") and doc["doc_number"] and doc["clauses"] > 10
    assert doc["enabled"] is True and "status" in doc and "effective" in doc
    with served.http() as http:
        clauses = http.get(f"/v1/documents/{ZHANGYE}/clauses").json()["data"]
        assert http.get("/v1/documents/没有这个文件.txt").status_code == 404
    assert len(clauses) >= doc["clauses"] - 5 and all(c["source"] == ZHANGYE and c["id"] for c in clauses)
    assert any(c["label"] == "二（十六）" for c in clauses)


def test_disabling_a_document_keeps_it_out_of_answers(served: Served) -> None:
    question = "敦煌市如何推进政务公开？"
    assert DUNHUANG in cited_sources(ask(served, question).choices[0].message)
    with served.http() as http:
        changed = http.patch(f"/v1/documents/{DUNHUANG}", json={"enabled": False})
    assert changed.status_code == 200 and changed.json()["document"]["enabled"] is False
    try:
        message = ask(served, question).choices[0].message
        assert DUNHUANG not in cited_sources(message) | {r["source"] for r in message.related}
        with served.http("ask") as http:
            named = http.post("/v1/search", json={"query": question}).json()["data"]
            hits = http.post("/v1/search", json={"query": "如何推进政务公开？"}).json()["data"]
        assert DUNHUANG not in {h["source"] for h in named}  # the one document named is disabled: nothing
        assert hits and DUNHUANG not in {h["source"] for h in hits}
    finally:
        with served.http() as http:
            assert http.patch(f"/v1/documents/{DUNHUANG}", json={"enabled": True}).json()["document"]["enabled"]
    assert DUNHUANG in cited_sources(ask(served, question).choices[0].message)


def test_upload_list_clauses_reingest_delete(served: Served, tmp_path: Path) -> None:
    question = "电动自行车集中充电点多久检查一次？"
    uploads = served.settings.data_dir / "uploads"
    with served.http() as http:
        created = http.post("/v1/documents", files={"file": (NEW_DOC_NAME, NEW_DOC.encode("utf-8"), "text/plain")})
        assert created.status_code == 201, created.text
        doc = created.json()["document"]
        assert doc["source"] == NEW_DOC_NAME and doc["clauses"] >= 2 and doc["doc_number"] == "青政发〔2024〕7号"
        assert (uploads / NEW_DOC_NAME).read_text(encoding="utf-8") == NEW_DOC
        assert NEW_DOC_NAME in {d["source"] for d in http.get("/v1/documents").json()["data"]}
        clauses = http.get(f"/v1/documents/{NEW_DOC_NAME}/clauses").json()["data"]
        assert any("每月" in c["text"] for c in clauses)

        message = ask(served, question).choices[0].message
        assert cited_sources(message) == {NEW_DOC_NAME} and "每月" in message.content

        # the same name again is refused unless replace=true
        changed = NEW_DOC.replace("每月", "每周")
        again = http.post("/v1/documents", files={"file": (NEW_DOC_NAME, changed.encode("utf-8"))})
        assert again.status_code == 409 and again.json()["error"]["code"] == "document_exists"
        assert (uploads / NEW_DOC_NAME).read_text(encoding="utf-8") == NEW_DOC
        replaced = http.post("/v1/documents", params={"replace": "true"}, files={"file": (NEW_DOC_NAME, changed.encode())})
        assert replaced.status_code == 201 and replaced.json()["replaced"] is True
        assert "每周" in ask(served, question).choices[0].message.content

        # re-ingest from the recorded path picks up a change on disk
        (uploads / NEW_DOC_NAME).write_text(NEW_DOC, encoding="utf-8")
        reingested = http.post(f"/v1/documents/{NEW_DOC_NAME}/reingest")
        assert reingested.status_code == 200 and reingested.json()["report"]["status"] == "ok"
        assert "每月" in ask(served, question).choices[0].message.content

        # a file that cannot be ingested leaves nothing behind
        bad = http.post("/v1/documents", files={"file": ("notes.xyz", b"hello")})
        assert bad.status_code == 415 and bad.json()["error"]["code"] == "unsupported_file_type"

        deleted = http.delete(f"/v1/documents/{NEW_DOC_NAME}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert NEW_DOC_NAME not in {d["source"] for d in http.get("/v1/documents").json()["data"]}
        assert not (uploads / NEW_DOC_NAME).exists()
        assert http.delete(f"/v1/documents/{NEW_DOC_NAME}").status_code == 404
    assert NEW_DOC_NAME not in cited_sources(ask(served, question).choices[0].message)


def test_search_returns_ranked_passages_with_scores(served: Served) -> None:
    with served.http("ask") as http:
        result = http.post("/v1/search", json={"query": "行政复议", "top_k": 3}).json()
        assert http.post("/v1/search", json={"query": " "}).json()["error"]["code"] == "invalid_question"
        only = http.post("/v1/search", json={"query": "政务公开", "source": [ZHANGYE]}).json()["data"]
    hits = result["data"]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert all(h["text"] and h["clause"] and isinstance(h["score"], float) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert any("复" in h["text"] for h in hits)
    assert only and {h["source"] for h in only} == {ZHANGYE}


def test_openapi_schema_and_the_ui_share_the_server(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        schema = http.get("/openapi.json").json()
        page = http.get("/")
        config = http.get("/config")
    assert {"/v1/chat/completions", "/v1/models", "/v1/documents", "/v1/search"} <= set(schema["paths"])
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert config.status_code == 200 and json.loads(config.text)
