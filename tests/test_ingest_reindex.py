"""Re-ingesting: unchanged files change nothing, changed files replace their clauses, pruned and removed
documents leave nothing retrievable (lexical, dense, or in the Chroma collection).

Each test works on its own copy of the session's sample index, so only the files a test changes are encoded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.embedders import Usem3Embedder
from assistant.index.lexical import live_generation, read_state
from assistant.settings import Settings
from assistant.store import ClauseStore
from assistant.text import tokenize
from ingest.__main__ import main as cli_main
from ingest.documents import read_document
from ingest.pipeline import ingest, remove

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))
S000, S001, S002, S003, S004 = SAMPLES

pytestmark = pytest.mark.slow

OLD_PARAGRAPH_START = "（二）抓好典型示范，强化学习宣传。"
OLD_SENTENCE = "制作法治公益宣传广告、普法小故事等群众喜闻乐见的宣传素材"
NEW_PARAGRAPH = "（二）设立沙漠驼铃奖励基金，强化学习宣传。每年评选骆驼刺先进集体十个，奖金由市财政列支。"


@pytest.fixture
def index_copy(sample_settings: Settings, sample_store: ClauseStore, tmp_path: Path) -> Settings:
    """A writable copy of the session's sample index (the session one is shared and read-only)."""
    target = tmp_path / "data"
    shutil.copytree(sample_settings.data_dir, target)
    return sample_settings.replace(data_dir=target)


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """A folder with copies of the five samples."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in SAMPLES:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def _ids(store: ClauseStore, source: str) -> set[str]:
    return {c.id for c in store.clauses_of(source)}


def assert_not_retrievable(store: ClauseStore, embedder: Usem3Embedder, source: str, texts: list[str]) -> None:
    """Nothing of ``source`` is left: not in the catalog, documents, lexical or dense results, nor in Chroma."""
    assert source not in store.documents
    assert store.clauses_of(source) == []
    assert all(c.source != source for c in store.catalog.values())
    assert store.collection.get(where={"source": source})["ids"] == []
    for text in texts:
        lexical = store.lexical_search(tokenize(text), k=len(store))
        assert lexical, "the query should still find other documents"
        assert all(store.catalog[i].source != source for i, _ in lexical)
        dense = store.dense_search(embedder.embed_query(text), k=len(store))
        assert dense
        assert all(store.catalog[i].source != source for i, _ in dense)


def test_second_ingest_changes_nothing(index_copy: Settings, embedder: Usem3Embedder) -> None:
    before = ClauseStore(index_copy, embedder)
    ids_before = set(before.catalog)
    count_before = before.collection.count()
    documents_before = json.loads((live_generation(index_copy.lexical_dir) / "documents.json").read_text(encoding="utf-8"))
    assert count_before == len(ids_before) == len(before)

    result = ingest([CORPUS], index_copy, embedder=embedder)

    assert [(Path(f.path).name, f.status) for f in result.files] == [(name, "unchanged") for name in SAMPLES]
    assert result.to_dict()["summary"]["clauses"] == count_before
    after = ClauseStore(index_copy, embedder)
    assert set(after.catalog) == ids_before
    assert after.collection.count() == count_before
    assert set(after.collection.get()["ids"]) == ids_before
    assert json.loads((live_generation(index_copy.lexical_dir) / "documents.json").read_text(encoding="utf-8")) == documents_before


def test_clause_ids_are_stable_across_parses(sample_store: ClauseStore) -> None:
    for name in SAMPLES:
        doc, _ = read_document(CORPUS / name)
        assert {c.id for c in doc.clauses} == _ids(sample_store, name)


def test_changed_file_replaces_its_clauses(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder
) -> None:
    before = ClauseStore(index_copy, embedder)
    old = next(c for c in before.clauses_of(S001) if c.text.startswith(OLD_PARAGRAPH_START))
    assert OLD_SENTENCE in old.text
    untouched = _ids(before, S001) - {old.id}
    other_ids = set(before.catalog) - _ids(before, S001)

    path = docs_dir / S001
    lines = path.read_text(encoding="utf-8").split("\n")
    (i,) = [i for i, line in enumerate(lines) if "抓好典型示范" in line]
    lines[i] = "      " + NEW_PARAGRAPH
    path.write_text("\n".join(lines), encoding="utf-8")

    result = ingest([docs_dir], index_copy, embedder=embedder)
    statuses = {Path(f.path).name: f.status for f in result.files}
    assert statuses == {name: ("ok" if name == S001 else "unchanged") for name in SAMPLES}

    store = ClauseStore(index_copy, embedder)
    new = next(c for c in store.clauses_of(S001) if c.label_path == ("三", "（二）"))
    assert new.text == NEW_PARAGRAPH
    # the old clause is gone everywhere, the other clauses of the file and the other documents keep their ids
    assert old.id not in store.catalog
    assert store.collection.get(ids=[old.id])["ids"] == []
    assert _ids(store, S001) == untouched | {new.id}
    assert set(store.catalog) - _ids(store, S001) == other_ids
    assert store.collection.count() == len(store)
    assert all(OLD_SENTENCE not in c.text for c in store.catalog.values())
    assert all(store.catalog[i].id != old.id for i, _ in store.lexical_search(tokenize(OLD_SENTENCE), k=len(store)))
    assert OLD_SENTENCE not in store.document_text(S001)
    # the new text is found lexically and densely
    lexical = store.lexical_search(tokenize("沙漠驼铃奖励基金 骆驼刺先进集体"), k=5)
    assert lexical and lexical[0][0] == new.id
    dense = store.dense_search(embedder.embed_query(NEW_PARAGRAPH), k=3)
    assert dense and dense[0][0] == new.id


def test_incremental_commit_gives_the_lexical_index_of_a_fresh_build(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder
) -> None:
    """A commit writes only the documents that changed (a new segment; the old rows marked deleted); scores
    must equal those of segmenting everything anew, including a header whose text is unchanged but whose
    metadata (and so lexical text) a sidecar changed."""
    before = read_state(index_copy.lexical_dir)["segments"]
    path = docs_dir / S001
    path.write_text(path.read_text(encoding="utf-8").replace("抓好典型示范", "设立沙漠驼铃奖励基金"), encoding="utf-8")
    (docs_dir / f"{S002}.meta.json").write_text(json.dumps({"issuer": "骆驼刺管理委员会"}), encoding="utf-8")
    ingest([docs_dir], index_copy, embedder=embedder)
    store = ClauseStore(index_copy, embedder)
    after = read_state(index_copy.lexical_dir)["segments"]
    assert before[0]["name"] == after[0]["name"] and len(after) == 2  # the old segment kept, one written
    assert after[0]["deleted"] and not after[1]["deleted"]
    written = len(store.clauses_of(S001)) + len(store.clauses_of(S002))
    assert {store.catalog[i].source for i in store.order[len(store) - written :]} == {S001, S002}

    fresh_dir = index_copy.data_dir.parent / "fresh"
    shutil.copytree(index_copy.data_dir, fresh_dir)
    shutil.rmtree(fresh_dir / index_copy.lexical_dir.relative_to(index_copy.data_dir))
    fresh = ClauseStore(index_copy.replace(data_dir=fresh_dir), embedder)  # no lexical files: rebuilt from Chroma
    assert len(read_state(fresh.lexical_dir)["segments"]) == 1
    assert sorted(fresh.order) == sorted(store.order)
    assert all([c.id for c in fresh.clauses_of(s)] == [c.id for c in store.clauses_of(s)] for s in SAMPLES)
    for query in ["沙漠驼铃奖励基金", "骆驼刺管理委员会", "抓好典型示范", "行政执法 公示", "法治政府 督察"]:
        tokens = tokenize(query)
        scores = dict(store.lexical_search(tokens, k=len(store)))
        assert scores or query == "抓好典型示范"  # the words removed may be found nowhere else
        assert scores == pytest.approx(dict(fresh.lexical_search(tokens, k=len(store))), rel=1e-6)
        assert [store.idf(t) for t in tokens] == pytest.approx([fresh.idf(t) for t in tokens])
    assert store.lexical_search(tokenize("骆驼刺管理委员会"), k=3)[0][0] in {c.id for c in store.frame(S002)}
    assert all("抓好典型示范" not in store.catalog[i].text for i, _ in store.lexical_search(tokenize("抓好典型示范"), k=len(store)))


def test_prune_removes_documents_no_longer_present(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder
) -> None:
    gone = read_document(CORPUS / S004)[0]
    ingest([docs_dir], index_copy, embedder=embedder)  # the documents now come from docs_dir
    (docs_dir / S004).unlink()

    result = ingest([docs_dir], index_copy, prune=True, embedder=embedder)

    statuses = {Path(f.path).name: (f.status, f.clauses) for f in result.files}
    assert statuses[S004] == ("removed", len(gone.clauses))
    assert {statuses[name][0] for name in SAMPLES if name != S004} == {"unchanged"}
    store = ClauseStore(index_copy, embedder)
    assert sorted(store.documents) == [name for name in SAMPLES if name != S004]
    assert store.collection.count() == len(store)
    probes = [gone.meta.title, gone.clauses[-1].text, "张掖市 牵头单位 市委宣传部"]
    assert_not_retrievable(store, embedder, S004, probes)


def test_without_prune_missing_documents_stay(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder
) -> None:
    (docs_dir / S004).unlink()
    result = ingest([docs_dir], index_copy, embedder=embedder)
    assert "removed" not in {f.status for f in result.files}
    assert S004 in ClauseStore(index_copy, embedder).documents


def test_remove_deletes_a_document(index_copy: Settings, embedder: Usem3Embedder) -> None:
    gone = read_document(CORPUS / S003)[0]
    reports = remove([S003, "no-such-document.txt"], index_copy, embedder=embedder)
    assert [(r.path, r.status, r.clauses) for r in reports] == [
        (S003, "removed", len(gone.clauses)),
        ("no-such-document.txt", "failed", 0),
    ]
    assert reports[1].error == "not in the index"
    store = ClauseStore(index_copy, embedder)
    assert sorted(store.documents) == [name for name in SAMPLES if name != S003]
    assert store.collection.count() == len(store)
    assert_not_retrievable(store, embedder, S003, [gone.clauses[5].text, "白文晖 政府法制工作座谈会 讲话"])


def test_removed_document_can_be_ingested_again(index_copy: Settings, embedder: Usem3Embedder) -> None:
    expected = set(ClauseStore(index_copy, embedder).catalog)
    remove([S001], index_copy, embedder=embedder)
    result = ingest([CORPUS / S001], index_copy, embedder=embedder)
    assert [f.status for f in result.files] == ["ok"]
    assert set(ClauseStore(index_copy, embedder).catalog) == expected


def test_cli_prune_and_remove(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI entry point in-process (the subprocess run is tested in test_ingest_files.py)."""
    ingest([docs_dir], index_copy, embedder=embedder)  # the documents now come from docs_dir
    (docs_dir / S002).unlink()
    data = str(index_copy.data_dir)
    report_file = docs_dir.parent / "report.json"
    assert cli_main([str(docs_dir), "--data-dir", data, "--prune", "--report", str(report_file)]) == 0
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["summary"]["removed"] == 1 and report["summary"]["failed"] == 0
    assert report["summary"]["unchanged"] == 4
    assert [d["path"] for d in report["documents"] if d["status"] == "removed"] == [str((docs_dir / S002).resolve())]
    capsys.readouterr()

    # one unknown name makes the exit status 1; the known one is still removed
    assert cli_main(["remove", S000, "no-such-document.txt", "--data-dir", data]) == 1
    err = capsys.readouterr().err
    assert f"{S000}: removed" in err
    assert "no-such-document.txt: failed not in the index" in err

    store = ClauseStore(index_copy, embedder)
    assert sorted(store.documents) == [S001, S003, S004]
    assert store.collection.count() == len(store)
    assert_not_retrievable(store, embedder, S002, ["內蒙古自治區 法治政府建設 實施方案 蘇木鄉鎮"])
    assert_not_retrievable(store, embedder, S000, ["甘肅省 法治政務環境 責任單位 省政府法制辦牽頭"])


