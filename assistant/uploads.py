"""Who uploaded which document, and under which name a new upload is stored.

A document is identified by its file name, so an upload must never silently take over a name that is
someone else's. The owners live in a small JSON registry in ``data_dir/uploads/.owners.json`` (hidden, so
ingesting the folder skips it), written atomically.

Who may replace a document: its owner, and the admin. With a login configured (``settings.auth``) the
admin is the *first* user listed there; with no login the app is single-user and local, every upload is by
the local user (owner ``None``), who is admin. A document ingested from the command line (or uploaded
before the registry existed) has no owner: only the admin replaces it. Anyone else uploading a taken name gets a new version, ``name (2).txt``,
``name (3).txt``…, and uploading that name again replaces their own version.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REGISTRY = ".owners.json"
_MISSING = object()

log = logging.getLogger(__name__)


class RegistryError(RuntimeError):
    """The upload registry cannot be read."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.hint = f"fix or delete {path} (it only records who uploaded which document)"


@dataclass(frozen=True)
class Uploader:
    """Who is uploading: a login name (``None`` = the local user of an app without login)."""

    name: str | None
    admin: bool = False


@dataclass(frozen=True)
class Placement:
    """Where one upload goes: the document name it is stored and ingested under."""

    original: str
    """The name the file was uploaded with."""
    name: str
    replaces: bool
    """``name`` is an existing document of the uploader's (or the admin replaces it)."""

    @property
    def renamed(self) -> bool:
        return self.name != self.original


@dataclass(frozen=True)
class Entry:
    owner: str | None
    original: str
    uploaded: str


def registry_path(uploads_dir: Path) -> Path:
    return uploads_dir / REGISTRY


def load_registry(uploads_dir: Path) -> dict[str, Entry]:
    """Document name → its upload record (empty when nothing was uploaded yet)."""
    path = registry_path(uploads_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: Entry(e["owner"], e.get("original", name), e.get("uploaded", "")) for name, e in data.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RegistryError(path, f"unreadable upload registry ({exc})") from exc


def save_registry(uploads_dir: Path, registry: dict[str, Entry]) -> None:
    """Write the registry atomically: a temp file in the same folder, then ``os.replace``."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    data = {name: {"owner": e.owner, "original": e.original, "uploaded": e.uploaded} for name, e in sorted(registry.items())}
    fd, tmp = tempfile.mkstemp(prefix=".owners-", suffix=".tmp", dir=uploads_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, registry_path(uploads_dir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record(registry: dict[str, Entry], placement: Placement, uploader: Uploader) -> dict[str, Entry]:
    """The registry with ``placement`` recorded as the uploader's (the current content is theirs)."""
    entry = Entry(uploader.name, placement.original, datetime.now(UTC).isoformat(timespec="seconds"))
    return {**registry, placement.name: entry}


def version_name(name: str, n: int) -> str:
    """``通知.txt`` → ``通知 (2).txt``."""
    path = Path(name)
    return f"{path.stem} ({n}){path.suffix}"


def place(name: str, uploader: Uploader, registry: dict[str, Entry], taken: Collection[str]) -> Placement:
    """Where an upload named ``name`` goes, given the registry and the names already in use.

    ``taken`` holds every name in use: documents in the index, files in the uploads folder, names placed
    earlier in the same batch.
    """
    owner = registry[name].owner if name in registry else _MISSING
    if name not in taken and owner is _MISSING:
        return Placement(name, name, replaces=False)
    if uploader.admin or owner == uploader.name:
        return Placement(name, name, replaces=True)
    own = [n for n, e in registry.items() if e.original == name and e.owner == uploader.name and n != name]
    if own:
        return Placement(name, min(own, key=_version_number), replaces=True)
    n = 2
    while version_name(name, n) in taken or version_name(name, n) in registry:
        n += 1
    return Placement(name, version_name(name, n), replaces=False)


def _version_number(name: str) -> int:
    stem = Path(name).stem
    digits = stem.rsplit("(", 1)[-1].rstrip(")")
    return int(digits) if digits.isdigit() else 0


def discard(uploads_dir: Path, origin: str) -> None:
    """Delete a removed document's uploaded file and its registry entry (nothing when it was not an upload)."""
    if not origin or Path(origin).parent != uploads_dir.resolve():
        return
    Path(origin).unlink(missing_ok=True)
    try:
        registry = load_registry(uploads_dir)
        if Path(origin).name in registry:
            save_registry(uploads_dir, {n: e for n, e in registry.items() if n != Path(origin).name})
    except (RegistryError, OSError) as exc:
        log.warning("deleted upload %s is still in the upload registry: %s", origin, exc)
