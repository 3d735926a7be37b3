"""Checks on the caller's arguments, run before any request is sent.

Each raises ``TypeError`` (wrong type) or ``ValueError`` (right type, bad value)
with a message that names the parameter and says what is wrong with the value.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "optional_bool",
    "optional_count",
    "optional_price",
    "optional_str",
    "page_limit",
    "parse_timestamp",
    "price",
    "timestamp",
    "units",
]

_UNIT_KEYS = frozenset({"input_price", "output_price"})


def _kind(value: object) -> str:
    return type(value).__name__


def optional_str(name: str, value: object) -> str | None:
    """An optional string such as a cursor; empty counts as absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {_kind(value)}")
    return value or None


def optional_bool(name: str, value: object) -> bool | None:
    """An optional flag."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be a bool or None, not {_kind(value)}")


#: The largest ``max_*_units`` the API stores (a signed 64-bit integer).
MAX_COUNT = 2**63 - 1


def optional_count(name: str, value: object) -> int | None:
    """An optional whole number of units, zero or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {_kind(value)}")
    if value < 0:
        raise ValueError(f"{name} must be zero or more, not {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be at most {MAX_COUNT} (a 64-bit integer), not {value}")
    return value


def page_limit(value: object) -> int | None:
    """The page size: a positive int, or None for the server's default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"limit must be an int or None, not {_kind(value)}")
    if value <= 0:
        raise ValueError(f"limit must be a positive page size, not {value}")
    return value


def price(name: str, value: object) -> float:
    """A finite, non-negative price."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        # An int beyond a float's range (10**400): refused like infinity.
        # Not shown: str() of a huge int may itself fail (the 4300-digit limit).
        raise ValueError(
            f"{name} must be a finite number, not an int too large for a float"
        ) from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if number < 0:
        raise ValueError(f"{name} must be zero or more, not {value!r}")
    return number


def units(name: str, value: object) -> dict[str, tuple[float | None, float | None]]:
    """``{unit name: {input_price, output_price}}`` (or ``Units``) as price pairs.

    Either price may be left out or ``None`` (the hosted API allows a unit with one
    price or none); a price that is given must be a finite number, zero or more.
    """
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a mapping of unit name to {{input_price, output_price}}, "
            f"not {_kind(value)}"
        )
    if not value:
        raise ValueError(f"{name} must name at least one unit type, e.g. {{'text': {{...}}}}")
    checked: dict[str, tuple[float | None, float | None]] = {}
    for unit, prices in value.items():
        if not isinstance(unit, str) or not unit:
            raise ValueError(f"{name} keys must be non-empty unit names, not {unit!r}")
        if type(prices) is dict and unit.isascii() and prices.keys() <= _UNIT_KEYS:
            # The common case, checked without formatting the field names errors use.
            given_in, given_out = prices.get("input_price"), prices.get("output_price")
            if _plain_price(given_in) and _plain_price(given_out):
                checked[unit] = (given_in, given_out)
                continue
        _text(f"{name} key {unit!r}", unit)
        where = f"{name}[{unit!r}]"
        if not isinstance(prices, Mapping):
            prices = _units_as_mapping(where, prices)
        unknown = prices.keys() - _UNIT_KEYS
        if unknown:
            raise ValueError(
                f"{where} has unknown key(s) {sorted(map(str, unknown))}; "
                "expected input_price and/or output_price"
            )
        checked[unit] = (
            optional_price(f"{where}.input_price", prices.get("input_price")),
            optional_price(f"{where}.output_price", prices.get("output_price")),
        )
    return checked


def _plain_price(value: object) -> bool:
    """``None`` or a finite ``float`` >= 0: what ``optional_price`` returns unchanged
    (NaN and infinity fail the comparison and take the checked path)."""
    return value is None or (type(value) is float and 0.0 <= value <= _LARGEST_FLOAT)


_LARGEST_FLOAT = sys.float_info.max


