"""``AsyncPayi``: the client users make, holding options and the shared transport."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from multidict import CIMultiDict
from yarl import URL

from ._config import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    Limits,
    NotGiven,
    Timeout,
)
from ._request import KEY_HEADER, Request, build_request
from ._resources import AsyncCategories
from ._response import AsyncResponseView, Operation, view_of
from ._retry import RetryPolicy
from ._transport import Response, StreamedResponse, Transport, user_agent
from ._urls import flatten_query, query_pairs

if TYPE_CHECKING:
    from ._views import AsyncPayiWithRawResponse, AsyncPayiWithStreamingResponse

__all__ = ["DEFAULT_BASE_URL", "AsyncPayi"]

DEFAULT_BASE_URL = "https://api.pay-i.com"


class AsyncPayi:
    """An asyncio client for Pay-i's categories and resources API.

    ``api_key`` falls back to ``$PAYI_API_KEY``, ``base_url`` to ``$PAYI_BASE_URL``
    and then ``https://api.pay-i.com``. ``timeout`` is seconds for every phase of an
    attempt or a ``Timeout``; ``max_retries`` extra attempts follow a failed one, or a
    ``RetryPolicy`` says how to retry (see the README's Reliability section).
    ``default_headers`` and ``default_query`` go with every request. One connection
    pool per client, opened on first use; close it with ``await client.close()``, or use
    ``async with AsyncPayi() as client:``.
    A client belongs to the event loop that first used it.
    ``PAYI_LOG=info`` or ``PAYI_LOG=debug`` logs to stderr.
    """

    #: Categories, their resources and the resources' versions.
    categories: AsyncCategories

    _response_methods: ClassVar[frozenset[str]] = frozenset()
    _sub_resources: ClassVar[frozenset[str]] = frozenset({"categories"})

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int | RetryPolicy = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        connection_limit: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        _configure_logging()
        if api_key is None:
            api_key = os.environ.get("PAYI_API_KEY")
            if not api_key:
                raise ValueError(
                    "no API key: pass api_key=... or set the PAYI_API_KEY environment variable"
                )
        if base_url is None:
            base_url = os.environ.get("PAYI_BASE_URL") or DEFAULT_BASE_URL
        _check_count("connection_limit", connection_limit, minimum=1)
        _check_count("max_response_bytes", max_response_bytes, minimum=1)
        self._transport = Transport(Limits(connection_limit, max_response_bytes))
        self._set_options(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers or {},
            default_query=default_query or {},
        )
        self.categories = AsyncCategories(self)

    def _set_options(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float | Timeout,
        max_retries: int | RetryPolicy,
        default_headers: Mapping[str, str],
        default_query: Mapping[str, object],
    ) -> None:
        if not isinstance(api_key, str):
            raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        _check_headers("api_key", {KEY_HEADER: api_key})
        self._api_key = api_key
        self._base_url = _check_base_url(base_url)
        self._timeout = Timeout.of(timeout)
        self._policy = _policy(max_retries)
        self._default_headers = dict(_check_headers("default_headers", default_headers) or {})
        self._default_query = dict(default_query)
        self._default_query_pairs = query_pairs("default_query", default_query)
        self._headers: CIMultiDict[str] | None = None
        # Every key this client may send is masked wherever an answer echoes it.
        self._transport.secrets.add(api_key)
        for name, value in self._default_headers.items():
            if name.lower() == KEY_HEADER.lower():
                self._transport.secrets.add(value)

    @property
    def api_key(self) -> str:
        """The API key sent with every request (``repr`` shows ``***``)."""
        return self._api_key

    @property
    def base_url(self) -> str:
        """The API's root URL."""
        return self._base_url

    @property
    def default_headers(self) -> Mapping[str, str]:
        """Headers sent with every request, besides the key and ``User-Agent``."""
        return MappingProxyType(self._default_headers)

    @property
    def default_query(self) -> Mapping[str, object]:
        """Query parameters sent with every request."""
        return MappingProxyType(self._default_query)

    @property
    def timeout(self) -> Timeout:
        """The per-attempt time limits of every call."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """How many extra attempts follow a failed one."""
        return self._policy.max_retries

    if TYPE_CHECKING:
        # What the views' methods answer, for type checkers (``_views`` is generated).
        @property
        def with_raw_response(self) -> AsyncPayiWithRawResponse: ...

        @property
        def with_streaming_response(self) -> AsyncPayiWithStreamingResponse: ...

    else:

        @property
        def with_raw_response(self) -> AsyncResponseView:
            """Every method answering an ``AsyncAPIResponse`` instead of the model:
            ``await client.with_raw_response.categories.resources.retrieve(...)``."""
            return view_of(self, "raw")

        @property
        def with_streaming_response(self) -> AsyncResponseView:
            """Every method as a streaming response to ``async with``:
            ``async with client.with_streaming_response.categories.list() as response:``."""
            return view_of(self, "stream")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key='***', "
            f"max_retries={self.max_retries}, timeout={self._timeout!r})"
        )

    def with_options(
        self,
        *,
        api_key: str | NotGiven = NOT_GIVEN,
        base_url: str | NotGiven = NOT_GIVEN,
        timeout: float | Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | RetryPolicy | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
        default_query: Mapping[str, object] | NotGiven = NOT_GIVEN,
    ) -> AsyncPayi:
        """A client with other options that shares this one's connection pool.

        Options not given are this client's; ``default_headers`` and ``default_query``
        are merged into this client's (a name given again replaces its value).
        ``copy`` is the same method.
        """
        headers = self._default_headers
        if not isinstance(default_headers, NotGiven):
            checked = _check_headers("default_headers", default_headers) or {}
            headers = {
                **{k: v for k, v in headers.items() if k.lower() not in _lower(checked)},
                **checked,
            }
        query = self._default_query
        if not isinstance(default_query, NotGiven):
            query_pairs("default_query", default_query)
            query = {**query, **default_query}
        if not isinstance(max_retries, (NotGiven, RetryPolicy)):
            # A count keeps the clock: it is where the client runs, not a retry rule.
            max_retries = attrs.evolve(_policy(max_retries), clock=self._policy.clock)
        clone = object.__new__(type(self))
        clone._transport = self._transport
        clone._set_options(
            api_key=self._api_key if isinstance(api_key, NotGiven) else api_key,
            base_url=self._base_url if isinstance(base_url, NotGiven) else base_url,
            timeout=self._timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=self._policy if isinstance(max_retries, NotGiven) else max_retries,
            default_headers=headers,
            default_query=query,
        )
        clone.categories = AsyncCategories(clone)
        return clone

    copy = with_options

    async def close(self) -> None:
        """Close the connection pool (shared with ``with_options`` copies). Idempotent."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncPayi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _client_headers(self) -> CIMultiDict[str]:
        headers = self._headers
        if headers is None:
            headers = CIMultiDict(
                {
                    KEY_HEADER: self._api_key,
                    "Accept": "application/json",
                    "User-Agent": user_agent(),
                }
            )
            for name, value in self._default_headers.items():
                headers[name] = value
            self._headers = headers
        return headers

    def _build(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        body: Mapping[str, Any] | None,
        timeout: float | Timeout | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, object] | None,
        extra_body: Mapping[str, object] | None,
        create: bool,
        idempotency_key: bool,
    ) -> tuple[Request, Timeout]:
        """The request value of one call and its time limits."""
        request = build_request(
            method,
            self._base_url,
            path,
            headers=self._client_headers(),
            default_query=self._default_query_pairs,
            query=query,
            extra_query=extra_query,
            extra_headers=_check_headers("extra_headers", extra_headers),
            body=body,
            extra_body=extra_body,
            create=create,
            idempotency_key=idempotency_key,
        )
        return request, self._timeout if timeout is None else Timeout.of(timeout)

    @contextlib.asynccontextmanager
    async def _send(
        self,
        method: str,
        path: str,
        *,
        read_body: bool,
        query: Sequence[tuple[str, str]],
        body: Mapping[str, Any] | None,
        timeout: float | Timeout | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, object] | None,
        extra_body: Mapping[str, object] | None,
        create: bool,
        idempotency_key: bool,
    ) -> AsyncIterator[StreamedResponse]:
        request, limits = self._build(
            method,
            path,
            query,
            body,
            timeout,
            extra_headers,
            extra_query,
            extra_body,
            create,
            idempotency_key,
        )
        async with self._transport.stream(
            request, self._policy, limits, read_body=read_body
        ) as answer:
            yield answer

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
        create: bool = False,
        idempotency_key: bool = False,
    ) -> Response:
        """Send one call (retried as the policy says) and return its decoded 2xx answer."""
        # ``_send`` with the body read, as one await: no context managers per call.
        request, limits = self._build(
            method,
            path,
            query,
            body,
            timeout,
            extra_headers,
            extra_query,
            extra_body,
            create,
            idempotency_key,
        )
        return await self._transport.fetch(request, self._policy, limits)

    def _call(self, op: Operation[Any]) -> Awaitable[Response]:
        """``_request`` of a method's described call (the transport's coroutine itself)."""
        request, limits = self._build(
            op.method,
            op.path,
            op.query,
            op.body,
            op.timeout,
            op.extra_headers,
            flatten_query(op.extra_query),
            op.extra_body,
            op.create,
            op.idempotency_key,
        )
        return self._transport.fetch(request, self._policy, limits)

    def _stream(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
        create: bool = False,
        idempotency_key: bool = False,
    ) -> contextlib.AbstractAsyncContextManager[StreamedResponse]:
        """Like ``_request``, but yields the 2xx answer before its body is read.

        Retries happen (on status) before anything is yielded; the connection goes back
        to the pool when the ``async with`` block ends.
        """
        return self._send(
            method,
            path,
            read_body=False,
            query=query,
            body=body,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            create=create,
            idempotency_key=idempotency_key,
        )


