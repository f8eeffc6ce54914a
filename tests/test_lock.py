"""requirements.lock (the constraints scripts/setup.sh installs with) agrees with pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.lock: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(s) for s in specs]


def test_every_declared_dependency_is_locked_at_a_version_it_allows() -> None:
    locked = _locked()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is in pyproject.toml but not in requirements.lock: run bash scripts/lock.sh"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={locked[name]}, outside pyproject.toml's {req.specifier}: "
            "run bash scripts/lock.sh"
        )


def test_setup_installs_with_the_lock_as_constraints() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "-c requirements.lock" in setup


def test_flagembedding_is_locked_with_a_transformers_it_can_import() -> None:
    """FlagEmbedding 1.4 imports transformers.modeling_attn_mask_utils, which transformers 5 removed."""
    locked = _locked()
    assert locked["flagembedding"] < Version("1.5")
    assert locked["transformers"] < Version("5")
