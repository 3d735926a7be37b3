"""One attempt: send the request with aiohttp, read the body under the cap. Nothing else.

The cap counts decoded bytes as aiohttp hands them over (it inflates gzip, deflate, br
and zstd in bounded steps and stops inflating while the reader is behind), so a small
compressed body that inflates to gigabytes costs at most the cap plus one step of
memory, whether or not it has a ``Content-Length``. aiohttp's exceptions are left to
the caller, which hands them to ``_boundary``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

    from ._request import Request

__all__ = ["read_capped", "send"]


async def send(
    session: aiohttp.ClientSession, request: Request, timeout: aiohttp.ClientTimeout
) -> aiohttp.ClientResponse:
    """The answer's status line and headers; its body is not read yet."""
    return await session.request(
        request.method,
        request.target,
        data=request.body,
        headers=request.headers,
        timeout=timeout,
        allow_redirects=False,
    )


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
        chunks.append(chunk)
