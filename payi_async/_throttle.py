"""Client-wide pacing learned from 429 answers.

Every attempt of a client first asks its ``Throttle`` how long to wait, which is
nothing until the server answers 429. A 429 asking for ``W`` seconds then holds every
request of the client for ``W`` s, after which attempts start no faster than 90 % of
the rate the server accepted in the ``W`` s before that 429 (and at least one per
``W`` s). Without that, the callers held back would all come back at the same instant
and meet another wall of 429s (each one using up a retry). Each quiet ``W`` lets the
pace grow (x1.25, or x2 when the first estimate rested on almost no answers, as after
a 429 on a cold start), and pacing ends once no 429 has come for ten times ``W``
(5 to 60 s).
"""

from __future__ import annotations

from collections import deque

__all__ = ["Throttle"]

#: How many recent accepted answers are remembered to estimate the server's rate.
_HISTORY = 4096
#: The share of the observed accepted rate that pacing allows.
_SHARE = 0.9
#: Accepted answers in the last wait below which the observed rate is only a guess.
_EVIDENCE = 4
#: How much faster pacing may go after each quiet ``wait`` from a measured rate.
_GROWTH = 1.25


class Throttle:
    """Shared by every request of one transport; all times are the event loop's clock."""

    __slots__ = ("_accepted", "_evidence", "_interval", "_next", "_resume", "_step", "_until")

    def __init__(self) -> None:
        self._accepted: deque[float] = deque(maxlen=_HISTORY)
        self._next = 0.0
        self._interval = 0.0
        self._until = 0.0
        self._resume = 0.0
        self._step = 1.0
        self._evidence = False

    def accepted(self, now: float) -> None:
        """The server answered an attempt with something other than 429."""
        self._accepted.append(now)

    def limited(self, now: float, wait: float) -> None:
        """The server answered 429 and asked for ``wait`` seconds (> 0)."""
        since = now - wait
        recent = 0
        for stamp in reversed(self._accepted):
            if stamp <= since:
                break
            recent += 1
        # With a few answers to go on the rate is a guess: grow out of it quickly.
        self._evidence = recent >= _EVIDENCE
        rate = max(_SHARE * recent / wait, 1.0 / wait)
        self._interval = 1.0 / rate
        self._step = wait
        self._resume = self._next = max(self._next, now + wait)
        self._until = now + min(max(10.0 * wait, 5.0), 60.0)

    def delay(self, now: float) -> float:
        """Seconds the next attempt must wait; its start time is booked."""
        if now >= self._until:
            return 0.0
        start = max(now, self._next)
        # Each quiet ``wait`` since pacing began allows a faster pace (like TCP's
        # congestion window): x1.25 from a measured rate, x2 from a guess.
        periods = min(max(0.0, (start - self._resume) / self._step), 40.0)
        growth = (_GROWTH if self._evidence else 2.0) ** periods
        self._next = start + self._interval / growth
        return start - now
