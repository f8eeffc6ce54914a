"""Who is calling: the ``Authorization: Bearer`` key of a request, its scope, and its rate limit.

With no keys created the API is open (a local, single-user server). Once a key exists every route needs one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .errors import APIError
from .keys import KeyStore

WINDOW = 60.0
"""Seconds of the rate limit's sliding window (the limit is requests per minute)."""
CREATE_HINT = "create one with: python -m assistant keys create NAME --scope ask|admin"


@dataclass(frozen=True)
class Caller:
    """The key a request came with (name '' when the API is open)."""

    name: str
    scope: str


class RateLimiter:
    """At most ``limit`` requests per key in any ``window`` seconds (0 = no limit)."""

    def __init__(self, limit: int, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str) -> None:
        """Count one request of ``name``; :class:`APIError` 429 (with ``Retry-After``) past the limit."""
        if self.limit <= 0:
            return
        now = self.clock()
        with self._lock:
            times = self._seen.setdefault(name, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                wait = max(1, math.ceil(times[0] + self.window - now))
                raise APIError(
                    429,
                    f"rate limit reached: at most {self.limit} requests a minute per key (api_rate_limit); "
                    f"retry in {wait} s",
                    "rate_limit_exceeded",
                    {"Retry-After": str(wait)},
                )
            times.append(now)


def require(scope: str) -> Callable[[Request], Caller]:
    """A FastAPI dependency: the request's key, which must allow ``scope`` and be within its rate limit."""

    def dependency(request: Request) -> Caller:
        keys: KeyStore = request.app.state.keys
        limiter: RateLimiter = request.app.state.limiter
        if not keys.active():
            return Caller("", "admin")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise APIError(401, f"missing API key: send the header 'Authorization: Bearer <key>' ({CREATE_HINT})",
                           "missing_api_key")
        key = keys.verify(token)
        if key is None:
            raise APIError(401, f"invalid API key (revoked or mistyped; {CREATE_HINT})", "invalid_api_key")
        if not key.allows(scope):
            raise APIError(403, f"the key {key.name!r} has scope {key.scope!r}; this route needs {scope!r}",
                           "insufficient_scope")
        limiter.check(key.name)
        return Caller(key.name, key.scope)

    return dependency


ask_scope = require("ask")
admin_scope = require("admin")
AskCaller = Annotated[Caller, Depends(ask_scope)]
"""A route parameter: the caller, who needs the ask scope."""
AdminCaller = Annotated[Caller, Depends(admin_scope)]
"""A route parameter: the caller, who needs the admin scope."""
