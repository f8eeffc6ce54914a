"""Time adding one document to an existing index and removing it again, in this process (the store opened once,
then ``ingest()`` with its commit, then ``remove()``), with the stages logged:

    python scripts/time_incremental.py --data-dir /tmp/bench-full/corpus-lawcorpus

The document is one of our own (20 articles), written to a temporary folder; the index is left as it was.
``python -m eval bench --corpus`` measures the same as fresh ``python -m ingest`` processes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.embedders import make_embedder
from assistant.settings import load_settings
from assistant.store import ClauseStore
from eval.bench_corpus import own_document
from ingest.pipeline import ingest, remove


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(name)s: %(message)s")
    settings = load_settings(data_dir=args.data_dir)
    embedder = make_embedder(settings)
    started = time.perf_counter()
    store = ClauseStore(settings, embedder)
    opened = time.perf_counter()
    print(f"opened {len(store):,} clauses in {opened - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"timing-{time.strftime('%H%M%S')}.txt"
        path.write_text(own_document(path.stem), encoding="utf-8")
        result = ingest([path], settings, store=store)
        added = time.perf_counter()
        print(f"added {result.files[0].clauses} clauses in {added - opened:.1f} s", flush=True)
        remove([path.name], settings, embedder=embedder)
        print(f"removed it in {time.perf_counter() - added:.1f} s (opening the store again included)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
