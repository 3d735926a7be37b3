"""The HTTP layer's top: one aiohttp session per client family, and the retry loop.

A call goes through four layers, each in its own module:

- ``_request``: the request value, built once (URL and query, merged headers, body);
- ``_attempt``: one attempt, the aiohttp call and the body read under the cap;
- ``_retry.RetryPolicy``: every decision about retrying and waiting;
- ``_boundary``: aiohttp's exceptions and the answer's text become SDK errors, with
  every secret removed.

``Transport._open`` is the loop tying them together: pace (``_throttle``), attempt,
ask the policy, wait, again. ``fetch`` (every method's path) decodes the 2xx answer it
read whole, in the same await; ``stream`` hands it out as a ``StreamedResponse`` whose
body is read when asked. SDK errors are raised outside any ``except`` block, so their
``__context__`` is empty. Closing the transport ends every call in flight.

Timeout model (per attempt, like httpx's): ``connect`` bounds opening a TCP/TLS
connection and ``pool`` waiting for a free pooled connection; aiohttp times the two
as one phase, so getting a connection is bounded by ``pool + connect`` in all (the
request has not been sent when that runs out, so any call may be retried). ``read``
bounds the silence between two reads of the answer; ``total`` bounds the whole attempt
(a trickle of bytes, endless ``1xx`` answers). Retries and their waits come on top.

aiohttp is imported when the first session opens, not with the package: its
connector builds TLS contexts at import, most of the cost of ``import payi_async``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from multidict import CIMultiDictProxy

from . import _attempt, _boundary
from ._config import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Limits, Timeout
from ._converter import ResponseContext, decode_json
from ._exceptions import APIError
from ._request import Request
from ._retry import RetryNotice, RetryPolicy
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
    "aiohttp_timeout",
    "parse_answer",
    "parsed_on_loop",
]

log = logging.getLogger("payi_async")

T = TypeVar("T")

#: Bodies up to this size are decoded on the event loop (a page of 1,000 resources is
#: ~0.4 MB, ~3 ms); larger ones in a worker thread.
_DECODE_ON_LOOP_BYTES = 1024 * 1024


def user_agent() -> str:
    """``payi-async/VERSION (Python X; aiohttp Y)``."""
    import platform

    import aiohttp

    python = platform.python_version()
    return f"payi-async/{__version__} (Python {python}; aiohttp {aiohttp.__version__})"


def aiohttp_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """``timeout`` in aiohttp's terms."""
    import aiohttp

    pool_and_connect = None
    if timeout.pool is not None:
        pool_and_connect = timeout.pool + (timeout.connect or 0.0)
    return aiohttp.ClientTimeout(
        total=timeout.total,
        connect=pool_and_connect,
        sock_connect=timeout.connect,
        sock_read=timeout.read,
    )


class Response(NamedTuple):
    """A decoded 2xx answer and what error messages need to say about it."""

    data: Any
    context: ResponseContext
    #: The body's size in bytes (``parse`` builds the models of a large one off the loop).
    size: int = 0


def parsed_on_loop(size: int) -> bool:
    """Whether the models of a ``size``-byte answer are built on the event loop."""
    return size <= _DECODE_ON_LOOP_BYTES


async def parse_answer(
    parser: Callable[[Any, ResponseContext], T], data: Any, context: ResponseContext, size: int
) -> T:
    """``parser(data, context)``; for a body over 1 MiB in a worker thread, as its
    decoding was: building 100,000 models of a valid page takes a second or more."""
    if parsed_on_loop(size):
        return parser(data, context)
    return await asyncio.to_thread(parser, data, context)


