"""The one place where what the wire gave becomes this SDK's errors, secrets removed.

aiohttp's exceptions keep the request's headers (the key) in their ``args``,
``request_info`` and their traceback frames' locals; none of them is ever chained to an
SDK error. ``connection_error`` describes one as a fresh ``CauseSummary``. Every key a
client has sent is replaced by ``***`` wherever an answer echoes it: body, headers,
message, in the forms an echo takes: as sent, JSON-escaped (``\\/``, ``\\u002B``, any
escape: decoded JSON is checked too), percent-encoded and inside base64. Header text is
made printable (invalid UTF-8 arrives as lone surrogates).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from multidict import CIMultiDict, CIMultiDictProxy

from ._config import Timeout
from ._converter import decode_json
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    CauseSummary,
    printable,
    status_error_class,
)
from ._retry import server_delay

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["Secrets", "connection_error", "not_json", "status_error", "too_large"]

_MASK = "***"
#: The shortest key value that is masked in answers.
_SHORTEST = 8


class Secrets:
    """Every API key sent through one pool; redacts them from text, bytes and headers."""

    __slots__ = ("_bytes", "_plain", "_texts")

    def __init__(self) -> None:
        self._texts: tuple[str, ...] = ()
        self._bytes: tuple[bytes, ...] = ()
        #: The keys as sent (``_texts`` adds their echo forms).
        self._plain: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<Secrets: {len(self._texts)}>"

    def add(self, secret: str) -> None:
        """Remember ``secret`` (a key value that was sent).

        Values shorter than ``_SHORTEST`` are not secrets worth the damage: masking a
        key such as ``test`` would rewrite every ``test`` in every answer.
        """
        if len(secret) >= _SHORTEST and secret not in self._texts:
            # Longest first, so that a key containing another is masked whole.
            texts = {*self._texts, *_echoes(secret)}
            self._texts = tuple(sorted(texts, key=len, reverse=True))
            self._bytes = tuple(t.encode("utf-8", "surrogateescape") for t in self._texts)
            self._plain = tuple(sorted({*self._plain, secret}, key=len, reverse=True))

    def text(self, value: str) -> str:
        """``value`` with every secret masked."""
        for secret in self._texts:
            if secret in value:
                value = value.replace(secret, _MASK)
        return value

    def body(self, raw: bytes) -> bytes:
        """``raw`` with every secret masked (in place when nothing matches)."""
        for secret in self._bytes:
            if secret in raw:
                raw = raw.replace(secret, b"***")
        return raw

    def escaped_in(self, raw: bytes) -> bool:
        """Whether ``raw`` (masked already) spells a key with ``\\uXXXX`` or ``\\/``
        escapes, so that its decoded JSON needs ``data``. Cheap when it does not."""
        # One byte first: a bytes search for one byte is a memchr, for two a loop in C
        # that costs ~1 ms on a page of 1,000 resources.
        if not self._plain or b"\\" not in raw or (b"\\u" not in raw and b"\\/" not in raw):
            return False
        text = _ESCAPE.sub(_unescape, raw)
        return any(secret.encode("utf-8", "surrogateescape") in text for secret in self._plain)

    def data(self, value: Any) -> Any:
        """Decoded JSON ``value`` with every key masked in its strings and names, in
        place. Only needed when ``escaped_in(raw)``: otherwise each decoded string is a
        slice of the (already masked) raw body."""
        plain = self._plain

        def text(value: str) -> str:
            for secret in plain:
                if secret in value:
                    value = value.replace(secret, _MASK)
            return value

        if not plain:
            return value
        if isinstance(value, str):
            return text(value)
        stack = [value] if isinstance(value, (dict, list)) else []
        while stack:  # not recursive: the JSON may be nested ~1000 deep
            node = stack.pop()
            if isinstance(node, dict):
                for name in [n for n in node if text(n) is not n]:
                    node[text(name)] = node.pop(name)
                items: Any = node.items()
            else:
                items = enumerate(node)
            for where, item in list(items):
                if isinstance(item, str):
                    masked = text(item)
                    if masked is not item:
                        node[where] = masked
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        return value

    def headers(self, headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
        """``headers`` printable and with every secret masked (the same object if clean)."""
        # All names and values in one text: one look per secret. A secret spanning two
        # of them only sends the answer the careful way below.
        joined = " ".join([*headers.keys(), *headers.values()])
        if joined.isprintable():
            for secret in self._texts:
                if secret in joined:
                    break
            else:
                return headers
        return CIMultiDictProxy(
            CIMultiDict(
                (printable(self.text(name)), printable(self.text(value)))
                for name, value in headers.items()
            )
        )


_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})|\\/")


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return b"/" if code is None else chr(int(code, 16)).encode("utf-8", "surrogatepass")


def _echoes(secret: str) -> set[str]:
    """``secret`` and the forms a server's echo may give it: JSON-escaped, percent-encoded,
    inside base64."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {form.replace("/", "\\/") for form in forms}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms |= {encoded, re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)}
    raw = secret.encode("utf-8", "surrogateescape")
    for offset in range(3):
        # Base64 of any text holding the key (``Basic`` auth of ``user:key``) contains,
        # for the key's offset modulo 3, the characters that only the key's bytes decide.
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        middle = encoded[(offset * 4 + 2) // 3 : ((offset + len(raw)) * 4) // 3]
        forms |= {middle, middle.replace("+", "-").replace("/", "_")}
    return forms


def _detail(exc: BaseException, secrets: Secrets) -> str:
    try:
        text = str(exc)
    except Exception:  # a broken __str__ in a library error must not hide the failure
        text = ""
    return printable(secrets.text(text)) or type(exc).__name__


def connection_error(
    exc: BaseException, request: Request, timeout: Timeout, secrets: Secrets
) -> tuple[APIConnectionError, str]:
    """The SDK error for an aiohttp error or timeout, and the retry reason to log.

    The error's ``__cause__`` is a ``CauseSummary``, never ``exc``; call this inside the
    ``except`` block and raise the result outside it, so that ``__context__`` is empty.
    """
    import aiohttp

    method, url = request.method, request.url
    error: APIConnectionError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        reason = "a connect timeout"
        error = APITimeoutError(
            f"no connection within {timeout.pool} s pool wait + {timeout.connect} s connect; "
            "the request was not sent",
            method=method,
            url=url,
        )
    elif isinstance(exc, aiohttp.SocketTimeoutError):
        reason = "a read timeout"
        error = APITimeoutError(
            f"the server sent nothing for {timeout.read} s (read timeout)", method=method, url=url
        )
    elif isinstance(exc, asyncio.TimeoutError):
        reason = "a total timeout"
        error = APITimeoutError(
            f"the attempt took longer than its total timeout ({timeout.total} s)",
            method=method,
            url=url,
        )
    else:
        reason = "a connection error"
        error = APIConnectionError(
            f"connection failed: {_detail(exc, secrets)}", method=method, url=url
        )
    error.__cause__ = CauseSummary(type(exc), _detail(exc, secrets))
    return error, reason


def too_large(
    request: Request, status: int, headers: Mapping[str, str], cap: int
) -> APIResponseValidationError:
    """The error for an answer whose decoded body exceeds ``max_response_bytes``."""
    return APIResponseValidationError(
        f"the answer is too large: larger than max_response_bytes ({cap} bytes) once decoded; "
        "refused rather than held in memory",
        method=request.method,
        url=request.url,
        status_code=status,
        body=None,
        request_id=headers.get("x-request-id"),
    )


def not_json(
    raw: bytes,
    problem: ValueError,
    request: Request,
    status: int,
    request_id: str | None,
) -> APIResponseValidationError:
    """The error for a 2xx body that is not JSON (``raw`` is redacted already)."""
    error = APIResponseValidationError(
        f"the body is not JSON ({problem}); it starts {bytes(raw[:80])!r}",
        method=request.method,
        url=request.url,
        status_code=status,
        body=bytes(raw[:1000]).decode("utf-8", "replace"),
        request_id=request_id,
    )
    error.__cause__ = ValueError(str(problem))
    return error


def status_error(
    raw: bytes,
    status: int,
    headers: CIMultiDictProxy[str],
    request: Request,
    secrets: Secrets | None = None,
    *,
    yielding: bool = False,
) -> APIStatusError:
    """The error for a non-2xx answer (``raw`` and ``headers`` redacted already).

    ``yielding``: called in a worker thread for a large body (see ``decode_json``).
    """
    body: Any
    try:
        body = decode_json(raw, yielding=yielding) if raw else None
        if secrets is not None and secrets.escaped_in(raw):
            body = secrets.data(body)
    except ValueError:
        body = bytes(raw[:2000]).decode("utf-8", "replace")
    message = None
    request_id = headers.get("x-request-id")
    if isinstance(body, dict):
        message = body.get("message")
        xproxy = body.get("xproxy_error")
        if not message and isinstance(xproxy, dict):
            message = xproxy.get("message")
        request_id = body.get("request_id") or request_id
    if not isinstance(message, str) or not message:
        message = _reason(status, body)
    if 300 <= status < 400:
        where = headers.get("Location", "nowhere")
        message = f"the API redirected to {where}; redirects are not followed ({message})"
    cls = status_error_class(status)
    return cls(
        printable(message),
        method=request.method,
        url=request.url,
        status_code=status,
        body=body,
        headers=headers,
        request_id=request_id if isinstance(request_id, str) else None,
        retry_after=server_delay(headers),
    )


def _reason(status: int, body: Any) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown status"
    if isinstance(body, str) and body.strip():
        return f"{phrase}: {body.strip()[:200]}"
    return phrase
