"""Ownership and limits in the web UI: who may replace a document, failed and oversize uploads, login and
question limits. The app is served on a real local port and driven with ``gradio_client`` and HTTP."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file
from ui_support import TREES_NOTICE, ask, running, texts

from assistant import uploads
from assistant.service import Assistant
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore
from assistant.ui import LoginGuard, launch_options
from assistant.uploads import Entry, Placement, Uploader

NAME = "通知.txt"
ALICE_DOC = """青禾市人民政府关于推进垃圾分类工作的通知
青政发〔2024〕7号
各区县人民政府，市政府各部门：
现就推进生活垃圾分类工作通知如下。
一、工作要求
（一）分类投放。居民应当将厨余垃圾投放到绿色收集桶，每周三由市城管局组织检查。（牵头单位：市城管局）
二、保障措施
（一）加强宣传。各街道每月开展一次垃圾分类宣传活动。
青禾市人民政府
2024年5月1日
"""
BOB_DOC = TREES_NOTICE
ASK_ALICE = "厨余垃圾投放到什么颜色的收集桶？"
ASK_BOB = "谁为古树名木建立电子档案？"
AUTH = "admin:root-pw,alice:alice-pw,bob:bob-pw"


def upload(client: Client, *paths: Path) -> tuple[str, dict, list[list]]:
    """Upload files through the UI: the report's HTML and JSON, and the documents table after it."""
    report_html, report, _files, table, *_ = client.predict([handle_file(str(p)) for p in paths], api_name="/upload")
    return report_html, report, table["data"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / uuid.uuid4().hex / name  # a folder each, so the same name can be written twice
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def owners(settings: Settings) -> dict[str, str | None]:
    registry = json.loads((settings.data_dir / "uploads" / uploads.REGISTRY).read_text(encoding="utf-8"))
    return {name: entry["owner"] for name, entry in registry.items()}


def in_gradio_cache(name: str) -> list[Path]:
    return list(Path(get_upload_folder()).rglob(name))


# ------------------------------------------------------------------ placement and registry (no server)

ALICE, BOB, ADMIN = Uploader("alice"), Uploader("bob"), Uploader("admin", admin=True)


def test_a_new_name_is_stored_as_it_is() -> None:
    assert uploads.place(NAME, BOB, {}, set()) == Placement(NAME, NAME, replaces=False)


def test_the_owner_and_the_admin_replace_and_anyone_else_gets_a_new_version() -> None:
    registry = {NAME: Entry("alice", NAME, "")}
    assert uploads.place(NAME, ALICE, registry, {NAME}) == Placement(NAME, NAME, replaces=True)
    assert uploads.place(NAME, ADMIN, registry, {NAME}) == Placement(NAME, NAME, replaces=True)
    assert uploads.place(NAME, BOB, registry, {NAME}) == Placement(NAME, "通知 (2).txt", replaces=False)
    # bob's version exists: he replaces it; a third user gets the next number
    registry["通知 (2).txt"] = Entry("bob", NAME, "")
    taken = {NAME, "通知 (2).txt"}
    assert uploads.place(NAME, BOB, registry, taken) == Placement(NAME, "通知 (2).txt", replaces=True)
    assert uploads.place(NAME, Uploader("carol"), registry, taken).name == "通知 (3).txt"


def test_a_document_nobody_uploaded_is_replaced_by_the_admin_only() -> None:
    """A document ingested from the command line (in the index, not in the registry) has no owner."""
    assert uploads.place(NAME, ALICE, {}, {NAME}).name == "通知 (2).txt"
    assert uploads.place(NAME, ADMIN, {}, {NAME}) == Placement(NAME, NAME, replaces=True)
    assert uploads.place(NAME, Uploader(None, admin=True), {}, {NAME}).replaces  # the local user, no login


def test_the_registry_is_written_whole_and_read_back(tmp_path: Path) -> None:
    registry = uploads.record({}, Placement(NAME, NAME, replaces=False), ALICE)
    uploads.save_registry(tmp_path, registry)
    uploads.save_registry(tmp_path, uploads.record(registry, Placement(NAME, "通知 (2).txt", False), BOB))
    assert [p.name for p in tmp_path.iterdir()] == [uploads.REGISTRY]  # no temp file left
    loaded = uploads.load_registry(tmp_path)
    assert {n: (e.owner, e.original) for n, e in loaded.items()} == {NAME: ("alice", NAME), "通知 (2).txt": ("bob", NAME)}
    (tmp_path / uploads.REGISTRY).write_text("{not json", encoding="utf-8")
    with pytest.raises(uploads.RegistryError) as err:
        uploads.load_registry(tmp_path)
    assert str(tmp_path / uploads.REGISTRY) in err.value.hint


# ------------------------------------------------------------------ login limit (no server)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_guard_refuses_a_name_after_too_many_failures_until_the_window_passes() -> None:
    clock = FakeClock()
    guard = LoginGuard([("alice", "right"), ("bob", "pw")], attempts=3, window=60, clock=clock)
    assert guard("alice", "right")
    for _ in range(3):
        clock.now += 1
        assert not guard("alice", "wrong")
    assert not guard("alice", "right")  # refused, even with the right password
    assert guard("bob", "pw")  # other names are not affected
    clock.now += 58  # the first failure is 60 s old: two failures left in the window
    assert guard("alice", "right")
    # a success clears the count; failures of unknown names are counted too
    for _ in range(3):
        assert not guard("mallory", "guess")
    assert not guard("mallory", "guess") and guard("alice", "right")


def test_refused_attempts_do_not_extend_the_lockout() -> None:
    clock = FakeClock()
    guard = LoginGuard([("alice", "right")], attempts=2, window=10, clock=clock)
    guard("alice", "a")
    guard("alice", "b")
    for _ in range(9):
        clock.now += 1
        assert not guard("alice", "right")
    clock.now += 1
    assert guard("alice", "right")


# ------------------------------------------------------------------ the running app


@pytest.mark.slow
def test_the_served_login_is_refused_after_too_many_failures(fresh_settings: Settings, embedder) -> None:
    settings = fresh_settings.replace(auth="reader:pa55,other:pw", login_attempts=3, login_window=300)
    with running(settings, embedder=embedder) as url, httpx.Client(base_url=url) as http:
        assert http.post("login", data={"username": "reader", "password": "pa55"}).status_code == 200
        for _ in range(3):
            assert http.post("login", data={"username": "reader", "password": "nope"}).status_code == 400
        assert http.post("login", data={"username": "reader", "password": "pa55"}).status_code == 400
        assert http.post("login", data={"username": "other", "password": "pw"}).status_code == 200


@pytest.mark.slow
def test_an_upload_never_replaces_another_users_document(fresh_settings: Settings, embedder, tmp_path: Path) -> None:
    settings = fresh_settings.replace(auth=AUTH)
    with running(settings, embedder=embedder) as url:
        alice = Client(url, auth=("alice", "alice-pw"), verbose=False)
        bob = Client(url, auth=("bob", "bob-pw"), verbose=False)
        _, first, _ = upload(alice, write(tmp_path, NAME, ALICE_DOC))
        assert [(d["file"], d["upload"]) for d in first["documents"]] == [(NAME, "new")]

        html, report, table = upload(bob, write(tmp_path, NAME, BOB_DOC))
        assert [(d["file"], d["status"], d["upload"]) for d in report["documents"]] == [("通知 (2).txt", "ok", "version")]
        assert "新版本" in html and "通知 (2).txt" in html
        assert sorted(row[0] for row in table) == sorted([NAME, "通知 (2).txt"])
        assert owners(settings) == {NAME: "alice", "通知 (2).txt": "bob"}
        stored = settings.data_dir / "uploads"
        assert (stored / NAME).read_text(encoding="utf-8") == ALICE_DOC
        assert (stored / "通知 (2).txt").read_text(encoding="utf-8") == BOB_DOC
        # recorded as ingested from where the files are kept (not the staging folder), so they can be re-parsed
        store = ClauseStore(settings, embedder)
        assert store.origin(NAME) == str((stored / NAME).resolve()) and Path(store.origin(NAME)).is_file()

        # alice's document is still the one answering her question
        cards = ask(alice, ASK_ALICE)["cards"]
        assert "绿色收集桶" in cards and f"{NAME} · " in cards
        assert "通知 (2).txt" in ask(bob, ASK_BOB)["cards"]

        # bob uploading the name again replaces his own version, not alice's document
        _, again, table = upload(bob, write(tmp_path, NAME, BOB_DOC.replace("市林业局", "市园林局")))
        assert [(d["file"], d["upload"]) for d in again["documents"]] == [("通知 (2).txt", "replaced")]
        assert sorted(row[0] for row in table) == sorted([NAME, "通知 (2).txt"])
        assert (stored / NAME).read_text(encoding="utf-8") == ALICE_DOC

        # one batch never stores two files under one name
        _, batch, _ = upload(bob, write(tmp_path, NAME, BOB_DOC), write(tmp_path, "通知 (2).txt", ALICE_DOC))
        assert [(d["file"], d["upload"]) for d in batch["documents"]] == [("通知 (2).txt", "replaced")]
        assert [r["file"] for r in batch["refused"]] == ["通知 (2).txt"] and "同名" in batch["refused"][0]["error"]
        assert (stored / "通知 (2).txt").read_text(encoding="utf-8") == BOB_DOC


@pytest.mark.slow
def test_the_owner_and_the_admin_replace_a_document(fresh_settings: Settings, embedder, tmp_path: Path) -> None:
    settings = fresh_settings.replace(auth=AUTH)
    with running(settings, embedder=embedder) as url:
        alice = Client(url, auth=("alice", "alice-pw"), verbose=False)
        upload(alice, write(tmp_path, NAME, ALICE_DOC))
        html, report, table = upload(alice, write(tmp_path, NAME, ALICE_DOC.replace("绿色", "蓝色")))
        assert [(d["file"], d["status"], d["upload"]) for d in report["documents"]] == [(NAME, "ok", "replaced")]
        assert "已替换" in html and [row[0] for row in table] == [NAME]
        assert "蓝色收集桶" in ask(alice, ASK_ALICE)["cards"]

        admin = Client(url, auth=("admin", "root-pw"), verbose=False)  # the first user of settings.auth
        _, report, table = upload(admin, write(tmp_path, NAME, ALICE_DOC.replace("绿色", "红色")))
        assert [(d["file"], d["upload"]) for d in report["documents"]] == [(NAME, "replaced")]
        assert [row[0] for row in table] == [NAME] and owners(settings) == {NAME: "admin"}
        assert "红色收集桶" in ask(alice, ASK_ALICE)["cards"]


@pytest.mark.slow
def test_failed_uploads_leave_nothing_behind(fresh_settings: Settings, embedder, tmp_path: Path) -> None:
    with running(fresh_settings, embedder=embedder) as url:  # no login: the local user may replace
        client = Client(url, verbose=False)
        tag = uuid.uuid4().hex[:8]
        empty, binary = tmp_path / f"empty-{tag}.txt", tmp_path / f"binary-{tag}.txt"
        empty.write_bytes(b"")
        binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 64)
        html, report, table = upload(client, write(tmp_path, NAME, ALICE_DOC), empty, binary)
        statuses = {d["file"]: d["status"] for d in report["documents"]}
        assert statuses == {NAME: "ok", empty.name: "failed", binary.name: "failed"}
        assert "文件是空的" in html and "二进制文件" in html and html.count("文件未保存") == 2
        assert not in_gradio_cache(empty.name) and not in_gradio_cache(binary.name)
        stored = fresh_settings.data_dir / "uploads"
        assert sorted(p.name for p in stored.iterdir()) == [uploads.REGISTRY, NAME]

        # a failed replacement keeps the document it would have replaced
        broken = write(tmp_path, NAME, "")
        broken.write_bytes(binary.read_bytes())
        html, report, table = upload(client, broken)
        assert [(d["file"], d["status"], d["upload"]) for d in report["documents"]] == [(NAME, "failed", "kept")]
        assert "保持不变" in html and [row[0] for row in table] == [NAME]
        assert sorted(p.name for p in stored.iterdir()) == [uploads.REGISTRY, NAME]
        assert (stored / NAME).read_text(encoding="utf-8") == ALICE_DOC
        assert "绿色收集桶" in ask(client, ASK_ALICE)["cards"]

        _, batch, _ = upload(client, write(tmp_path, NAME, ALICE_DOC), write(tmp_path, NAME, BOB_DOC))
        assert [(d["file"], d["status"]) for d in batch["documents"]] == [(NAME, "unchanged")]
        assert [r["file"] for r in batch["refused"]] == [NAME]
        assert (stored / NAME).read_text(encoding="utf-8") == ALICE_DOC