class StreamedResponse:
    """A 2xx answer whose body is read only when asked, within ``max_response_bytes``.

    Valid inside the ``async with`` block of ``_stream``; the connection goes back to
    the pool when the block ends.
    """

    __slots__ = (
        "_body",
        "_cap",
        "_request",
        "_response",
        "_secrets",
        "_timeout",
        "context",
        "headers",
        "status",
    )

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        headers: CIMultiDictProxy[str],
        request: Request,
        secrets: _boundary.Secrets,
        cap: int,
        timeout: Timeout,
        body: bytes | None = None,
    ) -> None:
        self._response = response
        self._timeout = timeout
        self._request = request
        self._secrets = secrets
        self._cap = cap
        self._body = body
        #: The HTTP status (2xx).
        self.status: int = response.status
        #: The answer's headers, any echoed key masked.
        self.headers = headers
        self.context = ResponseContext(
            request.method, request.url, self.status, headers.get("x-request-id")
        )

    def __repr__(self) -> str:
        return f"<StreamedResponse {self.status} {self._request.method} {self._request.url}>"

    async def _raw(self) -> bytes:
        if self._body is not None:
            return self._body
        import aiohttp

        failure: APIError | None = None
        try:
            body = await _attempt.read_capped(self._response, self._cap)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            body = None
            failure = _boundary.connection_error(exc, self._request, self._timeout, self._secrets)[
                0
            ]
        if failure is None and body is None:
            failure = _boundary.too_large(self._request, self.status, self.headers, self._cap)
        if failure is not None:
            raise failure
        assert body is not None
        self._body = self._secrets.body(body)
        return self._body

    async def read(self) -> bytes:
        """The whole body (read once, then remembered)."""
        return await self._raw()

    async def data(self) -> Any:
        """The body decoded as JSON (``None`` when empty)."""
        return await _data(await self._raw(), self._secrets, self._request, self.context)


async def _data(
    raw: bytes, secrets: _boundary.Secrets, request: Request, context: ResponseContext
) -> Any:
    """A 2xx body decoded as JSON (``None`` when empty), or the error saying why not."""
    if len(raw) <= _DECODE_ON_LOOP_BYTES:
        return _data_now(raw, secrets, request, context)
    # Decoding megabytes takes tens of ms: a worker thread does it, and the
    # interpreter's switch interval lets the loop run meanwhile.
    return await asyncio.to_thread(_data_now, raw, secrets, request, context, yielding=True)


def _data_now(
    raw: bytes,
    secrets: _boundary.Secrets,
    request: Request,
    context: ResponseContext,
    *,
    yielding: bool = False,
) -> Any:
    """``_data``, decoded in this thread (``yielding``: a worker thread's way)."""
    if not raw:
        return None
    problem: ValueError | None = None
    try:
        return _decode(raw, secrets, yielding=yielding)
    except ValueError as exc:
        problem = ValueError(str(exc))
    raise _boundary.not_json(raw, problem, request, context.status, context.request_id)


