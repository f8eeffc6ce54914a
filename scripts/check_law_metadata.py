"""How many lawcorpus files get each metadata field: ``python scripts/check_law_metadata.py [../shared/lawcorpus]``."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from ingest.documents import read_document

FIELDS = ("title", "doc_type", "issuer", "effective", "date_issued", "doc_number", "history")


def main(root: Path) -> None:
    files = sorted(p for p in root.rglob("*.md") if p.name != "README.md")
    filled: Counter = Counter()
    types: Counter = Counter()
    local = local_region = 0
    failed = []
    for path in files:
        try:
            meta = read_document(path)[0].meta
        except Exception as exc:  # a survey: count the failure and go on
            failed.append(f"{path.relative_to(root)}: {exc}")
            continue
        folder = path.relative_to(root).parts[0]
        for name in FIELDS:
            filled[name] += bool(getattr(meta, name))
        types[folder, meta.doc_type] += 1
        if folder == "DLC":
            local += 1
            local_region += bool(meta.region_code)
        else:
            filled["national without region"] += not meta.region
    print(f"{len(files)} files, {len(failed)} failed")
    for name in FIELDS:
        print(f"  {name:12} {filled[name]:5}  {filled[name] / len(files):.1%}")
    print(f"  DLC with region {local_region}/{local}; national without region {filled['national without region']}")
    for (folder, kind), n in sorted(types.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  {folder:10} {kind or '—':8} {n}")
    for line in failed[:10]:
        print("  failed:", line)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/lawcorpus"))