@pytest.mark.slow
def test_an_oversize_upload_is_refused_and_not_kept(fresh_settings: Settings, embedder, tmp_path: Path) -> None:
    settings = fresh_settings.replace(max_upload_mb=0.001)  # 1000 bytes
    big_name = f"big-{uuid.uuid4().hex[:8]}.txt"
    big = write(tmp_path, big_name, ALICE_DOC * 4)
    assert big.stat().st_size > 1000
    # Gradio refuses the upload itself, before it reaches the app: its client does not send it, its server
    # answers 413 and deletes what it received
    with running(settings, embedder=embedder) as url:
        with pytest.raises(ValueError, match="exceeds the maximum file size of 1000 bytes"):
            upload(Client(url, verbose=False), big)
        with big.open("rb") as fh:
            response = httpx.post(f"{url}gradio_api/upload", files={"files": (big_name, fh)})
        assert response.status_code == 413
    assert not in_gradio_cache(big_name)
    assert not (settings.data_dir / "uploads" / big_name).exists()
    # past Gradio's limit (e.g. a proxy in front sets its own), the app refuses the file and deletes Gradio's copy
    with running(settings, embedder=embedder, launch={"max_file_size": None}) as url:
        client = Client(url, verbose=False)
        html, report, table = upload(client, big, write(tmp_path, NAME, ALICE_DOC))
        assert [r["file"] for r in report["refused"]] == [big_name]
        assert "文件太大" in report["refused"][0]["error"] and "0.001 MB" in html and "文件太大" in html
        assert [row[0] for row in table] == [NAME]
        assert not (settings.data_dir / "uploads" / big_name).exists()
        assert not in_gradio_cache(big_name)


