"""Turn scored runs into a JSON report, a Markdown table and a PNG chart (assistant vs baseline)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .dataset import Question
from .metrics import DEFINITIONS, METRICS, Metric, evaluate

BY_TYPE_COLUMNS = ("hit@5", "mrr@10", "citation_hit", "key_fact_accuracy", "answer_correctness",
                   "abstention_accuracy", "false_abstention_rate", "latency_p50_ms")
_SHORT = {"hit@5": "hit@5", "mrr@10": "MRR@10", "citation_hit": "cit. hit", "key_fact_accuracy": "key facts",
          "answer_correctness": "correct", "abstention_accuracy": "abst. acc.", "false_abstention_rate": "false abst.",
          "latency_p50_ms": "p50 ms"}


def build_report(
    questions: Sequence[Question],
    results: Mapping[str, Mapping[str, Any]],
    baseline: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The scores of a run (and of the baseline run on the same questions, when given)."""
    report: dict[str, Any] = {"sources": dict(sources or {}), "definitions": DEFINITIONS, "assistant": evaluate(questions, results)}
    if baseline is not None:
        report["baseline"] = evaluate(questions, baseline)
    return report


def fmt(metric: Metric, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.{metric.digits}f}"


def _diff(metric: Metric, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "–"
    return f"{a - b:+.{metric.digits}f}"


def markdown(report: Mapping[str, Any]) -> str:
    """Overall metrics (with the baseline and the gain over it) and the main metrics by question type."""
    run, base = report["assistant"], report.get("baseline")
    o = run["overall"]
    src = report.get("sources") or {}
    lines = [f"# Evaluation of `{src['results']}` on `{src['dataset']}`", ""] if "results" in src and "dataset" in src else []
    if base:
        lines += [f"Baseline: `{src.get('baseline', '?')}`. Δ = assistant − baseline; lower is better for "
                  "false abstention, length and latency.", ""]
    lines += [
        f"## Overall ({o['questions']} questions: {o['answerable']} answerable, {o['unanswerable']} unanswerable"
        + (f", {o['errors']} failed" if o["errors"] else "") + ")",
        "",
        "| metric | assistant | baseline | Δ |" if base else "| metric | assistant |",
        "|---|---:|---:|---:|" if base else "|---|---:|",
    ]
    for m in METRICS:
        value = o[m.name]
        if base:
            b = base["overall"][m.name]
            lines.append(f"| {m.label} | {fmt(m, value)} | {fmt(m, b)} | {_diff(m, value, b)} |")
        else:
            lines.append(f"| {m.label} | {fmt(m, value)} |")
    by_metric = {m.name: m for m in METRICS}
    lines += ["", "## By question type" + (" (assistant / baseline)" if base else ""), ""]
    lines.append("| type | n | " + " | ".join(_SHORT[c] for c in BY_TYPE_COLUMNS) + " |")
    lines.append("|---|---:|" + "---:|" * len(BY_TYPE_COLUMNS))
    for name, group in run["by_type"].items():
        cells = []
        for c in BY_TYPE_COLUMNS:
            cell = fmt(by_metric[c], group[c])
            if base and name in base["by_type"]:
                cell += " / " + fmt(by_metric[c], base["by_type"][name][c])
            cells.append(cell)
        lines.append(f"| {name} | {group['questions']} | " + " | ".join(cells) + " |")
    if run["missing"]:
        lines += ["", f"No result for {len(run['missing'])} question(s): {', '.join(run['missing'][:20])}"]
    return "\n".join(lines) + "\n"


def chart(report: Mapping[str, Any], path: Path) -> None:
    """Bars per rate metric (assistant vs baseline) and answer correctness by question type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = [("assistant", report["assistant"], "#2a6f97")]
    if "baseline" in report:
        runs.append(("baseline", report["baseline"], "#c0c0c0"))
    rates = [m for m in METRICS if m.rate]
    types = list(report["assistant"]["by_type"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), constrained_layout=True)
    width = 0.8 / len(runs)
    for i, (name, run, colour) in enumerate(runs):
        x = np.arange(len(rates)) + (i - (len(runs) - 1) / 2) * width
        top.bar(x, [run["overall"][m.name] or 0.0 for m in rates], width, label=name, color=colour)
        xt = np.arange(len(types)) + (i - (len(runs) - 1) / 2) * width
        bottom.bar(xt, [(run["by_type"].get(t) or {}).get("answer_correctness") or 0.0 for t in types], width, label=name, color=colour)
    top.set_xticks(np.arange(len(rates)), [m.label for m in rates], rotation=25, ha="right")
    top.set_ylim(0, 1.05)
    top.set_title("Overall (false-abstention rate: lower is better)")
    bottom.set_xticks(np.arange(len(types)), types, rotation=25, ha="right")
    bottom.set_ylim(0, 1.05)
    bottom.set_title("Answer correctness by question type")
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper right")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: Mapping[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    """``<stem>.report.json``, ``.md`` and ``.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{stem}.report.{ext}" for ext in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["md"].write_text(markdown(report), encoding="utf-8")
    chart(report, paths["png"])
    return paths
