"""Checks of everything a client sends: names, create bodies, list parameters, cursors.

Rules (also in the package docstring):

* A category or resource name is 1 to 256 characters, any characters (``/``, ``%``,
  ``:``, spaces, non-ASCII and control characters included), but not ``.`` or
  ``..``. Category names starting with ``system.`` (any case) are reserved: only the
  five seeded system categories exist there, and nothing can be created into them.
* ``limit`` is 1 to ``MAX_LIMIT`` (1000), default ``DEFAULT_LIMIT`` (50); a larger or
  smaller value, or anything but ASCII digits, is refused with 400, never clamped.
* ``Active`` is ``true`` or ``false`` (any case); anything else is a 400.
* Every validation error is a 400 whose message names the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from multidict import MultiMapping

from ._cursor import CursorKey, KeyKind, decode_cursor
from ._errors import ApiError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_JSON_DEPTH",
    "MAX_LIMIT",
    "MAX_NAME_LENGTH",
    "MAX_UNITS",
    "CreateBody",
    "ListParams",
    "check_name",
    "format_timestamp",
    "is_reserved_category",
    "parse_active",
    "parse_create_body",
    "parse_json",
    "parse_list_params",
    "parse_timestamp",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_NAME_LENGTH = 256
#: Most units one resource version may have (unit names: 1 to ``MAX_NAME_LENGTH``).
MAX_UNITS = 100
#: Deepest nesting of arrays and objects a request body may have.
MAX_JSON_DEPTH = 32
_MAX_INT = 2**63 - 1


def _bad(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_request")


def check_name(kind: str, name: str) -> str:
    """Refuse a category or resource name that breaks the rules; return it unchanged."""
    if not name:
        raise _bad(f"{kind} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise _bad(f"{kind} must be at most {MAX_NAME_LENGTH} characters")
    if name in (".", ".."):
        raise _bad(f"{kind} must not be '.' or '..'")
    return name


def is_reserved_category(name: str) -> bool:
    """Whether ``name`` lies in the ``system.`` namespace (case-insensitive)."""
    return name.casefold().startswith("system.")


# ---------------------------------------------------------------- timestamps

# ASCII digits only (``\d`` would also take Arabic-Indic and other Unicode digits).
_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)


def parse_timestamp(field: str, value: str) -> datetime:
    """Parse ISO 8601 (date, or date-time with optional offset; no offset means UTC)."""
    match = _TS.fullmatch(value.strip())
    if match is None:
        raise _bad(f"{field} is not an ISO 8601 date-time: {value!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[2:4] or "0")
        delta = timedelta(hours=int(digits[:2]), minutes=minutes)
        if delta >= timedelta(hours=24) or minutes > 59:
            raise _bad(f"{field} has an impossible UTC offset: {value!r}")
        tz = timezone(sign * delta)
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise _bad(f"{field} is not a valid date-time: {value!r} ({exc})") from None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise _bad(
            f"{field} is outside the storable range once converted to UTC "
            f"(0001-01-01 to 9999-12-31): {value!r}"
        ) from None


def format_timestamp(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: ``2025-01-01T00:00:00.000000Z``; the year always has
    four digits (``0999-...``), so stored strings sort in time order and parse back."""
    utc = moment.astimezone(timezone.utc)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


# ---------------------------------------------------------------- create body


@dataclass(frozen=True)
class CreateBody:
    """A validated Create Resource body."""

    units: dict[str, dict[str, float]]
    max_input_units: int | None
    max_output_units: int | None
    max_total_units: int | None
    start_timestamp: datetime | None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    """A JSON number with a fraction or exponent; one that underflows to zero
    (``1e-400``) is refused, as it is not the number sent (overflow gives infinity,
    which the field checks refuse by name)."""
    value = float(text)
    if value == 0 and text.lower().partition("e")[0].strip("-+0."):
        raise _bad(f"body has a number that does not fit a 64-bit float: {text[:40]}")
    return value


def _too_deep() -> ApiError:
    return _bad(f"body is nested too deeply (more than {MAX_JSON_DEPTH} levels)")


def _check_depth(value: Any) -> None:
    """Refuse containers nested deeper than ``MAX_JSON_DEPTH`` (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, refusing ``NaN``/``Infinity``, bad UTF-8, numbers too long to
    read and nesting deeper than ``MAX_JSON_DEPTH`` with 400."""
    if not raw.strip():
        raise _bad("body is required: a JSON object with units")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_float)
    except RecursionError:
        raise _too_deep() from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"body is not valid JSON: {exc}") from None
    if isinstance(value, (dict, list)):
        _check_depth(value)
    return value


