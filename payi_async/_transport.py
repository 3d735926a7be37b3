"""The HTTP layer: one aiohttp session per client, attempts, retries, error mapping.

Timeout model (per attempt, like httpx's): ``connect`` bounds opening a TCP/TLS
connection and ``pool`` waiting for a free pooled connection; aiohttp times the two
as one phase, so getting a connection is bounded by ``pool + connect`` in all (the
request has not been sent when that runs out, so any call may be retried). ``read``
bounds the silence between two reads of the answer, from the moment the request is
sent: time spent queued for the pool never counts against it. A server that drips a
byte now and then never trips ``read``; ``total``, off by default, bounds a whole
attempt, pool wait included. Retries and their waits come on top (tests:
``tests/reliability/test_rel_pool_health.py``).

aiohttp is imported when the first session opens, not with the package: its
connector builds TLS contexts at import, most of the cost of ``import payi_async``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._converter import ResponseContext, decode_json
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)
from ._retry import RetryNotice, RetryPolicy, server_delay
from ._throttle import Throttle
from ._version import __version__

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "Response",
    "StreamedResponse",
    "Timeout",
    "Transport",
]

log = logging.getLogger("payi_async")

#: Answers larger than this are refused rather than read into memory.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


def _user_agent() -> str:
    import platform

    import aiohttp

    python = platform.python_version()
    return f"payi-async/{__version__} (Python {python}; aiohttp {aiohttp.__version__})"


def __getattr__(name: str) -> Any:
    # ``USER_AGENT`` names aiohttp's version, so it is built only when asked for.
    if name == "USER_AGENT":
        return _user_agent()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@attrs.frozen
class Timeout:
    """Per-attempt limits in seconds; ``None`` means no limit for that phase."""

    connect: float | None = 5.0
    read: float | None = 60.0
    pool: float | None = 60.0
    total: float | None = None

    @classmethod
    def of(cls, value: float | Timeout) -> Timeout:
        """A ``Timeout`` from a number (every phase that long) or a ``Timeout``."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"timeout must be a number or a Timeout, not {type(value).__name__}")
        if not value > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {value!r}")
        return cls(connect=float(value), read=float(value), pool=float(value))

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        """The same limits in aiohttp's terms."""
        import aiohttp

        pool_and_connect = None
        if self.pool is not None:
            pool_and_connect = self.pool + (self.connect or 0.0)
        return aiohttp.ClientTimeout(
            total=self.total,
            connect=pool_and_connect,
            sock_connect=self.connect,
            sock_read=self.read,
        )


DEFAULT_TIMEOUT = Timeout()


@attrs.frozen
class Response:
    """A decoded 2xx answer and what error messages need to say about it."""

    data: Any
    context: ResponseContext


class StreamedResponse:
    """A 2xx answer whose body has not been read yet (see ``Transport.stream``)."""

    def __init__(
        self, transport: Transport, resp: aiohttp.ClientResponse, url: str, timeout: Timeout
    ) -> None:
        self._transport = transport
        self._timeout = timeout
        self._resp = resp
        self._raw: bytes | None = None
        headers = resp.headers
        if any(transport._key in value for value in headers.values()):
            headers = _redacted(headers, transport._key)
        self.status: int = resp.status
        self.headers: CIMultiDictProxy[str] = headers
        self.context = ResponseContext(resp.method, url, resp.status, headers.get("x-request-id"))

    async def read(self) -> bytes:
        """The whole body (size-capped), read once."""
        if self._raw is None:
            import aiohttp

            ctx = self.context
            try:
                raw = await self._transport._read(self._resp, ctx.method, ctx.url)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = _connection_error(exc, ctx.method, ctx.url, self._timeout)
                raise error from _scrubbed(exc)
            key = self._transport._key_bytes
            self._raw = raw.replace(key, b"***") if key in raw else raw
        return self._raw

    async def data(self) -> Any:
        """The body decoded as JSON; ``APIResponseValidationError`` when it is not."""
        ctx = self.context
        raw = await self.read()
        return Transport._decode(raw, ctx.status, self.headers, ctx.method, ctx.url).data


