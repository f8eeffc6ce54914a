"""API keys: the ``keys`` command, the key file, scopes and the rate limiter."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.api.auth import RateLimiter
from assistant.api.errors import APIError
from assistant.api.keys import KeyStore, KeyStoreError
from assistant.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def keys_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", "keys", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(data_dir)},
    )


def test_keys_create_list_revoke_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = keys_cli(data, "create", "ci-bot", "--scope", "admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.rstrip("\n").splitlines()[-1]
    assert key.startswith("pqa-") and len(key) > 40 and " " not in key
    assert key not in created.stdout.rstrip("\n").splitlines()[0]
    stored = (data / "api_keys.json").read_text(encoding="utf-8")
    assert key not in stored and key[4:20] not in stored
    record = json.loads(stored)["keys"][0]
    assert (record["name"], record["scope"]) == ("ci-bot", "admin") and record["hash"] and record["salt"]
    assert stat.S_IMODE((data / "api_keys.json").stat().st_mode) == 0o600
    assert KeyStore(data / "api_keys.json").verify(key).name == "ci-bot"

    assert keys_cli(data, "create", "reader").returncode == 0
    listed = keys_cli(data, "list")
    assert listed.returncode == 0
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert [line[:2] for line in lines] == [["ci-bot", "admin"], ["reader", "ask"]]
    assert key not in listed.stdout

    duplicate = keys_cli(data, "create", "reader")
    assert duplicate.returncode == 2 and "exists" in duplicate.stderr

    assert keys_cli(data, "revoke", "ci-bot").returncode == 0
    assert KeyStore(data / "api_keys.json").verify(key) is None
    assert [line.split()[0] for line in keys_cli(data, "list").stdout.splitlines()] == ["reader"]
    missing = keys_cli(data, "revoke", "ci-bot")
    assert missing.returncode == 2 and "no key named" in missing.stderr


def test_key_store_scopes_and_changes_seen_by_a_running_server(tmp_path: Path) -> None:
    path = tmp_path / "api_keys.json"
    server, cli = KeyStore(path), KeyStore(path)
    assert not server.active()
    asker = cli.create("asker", "ask")
    boss = cli.create("boss", "admin")
    assert server.active()
    assert server.verify(asker).allows("ask") and not server.verify(asker).allows("admin")
    assert server.verify(boss).allows("ask") and server.verify(boss).allows("admin")
    assert server.verify("pqa-nonsense") is None and server.verify(asker + "x") is None
    cli.revoke("asker")
    assert server.verify(asker) is None and server.verify(boss) is not None
    with pytest.raises(KeyStoreError):
        cli.create("bad name", "ask")
    with pytest.raises(KeyStoreError):
        cli.create("x", "root")
    with pytest.raises(KeyStoreError):
        cli.revoke("nobody")


def test_an_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "api_keys.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(KeyStoreError, match="unreadable key file"):
        KeyStore(path).active()


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(APIError) as caught:
        limiter.check("a")
    assert caught.value.status == 429 and caught.value.headers == {"Retry-After": "60"}
    now[0] = 30.0
    with pytest.raises(APIError):
        limiter.check("a")
    now[0] = 60.5
    limiter.check("a")
    unlimited = RateLimiter(0)
    for _ in range(1000):
        unlimited.check("a")


def test_rate_limit_setting_is_validated() -> None:
    assert load_settings(env={}).api_rate_limit == 60
    assert load_settings(env={"POLICYQA_API_RATE_LIMIT": "0"}).api_rate_limit == 0
    with pytest.raises(SettingsError, match="api_rate_limit"):
        load_settings(env={}, api_rate_limit=-1)
