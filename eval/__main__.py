"""``python -m eval run | report | compare | bench``: the batch evaluator over known-answer datasets.

    python -m eval run --dataset eval/datasets/dev.jsonl --out runs/dev.jsonl [--engine baseline]
    python -m eval report runs/dev.jsonl --dataset eval/datasets/dev.jsonl --baseline runs/dev.baseline.jsonl
    python -m eval compare runs/before.jsonl runs/after.jsonl --dataset eval/datasets/dev.jsonl
    python -m eval index --manifest eval/datasets/law/documents.json --data-dir /tmp/law   (the law set's corpus)
    python -m eval fit answerability --set /tmp/law eval/datasets/law/questions-train.jsonl   (see eval/fit/)
    python -m eval bench ...   (see eval/bench.py)

``run`` answers with one worker by default so that latencies are those of a lone user; ``--workers N``
answers N questions at once on threads sharing one assistant (same answers, inflated latencies).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .dataset import DatasetError, load_dataset, load_results


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval", description="Evaluate the assistant on a known-answer dataset.",
        epilog="'python -m eval bench ...' runs the benchmark of eval/bench.py.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index location (used by run; accepted everywhere)")
    common.add_argument("-v", "--verbose", action="store_true")
    common.add_argument(
        "--counterfactual", action="store_true",
        help="add, for every answerable question with gold, the same question with its gold documents excluded "
        "(it must abstain; reported as counterfactual abstention)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="answer every question of a dataset, write result records")
    run.add_argument("--dataset", type=Path, required=True, help="dataset JSONL")
    run.add_argument("--out", type=Path, required=True, help="result records JSONL to write")
    run.add_argument("--config", type=Path, help="settings TOML file")
    run.add_argument("--engine", choices=("assistant", "baseline"), default="assistant")
    run.add_argument("--corpus", type=Path, default=Path("corpus"), help="document folder of the baseline (default corpus/)")
    run.add_argument("--manifest", type=Path,
                     help="the baseline reads the manifest's documents (eval/datasets/law/documents.json) and corpus/")
    run.add_argument(
        "--workers", type=int, default=1,
        help="questions answered concurrently (threads); default 1 so latencies are not inflated by contention",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    report = sub.add_parser("report", parents=[common], help="metrics, Markdown table and chart of a run")
    report.add_argument("results", type=Path)
    report.add_argument("--dataset", type=Path, required=True)
    report.add_argument("--baseline", type=Path, help="result records of the baseline on the same dataset")
    report.add_argument("--out-dir", type=Path, help="where to write the report (default: next to RESULTS)")

    index = sub.add_parser("index", parents=[common], help="ingest a manifest's documents and the sample corpus")
    index.add_argument("--manifest", type=Path, required=True, help="e.g. eval/datasets/law/documents.json")
    index.add_argument("--config", type=Path, help="settings TOML file")
    index.add_argument("--no-samples", action="store_true", help="leave the five sample documents out")

    fit = sub.add_parser("fit", parents=[common], help="fit a tunable part on train questions (answerability)")
    fit.add_argument("what", choices=("answerability", "retrieval", "ranker", "adapter", "question-words", "sentences", "intent", "english-names", "lengths"))
    fit.add_argument(
        "--set", nargs=2, action="append", metavar=("DATA_DIR", "DATASET"), type=Path,
        help="answerability, retrieval, ranker, sentences, lengths …: an index and a train dataset over it (repeat for several)",
    )
    fit.add_argument(
        "--holdout", nargs="+", type=Path, default=[],
        help="adapter: dev and test datasets whose documents the fit leaves out of its contrast set",
    )
    fit.add_argument(
        "--folds-out", type=Path,
        help="adapter: also write each fold's map (fitted without its documents) into this folder",
    )
    fit.add_argument(
        "--cross-fit", type=Path,
        help="retrieval, answerability: a --folds-out folder; each train question goes through the adapter "
        "not fitted on its document",
    )
    fit.add_argument("--questions", nargs="+", type=Path, help="question-words: train datasets (and STARD)")
    fit.add_argument("--corpus", type=Path, help="question-words: the document corpus (../shared/lawcorpus)")
    fit.add_argument("--out", type=Path, help="artifact to write (default: the one in assistant/resources/)")
    fit.add_argument("--config", type=Path, help="settings TOML file")

    split = sub.add_parser("split", parents=[common], help="split a dataset by document into train and dev files")
    split.add_argument("--dataset", type=Path, required=True)
    split.add_argument("--fraction", type=float, default=0.6, help="share of the questions in train (default 0.6)")
    split.add_argument("--out-dir", type=Path, required=True)

    compare = sub.add_parser("compare", parents=[common], help="questions whose correctness or hit changed from A to B")
    compare.add_argument("a", type=Path, help="result records before")
    compare.add_argument("b", type=Path, help="result records after")
    compare.add_argument("--dataset", type=Path, required=True)
    return p


def _warn(console: Console, problems: list[str]) -> None:
    for problem in problems:
        console.print(f"[yellow]warning:[/yellow] {escape(problem)}", highlight=False, soft_wrap=True)


def _results(console: Console, path: Path) -> dict[str, dict]:
    loaded = load_results(path)
    _warn(console, loaded.problems)
    return {r["id"]: r for r in loaded.items}


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .runner import make_engine, run

    dataset = load_dataset(args.dataset, counterfactual=args.counterfactual)
    _warn(console, dataset.problems)
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    with console.status(f"loading the {args.engine} engine…"):
        engine = make_engine(args.engine, data_dir=args.data_dir, config=args.config, corpus=args.corpus,
                             manifest=args.manifest)
    started = time.perf_counter()
    with Progress(
        TextColumn(f"[bold]{args.engine}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True, disable=args.quiet,
    ) as bar:
        task = bar.add_task("", total=len(dataset.items))
        records = run(engine, dataset.items, workers=args.workers, progress=lambda r: bar.update(task, advance=1, description=r["id"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    failed = [r["id"] for r in records if r.get("error")]
    console.print(
        f"{len(records)} questions → {args.out} in {time.perf_counter() - started:.1f} s "
        f"({sum(r['abstained'] for r in records)} abstained, {len(failed)} failed"
        + (f", {len(dataset.problems)} invalid dataset lines skipped" if dataset.problems else "") + ")",
        highlight=False,
    )
    if failed:
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        console.print(f"[red]failed questions:[/red] {', '.join(failed[:10])}{more} (see each record's 'error' field; -v for tracebacks)")
    return 1 if failed else 0


def cmd_index(args: argparse.Namespace, console: Console) -> int:
    from assistant.settings import load_settings
    from ingest.pipeline import ingest

    from .manifest import SAMPLES, load_manifest

    manifest = load_manifest(args.manifest)
    settings = load_settings(args.config, data_dir=args.data_dir)
    started = time.perf_counter()
    with console.status(f"ingesting {len(manifest.documents)} documents of {manifest.root}…"):
        result = ingest(manifest.paths(), settings, root=manifest.root)
        if not args.no_samples:
            result.files += ingest([SAMPLES], settings).files
    summary = result.to_dict()["summary"]
    console.print(f"{summary['ingested']} ingested, {summary['unchanged']} unchanged, {summary['failed']} failed; "
                  f"{summary['clauses']} clauses in {settings.data_dir} ({time.perf_counter() - started:.0f} s)",
                  highlight=False)
    return 1 if result.failed else 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from .report import build_report, markdown, write_report

    dataset = load_dataset(args.dataset, counterfactual=args.counterfactual)
    _warn(console, dataset.problems)
    results = _results(console, args.results)
    baseline = _results(console, args.baseline) if args.baseline else None
    sources = {"dataset": str(args.dataset), "results": str(args.results)}
    if args.baseline:
        sources["baseline"] = str(args.baseline)
    known = {q.id for q in dataset.items}
    for name, records in (("results", results), ("baseline", baseline or {})):
        extra = sorted(set(records) - known)
        if extra:
            _warn(console, [f"{len(extra)} {name} record(s) match no question of {args.dataset} and are ignored: {', '.join(extra[:10])}"])
    report = build_report(dataset.items, results, baseline, sources=sources)
    paths = write_report(report, args.out_dir or args.results.parent, args.results.stem)
    print(markdown(report))
    console.print("written: " + ", ".join(str(p) for p in paths.values()), highlight=False)
    return 0


def cmd_fit(args: argparse.Namespace, console: Console) -> int:
    resources = Path(__file__).resolve().parent.parent / "assistant" / "resources"
    if args.what == "question-words":
        from .fit.question_words import run as run_words

        if not args.questions or not args.corpus:
            raise ValueError("fit question-words needs --questions FILE… and --corpus DIR")
        args.out = args.out or resources / "question_words.json"
        with console.status("counting words of questions and documents…"):
            provenance = run_words(args.questions, args.corpus, args.out)
    else:
        from assistant.settings import load_settings

        from .fit import adapter, answerability, english_names, intent, lengths, ranker, retrieval, sentences

        if not args.set:
            raise ValueError(f"fit {args.what} needs at least one --set DATA_DIR DATASET")
        encoder = load_settings(args.config).embedder.strip().split(":")[0]
        if args.what == "sentences":
            from assistant.answer.extractive import SENTENCE_ARTIFACT

            args.out = args.out or resources / SENTENCE_ARTIFACT
        elif args.what == "lengths":
            from assistant.answer.extractive import LENGTHS_ARTIFACT

            args.out = args.out or resources / LENGTHS_ARTIFACT
        elif args.what == "intent":
            from assistant.retrieval.intent import ARTIFACT

            args.out = args.out or resources / ARTIFACT
        else:
            args.out = args.out or resources / f"{args.what}-{encoder}.json"
        fitter = {"answerability": partial(answerability.run, cross_fit=args.cross_fit),
                  "retrieval": partial(retrieval.run, cross_fit=args.cross_fit), "ranker": ranker.run, "sentences": sentences.run,
                  "lengths": lengths.run, "intent": intent.run, "english-names": english_names.run,
                  "adapter": partial(adapter.run, holdout=args.holdout, folds_out=args.folds_out)}[args.what]
        with console.status("running the train questions through the answer path…"):
            provenance = fitter([(d, q) for d, q in args.set], args.out, config=args.config)
    console.print(json.dumps(provenance, ensure_ascii=False, indent=1), highlight=False)
    console.print(f"written: {args.out}", highlight=False)
    return 0


def cmd_split(args: argparse.Namespace, console: Console) -> int:
    from .split import run as run_split

    counts = run_split(args.dataset, args.fraction, args.out_dir)
    console.print(f"{counts['train']} questions ({counts['train_documents']} documents) in train, "
                  f"{counts['dev']} ({counts['dev_documents']}) in dev → {args.out_dir}", highlight=False)
    return 0


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from .compare import changes, format_changes

    dataset = load_dataset(args.dataset, counterfactual=args.counterfactual)
    _warn(console, dataset.problems)
    a, b = _results(console, args.a), _results(console, args.b)
    found = changes(dataset.items, a, b)
    print(f"A = {args.a}\nB = {args.b}\n")
    print(format_changes(found))
    common = [q.id for q in dataset.items if q.id in a and q.id in b]
    console.print(f"{len(found)} of {len(common)} questions in both runs changed", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bench":
        from eval.bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # on the handler: bm25s sets its own logger to DEBUG when imported
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    console = Console(stderr=True, soft_wrap=True)
    commands = {"run": cmd_run, "report": cmd_report, "compare": cmd_compare, "index": cmd_index, "fit": cmd_fit, "split": cmd_split}
    try:
        return commands[args.command](args, console)
    except BrokenPipeError:  # output piped into e.g. head
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter quiet at exit
        return 0
    except (DatasetError, ValueError, RuntimeError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
