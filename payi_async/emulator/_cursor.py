"""Opaque list cursors, signed so that a forged or altered one is refused (400).

A cursor is ``<payload>.<signature>``: the payload is URL-safe base64 of
``{"l": listing, "a": ascending, "k": key}`` and the signature the first 16 bytes of
its HMAC-SHA256 under a secret the database keeps (made when it is first seeded, so a
file database's cursors still work after a restart). Even a correctly signed cursor
has each field's type and range checked against what its listing expects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Literal

from ._errors import ApiError

__all__ = ["CursorKey", "KeyKind", "decode_cursor", "encode_cursor"]

#: The keyset position a page starts after: a name, a sequence number or both.
CursorKey = str | int | tuple[str, int]
#: Which of those a listing uses.
KeyKind = Literal["name", "seq", "name_seq"]

_MAX_CURSOR = 2048
_SIGNATURE_BYTES = 16
_MAX_SEQ = 2**63 - 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest[:_SIGNATURE_BYTES])


def _error() -> ApiError:
    return ApiError(400, "cursor is not a cursor of this listing", code="invalid_request")


def encode_cursor(secret: bytes, listing: str, ascending: bool, after: CursorKey) -> str:
    """A signed cursor for the page after ``after`` in ``listing``."""
    key: object = list(after) if isinstance(after, tuple) else after
    raw = json.dumps({"l": listing, "a": ascending, "k": key}, separators=(",", ":"))
    payload = _b64(raw.encode("utf-8"))
    return f"{payload}.{_sign(secret, payload)}"


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SEQ


def _key(kind: KeyKind, value: object) -> CursorKey:
    if kind == "name" and isinstance(value, str):
        return value
    if kind == "seq" and _is_seq(value):
        assert isinstance(value, int)
        return value
    if kind == "name_seq" and isinstance(value, list) and len(value) == 2:
        name, seq = value
        if isinstance(name, str) and _is_seq(seq):
            return (name, seq)
    raise _error()


def decode_cursor(
    secret: bytes, listing: str, kind: KeyKind, cursor: str
) -> tuple[bool, CursorKey]:
    """The direction and key of a cursor made by ``encode_cursor`` for ``listing``."""
    if len(cursor) > _MAX_CURSOR or cursor.count(".") != 1 or not cursor.isascii():
        raise _error()
    payload, signature = cursor.split(".")
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        raise _error()
    try:
        data = json.loads(_unb64(payload).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise _error() from None
    if not isinstance(data, dict) or set(data) != {"l", "a", "k"} or data["l"] != listing:
        raise _error()
    ascending = data["a"]
    if not isinstance(ascending, bool):
        raise _error()
    return ascending, _key(kind, data["k"])
