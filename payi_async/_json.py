"""The JSON backend: ``orjson`` when importable (the ``speedups`` extra), else ``json``.

Both backends accept and refuse the same bodies and give the same values: ``orjson``
decodes first, and whatever it refuses (NaN and Infinity, a byte order mark, UTF-16,
lone surrogate escapes, very deep nesting, non-JSON) goes to the standard library,
which then decides and words the error as it does without the extra. The one value
``orjson`` changes silently, an integer beyond 64 bits (made a float), is refused by
the integer hook of the converter wherever an integer is expected, with either backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "FALLBACK", "encode", "fast_loads", "use"]

#: Returned by ``fast_loads`` when the standard library must decode (and judge) a body.
FALLBACK: Any = object()

_orjson_loads: Callable[[bytes], Any] | None = None
_orjson_dumps: Callable[[Any], bytes] | None = None
_orjson_error: type[Exception] = ValueError
#: ``"orjson"`` or ``"json"``: the backend in use.
BACKEND = "json"


def use(backend: str) -> str:
    """Pick ``"orjson"`` (when importable) or ``"json"``; returns the backend now in use.

    Chosen once at import (``orjson`` when it imports); tests call this to force one.
    """
    global _orjson_loads, _orjson_dumps, _orjson_error, BACKEND
    if backend not in ("orjson", "json"):
        raise ValueError(f"backend must be 'orjson' or 'json', not {backend!r}")
    _orjson_loads = _orjson_dumps = None
    _orjson_error = ValueError
    BACKEND = "json"
    if backend == "orjson":
        try:
            import orjson
        except ImportError:
            return BACKEND
        _orjson_loads, _orjson_dumps = orjson.loads, orjson.dumps
        _orjson_error = orjson.JSONDecodeError
        BACKEND = "orjson"
    return BACKEND


def fast_loads(raw: bytes) -> Any:
    """``raw`` decoded by ``orjson``, or ``FALLBACK`` (no orjson, or orjson refused it)."""
    loads = _orjson_loads
    if loads is None:
        return FALLBACK
    try:
        return loads(raw)
    except _orjson_error:
        return FALLBACK


def encode(data: Any) -> bytes:
    """``data`` as compact JSON; NaN and Infinity raise ``ValueError`` with either backend."""
    dumps = _orjson_dumps
    if dumps is not None:
        try:
            body = dumps(data)
        except TypeError:  # e.g. an integer beyond 64 bits: the standard library's turn
            pass
        else:
            # orjson writes NaN as null: a body with a null goes the standard library's way.
            if b"null" not in body:
                return body
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


use("orjson")
