"""Fault injection: error answers, rate limits, latency, dropped connections, budgets.

Everything is off by default. The decisions come from a ``random.Random(seed)`` so a
sequence of requests meets the same faults on every run. For each request, in order:

1. ``request_budget``: once that many requests were seen, every request is a 429.
2. ``rate_limit_rate``: a 429 with ``Retry-After`` (whole seconds, rounded up) and
   ``retry-after-ms`` both saying ``retry_after``.
3. ``error_rate``: a 500 or 503 (picked from ``error_statuses``); a 503 carries the
   same ``Retry-After`` headers.
4. ``drop_rate``: the connection is closed mid-response before anything is done
   (``drop_stage`` "headers": after part of the status line and headers; "body":
   after the headers and part of a JSON body).
5. ``latency`` seconds of delay, then the request is handled.
6. ``fail_after_commit_rate`` (POST and DELETE only): the write is committed and then
   the answer fails as ``fail_after_commit_mode`` says: "503" (with ``Retry-After``)
   or "drop" (connection closed after part of the body).

``methods`` limits all of it to some HTTP methods; ``max_faults`` stops injecting
after that many faults (so ``error_rate=1.0, max_faults=1`` fails exactly the first
request). Latency does not count as a fault.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal

__all__ = ["Decision", "FaultInjector", "Faults"]

FaultKind = Literal["budget", "rate_limit", "error", "drop", "after_commit"]


@dataclass(frozen=True)
class Faults:
    """What to inject; the defaults inject nothing."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    latency: float = 0.0
    drop_rate: float = 0.0
    drop_stage: Literal["headers", "body"] = "body"
    request_budget: int | None = None
    fail_after_commit_rate: float = 0.0
    fail_after_commit_mode: Literal["503", "drop"] = "503"
    methods: tuple[str, ...] | None = None
    max_faults: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate", "fail_after_commit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        for name in ("retry_after", "latency"):
            value = getattr(self, name)
            if not math.isfinite(value):  # nan broke Retry-After; inf hung every request
                raise ValueError(f"{name} must be a finite number of seconds, not {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.request_budget is not None and self.request_budget < 0:
            raise ValueError("request_budget must not be negative")
        if self.max_faults is not None and self.max_faults < 0:
            raise ValueError("max_faults must not be negative")
        if not self.error_statuses:
            raise ValueError("error_statuses must not be empty")
        if self.drop_stage not in ("headers", "body"):
            raise ValueError("drop_stage must be 'headers' or 'body'")
        if self.fail_after_commit_mode not in ("503", "drop"):
            raise ValueError("fail_after_commit_mode must be '503' or 'drop'")

    def replace(self, **changes: object) -> Faults:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Decision:
    """What to do to one request before it is handled."""

    kind: FaultKind | None = None
    status: int | None = None
    latency: float = 0.0
    fail_after_commit: bool = False


class FaultInjector:
    """Applies a ``Faults`` with its own seeded random source and counts what it did."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.counts: Counter[str] = Counter()
        self.requests_seen = 0
        self._random = random.Random(self.faults.seed)

    def _injected(self) -> int:
        return sum(self.counts.values())

    def _roll(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        hit = self._random.random() < rate
        if not hit:
            return False
        limit = self.faults.max_faults
        return limit is None or self._injected() < limit

    def _count(self, kind: FaultKind, status: int | None = None) -> Decision:
        self.counts[kind] += 1
        return Decision(kind=kind, status=status)

    def decide(self, method: str) -> Decision:
        """Decide the fate of one request (steps 1 to 5 of the module docstring)."""
        f = self.faults
        if f.methods is not None and method.upper() not in {m.upper() for m in f.methods}:
            return Decision()
        self.requests_seen += 1
        if f.request_budget is not None and self.requests_seen > f.request_budget:
            return self._count("budget", 429)
        if self._roll(f.rate_limit_rate):
            return self._count("rate_limit", 429)
        if self._roll(f.error_rate):
            return self._count("error", self._random.choice(f.error_statuses))
        if self._roll(f.drop_rate):
            return self._count("drop")
        after_commit = method.upper() in ("POST", "DELETE") and self._roll(f.fail_after_commit_rate)
        if after_commit:
            self.counts["after_commit"] += 1
        return Decision(latency=f.latency, fail_after_commit=after_commit)