_LOG_LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}
_logging_configured = False


def _configure_logging() -> None:
    """``PAYI_LOG=info|debug``: log the SDK to stderr at that level (once per process)."""
    global _logging_configured
    level = _LOG_LEVELS.get(os.environ.get("PAYI_LOG", "").strip().lower())
    if level is None or _logging_configured:
        return
    _logging_configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s")
    )
    logger = logging.getLogger("payi_async")
    logger.addHandler(handler)
    logger.setLevel(level)


def _policy(max_retries: int | RetryPolicy) -> RetryPolicy:
    if isinstance(max_retries, RetryPolicy):
        return max_retries
    _check_count("max_retries", max_retries, minimum=0)
    return RetryPolicy(max_retries=max_retries)


def _lower(headers: Mapping[str, str]) -> set[str]:
    return {name.lower() for name in headers}


def _check_base_url(url: str) -> str:
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a str, not {type(url).__name__}")
    authority = url.partition("://")[2].partition("/")[0]
    if "@" in authority:
        # The URL is not repeated: it holds a password.
        raise ValueError(
            "base_url must not carry a user name or password; the API key is the only "
            "credential sent"
        )
    if "?" in url or "#" in url:
        raise ValueError(f"base_url must not carry a query or fragment (? or #): {url!r}")
    if not url.isascii() or not url.isprintable() or any(c.isspace() or c == "\\" for c in url):
        # Sent as-is in the request line: a space or line break would corrupt it.
        raise ValueError(
            "base_url must be plain ASCII without spaces, control characters or "
            f"backslashes (percent-encode them): {url!r}"
        )
    if any(part in (".", "..") for part in url.partition("://")[2].split("/")[1:]):
        raise ValueError(f"base_url must not hold a . or .. path segment: {url!r}")
    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {url!r}")
    return url.rstrip("/")


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")


def _check_headers(name: str, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        raise TypeError(f"{name} must be a mapping of header names to str values")
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{name} must map str to str; {key!r} maps to {type(value).__name__}")
        if "\n" in value or "\r" in value or "\n" in key or "\r" in key:
            raise ValueError(f"{name}[{key!r}] must not contain a line break")
    return headers
