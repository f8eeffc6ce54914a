"""``python -m assistant serve``: one server for the HTTP API (``/v1``, ``/docs``, ``/openapi.json``) and the web
UI (mounted at ``/``), sharing one assistant."""

from __future__ import annotations

import os

from fastapi import FastAPI

from .embedders import make_embedder
from .index.errors import IndexError_
from .service import Assistant
from .settings import Settings


def build_server(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """The API app with the Gradio UI mounted at ``/`` (the API's routes match first)."""
    import gradio as gr

    from .api.app import create_app
    from .ui import build_app, launch_options

    embedder = assistant.embedder if assistant is not None else make_embedder(settings)
    if assistant is None:
        try:
            assistant = Assistant(settings, embedder=embedder)
        except IndexError_:  # an empty index: the UI and the API build their assistant after the first upload
            assistant = None
    app = create_app(settings, assistant, embedder=embedder)
    blocks = build_app(settings, assistant, embedder=embedder)
    options = launch_options(settings)
    return gr.mount_gradio_app(app, blocks, path="/", **options)


def serve(settings: Settings) -> None:
    """Serve the API and the UI on ``settings.host:port`` until stopped."""
    import uvicorn

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    uvicorn.run(build_server(settings), host=settings.host, port=settings.port, log_level="warning")
