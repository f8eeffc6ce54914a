"""What the API routes share: the assistant (built when the index has documents), the question log, and one
writer at a time for document changes.

Writes go through a store of their own and commit a new index revision; the assistant notices the revision
before its next question and reloads (see :meth:`assistant.service.Assistant.ask`), and so does the web
UI's assistant in the same process.
"""

from __future__ import annotations

import threading
from typing import Any

from ..embedders import Embedder, make_embedder
from ..index.errors import IndexError_
from ..questionlog import QuestionLog
from ..service import Assistant
from ..settings import Settings


class Backend:
    def __init__(self, settings: Settings, assistant: Assistant | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._assistant = assistant
        self._embedder = assistant.embedder if assistant is not None else embedder
        self._build_lock = threading.Lock()
        self.write_lock = threading.Lock()
        """Held by every document change made through the API."""
        self.log = QuestionLog(settings.question_log, settings.log_retention_days)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._build_lock:
                if self._embedder is None:
                    self._embedder = make_embedder(self.settings)
        return self._embedder

    def assistant(self) -> Assistant:
        """The assistant; :class:`IndexError_` while the index is empty."""
        if self._assistant is None:
            embedder = self.embedder
            with self._build_lock:
                if self._assistant is None:
                    self._assistant = Assistant(self.settings, embedder=embedder)
        return self._assistant

    def documents(self) -> list[dict[str, Any]]:
        """Every document: its metadata, clause count, whether it is enabled, and the path it came from."""
        try:
            assistant = self.assistant()
            listed = assistant.documents()  # reloads the store first when the index has changed
        except IndexError_:
            return []
        store = assistant.store
        return [
            {**doc, "enabled": doc["source"] not in store.disabled, "path": store.origin(doc["source"])}
            for doc in listed
        ]

    def document(self, source: str) -> dict[str, Any] | None:
        return next((d for d in self.documents() if d["source"] == source), None)
