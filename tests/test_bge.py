"""BGE encoder and reranker through FlagEmbedding, end to end with tiny random BERTs built on the fly (no downloads)."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from assistant.bge import (
    EN_INSTRUCTION,
    ZH_INSTRUCTION,
    BgeEmbedder,
    default_instruction,
    hf_cache_dirs,
    resolve_model,
)
from assistant.embedders import ModelNotFoundError, make_embedder
from assistant.settings import Settings, load_settings
from assistant.store import EmbedderMismatchError, embed_text
from assistant.text import normalise

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model must never reach the hub: only loopback connections are allowed."""
    connect = socket.socket.connect

    def guarded(self, address, *args):
        host = address[0] if isinstance(address, tuple) else ""
        if host and not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            raise AssertionError(f"network access to {address} during a test")
        return connect(self, address, *args)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2-layer BERT encoder and a BERT cross-encoder over the corpus's most frequent characters."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    root = tmp_path_factory.mktemp("models")
    text = normalise("".join(p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")))
    chars = [c for c, _ in Counter(ch for ch in text if "\u4e00" <= ch <= "\u9fff").most_common(300)]
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *"abcdefghijklmnopqrstuvwxyz0123456789"]) + "\n", encoding="utf-8")
    shape = {"vocab_size": 5 + len(chars) + 36, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    torch.manual_seed(0)
    encoder, reranker = root / "tiny-bert", root / "tiny-reranker"
    BertModel(BertConfig(**shape)).save_pretrained(encoder)
    # wide initial weights so the random cross-encoder's scores are far apart
    BertForSequenceClassification(BertConfig(**shape, num_labels=1, initializer_range=0.5)).save_pretrained(reranker)
    for directory in (encoder, reranker):
        BertTokenizer(vocab_file=str(vocab)).save_pretrained(directory)
    return encoder, reranker


# ---------------------------------------------------------------- resolution and instructions (fast)


def test_default_query_instructions() -> None:
    assert default_instruction("bge-small-zh-v1.5") == ZH_INSTRUCTION
    assert default_instruction("bge-large-zh-v1.5") == ZH_INSTRUCTION
    assert default_instruction("bge-base-en-v1.5") == EN_INSTRUCTION
    assert default_instruction("bge-m3") == ""
    assert default_instruction("tiny-bert") == ""


def test_missing_directory_names_the_places_looked(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as err:
        make_embedder(load_settings(env={}, embedder=f"bge:{missing}"))
    message = str(err.value)
    assert str(missing) in message
    assert "--local-dir" in message and 'embedder = "bge:DIR"' in message


def test_missing_name_lists_every_cache(tmp_path: Path) -> None:
    env = {"HF_HUB_CACHE": str(tmp_path / "hub-cache"), "HF_HOME": str(tmp_path / "hf-home")}
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("bge-nonexistent-zh", "reranker", env=env)
    message = str(err.value)
    for cache in hf_cache_dirs(env):
        assert str(cache / "models--BAAI--bge-nonexistent-zh" / "snapshots") in message
    assert "hf download BAAI/bge-nonexistent-zh --local-dir DIR" in message
    assert 'reranker = "bge:DIR"' in message


def test_directory_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        resolve_model(str(tmp_path))


@pytest.mark.slow
def test_cached_model_is_found_by_name(tmp_path: Path, tiny_models: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "hub" / "models--BAAI--tiny-bert"
    (repo / "snapshots").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd").symlink_to(tiny_models[0], target_is_directory=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    for spec in ("tiny-bert", "BAAI/tiny-bert"):
        found = resolve_model(spec)
        assert found.path == repo / "snapshots" / "0123abcd"
        assert found.name == "tiny-bert"
    embedder = make_embedder(load_settings(env={}, embedder="bge:tiny-bert"))
    assert embedder.name == "bge:tiny-bert"


# ---------------------------------------------------------------- FlagEmbedding end to end (slow)


@pytest.mark.slow
def test_embedder_vectors_are_normalised(tiny_models: tuple[Path, Path]) -> None:
    settings = load_settings(env={}, bge_query_instruction="查询：")
    embedder = BgeEmbedder(str(tiny_models[0]), settings)
    assert embedder.name == "bge:tiny-bert"
    assert embedder.instruction == "查询："
    docs = embedder.embed_documents(["法治政府建设", "行政执法责任制", "abc 2020"])
    query = embedder.embed_query("法治政府")
    assert docs.shape == (3, 32) and docs.dtype == np.float32
    assert query.shape == (32,) and query.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)
    assert embedder.embed_documents([]).shape == (0, 32)
    # the instruction is only for queries: the same text encodes differently as a query
    assert not np.allclose(query, embedder.embed_documents(["法治政府"])[0])


@pytest.mark.slow
def test_m3_checkpoint_uses_dense_vectors_without_instruction(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    m3 = tmp_path / "tiny-bge-m3"
    m3.symlink_to(tiny_models[0], target_is_directory=True)
    embedder = BgeEmbedder(str(m3), load_settings(env={}))
    assert embedder.name == "bge:tiny-bge-m3" and embedder.instruction == ""
    docs, query = embedder.embed_documents(["法治政府建设", "行政执法"]), embedder.embed_query("法治")
    assert docs.shape == (2, 32) and query.shape == (32,) and docs.dtype == query.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_ingest_and_ask_with_bge_embedder_and_reranker(tmp_path: Path, tiny_models: tuple[Path, Path]) -> None:
    from FlagEmbedding import FlagReranker

    from assistant.service import Assistant
    from ingest.pipeline import ingest

    encoder, reranker = tiny_models
    # a random tiny BERT's scores mean nothing to the answerability model: this tests the BGE path, not abstention
    settings = load_settings(
        env={}, data_dir=tmp_path, embedder=f"bge:{encoder}", reranker=f"bge:{reranker}", abstain_threshold=1e-9
    )
    # two documents keep the tiny model's encoding time down (~60 clauses)
    result = ingest([CORPUS / "001_fa6429744c7c8563.txt", CORPUS / "004_86c396645597acb2.txt"], settings)
    assert not result.failed and result.to_dict()["summary"]["clauses"] > 50

    assistant = Assistant(settings)
    assert assistant.embedder.name == "bge:tiny-bert"
    assert assistant.retriever.reranker is not None and assistant.retriever.reranker.name == "bge:tiny-reranker"
    question = "重大行政决策程序有哪些要求？"
    answer = assistant.ask(question)

    assert answer.retrieved and answer.citations and not answer.abstained
    catalog = assistant.store.catalog
    for citation in [*answer.citations, *answer.retrieved]:
        clause = catalog[citation.clause_id]
        assert (citation.source, citation.clause, citation.text) == (clause.source, clause.label, clause.text)
    for n, citation in enumerate(answer.citations, 1):
        assert f"[{n}]" in answer.text and citation.n == n

    # the retrieved clauses come in the order of an independently computed cross-encoder score
    independent = FlagReranker(str(reranker), use_fp16=False, devices="cpu", normalize=True)
    clauses = [catalog[c.clause_id] for c in answer.retrieved]
    pairs = [(normalise(question), embed_text(c, assistant.store.meta(c.source))) for c in clauses]
    scores = independent.compute_score(pairs, normalize=True)
    assert all(a >= b - 1e-4 for a, b in pairwise(scores)), scores
    assert max(scores) - min(scores) > 1e-3  # a real ordering, not a tie

    # without the reranker the fused order is different: reranking changed something
    plain = Assistant(settings.replace(reranker=""), embedder=assistant.embedder)
    assert [c.clause_id for c in plain.ask(question).retrieved] != [c.clause_id for c in answer.retrieved]


@pytest.mark.slow
def test_index_built_with_another_embedder_must_be_reingested(sample_settings: Settings, tiny_models: tuple[Path, Path]) -> None:
    from assistant.service import Assistant

    with pytest.raises(EmbedderMismatchError) as err:
        Assistant(sample_settings.replace(embedder=f"bge:{tiny_models[0]}"))
    message = str(err.value)
    assert "'usem3'" in message and "'bge:tiny-bert'" in message and "re-ingest" in message
