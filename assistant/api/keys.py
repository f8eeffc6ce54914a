"""API keys: created and revoked from the command line, checked by the server on every request.

The keys live in ``data_dir/api_keys.json``, each as a name, a scope, a random salt and the SHA-256 of salt +
key; the plain key is shown once, when it is created, and stored nowhere. (A key is 32 random bytes, so a fast
hash is enough: there is nothing to guess.) The file is written atomically (a temp file, then ``os.replace``)
under an advisory lock, and re-read by the server whenever it changes, so a key created or revoked while the
server runs counts from the next request.

Scopes: ``ask`` (chat completions, models, search) and ``admin`` (everything, including documents).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..settings import Settings

KEYS_FILE = "api_keys.json"
SCOPES = ("ask", "admin")
PREFIX = "pqa-"
_NAME = re.compile(r"^[\w.@-]{1,64}$")


class KeyStoreError(ValueError):
    """A key cannot be created or revoked, or the key file cannot be read; the message says what to do."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key: who it is for and what it may do (never the key itself)."""

    name: str
    scope: str
    created: str
    salt: str
    hash: str

    def allows(self, scope: str) -> bool:
        """Whether this key may use a route needing ``scope`` (admin implies ask)."""
        return self.scope == "admin" or self.scope == scope

    def public(self) -> dict[str, str]:
        return {"name": self.name, "scope": self.scope, "created": self.created}


def keys_path(settings: Settings) -> Path:
    return settings.data_dir / KEYS_FILE


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + key.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    # ------------------------------------------------------------ reading

    def _read(self) -> dict[str, ApiKey]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {k["name"]: ApiKey(k["name"], k["scope"], k.get("created", ""), k["salt"], k["hash"]) for k in data["keys"]}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise KeyStoreError(
                f"{self.path}: unreadable key file ({exc}); fix it, or delete it and create the keys again"
            ) from exc

    def keys(self) -> dict[str, ApiKey]:
        """The current keys, re-read when the file has changed since the last call."""
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                self._keys = self._read() if stamp is not None else {}
                self._stamp = stamp
            return self._keys

    def active(self) -> bool:
        """Whether any key exists (then every API route needs one)."""
        return bool(self.keys())

    def verify(self, key: str) -> ApiKey | None:
        """The stored key matching a presented one, or None."""
        found = None
        for stored in self.keys().values():
            if hmac.compare_digest(_digest(stored.salt, key), stored.hash):
                found = stored
        return found

    def list(self) -> list[ApiKey]:
        return sorted(self.keys().values(), key=lambda k: k.name)

    # ------------------------------------------------------------ writing

    @contextmanager
    def _writing(self) -> Iterator[dict[str, ApiKey]]:
        """Read-modify-write under an advisory lock, so two ``keys create`` at once both count."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            keys = dict(self._read())
            yield keys
            self._write(keys)
        finally:
            os.close(fd)

    def _write(self, keys: dict[str, ApiKey]) -> None:
        data = {"keys": [asdict(k) for k in sorted(keys.values(), key=lambda k: k.name)]}
        fd, tmp = tempfile.mkstemp(prefix=".api_keys-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create(self, name: str, scope: str = "ask") -> str:
        """Store a new key; returns the plain key (shown once, stored nowhere)."""
        if not _NAME.match(name):
            raise KeyStoreError(f"invalid key name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
        if scope not in SCOPES:
            raise KeyStoreError(f"invalid scope {scope!r}; one of {', '.join(SCOPES)}")
        with self._writing() as keys:
            if name in keys:
                raise KeyStoreError(f"a key named {name!r} exists; revoke it first or choose another name")
            plain = PREFIX + secrets.token_urlsafe(32)
            salt = secrets.token_hex(16)
            created = datetime.now(UTC).isoformat(timespec="seconds")
            keys[name] = ApiKey(name, scope, created, salt, _digest(salt, plain))
        return plain

    def revoke(self, name: str) -> None:
        with self._writing() as keys:
            if name not in keys:
                known = ", ".join(sorted(keys)) or "none"
                raise KeyStoreError(f"no key named {name!r} (keys: {known})")
            del keys[name]
