"""Derive the question vocabulary: words people use to ask (要是, 哪些, 怎么办) far more often than documents use
them, whatever the question is about, so that they are not key terms a passage must hold (they stay in the
lexical and dense queries).

Two standard tests decide, nothing is chosen by hand:

* the share of train questions holding the word exceeds the share of document articles holding it (one-sided
  two-proportion z-test, p < 0.001: z > :data:`Z`), at least :data:`MIN_QUESTIONS` questions holding it;
* the word is not about a topic: the questions holding it are not concentrated on fewer gold documents than
  as many questions drawn at random would be (permutation test, :data:`DRAWS` draws, p ≥ :data:`ALPHA`);
* the passages answering the questions that hold it hold it less often than passages hold the words of their
  questions overall (one-sided binomial test, p < :data:`ALPHA`): it is how people ask, not what the law says.

The questions are the train splits and STARD's citizens' questions; the documents a sample of
``../shared/lawcorpus``. The list is written with its provenance.

    python -m eval fit question-words --questions eval/datasets/law/questions-train.jsonl eval/datasets/dev.jsonl \\
        ../shared/stard/stard-dev.jsonl --corpus ../shared/lawcorpus
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import jieba

from assistant.text import STOPWORDS, has_cjk, normalise

from . import made_by

Z = 3.09
"""One-sided z at p = 0.001."""
MIN_QUESTIONS = 5
ALPHA = 0.05
DRAWS = 500
SEED = 7
EVERY = 5
"""Every fifth corpus file is read (about 28k articles)."""
_ARTICLE_RE = re.compile(r"(?m)^\s*(?:#+\s*)?第[一二三四五六七八九十百千零〇]+条")


def words(text: str) -> set[str]:
    """The distinct words of a text as the query analysis cuts them (jieba without HMM), CJK and ≥ 2 long."""
    return {w for w in jieba.lcut(normalise(text), HMM=False) if len(w) >= 2 and has_cjk(w) and w not in STOPWORDS}


def articles(corpus: Path, every: int = EVERY) -> Iterable[str]:
    """The articles of every ``every``-th Markdown file of the corpus (a file without articles is one unit)."""
    files = sorted(p for p in corpus.rglob("*.md") if p.name.lower() != "readme.md")
    for path in files[::every]:
        text = path.read_text(encoding="utf-8", errors="replace")
        starts = [m.start() for m in _ARTICLE_RE.finditer(text)] or [0]
        for a, b in zip(starts, [*starts[1:], len(text)], strict=True):
            yield text[a:b]


def concentration(holding: Sequence[int], topics: Sequence[str], rng: Any) -> float:
    """p-value of the questions at ``holding`` covering as few distinct gold documents as they do, against as
    many questions drawn at random from the labelled ones."""
    import numpy as np

    labelled = np.array(topics, dtype=object)
    seen = len({topics[i] for i in holding})
    draws = [len(set(labelled[rng.choice(len(labelled), len(holding), replace=False)])) for _ in range(DRAWS)]
    return float(np.mean([d <= seen for d in draws]))


def question_words(questions: Sequence[tuple[str, str, str]], documents: Iterable[str]) -> list[dict[str, Any]]:
    """The question vocabulary of (question, gold document or '', gold passage or '') triples, with each word's
    shares, z-score and p-values, strongest first."""
    import numpy as np
    from scipy.stats import binomtest

    rng = np.random.default_rng(SEED)
    labelled = [(i, doc) for i, (_, doc, _) in enumerate(questions) if doc]
    topics = [doc for _, doc in labelled]
    position = {i: n for n, (i, _) in enumerate(labelled)}
    cut = [words(q) for q, _, _ in questions]
    passages = [normalise(p) for _, _, p in questions]
    pairs = [(w, passages[i]) for i, ws in enumerate(cut) if passages[i] for w in ws]
    base = sum(w in p for w, p in pairs) / max(len(pairs), 1)
    q_counts = Counter(w for ws in cut for w in ws)
    d_counts: Counter[str] = Counter()
    n_docs = 0
    for doc in documents:
        n_docs += 1
        d_counts.update(words(doc))
    n_q = len(questions)
    found = []
    for word, k in q_counts.items():
        if k < MIN_QUESTIONS:
            continue
        p_q, p_d = k / n_q, d_counts[word] / n_docs
        pooled = (k + d_counts[word]) / (n_q + n_docs)
        z = (p_q - p_d) / math.sqrt(pooled * (1 - pooled) * (1 / n_q + 1 / n_docs))
        if z <= Z:
            continue
        holding = [position[i] for i, ws in enumerate(cut) if word in ws and i in position]
        p = concentration(holding, topics, rng) if len(holding) >= MIN_QUESTIONS else 0.0
        if p < ALPHA:
            continue
        answered = [passages[i] for i, ws in enumerate(cut) if word in ws and passages[i]]
        inside = sum(word in passage for passage in answered)
        if len(answered) < MIN_QUESTIONS or binomtest(inside, len(answered), base, alternative="less").pvalue >= ALPHA:
            continue
        found.append({
            "word": word, "questions": round(p_q, 4), "documents": round(p_d, 5), "z": round(z, 2), "p_topic": round(p, 3),
            "in_passage": round(inside / len(answered), 3),
        })
    return sorted(found, key=lambda f: -f["z"])


def load_questions(paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    """Each question (and earlier user turn) with its first gold document and the gold passages' quotes ('' when
    it has none)."""
    texts = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                gold = record.get("gold") or []
                doc = gold[0]["source"] if gold and record.get("answerable") else ""
                quotes = " ".join(g.get("quote", "") for g in gold) if doc else ""
                texts += [(record["question"], doc, quotes), *((t["content"], "", "") for t in record.get("history", []) if t.get("role") == "user")]
    return texts


def run(question_files: Sequence[Path], corpus: Path, out: Path) -> dict[str, Any]:
    questions = load_questions(question_files)
    found = question_words(questions, articles(corpus))
    provenance = {
        "made_by": made_by("question-words"),
        "date": date.today().isoformat(), "questions": [p.as_posix() for p in question_files], "n_questions": len(questions),
        "corpus": corpus.as_posix(), "every": EVERY, "z": Z, "min_questions": MIN_QUESTIONS,
    }
    out.write_text(json.dumps({"provenance": provenance, "words": found}, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return {**provenance, "words": len(found)}