class Transport:
    """Owns the session; every client made by ``with_options`` shares one transport."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        default_headers: Mapping[str, str] | None,
        connection_limit: int,
        max_response_bytes: int,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._default_headers = dict(default_headers or {})
        self._connection_limit = connection_limit
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        # Shared backoff: a 429 seen by one request holds back and paces every request.
        self._throttle = Throttle()
        # A server (or proxy) that echoes the key back must not get it into errors.
        self._key = api_key
        self._key_bytes = api_key.encode()
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} closed={self.closed}>"

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None:
            if self.closed:
                raise RuntimeError("this client is closed; make a new one")
            import aiohttp

            headers = {
                "xProxy-api-key": self._key,
                "Accept": "application/json",
                "User-Agent": _user_agent(),
                **self._default_headers,
            }
            connector = aiohttp.TCPConnector(limit=self._connection_limit)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=headers, raise_for_status=False
            )
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "this client's connections belong to another event loop; make one client "
                "per loop (or use payi_sync.Payi from blocking code)"
            )
        return self._session

    async def close(self) -> None:
        """Close the pool; idempotent."""
        self.closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        timeout: Timeout,
        query: str = "",
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        create: bool = False,
        idempotency_key: bool = False,
    ) -> Response:
        """Send one call, retrying as ``policy`` says; returns the decoded 2xx answer.

        With ``idempotency_key`` (creates and deletes) every attempt carries the same
        ``Idempotency-Key``, so a retry of a write the server already made is answered
        with the first answer instead of making it twice (or answering 404).
        """
        session = self._session_for_loop()
        import aiohttp  # loaded by now: only a lookup

        url = f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"
        target = URL(url, encoded=True)
        headers: dict[str, str] = dict(extra_headers) if extra_headers else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key and not any(k.lower() == "idempotency-key" for k in headers):
            headers["Idempotency-Key"] = f"payi-async-{uuid.uuid4()}"
        client_timeout = self._timeouts.get(timeout)
        if client_timeout is None:
            client_timeout = self._timeouts[timeout] = timeout.to_aiohttp()

        retry = 0
        loop = asyncio.get_running_loop()
        while True:
            wait = self._throttle.delay(loop.time())
            if wait > 0:
                await sleep(wait)
            started = time.perf_counter()
            try:
                async with session.request(
                    method,
                    target,
                    data=body,
                    headers=headers,
                    timeout=client_timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    raw = await self._read(resp, method, url)
                    resp_headers = resp.headers
                if self._key_bytes in raw:
                    raw = raw.replace(self._key_bytes, b"***")
                if any(self._key in value for value in resp_headers.values()):
                    resp_headers = _redacted(resp_headers, self._key)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = _connection_error(exc, method, url, timeout)
                if retry >= policy.max_retries:
                    raise error from _scrubbed(exc)
                delay = policy.backoff(retry)
                _log_retry(method, url, retry, policy, _failure_reason(exc), delay)
            else:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s %s -> %d in %.1f ms",
                        method,
                        url,
                        status,
                        (time.perf_counter() - started) * 1000,
                    )
                if status != 429:
                    self._throttle.accepted(loop.time())
                if 200 <= status < 300:
                    return self._decode(raw, status, resp_headers, method, url)
                status_error = _status_error(raw, status, resp_headers, method, url)
                if retry >= policy.max_retries or not policy.should_retry(
                    status, resp_headers, create=create
                ):
                    raise status_error
                asked = status_error.retry_after
                if asked is not None and asked > policy.max_retry_after:
                    log.debug("%s %s: server asks %.0f s of wait; not retrying", method, url, asked)
                    raise status_error
                delay = asked if asked is not None else policy.backoff(retry)
                _log_retry(method, url, retry, policy, f"status {status}", delay)
                if status == 429:
                    # The throttle holds this attempt back along with every other one.
                    self._throttle.limited(loop.time(), delay)
                    delay = 0.0
            if delay > 0:
                await sleep(delay)
            retry += 1

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        policy: RetryPolicy,
        timeout: Timeout,
        query: str = "",
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        create: bool = False,
        idempotency_key: bool = False,
    ) -> AsyncIterator[StreamedResponse]:
        """``request`` that yields the 2xx answer before reading its body.

        Retries (as ``request``'s) happen before anything is yielded; the connection
        is released when the block exits.
        """
        session = self._session_for_loop()
        import aiohttp

        url = f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"
        target = URL(url, encoded=True)
        headers: dict[str, str] = dict(extra_headers) if extra_headers else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key and not any(k.lower() == "idempotency-key" for k in headers):
            headers["Idempotency-Key"] = f"payi-async-{uuid.uuid4()}"
        retry = 0
        loop = asyncio.get_running_loop()
        while True:
            wait = self._throttle.delay(loop.time())
            if wait > 0:
                await sleep(wait)
            try:
                resp = await session.request(
                    method,
                    target,
                    data=body,
                    headers=headers,
                    timeout=timeout.to_aiohttp(),
                    allow_redirects=False,
                )
                status = resp.status
                if not 200 <= status < 300:
                    try:
                        raw = await self._read(resp, method, url)
                    finally:
                        resp.release()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = _connection_error(exc, method, url, timeout)
                if retry >= policy.max_retries:
                    raise error from _scrubbed(exc)
                delay = policy.backoff(retry)
            else:
                if status != 429:
                    self._throttle.accepted(loop.time())
                if 200 <= status < 300:
                    try:
                        yield StreamedResponse(self, resp, url, timeout)
                    finally:
                        resp.release()
                    return
                if self._key_bytes in raw:
                    raw = raw.replace(self._key_bytes, b"***")
                resp_headers = resp.headers
                if any(self._key in value for value in resp_headers.values()):
                    resp_headers = _redacted(resp_headers, self._key)
                status_error = _status_error(raw, status, resp_headers, method, url)
                if retry >= policy.max_retries or not policy.should_retry(
                    status, resp_headers, create=create
                ):
                    raise status_error
                asked = status_error.retry_after
                if asked is not None and asked > policy.max_retry_after:
                    raise status_error
                delay = asked if asked is not None else policy.backoff(retry)
                if status == 429:
                    self._throttle.limited(loop.time(), delay)
                    delay = 0.0
            if delay > 0:
                await sleep(delay)
            retry += 1

    async def _read(self, resp: aiohttp.ClientResponse, method: str, url: str) -> bytes:
        cap = self.max_response_bytes
        length = resp.content_length
        if length is not None and length <= cap:
            return await resp.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > cap:
                raise APIResponseValidationError(
                    f"the answer is larger than max_response_bytes ({cap} bytes); "
                    "refused rather than held in memory",
                    method=method,
                    url=url,
                    status_code=resp.status,
                    body=None,
                    request_id=resp.headers.get("x-request-id"),
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _decode(
        raw: bytes, status: int, headers: CIMultiDictProxy[str], method: str, url: str
    ) -> Response:
        context = ResponseContext(method, url, status, headers.get("x-request-id"))
        try:
            data = decode_json(raw) if raw else None
        except ValueError as exc:
            raise APIResponseValidationError(
                f"the body is not JSON ({exc}); it starts {raw[:80]!r}",
                method=method,
                url=url,
                status_code=status,
                body=raw[:1000].decode("utf-8", "replace"),
                request_id=context.request_id,
            ) from exc
        return Response(data, context)


def _redacted(headers: CIMultiDictProxy[str], key: str) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict((k, v.replace(key, "***")) for k, v in headers.items()))


def _scrubbed(exc: BaseException) -> BaseException:
    """``exc`` without the request headers aiohttp keeps in ``request_info`` (the key)."""
    import aiohttp

    info = getattr(exc, "request_info", None)
    if isinstance(info, aiohttp.RequestInfo):
        headers = CIMultiDict(
            (k, "***" if k.lower() == "xproxy-api-key" else v) for k, v in info.headers.items()
        )
        exc.request_info = aiohttp.RequestInfo(  # type: ignore[attr-defined]
            info.url, info.method, CIMultiDictProxy(headers), info.real_url
        )
    return exc


def _log_retry(
    method: str, url: str, retry: int, policy: RetryPolicy, reason: str, wait: float
) -> None:
    notice = RetryNotice(
        attempt=retry + 2, max_attempts=policy.max_retries + 1, reason=reason, wait=wait
    )
    log.info(
        "retrying %s %s (%d/%d) after %s in %.1f s",
        method,
        url,
        notice.attempt,
        notice.max_attempts,
        reason,
        wait,
        extra={"payi_retry": notice},
    )


def _failure_reason(exc: BaseException) -> str:
    """A short phrase for a failed attempt: "a read timeout", "a connection error"."""
    import aiohttp

    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "a connect timeout"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return "a read timeout"
    if isinstance(exc, asyncio.TimeoutError):
        return "a timeout"
    return "a connection error"


async def sleep(seconds: float) -> None:
    """The one place the transport waits; tests replace it with a fake clock."""
    await asyncio.sleep(seconds)


def _connection_error(
    exc: BaseException, method: str, url: str, timeout: Timeout
) -> APIConnectionError:
    import aiohttp

    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            f"no connection within {timeout.pool} s pool wait + {timeout.connect} s connect; "
            "the request was not sent",
            method=method,
            url=url,
        )
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return APITimeoutError(
            f"the server sent nothing for {timeout.read} s (read timeout)",
            method=method,
            url=url,
        )
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            f"the attempt took longer than its total timeout ({timeout.total} s)",
            method=method,
            url=url,
        )
    detail = str(exc) or exc.__class__.__name__
    return APIConnectionError(f"connection failed: {detail}", method=method, url=url)


def _status_error(
    raw: bytes, status: int, headers: CIMultiDictProxy[str], method: str, url: str
) -> APIStatusError:
    body: Any
    try:
        body = decode_json(raw) if raw else None
    except ValueError:
        body = raw[:2000].decode("utf-8", "replace")
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
        message,
        method=method,
        url=url,
        status_code=status,
        body=body,
        headers=headers,
        request_id=request_id if isinstance(request_id, str) else None,
        retry_after=server_delay(headers),
    )


def _reason(status: int, body: Any) -> str:
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown status"
    if isinstance(body, str) and body.strip():
        return f"{phrase}: {body.strip()[:200]}"
    return phrase
