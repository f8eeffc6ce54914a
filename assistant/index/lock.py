"""One writer at a time per data directory: an advisory lock on ``data_dir/write.lock``.

The lock is held by the process (``fcntl.flock``), so a writer killed at any point releases it; the file
only records who holds it, for the message the next writer shows.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import IndexBusyError


class WriteLock:
    """Exclusive, non-blocking: a second writer gets :class:`IndexBusyError` at once instead of waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise IndexBusyError(
                f"another ingest is writing to {self.path.parent} (process {holder}); "
                "wait for it to finish, then run this again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False when another process writes."""
        try:
            self.acquire()
        except IndexBusyError:
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
