"""Checks of everything a client sends: names, create bodies, list parameters, cursors.

Rules (also in the package docstring):

* A category or resource name is 1 to 256 characters, any characters (``/``, ``%``,
  ``:``, spaces, non-ASCII and control characters included), but not ``.`` or
  ``..``. Category names starting with ``system.`` (any case) are reserved: only the
  five seeded system categories exist there, and nothing can be created into them.
* ``limit`` is 1 to ``MAX_LIMIT`` (1000), default ``DEFAULT_LIMIT`` (50); a larger or
  smaller value is refused with 400, never clamped.
* Every validation error is a 400 whose message names the field.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ._errors import ApiError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_NAME_LENGTH",
    "CreateBody",
    "ListParams",
    "check_name",
    "decode_cursor",
    "encode_cursor",
    "format_timestamp",
    "is_reserved_category",
    "parse_create_body",
    "parse_json",
    "parse_list_params",
    "parse_timestamp",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_NAME_LENGTH = 256
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

_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?"
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
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or "0"))
        if delta >= timedelta(hours=24):
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
    return parsed.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: ``2025-01-01T00:00:00.000000Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, refusing ``NaN``/``Infinity`` and bad UTF-8 with 400."""
    if not raw.strip():
        raise _bad("body is required: a JSON object with units")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"body is not valid JSON: {exc}") from None


def _price(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{field} must be a number, not {type(value).__name__}")
    price = float(value)
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
    units: dict[str, dict[str, float]] = {}
    for name, unit in raw_units.items():
        where = f"units.{name}"
        if not name:
            raise _bad("units must not have an empty unit name")
        if not isinstance(unit, dict):
            raise _bad(f"{where} must be an object, not {type(unit).__name__}")
        prices: dict[str, float] = {}
        for key in ("input_price", "output_price"):
            if key not in unit or unit[key] is None:
                raise _bad(f"{where}.{key} is required")
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
    """``limit``, direction and the keyset position a page starts after (or ``None``)."""

    limit: int
    ascending: bool
    after: str | int | None


def _cursor_error() -> ApiError:
    return _bad("cursor is not a cursor of this listing")


def encode_cursor(listing: str, ascending: bool, after: str | int) -> str:
    """An opaque cursor: URL-safe base64 of ``{"l": listing, "a": asc, "k": key}``."""
    raw = json.dumps({"l": listing, "a": ascending, "k": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(listing: str, cursor: str) -> tuple[bool, str | int]:
    """The direction and key of a cursor made by ``encode_cursor`` for ``listing``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        raise _cursor_error() from None
    if not isinstance(data, dict) or data.get("l") != listing:
        raise _cursor_error()
    ascending, key = data.get("a"), data.get("k")
    if not isinstance(ascending, bool) or isinstance(key, bool):
        raise _cursor_error()
    if not isinstance(key, (str, int)):
        raise _cursor_error()
    return ascending, key


def parse_list_params(query: Mapping[str, str], listing: str) -> ListParams:
    """Read ``cursor``, ``limit`` and ``sort_ascending``; other parameters are ignored.

    A cursor carries its direction: ``sort_ascending`` may be left out on later pages,
    but if it is sent it must agree with the cursor.
    """
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit")
    if raw_limit not in (None, ""):
        try:
            limit = int(raw_limit)
        except ValueError:
            raise _bad(f"limit must be an integer, not {raw_limit!r}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad(f"limit must be between 1 and {MAX_LIMIT}")
    ascending: bool | None = None
    raw_sort = query.get("sort_ascending")
    if raw_sort not in (None, ""):
        lowered = raw_sort.lower()
        if lowered not in ("true", "false"):
            raise _bad(f"sort_ascending must be true or false, not {raw_sort!r}")
        ascending = lowered == "true"
    cursor = query.get("cursor")
    if not cursor:
        return ListParams(limit, True if ascending is None else ascending, None)
    cursor_ascending, key = decode_cursor(listing, cursor)
    if ascending is not None and ascending != cursor_ascending:
        raise _bad("sort_ascending does not match the cursor's sort order")
    return ListParams(limit, cursor_ascending, key)
