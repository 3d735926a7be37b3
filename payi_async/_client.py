"""``AsyncPayi``: the client users make, holding options and the shared transport."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from yarl import URL

from ._resources import AsyncCategories
from ._response import AsyncResponseView
from ._retry import RetryPolicy
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    Response,
    StreamedResponse,
    Timeout,
    Transport,
)

__all__ = ["DEFAULT_BASE_URL", "AsyncPayi"]

DEFAULT_BASE_URL = "https://api.pay-i.com"


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


class AsyncPayi:
    """An asyncio client for Pay-i's categories and resources API.

    ``api_key`` falls back to ``$PAYI_API_KEY``, ``base_url`` to ``$PAYI_BASE_URL``
    and then ``https://api.pay-i.com``. ``timeout`` is seconds for every phase of an
    attempt or a ``Timeout``; ``max_retries`` extra attempts follow a failed one
    (see the README's Reliability section). One connection pool per client, opened on
    first use; close it with ``await client.close()``, or use
    ``async with AsyncPayi() as client:``.
    A client belongs to the event loop that first used it.
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
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        connection_limit: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if api_key is not None and not isinstance(api_key, str):
            raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
        key = api_key if api_key is not None else os.environ.get("PAYI_API_KEY")
        if not key:
            raise ValueError(
                "no API key: pass api_key=... or set the PAYI_API_KEY environment variable"
            )
        if base_url is None:
            base_url = os.environ.get("PAYI_BASE_URL") or DEFAULT_BASE_URL
        url = _check_base_url(base_url)
        _check_count("max_retries", max_retries, minimum=0)
        _check_count("connection_limit", connection_limit, minimum=1)
        _check_count("max_response_bytes", max_response_bytes, minimum=1)
        self._timeout = Timeout.of(timeout)
        self._policy = RetryPolicy(max_retries=max_retries)
        self._transport = Transport(
            base_url=url,
            api_key=key,
            default_headers=_check_headers("default_headers", default_headers),
            connection_limit=connection_limit,
            max_response_bytes=max_response_bytes,
        )
        self.categories = AsyncCategories(self)

    @property
    def base_url(self) -> str:
        """The API's root URL."""
        return self._transport.base_url

    @property
    def timeout(self) -> Timeout:
        """The per-attempt time limits of every call."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """How many extra attempts follow a failed one."""
        return self._policy.max_retries

    @property
    def with_raw_response(self) -> AsyncResponseView:
        """Every method answering an ``AsyncAPIResponse`` instead of the model:
        ``await client.with_raw_response.categories.resources.retrieve(...)``."""
        return AsyncResponseView(self, "raw")

    @property
    def with_streaming_response(self) -> AsyncResponseView:
        """Every method as a streaming response to ``async with``:
        ``async with client.with_streaming_response.categories.list() as response:``."""
        return AsyncResponseView(self, "stream")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key='***', "
            f"max_retries={self.max_retries}, timeout={self._timeout!r})"
        )

    def with_options(
        self, *, timeout: float | Timeout = _UNSET, max_retries: int = _UNSET
    ) -> AsyncPayi:
        """A client with other defaults that shares this one's connection pool."""
        clone = object.__new__(type(self))
        clone._timeout = self._timeout if timeout is _UNSET else Timeout.of(timeout)
        if max_retries is _UNSET:
            clone._policy = self._policy
        else:
            _check_count("max_retries", max_retries, minimum=0)
            clone._policy = RetryPolicy(max_retries=max_retries)
        clone._transport = self._transport
        clone.categories = AsyncCategories(clone)
        return clone

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
        return await self._transport.request(
            method,
            path,
            **self._attempt_options(
                query,
                body,
                timeout,
                extra_headers,
                extra_query,
                extra_body,
                create,
                idempotency_key,
            ),
        )

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
        return self._transport.stream(
            method,
            path,
            **self._attempt_options(
                query,
                body,
                timeout,
                extra_headers,
                extra_query,
                extra_body,
                create,
                idempotency_key,
            ),
        )

    # Temporary (issue 10's sdk10 branch): the transport branch owns this C1 plumbing.
    def _attempt_options(
        self,
        query: Sequence[tuple[str, str]],
        body: Mapping[str, Any] | None,
        timeout: float | Timeout | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, object] | None,
        extra_body: Mapping[str, object] | None,
        create: bool,
        idempotency_key: bool,
    ) -> dict[str, Any]:
        pairs = list(query)
        if extra_query is not None:
            if not isinstance(extra_query, Mapping):
                raise TypeError("extra_query must be a mapping of parameter names to values")
            pairs = [(k, val) for k, val in pairs if k not in extra_query]
            for key, value in extra_query.items():
                if not isinstance(key, str):
                    raise TypeError(f"extra_query keys must be str, not {type(key).__name__}")
                if value is not None:
                    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                    pairs.append((key, text))
        if extra_body is not None:
            if not isinstance(extra_body, Mapping):
                raise TypeError("extra_body must be a mapping of field names to JSON values")
            if extra_body:
                body = {**(body or {}), **extra_body}
        data = None
        if body is not None:
            try:
                data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise TypeError(f"the request body is not JSON-serialisable: {exc}") from None
        return {
            "policy": self._policy,
            "timeout": self._timeout if timeout is None else Timeout.of(timeout),
            "query": urlencode(pairs, quote_via=quote) if pairs else "",
            "body": data,
            "extra_headers": _check_headers("extra_headers", extra_headers),
            "create": create,
            "idempotency_key": idempotency_key or create,
        }


def _check_base_url(url: str) -> str:
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a str, not {type(url).__name__}")
    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, not {url!r}")
    if parsed.query_string or parsed.fragment:
        raise ValueError(f"base_url must not carry a query or fragment: {url!r}")
    return url


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
