"""Every retry decision: whether a failed attempt is retried, after how long, and why.

Retried: connection errors, timeouts, 408, 409 (not for creates), 429 and 5xx, unless
the server says otherwise with ``x-should-retry``. The wait is the server's
``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date) when it gives a usable
one, else exponential backoff from 0.5 s doubling to 8 s, each wait shortened by a
random 0-25 % so that concurrent callers do not retry in lockstep. A server asking for
more than ``max_retry_after`` gets no retry. A 429's wait is handed to the client's
pacer (``_throttle``), which holds back every request of the client, not just this one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol

import attrs

__all__ = ["Clock", "Retry", "RetryNotice", "RetryPolicy", "server_delay"]

_RETRY_STATUSES = frozenset({408, 409, 429})


class Clock(Protocol):
    """What a client waits on: ``RetryPolicy(clock=...)``, e.g. a test's fake clock.

    The default is the running event loop's ``time()`` and ``asyncio.sleep``.
    """

    def time(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (run on the client's event loop, also for ``Payi``)."""
        ...


@attrs.frozen
class Retry:
    """The policy's verdict on a failed attempt: retry after ``wait`` seconds."""

    wait: float
    #: A short English phrase for logs: "a read timeout", "status 503".
    reason: str
    #: The wait is the server's rate limit: the pacer holds every request for it.
    pace: bool = False


@attrs.frozen
class RetryNotice:
    """Attached to each retry's log record as ``record.payi_retry``."""

    #: The number of the attempt about to be made, the first counting as 1.
    attempt: int
    #: ``max_retries + 1``.
    max_attempts: int
    #: Why: "a read timeout", "a connection error", "status 503", "status 429", ...
    reason: str
    #: Seconds waited before the attempt.
    wait: float


@attrs.frozen
class RetryPolicy:
    """How a client retries. ``max_retries`` extra attempts follow the first.

    Pass one as ``max_retries=RetryPolicy(...)`` to ``AsyncPayi``, ``Payi`` or
    ``with_options``.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    #: A server asking for a longer wait than this gets no retry: the error is raised
    #: at once, with its ``retry_after``, rather than the call sleeping that long.
    max_retry_after: float = 60.0
    #: The clock the waits between attempts (and a 429's pause) are taken on; ``None``
    #: is the event loop's. ``with_options(max_retries=n)`` keeps it.
    clock: Clock | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        count = self.max_retries
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"max_retries must be an int, not {type(count).__name__}")
        if count < 0:
            raise ValueError(f"max_retries must be at least 0, not {count}")
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, not {value!r}")

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        delay = min(self.initial_delay * 2.0 ** min(retry_number, 64), self.max_delay)
        return delay * (1.0 - 0.25 * random.random())

    def should_retry(self, status: int, headers: Mapping[str, str], *, create: bool) -> bool:
        """Whether an answer with ``status`` may be retried (the attempt count aside)."""
        verdict = headers.get("x-should-retry")
        if verdict == "true":
            return True
        if verdict == "false":
            return False
        if status == 409 and create:
            # A conflict on a create is the server's verdict on this very body.
            return False
        return status in _RETRY_STATUSES or status >= 500

    def after_error(self, retry_number: int, reason: str) -> Retry | None:
        """Retry ``retry_number`` (0 for the first) after a connection error or timeout."""
        if retry_number >= self.max_retries:
            return None
        return Retry(self.backoff(retry_number), reason)

    def after_status(
        self, retry_number: int, status: int, headers: Mapping[str, str], *, create: bool
    ) -> Retry | None:
        """Retry ``retry_number`` after a non-2xx answer, or ``None`` to raise it."""
        if retry_number >= self.max_retries or not self.should_retry(
            status, headers, create=create
        ):
            return None
        asked = server_delay(headers)
        if asked is not None and asked > self.max_retry_after:
            return None
        wait = asked if asked is not None else self.backoff(retry_number)
        return Retry(wait, f"status {status}", pace=status == 429)


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
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds > 0 and seconds != float("inf"):
        return seconds
    return None
