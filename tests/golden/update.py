"""Regenerate the golden clause trees of the sample documents in ``corpus/``.

    .venv/bin/python tests/golden/update.py

Each ``tests/golden/<file stem>.json`` holds, per clause record in document order, its label, kind, part,
headings, the first 30 characters of its text, its responsibility note, deadlines and quality flags.
A golden file states what the parser *should* produce: after regenerating, read the diff against the
documents before committing it (``git diff tests/golden``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
GOLDEN = Path(__file__).resolve().parent
TEXT_HEAD = 30

if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from assistant.types import Clause  # noqa: E402
from ingest.documents import read_document  # noqa: E402


def clause_record(clause: Clause) -> dict[str, Any]:
    return {
        "label": clause.label,
        "kind": clause.kind,
        "part": clause.part,
        "headings": list(clause.headings),
        "text": clause.text[:TEXT_HEAD],
        "responsible": clause.responsible,
        "deadlines": list(clause.deadlines),
        "flags": list(clause.flags),
    }


def clause_tree(path: Path) -> dict[str, Any]:
    """The golden record of one document as the current parser produces it."""
    doc, _ = read_document(path)
    return {"source": path.name, "clauses": [clause_record(c) for c in doc.clauses]}


def golden_path(source: Path) -> Path:
    return GOLDEN / f"{source.stem}.json"


def dumps(tree: dict[str, Any]) -> str:
    """JSON with one clause a line, so that a diff shows which clauses changed."""
    lines = ",\n".join("  " + json.dumps(record, ensure_ascii=False) for record in tree["clauses"])
    return f'{{"source": {json.dumps(tree["source"], ensure_ascii=False)}, "clauses": [\n{lines}\n]}}\n'


def main() -> int:
    for path in sorted(CORPUS.glob("*.txt")):
        target = golden_path(path)
        text = dumps(clause_tree(path))
        changed = not target.is_file() or target.read_text(encoding="utf-8") != text
        target.write_text(text, encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {'updated' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
