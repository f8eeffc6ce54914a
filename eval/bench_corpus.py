"""Benchmark a real document folder end to end (``python -m eval bench --corpus DIR``):

    python -m eval bench --corpus ../shared/lawcorpus --dataset ../shared/stard/stard-dev.jsonl \
        --bench-questions eval/datasets/law/questions-dev.jsonl

1. the full ingest in a fresh process (``python -m ingest DIR``): wall time, clauses/s, peak RSS, index size;
2. the same ingest again over the unchanged folder (the incremental path: nothing to parse or encode);
3. start-up, first answer and warm ``ask`` p50/p95/p99 in a fresh process (``eval.bench.probe``), on the
   questions of ``--bench-questions`` (default: the sample questions of ``eval/bench.py``);
4. quality with every document of the folder as a distractor: each ``--dataset`` run through ``python -m eval
   run`` (hit@1/5, MRR@10, correctness, abstention, counterfactual abstention, false abstention).

The figures go into ``docs/benchmark.md`` between ``<!-- bench:corpus:NAME -->`` markers, with date, machine
and load. Only the standard library is imported here; the measured work runs in subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .bench import ROOT, machine, run_probe

QUALITY = ("hit@1", "hit@5", "mrr@10", "answer_correctness", "abstention_accuracy",
           "counterfactual_abstention", "false_abstention_rate")


def timed_process(command: list[str]) -> dict[str, Any]:
    """Run a command; its wall time, exit code and peak RSS (from ``wait4``)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": time.perf_counter() - started, "rc": process.returncode, "peak_mb": usage.ru_maxrss / 1024,
            "stderr": stderr[-2000:]}


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def ingest(corpus: Path, index_dir: Path, report: Path, config: Path | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "ingest", str(corpus), "--data-dir", str(index_dir), "--report", str(report), "-q"]
    if config:
        command += ["--config", str(config)]
    run = timed_process(command)
    if run["rc"] not in (0, 1):  # 1: some files failed, the rest was ingested
        raise RuntimeError(f"ingesting {corpus} failed (exit {run['rc']}):\n{run['stderr']}")
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    return {**run, **summary, "clauses_per_s": summary["clauses"] / run["seconds"] if summary.get("ingested") else 0.0}


def quality(dataset: Path, index_dir: Path, out: Path, config: Path | None) -> dict[str, Any]:
    """A dataset run over the index with its counterfactual copies, summarised."""
    command = [sys.executable, "-m", "eval", "run", "--dataset", str(dataset), "--data-dir", str(index_dir), "--out",
               str(out), "--counterfactual", "-q"]
    if config:
        command += ["--config", str(config)]
    run = timed_process(command)
    if run["rc"] != 0:
        raise RuntimeError(f"evaluating {dataset} failed (exit {run['rc']}):\n{run['stderr']}")
    from .dataset import load_dataset
    from .metrics import evaluate

    questions = load_dataset(dataset, counterfactual=True).items
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines()) if r}
    overall = evaluate(questions, records)["overall"]
    return {"dataset": dataset.as_posix(), "questions": len(questions), **{k: overall.get(k) for k in QUALITY}}