class CountingAssistant(Assistant):
    """The assistant, noting each question it is asked."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def ask_stream(self, question, *args, **kwargs):
        self.asked.append(question)
        return super().ask_stream(question, *args, **kwargs)


@pytest.mark.slow
def test_an_over_long_question_is_refused_without_asking(sample_settings: Settings, embedder, tmp_path: Path) -> None:
    settings = sample_settings.replace(data_dir=tmp_path / "data")  # a copy: answers are logged in the data dir
    shutil.copytree(sample_settings.data_dir, settings.data_dir)
    assistant = CountingAssistant(settings, embedder=embedder)
    with running(settings, assistant) as url:
        client = Client(url, verbose=False)
        long_question = "如何推进政务公开？" * 223  # 2007 characters, over the default 2000
        result = ask(client, long_question)
        assert texts(result["chat"]) == ["问题太长（2007 个字），最多 2000 个字；请精简后再提问。"]
        assert result["box"] == long_question  # kept, to be shortened
        assert assistant.asked == []
        assert "[1]" in texts(ask(client, "如何推进政务公开？")["chat"])[-1]
        assert assistant.asked == ["如何推进政务公开？"]


def test_launch_options_limit_uploads_and_logins() -> None:
    options = launch_options(load_settings(env={}, auth="a:b", login_attempts=1, max_upload_mb=0.5))
    assert options["max_file_size"] == 500_000
    guard = options["auth"]
    assert not guard("a", "x") and not guard("a", "b")
