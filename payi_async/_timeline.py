"""Time-based resolution (the version in effect at a moment) and exact costs.

A version's effective start is its ``start_timestamp`` or, without one, its
``creation_timestamp``. The version in effect at ``at`` is, among the live versions
whose effective start is at or before ``at``, the one with the latest start; ties go
to the latest created.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol, TypeVar

__all__ = ["in_effect", "server_instant", "version_cost"]

T = TypeVar("T")

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
#: No rounding at all: sums and products of finite decimals are exact at the largest
#: precision (only the digits a result has are stored), however big the unit counts.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.InvalidOperation],
)


def _parse(text: str) -> datetime:
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def server_instant(text: str | None) -> datetime | None:
    """A timestamp the server wrote (UTC when it gave no offset), or None."""
    if not text:
        return None
    try:
        moment = _parse(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def in_effect(
    candidates: Iterable[tuple[datetime | None, datetime | None, T]], at: datetime
) -> T | None:
    """Of ``(start, created, value)`` triples, the value in effect at ``at``, or None.

    A missing start counts as ``created``; ties of start go to the latest created,
    then to the later one in ``candidates``.
    """
    best: T | None = None
    best_key: tuple[datetime, datetime, int] | None = None
    for position, (start, created, value) in enumerate(candidates):
        effective = start or created or _EARLIEST
        if effective > at:
            continue
        key = (effective, created or _EARLIEST, position)
        if best_key is None or key > best_key:
            best, best_key = value, key
    return best


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be zero or more, not {value}")
    return value


class _Priced(Protocol):
    """What ``version_cost`` reads of a ``CategoryResourceResponse`` (which imports this)."""

    @property
    def category(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def units(self) -> Mapping[str, Any]: ...


def version_cost(version: _Priced, usage: Mapping[str, tuple[int, int]]) -> Decimal:
    """The engine behind ``CategoryResourceResponse.cost``."""
    if not isinstance(usage, Mapping):
        raise TypeError(
            f"usage must map a unit type to (input_units, output_units), not {type(usage).__name__}"
        )
    total = Decimal(0)
    which = f"{version.category}/{version.resource} version {version.resource_id}"
    for unit, pair in usage.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"usage[{unit!r}] must be a pair (input_units, output_units)")
        counts = (
            _count(f"usage[{unit!r}] input units", pair[0]),
            _count(f"usage[{unit!r}] output units", pair[1]),
        )
        prices = version.units.get(unit)
        if prices is None:
            priced = ", ".join(repr(name) for name in version.units) or "no unit"
            raise ValueError(f"unit {unit!r} is not priced by {which} (it prices {priced})")
        for count, field in zip(counts, ("input_price", "output_price"), strict=True):
            if count == 0:
                continue
            price: float | None = getattr(prices, field, None)
            if price is None:
                raise ValueError(
                    f"unit {unit!r} of {which} has no {field}, but the usage has {count} "
                    f"{field.split('_')[0]} units"
                )
            total = _EXACT.add(total, _EXACT.multiply(Decimal(count), Decimal(repr(price))))
    if total == total.to_integral_value():
        return total.quantize(Decimal(1), context=_EXACT)
    return total.normalize(_EXACT)
