"""Run by tests in another process: ingest or remove with the fast test embedder, logging each step.

``python tests/index_worker.py DATA_DIR ingest PATH...`` · ``... remove NAME...`` · ``... hold SECONDS``
(hold: take the data directory's write lock and keep it). Exit status 3 when another writer holds the lock."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes import HashEmbedder

from assistant.index.lock import WriteLock
from assistant.settings import load_settings
from assistant.store import IndexBusyError
from ingest.pipeline import ingest, remove


class _Stall(logging.Filter):
    """Pause after logging a step whose message contains ``$STALL_AT``, so that a test can kill the process
    right there (steps that are over in microseconds otherwise race the kill)."""

    def filter(self, record: logging.LogRecord) -> bool:
        marker = os.environ.get("STALL_AT", "")
        if marker and marker in record.getMessage():
            sys.stderr.write(f"STEP {record.getMessage()}\n")
            sys.stderr.flush()
            time.sleep(30)
        return True


def main(argv: list[str]) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("STEP %(message)s"))
    handler.setLevel(logging.INFO)
    handler.addFilter(_Stall())
    for name in ("ingest", "assistant"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(handler)
    data_dir, command, *args = argv
    settings = load_settings(env={}, data_dir=Path(data_dir),
                             checkpoint_seconds=float(os.environ.get("CHECKPOINT_SECONDS", "120")))
    embedder = HashEmbedder()
    try:
        if command == "ingest":
            result = ingest([Path(a) for a in args], settings, embedder=embedder)
            print("STEP done", len(result.failed), flush=True)
        elif command == "remove":
            remove(args, settings, embedder=embedder)
            print("STEP done", flush=True)
        elif command == "hold":
            with WriteLock(settings.data_dir / "write.lock"):
                print("STEP holding", flush=True)
                time.sleep(float(args[0]))
    except IndexBusyError as exc:
        print(f"BUSY {exc}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
