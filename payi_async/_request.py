"""The request value: everything one call sends, built once before the first attempt.

Headers are merged case-insensitively in this order, a later layer replacing an earlier
one's value: the client's own (key, ``Accept``, ``User-Agent``), ``default_headers``,
then the call's ``extra_headers``; so exactly one ``xProxy-api-key`` goes out. The query
is ``default_query``, the method's own, then ``extra_query`` (a name given again
replaces the earlier values). The body is the method's JSON object with ``extra_body``
merged in, encoded here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from multidict import CIMultiDict
from yarl import URL

from . import _json
from ._urls import join, merge_query, query_pairs

__all__ = ["KEY_HEADER", "Request", "build_request"]

KEY_HEADER = "xProxy-api-key"


class Request:
    """One call's method, URL, headers and body; its ``repr`` shows no header."""

    __slots__ = ("body", "create", "headers", "key", "method", "target", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: CIMultiDict[str],
        body: bytes | None,
        *,
        create: bool,
    ) -> None:
        self.method = method
        #: The URL as text, for errors and logs (it never carries a secret).
        self.url = url
        self.target = URL(url, encoded=True)
        self.headers = headers
        self.body = body
        #: A create: a 409 is then the server's verdict on this body, not retried.
        self.create = create
        #: The API key this request sends, so that an echo of it can be redacted.
        self.key = headers.get(KEY_HEADER, "")

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` every attempt of this call carries, if any."""
        return self.headers.get("Idempotency-Key")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


def _encode_body(body: Mapping[str, Any] | None, extra_body: Mapping[str, object] | None) -> bytes:
    if extra_body is None and body is not None and type(body) is dict:
        # The SDK's own body (checked params, finite numbers): the fast encoder's.
        return _json.encode(body)
    data: dict[str, Any] = dict(body) if body is not None else {}
    if extra_body is not None:
        if not isinstance(extra_body, Mapping):
            raise TypeError("extra_body must be a mapping of field names to JSON values")
        data.update(extra_body)
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        what = "extra_body" if extra_body else "body"
        raise type(exc)(f"{what} must hold only finite JSON values: {exc}") from None


# A random (version 4) UUID's bits: ``uuid.uuid4()`` builds the same text at twice the cost.
_UUID4_KEEP = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


#: Random 16-byte blocks, cut from one ``os.urandom`` call per 256 keys. ``list.pop``
#: is atomic, so threads never share a block; a forked child drops the parent's.
_blocks: list[bytes] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_blocks.clear)


def _random16() -> bytes:
    try:
        return _blocks.pop()
    except IndexError:
        fresh = os.urandom(4096)
        _blocks.extend([fresh[i : i + 16] for i in range(16, 4096, 16)])
        return fresh[:16]


def _random_key() -> str:
    """A fresh ``payi-async-<uuid4>`` idempotency key."""
    h = "%032x" % (int.from_bytes(_random16(), "big") & _UUID4_KEEP | _UUID4_SET)
    return f"payi-async-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_request(
    method: str,
    base_url: str,
    path: str,
    *,
    headers: CIMultiDict[str],
    default_query: Sequence[tuple[str, str]] = (),
    query: Sequence[tuple[str, str]] = (),
    extra_query: Mapping[str, object] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, object] | None = None,
    create: bool = False,
    idempotency_key: bool = False,
) -> Request:
    """The request of one call. ``headers`` (the client's, merged already) is not changed."""
    merged = headers.copy()
    if extra_headers:
        for name, value in extra_headers.items():
            merged[name] = value
    payload: bytes | None = None
    if body is not None or extra_body is not None:
        payload = _encode_body(body, extra_body)
        merged["Content-Type"] = "application/json"
    if (idempotency_key or create) and "Idempotency-Key" not in merged:
        merged["Idempotency-Key"] = _random_key()
    pairs: Sequence[tuple[str, str]] = query
    if default_query or extra_query:
        pairs = merge_query((default_query, query, query_pairs("extra_query", extra_query)))
    return Request(method, join(base_url, path, pairs), merged, payload, create=create)
