"""Server mode: a real ``chroma run`` process holds the vectors; each data directory (one per machine) keeps only
its lexical index, rebuilt from the server when it does not match it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assistant.index.lexical import read_state
from assistant.service import Assistant
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore, Filters
from ingest.pipeline import ingest, remove

pytestmark = [pytest.mark.server, pytest.mark.slow]

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DUNHUANG, ZHANGYE = "001_fa6429744c7c8563.txt", "004_86c396645597acb2.txt"
QUESTION = "张掖市推进综合行政执法体制改革有哪些措施？"
EXPECTED = (ZHANGYE, "二（十二）")
HEARTBEAT_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_heartbeat(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEARTBEAT_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"chroma run did not answer {url}/api/v2/heartbeat within {HEARTBEAT_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def chroma_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Chroma server of this module's own, on a free port; terminated when the module is done."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.is_file():
        pytest.skip(f"no chroma CLI next to {sys.executable} (install chromadb in the venv)")
    root = tmp_path_factory.mktemp("chroma-server")
    log = root / "server.log"
    port = _free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(chroma), "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def stop() -> None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    request.addfinalizer(stop)
    url = f"http://127.0.0.1:{port}"
    _wait_for_heartbeat(url, server, log)
    return url


def machine(chroma_url: str, data_dir: Path, collection: str = "clauses") -> Settings:
    """Settings of one machine: its own data directory (lexical index), the shared server."""
    return load_settings(env={}, data_dir=data_dir, chroma_url=chroma_url, collection=collection)


def cited(answer) -> list[tuple[str, str]]:
    return [(c.source, c.clause) for c in answer.citations]


@pytest.fixture(scope="module")
def first_machine(chroma_url: str, tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:
    settings = machine(chroma_url, tmp_path_factory.mktemp("machine-a"))
    result = ingest([CORPUS], settings, embedder=embedder)
    assert not result.failed, result.failed
    assert result.to_dict()["summary"]["ingested"] == 5
    return settings


def test_ingest_and_ask_through_the_server(first_machine: Settings, embedder) -> None:
    assert not first_machine.chroma_dir.exists(), "server mode must not create an embedded Chroma directory"
    assert read_state(first_machine.lexical_dir)
    answer = Assistant(first_machine, embedder=embedder).ask(QUESTION)
    assert not answer.abstained, answer.notice
    assert cited(answer)[0] == EXPECTED
    assert "综合行政执法" in answer.text


def test_another_machine_rebuilds_its_lexical_index_from_the_server(first_machine: Settings, tmp_path: Path, embedder) -> None:
    here = ClauseStore(first_machine, embedder)
    there_settings = machine(first_machine.chroma_url, tmp_path / "machine-b")
    there = ClauseStore(there_settings, embedder)  # an empty data dir: everything comes from the server

    assert read_state(there_settings.lexical_dir)
    assert set(there.catalog) == set(here.catalog)
    assert there.order == here.order
    assert set(there.documents) == set(here.documents)
    assert all(there.fingerprint(s) == here.fingerprint(s) for s in here.documents)
    assert there.metas() == here.metas()
    tokens = ["综合", "行政", "执法", "体制", "改革"]
    assert there.lexical_search(tokens, 10) == here.lexical_search(tokens, 10)

    mine = Assistant(first_machine, embedder=embedder, store=here).ask(QUESTION)
    theirs = Assistant(there_settings, embedder=embedder, store=there).ask(QUESTION)
    assert cited(theirs) == cited(mine)
    assert theirs.text == mine.text
    assert [c.clause_id for c in theirs.retrieved] == [c.clause_id for c in mine.retrieved]


def test_removing_a_document_leaves_nothing_of_it_retrievable(chroma_url: str, tmp_path: Path, embedder) -> None:
    here = machine(chroma_url, tmp_path / "machine-a", collection="removal")
    there = machine(chroma_url, tmp_path / "machine-b", collection="removal")
    assert not ingest([CORPUS / DUNHUANG, CORPUS / ZHANGYE], here, embedder=embedder).failed
    before = ClauseStore(there, embedder)  # the other machine has seen the document
    assert ZHANGYE in before.documents
    zhangye_ids = {i for i, c in before.catalog.items() if c.source == ZHANGYE}

    reports = remove([ZHANGYE], here, embedder=embedder)
    assert [(r.path, r.status) for r in reports] == [(ZHANGYE, "removed")]
    assert reports[0].clauses == len(zhangye_ids)

    for settings in (here, there):
        store = ClauseStore(settings, embedder)
        assert ZHANGYE not in store.documents
        assert not zhangye_ids & set(store.catalog)
        assert store.collection.get(where={"source": ZHANGYE})["ids"] == []
        assert store.collection.get(ids=sorted(zhangye_ids))["ids"] == []
        vector = embedder.embed_query(QUESTION)
        assert not {i for i, _ in store.dense_search(vector, 50)} & zhangye_ids
        assert not {i for i, _ in store.lexical_search(["张掖", "综合", "行政", "执法"], 50)} & zhangye_ids
        assert store.dense_search(vector, 10, Filters(sources=(ZHANGYE,))) == []
        answer = Assistant(settings, embedder=embedder, store=store).ask(QUESTION)
        assert ZHANGYE not in {c.source for c in [*answer.citations, *answer.retrieved, *answer.related]}


def test_another_machine_sees_a_reingested_document_of_the_same_length(chroma_url: str, tmp_path: Path, embedder) -> None:
    here = machine(chroma_url, tmp_path / "machine-a", collection="reingest")
    there = machine(chroma_url, tmp_path / "machine-b", collection="reingest")
    folder = tmp_path / "docs"
    folder.mkdir()
    document = folder / DUNHUANG
    document.write_text((CORPUS / DUNHUANG).read_text(encoding="utf-8"), encoding="utf-8")
    assert not ingest([folder], here, embedder=embedder).failed
    assert ClauseStore(there, embedder).documents  # the other machine builds its lexical index

    document.write_text(document.read_text(encoding="utf-8").replace("规范性文件", "规范文书"), encoding="utf-8")
    result = ingest([folder], here, embedder=embedder).to_dict()["summary"]
    assert result["ingested"] == 1

    current, other = ClauseStore(here, embedder), ClauseStore(there, embedder)
    assert len(other) == len(current)  # the same count: only the collection's revision tells the index is stale
    assert set(other.catalog) == set(current.catalog)
    assert other.lexical_search(["文书"], 5) == current.lexical_search(["文书"], 5) != []


def test_a_running_assistant_on_another_machine_stops_citing_a_removed_document(
    chroma_url: str, tmp_path: Path, embedder
) -> None:
    """The assistant of machine B, loaded before machine A removes a document, never cites it afterwards."""
    here = machine(chroma_url, tmp_path / "machine-a", collection="live")
    there = machine(chroma_url, tmp_path / "machine-b", collection="live")
    assert not ingest([CORPUS / DUNHUANG, CORPUS / ZHANGYE], here, embedder=embedder).failed
    serving = Assistant(there, embedder=embedder)
    assert ZHANGYE in {c.source for c in serving.ask(QUESTION).retrieved}
    remove([ZHANGYE], here, embedder=embedder)
    answer = serving.ask(QUESTION)
    assert ZHANGYE not in {c.source for c in [*answer.citations, *answer.retrieved, *answer.related]}
    assert ZHANGYE not in {d["source"] for d in serving.documents()}
