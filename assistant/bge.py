"""BGE dense encoders through FlagEmbedding, loaded from local files only (nothing is downloaded).

``embedder = "bge:<spec>"`` where ``<spec>`` is a model directory or a model name found in the local
Hugging Face cache (``bge-small-zh-v1.5`` or ``BAAI/bge-small-zh-v1.5``). ``bge-m3`` checkpoints use
their dense vectors only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedders import ModelNotFoundError
from .settings import Settings

log = logging.getLogger(__name__)

ZH_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
EN_INSTRUCTION = "Represent this sentence for searching relevant passages: "
DEFAULT_ORG = "BAAI"


@dataclass(frozen=True)
class LocalModel:
    """A model directory on disk and the name that identifies the model (repo or directory name)."""

    path: Path
    name: str

    @property
    def is_m3(self) -> bool:
        return "m3" in self.name.lower() or (self.path / "colbert_linear.pt").is_file()


def hf_cache_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """The Hugging Face hub caches to look in, most specific first."""
    env = os.environ if env is None else env
    dirs = []
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            dirs.append(Path(env[key]))
    if env.get("HF_HOME"):
        dirs.append(Path(env["HF_HOME"]) / "hub")
    if env.get("XDG_CACHE_HOME"):
        dirs.append(Path(env["XDG_CACHE_HOME"]) / "huggingface" / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return list(dict.fromkeys(d.expanduser() for d in dirs))


def _name_of(path: Path) -> str:
    """``bge-small-zh-v1.5`` for ``…/models--BAAI--bge-small-zh-v1.5/snapshots/<hash>`` or ``…/bge-small-zh-v1.5``."""
    for part in reversed(path.parts):
        if part.startswith("models--"):
            return part.split("--")[-1]
    return path.name


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot of a cached repo that ``refs/main`` points at, else the newest complete one."""
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        pinned = repo_dir / "snapshots" / ref.read_text().strip()
        if (pinned / "config.json").is_file():
            return pinned
    snapshots = [p for p in (repo_dir / "snapshots").glob("*") if (p / "config.json").is_file()]
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


def resolve_model(spec: str, setting: str = "embedder", env: Mapping[str, str] | None = None) -> LocalModel:
    """Find a model on disk: a directory holding ``config.json``, or a name in the local HF cache."""
    spec = spec.strip()
    if not spec:
        raise ModelNotFoundError(f'{setting} = "bge:" names no model: use "bge:<model directory or cached model name>"')
    path = Path(spec).expanduser()
    looks_like_repo = not path.is_absolute() and not spec.startswith((".", "~")) and spec.count("/") <= 1
    repo = (spec if "/" in spec else f"{DEFAULT_ORG}/{spec}") if looks_like_repo else f"{DEFAULT_ORG}/<model>"
    if path.is_dir():
        if (path / "config.json").is_file():
            path = path.absolute()
            return LocalModel(path, _name_of(path))
        raise ModelNotFoundError(f"{path} is not a model directory (it has no config.json){_how_to(repo, setting)}")
    looked = [f"{path.absolute()} (directory)"]
    if looks_like_repo:
        folder = "models--" + repo.replace("/", "--")
        for cache in hf_cache_dirs(env):
            found = _snapshot(cache / folder)
            if found is not None:
                return LocalModel(found, repo.split("/")[-1])
            looked.append(f"{cache / folder / 'snapshots'} (Hugging Face cache)")
    places = "\n".join(f"  - {p}" for p in looked)
    raise ModelNotFoundError(f"model {spec!r} not found; looked in:\n{places}{_how_to(repo, setting)}")


def _how_to(repo: str, setting: str) -> str:
    return (
        "\nModels are never downloaded at run time. On a machine with internet access run\n"
        f"  hf download {repo} --local-dir DIR   (older huggingface_hub: huggingface-cli download {repo} --local-dir DIR)\n"
        f'then copy DIR here and set {setting} = "bge:DIR", or put the model in the Hugging Face cache (HF_HOME / HF_HUB_CACHE).'
    )


def default_instruction(name: str) -> str:
    """The query instruction a BGE model was trained with: Chinese / English v1 and v1.5 models have one, bge-m3 none."""
    lower = name.lower()
    if "m3" in lower or "bge" not in lower:
        return ""
    if "-zh" in lower:
        return ZH_INSTRUCTION
    if "-en" in lower:
        return EN_INSTRUCTION
    return ""


def _hidden_size(path: Path) -> int:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return int(config.get("hidden_size", 0))


def use_threads(threads: int) -> None:
    """Torch intra-op threads for the next call; on a busy machine more threads than free cores stall each call."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(max(1, threads))


def forbid_downloads() -> None:
    """Belt and braces before FlagEmbedding is imported: models load from local directories, never the hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def flag_options(settings: Settings) -> dict:
    """Keyword arguments shared by FlagEmbedding models: the configured device, fp16 only on an accelerator."""
    return {"devices": settings.device, "use_fp16": settings.device != "cpu", "batch_size": 32}


class BgeEmbedder:
    """A BGE encoder: passages encoded as they are, queries with the model's retrieval instruction."""

    def __init__(self, spec: str, settings: Settings) -> None:
        model = resolve_model(spec, "embedder")
        self.name = f"bge:{model.name}"
        self.path = model.path
        self.instruction = settings.bge_query_instruction or default_instruction(model.name)
        self.dim = _hidden_size(model.path)
        self.threads = settings.encoder_threads
        self._m3 = model.is_m3
        options = {**flag_options(settings), "query_instruction_for_retrieval": self.instruction or None}
        forbid_downloads()
        from FlagEmbedding import BGEM3FlagModel, FlagModel

        log.info("loading %s from %s (query instruction %r)", self.name, self.path, self.instruction)
        if self._m3:
            self._model = BGEM3FlagModel(str(self.path), **options)
        else:
            self._model = FlagModel(str(self.path), **options)

    def _dense(self, output) -> np.ndarray:
        vectors = output["dense_vecs"] if self._m3 else output
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        use_threads(self.threads)
        if self._m3:
            return self._dense(self._model.encode_corpus(list(texts), return_sparse=False, return_colbert_vecs=False))
        return self._dense(self._model.encode_corpus(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        use_threads(1)
        if self._m3:
            return self._dense(self._model.encode_queries([text], return_sparse=False, return_colbert_vecs=False))[0]
        return self._dense(self._model.encode_queries([text]))[0]
