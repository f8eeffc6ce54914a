"""The FastAPI app of the HTTP API: chat completions, models, documents and search under ``/v1``.

``create_app(settings)`` is testable on its own; :mod:`assistant.server` mounts the web UI beside it.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..embedders import Embedder
from ..service import Assistant
from ..settings import Settings
from . import documents, errors, openai
from .auth import RateLimiter
from .backend import Backend
from .keys import KeyStore, keys_path

DESCRIPTION = """Cited answers from the ingested policy documents, in the OpenAI chat completions format, and the
documents behind them. Send `Authorization: Bearer <key>` once any key exists (`python -m assistant keys create
NAME --scope ask|admin`). Errors come as `{"error": {"message", "type", "code"}}`."""


def create_app(settings: Settings, assistant: Assistant | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """The API over the index of ``settings`` (or over ``assistant``, which must use the same data dir)."""
    app = FastAPI(title="policyqa API", description=DESCRIPTION, version="1")
    app.state.backend = Backend(settings, assistant, embedder)
    app.state.keys = KeyStore(keys_path(settings))
    app.state.limiter = RateLimiter(settings.api_rate_limit)
    errors.install(app)
    app.include_router(openai.router)
    app.include_router(documents.router)
    return app