class Transport:
    """Owns the session; every client made by ``with_options`` shares one transport."""

    def __init__(self, limits: Limits) -> None:
        self._connection_limit = limits.max_connections
        self.max_response_bytes = limits.max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        # Shared backoff: a 429 seen by one request holds back and paces every request.
        self._throttle = Throttle()
        #: Every key sent through this pool: an answer echoing one gets it masked.
        self.secrets = _boundary.Secrets()
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        self._last_timeout: tuple[Timeout, aiohttp.ClientTimeout] | None = None
        #: Answers whose body an attempt is reading: closing the pool ends them.
        self._reading: set[aiohttp.ClientResponse] = set()

    def __repr__(self) -> str:
        return f"<Transport closed={self.closed}>"

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None:
            if self.closed:
                raise RuntimeError("this client is closed; make a new one")
            import aiohttp

            # No default headers: the key and headers of each client copy travel with
            # each request, so that copies with other keys share these connections.
            pool = aiohttp.TCPConnector(limit=self._connection_limit)
            # No cookie jar: the API sets none, and a cookie answering one key's request
            # would go out with the next request of every copy, whatever its key.
            self._session = aiohttp.ClientSession(
                connector=pool, raise_for_status=False, cookie_jar=aiohttp.DummyCookieJar()
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
        for response in list(self._reading):
            # aiohttp fails the protocol's queue when the connection goes, not the body
            # being awaited: without this a call reading one would wait for ``total``.
            response.content.set_exception(_attempt.closed_error())
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _aiohttp_timeout(self, timeout: Timeout) -> aiohttp.ClientTimeout:
        last = self._last_timeout
        if last is not None and last[0] is timeout:
            return last[1]  # the client's own limits: most calls, no hashing
        converted = self._timeouts.get(timeout)
        if converted is None:
            converted = self._timeouts[timeout] = aiohttp_timeout(timeout)
        self._last_timeout = (timeout, converted)
        return converted

    @contextlib.asynccontextmanager
    async def stream(
        self, request: Request, policy: RetryPolicy, timeout: Timeout, *, read_body: bool
    ) -> AsyncIterator[StreamedResponse]:
        """Send ``request``, retrying as ``policy`` says; yields the 2xx answer.

        With ``read_body`` the body is read within each attempt (so a failure while
        reading it is retried); otherwise only when the caller asks.
        """
        opened = await self._open(request, policy, timeout, read_body=read_body)
        try:
            yield StreamedResponse(
                opened.response,
                opened.headers,
                request,
                self.secrets,
                self.max_response_bytes,
                timeout,
                opened.body,
            )
        finally:
            opened.response.release()

    async def fetch(self, request: Request, policy: RetryPolicy, timeout: Timeout) -> Response:
        """Send ``request`` (retrying as ``policy`` says) and decode its 2xx answer, read
        whole: one await, no context manager, the connection back in the pool."""
        opened = await self._open(request, policy, timeout, read_body=True)
        opened.response.release()
        raw = opened.body
        assert raw is not None
        context = ResponseContext(
            request.method, request.url, opened.response.status, opened.headers.get("x-request-id")
        )
        if len(raw) <= _DECODE_ON_LOOP_BYTES:
            return Response(_data_now(raw, self.secrets, request, context), context, len(raw))
        return Response(await _data(raw, self.secrets, request, context), context, len(raw))

    async def _open(
        self, request: Request, policy: RetryPolicy, timeout: Timeout, *, read_body: bool
    ) -> _attempt.Opened:
        session = self._session_for_loop()
        client_timeout = self._aiohttp_timeout(timeout)
        self.secrets.add(request.key)
        loop = asyncio.get_running_loop()
        clock = policy.clock
        now = loop.time if clock is None else clock.time
        pause = sleep if clock is None else clock.sleep
        debug = log.isEnabledFor(logging.DEBUG)
        retry = 0
        while True:
            wait = self._throttle.delay(now())
            if wait > 0:
                await pause(wait)
            started = time.perf_counter() if debug else 0.0
            outcome = await _attempt.attempt(
                session,
                request,
                client_timeout,
                timeout,
                cap=self.max_response_bytes,
                secrets=self.secrets,
                read_body=read_body,
                reading_now=self._reading,
            )
            if isinstance(outcome, _attempt.Failed):
                log.debug("%s %s failed: %s", request.method, request.url, outcome.error)
                decision = None
                if outcome.reason is not None and not self.closed:
                    decision = policy.after_error(retry, outcome.reason)
                if decision is None:
                    raise outcome.error
            else:
                status = outcome.response.status
                if debug:
                    elapsed = (time.perf_counter() - started) * 1000
                    log.debug(
                        "%s %s -> %d in %.1f ms", request.method, request.url, status, elapsed
                    )
                if status != 429:
                    self._throttle.accepted(now())
                if 200 <= status < 300:
                    return outcome
                assert outcome.body is not None
                if len(outcome.body) > _DECODE_ON_LOOP_BYTES:
                    # An error body is as big as any answer: decoded off the loop too.
                    error = await asyncio.to_thread(
                        _boundary.status_error,
                        outcome.body,
                        status,
                        outcome.headers,
                        request,
                        self.secrets,
                        yielding=True,
                    )
                else:
                    error = _boundary.status_error(
                        outcome.body, status, outcome.headers, request, self.secrets
                    )
                decision = policy.after_status(
                    retry, status, outcome.headers, create=request.create
                )
                if decision is None:
                    raise error
            retry += 1
            log.info(
                "retrying %s %s (%d/%d) after %s in %.1f s",
                request.method,
                request.url,
                retry + 1,
                policy.max_retries + 1,
                decision.reason,
                decision.wait,
                extra={
                    "payi_retry": RetryNotice(
                        retry + 1, policy.max_retries + 1, decision.reason, decision.wait
                    )
                },
            )
            if decision.pace:
                # The throttle holds this attempt back along with every other one.
                self._throttle.limited(now(), decision.wait)
            elif decision.wait > 0:
                await pause(decision.wait)


def _decode(raw: bytes, secrets: _boundary.Secrets, *, yielding: bool = False) -> Any:
    data = decode_json(raw, yielding=yielding)
    # An escape (``\\u002B``, ``\\/``) can spell a key the raw body's masking missed.
    return secrets.data(data) if secrets.escaped_in(raw) else data


async def sleep(seconds: float) -> None:
    """How the transport waits when its policy names no ``clock``."""
    await asyncio.sleep(seconds)
