"""One attempt: send the request with aiohttp, read the body under the cap. Nothing else.

The cap counts decoded bytes as aiohttp hands them over (it inflates gzip, deflate, br
and zstd in bounded steps and stops inflating while the reader is behind), so a small
compressed body that inflates to gigabytes costs at most the cap plus one step of
memory, whether or not it has a ``Content-Length``. aiohttp's exceptions go to
``_boundary`` at once; the result is an ``Opened`` answer or a ``Failed`` attempt,
never a raised error, so that no frame holding the live response is on an error's
traceback.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, NamedTuple

import attrs
from multidict import CIMultiDictProxy

from . import _boundary
from ._config import Timeout
from ._exceptions import APIError

if TYPE_CHECKING:
    import aiohttp

    from ._request import Request

__all__ = ["Failed", "Opened", "attempt", "closed_error", "read_capped"]


class Opened(NamedTuple):
    """An answer: its status and (redacted) headers; its (redacted) body if read."""

    response: aiohttp.ClientResponse
    headers: CIMultiDictProxy[str]
    body: bytes | None

    def __repr__(self) -> str:
        return f"<answer {self.response.status}>"


@attrs.frozen
class Failed:
    """An attempt that got no usable answer, as the SDK error to raise."""

    error: APIError
    #: Why, for the retry log; ``None``: never retried (the answer was too large).
    reason: str | None


async def attempt(
    session: aiohttp.ClientSession,
    request: Request,
    client_timeout: aiohttp.ClientTimeout,
    timeout: Timeout,
    *,
    cap: int,
    secrets: _boundary.Secrets,
    read_body: bool,
    reading_now: set[aiohttp.ClientResponse] | None = None,
) -> Opened | Failed:
    """One attempt. The body of a non-2xx answer is always read (the error needs it),
    a 2xx one only with ``read_body``; a read body's connection is released. While it
    is read, the response is in ``reading_now`` (so that closing the pool can end it)."""
    try:
        response = await session.request(
            request.method,
            request.target,
            data=request.body,
            headers=request.headers,
            timeout=client_timeout,
            allow_redirects=False,
        )
    except _wire_errors() as exc:
        return Failed(*_boundary.connection_error(exc, request, timeout, secrets))
    except asyncio.CancelledError:
        if not _closed_under(session):
            raise
        # Closing the pool cancels the calls queued for a connection; nobody cancelled
        # this task, so its caller gets the error a closed client gives, not a cancel.
        return Failed(*_boundary.connection_error(closed_error(), request, timeout, secrets))
    reading = read_body or not 200 <= response.status < 300
    body: bytes | None = None
    try:
        if reading:
            if reading_now is not None:
                reading_now.add(response)
            body = await read_capped(response, cap)
            if body is None:
                response.close()
            else:
                response.release()
    except BaseException as exc:
        response.close()
        if isinstance(exc, _wire_errors()):
            return Failed(*_boundary.connection_error(exc, request, timeout, secrets))
        raise
    finally:
        if reading_now is not None:
            reading_now.discard(response)
    headers = secrets.headers(response.headers)
    if reading and body is None:
        return Failed(_boundary.too_large(request, response.status, headers, cap), None)
    return Opened(response, headers, None if body is None else secrets.body(body))


def _closed_under(session: aiohttp.ClientSession) -> bool:
    """Whether a cancellation inside ``session.request`` came from closing the pool
    (the session is closed and this task is not being cancelled). Python 3.10 cannot
    tell, and lets the cancellation through."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return session.closed and cancelling is not None and cancelling() == 0


def closed_error() -> BaseException:
    """What a call in flight meets when its client is closed."""
    import aiohttp

    return aiohttp.ClientConnectionError("the client was closed while this call was in flight")


def _wire_errors() -> tuple[type[BaseException], ...]:
    """What aiohttp raises for a failed exchange (looked up only when one is raised:
    aiohttp is imported with the first session, not with this module)."""
    import aiohttp

    return (aiohttp.ClientError, asyncio.TimeoutError)


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes | None:
    """The whole decoded body, or ``None`` as soon as it exceeds ``cap`` bytes."""
    content = response.content
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await content.readany()
        if not chunk:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        size += len(chunk)
        if size > cap:
            return None
        if not chunks and content.at_eof():
            return chunk  # the whole body in one piece: no second read
        chunks.append(chunk)
