"""Typed errors of the index; each message says what to do next."""

from __future__ import annotations


class IndexError_(RuntimeError):
    """The index is missing, busy, damaged or was built differently; the message says what to do."""


class EmbedderMismatchError(IndexError_):
    """The index was built with another embedder than the one configured."""


class IndexBusyError(IndexError_):
    """Another process is writing to the same data directory."""


class DamagedIndexError(IndexError_):
    """Index files cannot be read and cannot be repaired automatically."""