def test_lexical_directory_of_another_layout_is_rebuilt(index_copy: Settings, embedder: Usem3Embedder) -> None:
    """A lexical directory written by an older version (another ``format``) is rebuilt from Chroma on load,
    and a store read lazily from disk gives the same clauses and texts as the one that wrote it."""
    writer = ClauseStore(index_copy, embedder)
    state_file = live_generation(index_copy.lexical_dir) / "state.json"
    state = json.loads(state_file.read_text())
    state["format"] = state["format"] - 1
    state_file.write_text(json.dumps(state))
    segment = read_state(index_copy.lexical_dir)["segments"][0]["name"]
    (live_generation(index_copy.lexical_dir) / segment / "rows.npz").unlink()

    reader = ClauseStore(index_copy, embedder)
    assert read_state(index_copy.lexical_dir)["format"] == state["format"] + 1
    reread = ClauseStore(index_copy, embedder)  # now from the rewritten files, parsed on demand
    for store in (reader, reread):
        assert store.order == writer.order
        assert [store.catalog[i] for i in store.order] == [writer.catalog[i] for i in writer.order]
        assert all(store.document_text(s) == writer.document_text(s) and store.document_text(s) for s in SAMPLES)
        assert [c.id for c in store.frame(S002)] == [c.id for c in writer.frame(S002)] != []
        assert [c.id for c in store.clauses_of(S003)] == [c.id for c in writer.clauses_of(S003)] != []


def test_a_loaded_store_keeps_reading_its_files_after_another_store_commits(
    index_copy: Settings, docs_dir: Path, embedder: Usem3Embedder
) -> None:
    """The UI swaps in a new assistant after an upload while sessions may still be answering with the old
    one: the old store must keep serving the texts and clauses it loaded, not the new directory's bytes."""
    old = ClauseStore(index_copy, embedder)
    texts = {s: old.document_text(s) for s in SAMPLES}
    path = docs_dir / S000
    path.write_text("前言加长：" * 50 + path.read_text(encoding="utf-8"), encoding="utf-8")  # shifts every offset after it
    ingest([docs_dir], index_copy, embedder=embedder)

    new = ClauseStore(index_copy, embedder)
    assert new.document_text(S000) != texts[S000]
    assert {s: old.document_text(s) for s in SAMPLES} == texts
    for cid in old.order[-5:]:  # records not parsed yet are read from the file the old store loaded
        assert old.catalog[cid].text in texts[old.catalog[cid].source]
