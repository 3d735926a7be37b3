"""When to retry a failed attempt, and how long to wait first.

Retried: connection errors, timeouts, 408, 409 (not for creates), 429 and 5xx, unless
the server says otherwise with ``x-should-retry``. The wait is the server's
``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date) when it gives a usable
one, else exponential backoff from 0.5 s doubling to 8 s, each wait shortened by a
random 0-25 % so that concurrent callers do not retry in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RetryNotice", "RetryPolicy", "server_delay"]

_RETRY_STATUSES = frozenset({408, 409, 429})


@attrs.frozen
class RetryNotice:
    """What a retry log record carries (``extra={"payi_retry": notice}`` on the
    ``payi_async`` logger, at INFO), for a program that shows retries to its user."""

    #: The number of the attempt about to be made, counting the first as 1.
    attempt: int
    #: ``max_retries + 1``.
    max_attempts: int
    #: Why: "a read timeout", "a connection error", "status 503", ...
    reason: str
    #: Seconds waited before the attempt.
    wait: float


@attrs.frozen
class RetryPolicy:
    """How a client retries. ``max_retries`` extra attempts follow the first."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    #: A server asking for a longer wait than this gets no retry: the error is raised
    #: at once, with its ``retry_after``, rather than the call sleeping that long.
    max_retry_after: float = 60.0

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        delay = min(self.initial_delay * 2.0**retry_number, self.max_delay)
        return delay * (1.0 - 0.25 * random.random())

    def should_retry(self, status: int, headers: Mapping[str, str], *, create: bool) -> bool:
        """Whether an answer with ``status`` may be retried."""
        verdict = headers.get("x-should-retry")
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        if status == 409 and create:
            # A conflict on a create is the server's verdict on this very body.
            return False
        return status in _RETRY_STATUSES or status >= 500


def server_delay(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait the server asked for, in seconds, or None when it gave no usable one.

    ``retry-after-ms`` wins over ``retry-after``; zero, negative and unparsable values
    are ignored (the caller then backs off on its own schedule).
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if ms > 0 and ms == ms and ms != float("inf"):
            return ms / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds > 0 and seconds != float("inf"):
        return seconds
    return None
