"""Every exception the SDK raises on purpose, in one place.

    PayiError
    ├── RepeatedCursorError              a listing handed back a cursor it already used
    └── APIError                         something went wrong talking to the API
        ├── APIConnectionError           no usable answer: refused, reset, DNS, TLS
        │   └── APITimeoutError          a connect, pool or read timeout ran out
        ├── APIResponseValidationError   a 2xx answer whose body does not fit the model
        └── APIStatusError               the server answered with a non-2xx status
            ├── UnexpectedRedirectError  3xx: the API never redirects; nothing followed
            ├── BadRequestError          400
            ├── AuthenticationError      401
            ├── PermissionDeniedError    403
            ├── NotFoundError            404
            │   └── NoVersionInEffectError   resolve(): no version in effect at that time
            ├── ConflictError            409
            ├── UnprocessableEntityError 422
            ├── RateLimitError           429
            └── InternalServerError      >= 500

Bad arguments are refused before any request with the built-in ``ValueError`` or
``TypeError``, whose message names the parameter.

No exception holds the API key: requests are described by method and URL only, and
the URL never carries the key. An error caused by the HTTP library has a
``CauseSummary`` as its ``__cause__``: the library's error type and text with every
secret removed, never the library's own exception (whose attributes and traceback
frames hold the request's headers). Text taken from the answer is made printable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CauseSummary",
    "ConflictError",
    "InternalServerError",
    "NoVersionInEffectError",
    "NotFoundError",
    "PayiError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepeatedCursorError",
    "UnexpectedRedirectError",
    "UnprocessableEntityError",
    "status_error_class",
]


class PayiError(Exception):
    """Base class of every error this SDK raises on purpose."""


class RepeatedCursorError(PayiError):
    """A listing handed back a cursor it had already followed; going on would loop."""

    def __init__(self, cursor: str) -> None:
        super().__init__(
            f"the server returned cursor {cursor!r} a second time in one listing; "
            "stopping instead of looping forever"
        )
        self.cursor = cursor

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would rebuild from args, i.e. pass the message as the cursor.
        return (type(self), (self.cursor,))


class APIError(PayiError):
    """A request to the Pay-i API failed; ``method`` and ``url`` say which one."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling of exceptions.
        state = dict(self.__dict__)
        body = state.get("body")
        if isinstance(body, (dict, list)):
            # As JSON text: pickle recurses about twice as deep per level as the JSON
            # decoder, so a body nested 500 deep (a server's choice) would not pickle.
            try:
                state["_body_json"] = json.dumps(body)
                del state["body"]
            except (TypeError, ValueError, RecursionError):
                pass
        return (_rebuild, (type(self), state))

    def __str__(self) -> str:
        return f"{_one_line(self.message)} [{self.method} {self.url}]"


_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` safe to print: lone surrogates and control characters (tab and line
    breaks aside) shown as ``\\x..``/``\\u....`` escapes."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


def _one_line(message: str) -> str:
    """``message`` with its line breaks (and the spaces around them) as one space."""
    return printable(_LINE_BREAKS.sub(" ", message.strip()))


class CauseSummary(Exception):
    """What the HTTP library said, as the ``__cause__`` of an ``APIConnectionError``.

    A fresh exception holding only text (secrets removed) and the library error's
    type, so that neither its attributes nor its traceback lead to the request.
    """

    def __init__(self, original_type: type[BaseException], detail: str) -> None:
        super().__init__(f"{original_type.__qualname__}: {detail}")
        #: The class of the library's exception, e.g. ``aiohttp.ClientConnectorError``.
        self.original_type = original_type
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.original_type, self.detail))


def _rebuild(cls: type[APIError], state: dict[str, Any]) -> APIError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    if "_body_json" in state:
        state = dict(state)
        state["body"] = json.loads(state.pop("_body_json"))
    error.__dict__.update(state)
    return error


class APIConnectionError(APIError):
    """The request got no usable answer: connection refused or reset, DNS, TLS, ..."""


class APITimeoutError(APIConnectionError):
    """A connect, pool or read timeout ran out (see ``Timeout``)."""


class APIResponseValidationError(APIError):
    """A successful answer whose body is not JSON or does not fit the expected model."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.request_id = printable(request_id) if request_id else request_id

    def __str__(self) -> str:
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return (
            f"{self.status_code} answer did not fit: {_one_line(self.message)}{rid} "
            f"[{self.method} {self.url}]"
        )


class APIStatusError(APIError):
    """The server answered with a status outside 2xx.

    ``status_code``, the decoded ``body`` (JSON, or text when it was not JSON), the
    server's ``message``, the response ``headers`` and the ``request_id`` (body's
    ``request_id`` or the ``x-request-id`` header) are kept.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: Any,
        headers: Mapping[str, str],
        request_id: str | None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers)
        self.request_id = printable(request_id) if request_id else request_id
        #: Seconds the server asked to wait, when it said so (``retry-after``).
        self.retry_after = retry_after

    def __str__(self) -> str:
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{self.status_code} {_one_line(self.message)}{rid} [{self.method} {self.url}]"


class UnexpectedRedirectError(APIStatusError):
    """3xx: the API never redirects, so the SDK follows none (the key stays put)."""

    @property
    def location(self) -> str | None:
        """Where the server pointed, if it said."""
        return self.headers.get("Location") or self.headers.get("location")


class BadRequestError(APIStatusError):
    """400: the server refused the request as malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (system categories are read-only, for one)."""


class NotFoundError(APIStatusError):
    """404: no such category, resource or resource version."""


class NoVersionInEffectError(NotFoundError):
    """``resolve()``: the resource has live versions, but none is in effect at ``at``.

    ``category``, ``resource`` and ``at`` (an aware ``datetime``) say what was asked.
    """

    def __init__(
        self, category: str, resource: str, at: datetime, *, earliest: datetime | None, url: str
    ) -> None:
        when = f"; the earliest starts at {earliest.isoformat()}" if earliest else ""
        super().__init__(
            f"no version of resource {resource!r} in category {category!r} is in effect "
            f"at {at.isoformat()}{when}",
            method="GET",
            url=url,
            status_code=404,
            body=None,
            headers={},
            request_id=None,
        )
        self.category = category
        self.resource = resource
        self.at = at
        self.earliest = earliest


class VersionMismatchError(PayiError):
    """``apply``: the server answered a create with a version other than the one sent
    (another start, other prices or limits), so sending the row again would only add
    more such versions. ``sent`` is the row, ``stored`` the version the server made."""

    def __init__(self, sent: Any, stored: Any, what: str) -> None:
        super().__init__(
            f"the server stored {what} (version {stored.resource_id}); not sending it again"
        )
        self.sent = sent
        self.stored = stored


class ConflictError(APIStatusError):
    """409: the request conflicts with the server's state."""


class UnprocessableEntityError(APIStatusError):
    """422: the body was understood but its values were refused."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how long the server asked to wait."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP status outside 2xx."""
    if status >= 500:
        return InternalServerError
    if 300 <= status < 400:
        return UnexpectedRedirectError
    return _BY_STATUS.get(status, APIStatusError)
