"""A canned-response HTTP server: fixed, pre-encoded answers at almost no server cost.

``python -m benchmarks.canned --port 0`` prints its base URL as the first stdout line.
It is a raw ``asyncio.Protocol`` speaking just enough HTTP/1.1 (keep-alive,
``Content-Length`` request bodies) for the clients under test, so client-only figures
are not hidden behind the server's own work. Routes (any category name works):

* ``GET  /api/v1/categories/{c}/resources/{r}/{id}`` - one resource version;
* ``GET  /api/v1/categories/{c}/resources/{r}`` (and ``.../{c}/resources``) - one page of
  ``PAGE_SIZE`` versions, ``cursor: null``; for category ``stream`` and resource ``n<N>``
  a listing of N items in pages of ``PAGE_SIZE`` linked by cursors ``p1``, ``p2``, ...;
* ``POST /api/v1/categories/{c}/resources/{r}`` - 201 with a created version;
* anything else - 404 with a JSON error.

Bodies have the hosted API's shape (the seed's fields plus ``active``, ``proxy_allowed``
and the optional hosted fields), which both this SDK and the vendor's accept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

from payi_async.emulator._shapes import HOSTED_EXTRAS

__all__ = ["PAGE_SIZE", "item", "main"]

PAGE_SIZE = 1000


def item(index: int, category: str = "bench", resource: str = "model") -> dict[str, Any]:
    """One ``CategoryResourceResponse`` body, varied by ``index``."""
    body: dict[str, Any] = {
        "resource_id": f"rv-{index:08d}",
        "category": category,
        "resource": f"{resource}-{index % 97}",
        "units": {
            "text": {"input_price": 3e-06 + index * 1e-09, "output_price": 1.5e-05},
            "text_cache_read": {"input_price": 3e-07, "output_price": 0.0},
        },
        "max_input_units": 200000,
        "max_output_units": 8192,
        "max_total_units": None,
        "creation_timestamp": "2024-06-20T12:00:00.000Z",
        "start_timestamp": "2024-06-20T12:00:00.000Z",
        "resource_scope": "global",
        "aliases": None,
        "active": True,
        "proxy_allowed": False,
    }
    body.update(dict.fromkeys(HOSTED_EXTRAS))
    return body


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _head(status: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nx-request-id: req-canned\r\n\r\n"
    ).encode()


def _answer(status: str, body: bytes) -> tuple[bytes, ...]:
    return (_head(status, len(body)), body)


class Bodies:
    """Every answer, encoded once at start-up."""

    def __init__(self) -> None:
        self.retrieve = _answer("200 OK", _dumps({**item(7), "request_id": "req-canned"}))
        self.created = _answer("201 Created", _dumps({**item(8), "request_id": "req-canned"}))
        self.not_found = _answer(
            "404 Not Found", _dumps({"message": "no such route", "statusCode": 404})
        )
        items = b",".join(_dumps(item(i)) for i in range(PAGE_SIZE))
        self._items_open = b'{"items":[' + items + b"]"
        self.page = self._page(None)

    def _page(self, cursor: str | None) -> tuple[bytes, ...]:
        tail = b',"cursor":' + _dumps(cursor) + b',"request_id":"req-canned"}'
        return (_head("200 OK", len(self._items_open) + len(tail)), self._items_open, tail)

    def stream(self, total: int, cursor: str | None) -> tuple[bytes, ...]:
        """A page of a ``total``-item listing; cursor ``p<k>`` is the k-th page (from 0)."""
        index = int(cursor[1:]) if cursor and cursor[1:].isdigit() else 0
        pages = max(1, -(-total // PAGE_SIZE))
        following = f"p{index + 1}" if index + 1 < pages else None
        return self._page(following)


class _Protocol(asyncio.Protocol):
    def __init__(self, bodies: Bodies) -> None:
        self._bodies = bodies
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    length = int(value)
                elif lowered == "connection" and value.strip().lower() == "close":
                    close = True
            if len(buffer) < end + 4 + length:
                return
            del buffer[: end + 4 + length]
            method, target, _ = lines[0].split(" ", 2)
            assert self._transport is not None
            self._transport.writelines(self._route(method, target))
            if close:
                self._transport.close()
                return

    def _route(self, method: str, target: str) -> Sequence[bytes]:
        path, _, query = target.partition("?")
        parts = [unquote(p) for p in path.split("/")]
        bodies = self._bodies
        if parts[:4] != ["", "api", "v1", "categories"] or len(parts) < 6:
            return bodies.not_found
        if method == "GET" and len(parts) == 8:
            return bodies.retrieve
        if method == "GET" and len(parts) in (6, 7):
            if parts[4] == "stream" and len(parts) == 7 and parts[6][1:].isdigit():
                cursor = dict(parse_qsl(query)).get("cursor")
                return bodies.stream(int(parts[6][1:]), cursor)
            return bodies.page
        if method == "POST" and len(parts) == 7:
            return bodies.created
        return bodies.not_found


async def _serve(host: str, port: int) -> None:
    bodies = Bodies()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Protocol(bodies), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()
    print(f"http://{host}:{bound[1]}", flush=True)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.canned", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
