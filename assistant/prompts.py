"""The LLM prompts: text files in ``prompts/``, loaded and checked for their placeholders at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# file stem → (placeholders it must hold, placeholders it may hold)
SPECS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "system": ((), ("cannot_answer",)),
    "answer": (("context", "question", "cannot_answer"), ()),
    "condense": (("history", "question"), ()),
}
SUFFIXES = (".md", ".txt")


class PromptError(ValueError):
    """A prompt file is missing or lacks a placeholder; the message names the file."""


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    condense: str

    @staticmethod
    def render(template: str, **values: str) -> str:
        """Fill ``{name}`` placeholders (other braces are left alone)."""
        return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), template)


def _find(directory: Path, stem: str) -> Path:
    for suffix in SUFFIXES:
        path = directory / f"{stem}{suffix}"
        if path.is_file():
            return path
    names = " or ".join(f"{stem}{s}" for s in SUFFIXES)
    raise PromptError(f"prompt file {names} not found in {directory} (set prompts_dir to the folder holding the prompts)")


def check(path: Path, text: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    found = set(_PLACEHOLDER_RE.findall(text))
    missing = [name for name in required if name not in found]
    if missing:
        listed = ", ".join("{" + n + "}" for n in missing)
        raise PromptError(f"prompt {path} lacks the placeholder {listed}; it must contain {', '.join('{' + n + '}' for n in required)}")
    unknown = sorted(found - set(required) - set(optional))
    if unknown:
        allowed = ", ".join("{" + n + "}" for n in (*required, *optional)) or "none"
        raise PromptError(f"prompt {path} has unknown placeholder {', '.join('{' + n + '}' for n in unknown)}; allowed: {allowed}")


def load_prompts(directory: Path) -> Prompts:
    """Read ``system``, ``answer`` and ``condense`` (``.md`` or ``.txt``) from a folder and check them."""
    texts = {}
    for stem, (required, optional) in SPECS.items():
        path = _find(Path(directory), stem)
        text = path.read_text(encoding="utf-8").strip()
        check(path, text, required, optional)
        texts[stem] = text
    return Prompts(**texts)