def _price(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{field} must be a number, not {type(value).__name__}")
    try:
        price = float(value)
    except OverflowError:
        raise _bad(f"{field} does not fit a 64-bit float") from None
    if not math.isfinite(price):
        raise _bad(f"{field} must be finite")
    if price < 0:
        raise _bad(f"{field} must not be negative")
    return price


def _max_units(body: Mapping[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{field} must be an integer, not {type(value).__name__}")
    if value < 0:
        raise _bad(f"{field} must not be negative")
    if value > _MAX_INT:
        raise _bad(f"{field} is too large")
    return value


def _is_unicode(text: str) -> bool:
    """False for a string holding lone surrogates (JSON lets ``\\ud800`` through)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_create_body(body: object) -> CreateBody:
    """Validate a decoded Create Resource body; unknown fields are ignored."""
    if not isinstance(body, dict):
        raise _bad(f"body must be a JSON object, not {type(body).__name__}")
    if "units" not in body or body["units"] is None:
        raise _bad("units is required")
    raw_units = body["units"]
    if not isinstance(raw_units, dict):
        raise _bad(f"units must be an object, not {type(raw_units).__name__}")
    if not raw_units:
        raise _bad("units must not be empty")
    # Bounded so that a page of versions stays bounded: 100k empty units fit in one
    # 1 MiB body and answered ~5 MiB each, so a page of 1000 versions took gigabytes.
    if len(raw_units) > MAX_UNITS:
        raise _bad(f"units must have at most {MAX_UNITS} units, not {len(raw_units)}")
    units: dict[str, dict[str, float]] = {}
    for name, unit in raw_units.items():
        where = f"units.{name}"
        if not name:
            raise _bad("units must not have an empty unit name")
        if len(name) > MAX_NAME_LENGTH:
            raise _bad(f"units has a unit name longer than {MAX_NAME_LENGTH} characters")
        if not _is_unicode(name):
            raise _bad(f"units has a unit name that is not valid Unicode: {name!r}")
        if not isinstance(unit, dict):
            raise _bad(f"{where} must be an object, not {type(unit).__name__}")
        prices: dict[str, float] = {}
        for key in ("input_price", "output_price"):
            # Either price may be left out or null (a cached-input unit has no output
            # price), as in the hosted API; only the ones given are stored.
            if unit.get(key) is not None:
                prices[key] = _price(f"{where}.{key}", unit[key])
        units[name] = prices
    start = body.get("start_timestamp")
    if start is not None and not isinstance(start, str):
        raise _bad(f"start_timestamp must be a string, not {type(start).__name__}")
    return CreateBody(
        units=units,
        max_input_units=_max_units(body, "max_input_units"),
        max_output_units=_max_units(body, "max_output_units"),
        max_total_units=_max_units(body, "max_total_units"),
        start_timestamp=None if start is None else parse_timestamp("start_timestamp", start),
    )


# ---------------------------------------------------------------- listing


@dataclass(frozen=True)
class ListParams:
    """``limit``, direction, the keyset position a page starts after (or ``None``) and
    the ``Active`` filter (``None`` when not sent)."""

    limit: int
    ascending: bool
    after: CursorKey | None
    active: bool | None = None


_LIST_PARAMETERS = ("cursor", "limit", "sort_ascending", "Active")
_DIGITS = re.compile(r"[0-9]{1,9}")


def _boolean(name: str, raw: str | None) -> bool | None:
    if raw in (None, ""):
        return None
    assert raw is not None
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise _bad(f"{name} must be true or false, not {raw!r}")
    return lowered == "true"


def parse_active(query: MultiMapping[str]) -> bool | None:
    """The ``Active`` filter of a list call (``true``/``false``), ``None`` if not sent;
    sent empty (``?Active=``) it is a value like any other, and refused."""
    raw = query.get("Active")
    if raw == "":
        raise _bad("Active must be true or false, not ''")
    return _boolean("Active", raw)


def parse_list_params(
    query: MultiMapping[str], listing: str, kind: KeyKind, secret: bytes
) -> ListParams:
    """Read ``cursor``, ``limit``, ``sort_ascending`` and ``Active``; other parameters
    are ignored, and each of these may be sent at most once.

    A cursor carries its direction: ``sort_ascending`` may be left out on later pages,
    but if it is sent it must agree with the cursor. ``listing`` names the listing
    (the filter included) whose cursors are accepted; ``kind`` is its cursor key.
    """
    for name in _LIST_PARAMETERS:
        if len(query.getall(name, ())) > 1:
            raise _bad(f"{name} must be given at most once")
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit")
    if raw_limit not in (None, ""):
        assert raw_limit is not None
        if _DIGITS.fullmatch(raw_limit) is None:
            raise _bad(f"limit must be an integer, not {raw_limit[:40]!r}")
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad(f"limit must be between 1 and {MAX_LIMIT}")
    ascending = _boolean("sort_ascending", query.get("sort_ascending"))
    active = parse_active(query)
    cursor = query.get("cursor")
    if not cursor:
        return ListParams(limit, True if ascending is None else ascending, None, active)
    cursor_ascending, key = decode_cursor(secret, listing, kind, cursor)
    if ascending is not None and ascending != cursor_ascending:
        raise _bad("sort_ascending does not match the cursor's sort order")
    return ListParams(limit, cursor_ascending, key, active)
