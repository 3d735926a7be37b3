"""Helpers of the reliability tests: the canary key, scripted servers, a fake clock."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

#: The API key of every client in these tests; it must never show up anywhere.
CANARY = "sk-canary-0d9f8e7c-never-print-me"
UNITS = {"text": {"input_price": 0.000015, "output_price": 0.000075}}
PATH_PREFIX = "/api/v1/categories"


def resource_body(
    category: str = "custom.rel", resource: str = "model", resource_id: str = "rid-1"
) -> dict[str, Any]:
    """A valid ``CategoryResourceResponse`` body."""
    return {
        "request_id": "req-1",
        "resource_id": resource_id,
        "category": category,
        "resource": resource,
        "units": UNITS,
        "creation_timestamp": "2024-05-01T10:00:00Z",
        "start_timestamp": "2024-05-01T10:00:00Z",
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def scripted(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """An ``aiohttp.web`` server answering every path with ``handler``; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", r"/{tail:[\s\S]*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(
    on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A bare ``asyncio`` TCP server; every connection runs ``on_connect``; yields base URL."""
    tasks: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)  # type: ignore[arg-type]
        writers.add(writer)
        try:
            await on_connect(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            writers.discard(writer)
            tasks.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in list(writers):
            writer.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 request from ``reader``: request line, headers (lower-cased), body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    length = int(headers.get("content-length", "0"))
    if length:
        body = await reader.readexactly(length)
    return lines[0], headers, body


def http_response(status: int, body: bytes, *, extra: str = "") -> bytes:
    """A complete keep-alive HTTP/1.1 answer with a JSON body."""
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


class FakeClock:
    """Stands in for ``payi_async._transport.sleep``: records every wait, sleeps none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def secret_free(obj: object) -> None:
    """Assert the canary key is nowhere in ``obj``'s text, repr, attributes or pickle.

    For exceptions, the whole chain (``__cause__``/``__context__``) and the formatted
    traceback are checked too.
    """
    seen: set[int] = set()
    todo: list[object] = [obj]
    while todo:
        item = todo.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        for text in (str(item), repr(item)):
            assert CANARY not in text, f"key in text of {type(item).__name__}: {text[:300]}"
        attrs_ = getattr(item, "__dict__", None)
        if isinstance(attrs_, dict):
            for name, value in attrs_.items():
                assert CANARY not in repr(value), f"key in {type(item).__name__}.{name}"
        if isinstance(item, BaseException):
            formatted = "".join(traceback.format_exception(item))
            assert CANARY not in formatted, "key in a formatted traceback"
            with contextlib.suppress(Exception):
                data = pickle.dumps(item)
                assert CANARY.encode() not in data, "key in a pickled error"
                clone = pickle.loads(data)
                assert str(clone) == str(item)
            todo.extend([item.__cause__, item.__context__])