def _text(name: str, value: str) -> None:
    """Refuse text with no UTF-8 form (a lone surrogate), which no JSON body can carry."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} is not valid text: it holds a lone surrogate {value[exc.start]!r} "
            f"at position {exc.start}, which has no UTF-8 form"
        ) from None


def optional_price(name: str, value: object) -> float | None:
    """A price that may be absent (``None``); otherwise as ``price``."""
    return None if value is None else price(name, value)


def _units_as_mapping(where: str, prices: object) -> Mapping[str, Any]:
    if not (hasattr(prices, "input_price") and hasattr(prices, "output_price")):
        raise TypeError(
            f"{where} must be a mapping with input_price and/or output_price (or Units), "
            f"not {_kind(prices)}"
        )
    return {
        "input_price": getattr(prices, "input_price"),  # noqa: B009
        "output_price": getattr(prices, "output_price"),  # noqa: B009
    }


#: ISO 8601 / RFC 3339 date-times: a date, optionally a time (``T``, ``t`` or a space
#: between), optionally an offset. Parsed by hand so that Python 3.10, whose
#: ``fromisoformat`` knows no ``Z``, reads exactly what 3.11+ reads.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def _naive(name: str, shown: str) -> ValueError:
    # One message for a naive datetime and an ISO string without an offset: both name
    # no instant, and guessing UTC for one but not the other would be two rules.
    return ValueError(
        f"{name} must be timezone-aware: {shown} has no UTC offset, so it names no "
        "defined instant; add one (e.g. 2025-01-01T00:00:00Z or +02:00), or pass an "
        "aware datetime such as datetime.now(timezone.utc)"
    )


def parse_timestamp(name: str, value: object, *, assume_utc: bool = False) -> datetime:
    """An aware datetime or an ISO 8601 string as an aware ``datetime``.

    The one timestamp rule of the SDK and the command line: a string must be ISO
    8601 (``2025-01-01T00:00:00Z``, ``2025-01-01 09:30+02:00``, ...) and, like a
    datetime, carry a UTC offset. Without one it is refused with the same message
    as a naive datetime, unless ``assume_utc`` (the CLI's ``--assume-utc``) reads it
    as UTC. A date alone (``2025-01-01``) is midnight and needs ``assume_utc`` too.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if not assume_utc:
                raise _naive(name, value.isoformat())
            return value.replace(tzinfo=timezone.utc)
        return _storable(name, value, value.isoformat())
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a datetime or an ISO 8601 str, not {_kind(value)}")
    return _parse_text(name, value, assume_utc)[0]


def _storable(name: str, moment: datetime, shown: str) -> datetime:
    """``moment``, if it is a date-time in UTC too (years 1 to 9999, as servers store
    them): ``0001-01-01T00:30+01:00`` is in year 0 once in UTC."""
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(
            f"{name} is outside the years 1 to 9999 once converted to UTC: {shown!r}"
        ) from None
    return moment


def _parse_text(name: str, value: str, assume_utc: bool) -> tuple[datetime, bool]:
    """``value`` as an aware datetime, and whether it carried its own offset."""
    text = value.strip()
    if not text:
        raise ValueError(f"{name} must not be an empty string")
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{name} is not an ISO 8601 date-time: {value!r} (expected e.g. 2025-01-01T00:00:00Z)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset is None:
        if not assume_utc:
            raise _naive(name, text)
        zone = timezone.utc
    elif offset in ("Z", "z"):
        zone = timezone.utc
    else:
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or "0"))
        if delta >= timedelta(hours=24) or int(digits[2:4] or "0") >= 60:
            raise ValueError(f"{name} has an impossible UTC offset: {value!r}")
        zone = timezone(-delta if offset[0] == "-" else delta)
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise ValueError(f"{name} is not a valid date-time: {value!r} ({exc})") from None
    return _storable(name, moment, value), offset is not None


def timestamp(name: str, value: object, *, assume_utc: bool = False) -> str | None:
    """An aware datetime or an ISO 8601 string (see ``parse_timestamp``), as the text
    sent on the wire: a string as given (with ``assume_utc``, an offset-less one in
    UTC), a datetime in ``isoformat()``."""
    if value is None:
        return None
    if isinstance(value, str):
        moment, own_offset = _parse_text(name, value, assume_utc)
        return value.strip() if own_offset else moment.isoformat()
    return parse_timestamp(name, value, assume_utc=assume_utc).isoformat()