def bench_questions(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    from .dataset import load_dataset

    return [q.question for q in load_dataset(path).items if not q.history]


def markdown(corpus: Path, info: dict[str, Any], load: tuple, full: dict, again: dict, probe: dict,
             scores: list[dict[str, Any]], command: str, reused: bool = False) -> str:
    lines = [
        f"### `{corpus}` ({info['date']})", "",
        f"{info['cpus']} CPUs ({info['cpu']}), {info['memory_gb']:.1f} GB RAM, Python {info['python']}; load average "
        f"{load[0][0]:.2f} at the start, {load[1][0]:.2f} at the end. Command: `{command}`.", "",
        "| measure | value |", "|---|---|",
        f"| files ingested / failed / skipped | {full.get('ingested', 0)} / {full.get('failed', 0)} / {full.get('skipped', 0)} |",
        f"| clauses | {probe['clauses']:,} in {probe['documents']:,} documents |",
        (f"| ingest over the index built before (`--reuse`) | {full['seconds']:.1f} s, peak RSS {full['peak_mb']:.0f} MB |"
         if reused else
         f"| full ingest | {full['seconds'] / 60:.1f} min, {full['clauses_per_s']:.0f} clauses/s, peak RSS {full['peak_mb']:.0f} MB |"),
        f"| re-ingest of the unchanged folder | {again['seconds']:.1f} s (peak RSS {again['peak_mb']:.0f} MB) |",
        f"| index on disk | {probe['disk_mb']:.0f} MB |",
        f"| start-up (CPU) | {probe['startup_s']:.1f} s ({probe['startup_cpu_s']:.1f} s) |",
        f"| first answer | {probe['first_ms']:.0f} ms |",
        f"| warm ask p50 / p95 / p99 ({probe['queries']} questions) | {probe['p50_ms']:.0f} / {probe['p95_ms']:.0f} / {probe['p99_ms']:.0f} ms |",
        f"| peak RSS serving | {probe['peak_mb']:.0f} MB |", "",
    ]
    if scores:
        lines += ["Quality with every document of the folder as a distractor (counterfactual copies included):", "",
                  "| dataset | questions | " + " | ".join(QUALITY) + " |", "|---|---:|" + "---:|" * len(QUALITY)]
        for s in scores:
            cells = ["–" if s[k] is None else f"{s[k]:.3f}" for k in QUALITY]
            lines.append(f"| `{s['dataset']}` | {s['questions']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the section of ``name`` in ``path``."""
    start, end = f"<!-- bench:corpus:{name} -->", f"<!-- /bench:corpus:{name} -->"
    block = f"{start}\n{body}\n{end}"
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        text = head + block + rest.partition(end)[2]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def run(corpus: Path, data_dir: Path, out_dir: Path, config: Path | None, datasets: list[Path], questions_file: Path | None,
        queries: int, reuse: bool, say) -> dict[str, Any]:
    if not corpus.is_dir():
        raise SystemExit(f"--corpus {corpus}: no such folder")
    name = corpus.resolve().name
    index_dir = data_dir / f"corpus-{name}"
    info, load_start = machine(), os.getloadavg()
    reused = reuse and (index_dir / "chroma").is_dir()
    if index_dir.exists() and not reuse:
        import shutil

        shutil.rmtree(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    say(f"ingesting {corpus} into {index_dir} …")
    full = ingest(corpus, index_dir, data_dir / f"corpus-{name}-report.json", config)
    say(f"  {full.get('clauses', 0)} clauses in {full['seconds']:.0f} s ({full['clauses_per_s']:.0f}/s), peak {full['peak_mb']:.0f} MB")
    again = ingest(corpus, index_dir, data_dir / f"corpus-{name}-again.json", config)
    say(f"  re-ingest of the unchanged folder: {again['seconds']:.1f} s")
    questions = bench_questions(questions_file)
    probe = run_probe(index_dir, config, queries, questions=questions)
    probe["disk_mb"] = disk_mb(index_dir)
    say(f"  start-up {probe['startup_s']:.1f} s, p50 {probe['p50_ms']:.0f} ms, p95 {probe['p95_ms']:.0f} ms, peak {probe['peak_mb']:.0f} MB")
    scores = []
    for dataset in datasets:
        say(f"evaluating {dataset} over the whole folder …")
        scores.append(quality(dataset, index_dir, data_dir / f"corpus-{name}-{dataset.stem}.jsonl", config))
    command = "python -m eval bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])
    body = markdown(corpus, info, (load_start, os.getloadavg()), full, again, probe, scores, command.strip(), reused)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_section(out_dir / "benchmark.md", name, body)
    result = {"machine": info, "full": full, "again": again, "probe": probe, "quality": scores}
    (data_dir / f"corpus-{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    say(f"wrote {out_dir / 'benchmark.md'} and {data_dir / f'corpus-{name}.json'}")
    return result

