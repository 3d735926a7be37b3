"""What the tests share: constants, fake clock, fake and scripted servers, helpers.

One module for the whole ``tests`` package (``from tests.support import ...``); the
fixtures that use these are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import socket
import sqlite3
import time
import traceback
import types
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import aiohttp
from aiohttp import ClientResponse, web
from aioresponses import aioresponses
from yarl import URL

from payi_async import RetryPolicy
from payi_async.emulator import LocalPayiServer, ResourceRow, ThreadedPayiServer

# -- constants ------------------------------------------------------------------------

#: The mocked wire's base URL and key (``client`` fixture without an emulator).
BASE = "https://api.test"
KEY = "sk-unit-test-key-7f3a9c"
#: The API key of every reliability client; it must never show up anywhere.
CANARY = "sk-canary-0d9f8e7c-never-print-me"
PATH_PREFIX = "/api/v1/categories"
#: Realistic per-token prices.
UNITS = {"text": {"input_price": 0.000015, "output_price": 0.000075}}
#: Round prices, for tests that print or compare them.
ROUND_UNITS = {"text": {"input_price": 1.0, "output_price": 2.0}}
#: The prices ``create`` (the emulator's raw-HTTP helper) sends by default.
EMULATOR_UNITS = {"text": {"input_price": 0.000001, "output_price": 0.000002}}
#: Start timestamps of the catalogue tests: past, recent past, far future.
MONTHS = ("2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2099-01-01T00:00:00Z")


# -- a fake clock ---------------------------------------------------------------------


class FakeClock:
    """A ``payi_async.Clock`` for ``RetryPolicy(clock=...)``: records each wait instead
    of sleeping, and its ``time()`` moves on by the waits.

    While ``gate`` is set, every sleeper waits on it before its time passes.
    """

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.offset = 0.0
        self.gate: asyncio.Event | None = None
        #: Set whenever something starts to sleep.
        self.slept = asyncio.Event()

    def time(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.slept.set()
        if self.gate is not None:
            await self.gate.wait()
        self.offset += max(seconds, 0.0)
        await asyncio.sleep(0)


# -- the mocked wire and a recording server ------------------------------------------


class CompatResponse(ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp 3.14's ``stream_writer``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", types.SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


def calls(mocked: aioresponses) -> list[tuple[str, URL, Any]]:
    """Every request aioresponses saw, in order: (method, URL, call)."""
    seen = [(key[0], key[1], call) for key, group in mocked.requests.items() for call in group]
    # dict order is by first sight of a key; calls to one key keep their order.
    return seen


def only_call(mocked: aioresponses) -> tuple[str, URL, Any]:
    seen = calls(mocked)
    assert len(seen) == 1, seen
    return seen[0]


def body_of(call: Any) -> Any:
    data = call.kwargs["data"]
    return None if data is None else json.loads(data)


def resource_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resource_id": "rid-1",
        "category": "custom.cat",
        "resource": "model-a",
        "units": {"text": {"input_price": 0.5, "output_price": 1.5}},
        "max_input_units": 16000,
        "max_output_units": 4000,
        "max_total_units": 20000,
        "creation_timestamp": "2024-05-01T10:00:00Z",
        "start_timestamp": "2024-05-02T00:00:00+00:00",
        "resource_scope": "global",
        "aliases": ["a1", "a2"],
    }
    data.update(overrides)
    return data


class LiveServer:
    """A real aiohttp server on 127.0.0.1 that records what reaches it.

    ``respond`` makes the answer of each request (default: an empty page that also
    fits a delete's acknowledgement); ``release``
    ends every handler that waits on it.
    """

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.respond: Any = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "path": request.path,
                "query_string": request.query_string,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        self.arrived.set()
        if self.respond is None:
            return web.json_response({"request_id": "live", "items": [], "cursor": None})
        response: web.StreamResponse = await self.respond(request)
        return response


# -- scripted servers and the canary ----------------------------------------------------


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


# -- the emulator over raw HTTP -----------------------------------------------------------


def api_url(server: LocalPayiServer, *segments: str, **query: str) -> URL:
    """``/api/v1/categories/<segments>``, each segment percent-encoded exactly once."""
    path = "/".join(["/api/v1/categories", *(quote(s, safe="") for s in segments)])
    url = URL(server.base_url + path, encoded=True)
    return url.with_query(query) if query else url


async def create(
    http: aiohttp.ClientSession,
    server: LocalPayiServer,
    category: str,
    resource: str,
    body: object = None,
    **headers: str,
) -> dict[str, object]:
    """Create a version and return its body (asserting 201)."""
    async with http.post(
        api_url(server, category, "resources", resource),
        json={"units": EMULATOR_UNITS} if body is None else body,
        headers=headers,
    ) as response:
        payload = await response.json()
        assert response.status == 201, payload
        assert isinstance(payload, dict)
        return payload


async def get_json(http: aiohttp.ClientSession, url: URL, status: int = 200) -> dict[str, object]:
    async with http.get(url) as response:
        payload = await response.json()
        assert response.status == status, payload
        assert isinstance(payload, dict)
        return payload


async def list_all(
    http: aiohttp.ClientSession, server: LocalPayiServer, *segments: str, **query: str
) -> list[dict[str, object]]:
    """Every item of a listing, following cursors."""
    items: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        params = dict(query)
        if cursor:
            params["cursor"] = cursor
        page = await get_json(http, api_url(server, *segments, **params))
        items.extend(page["items"] or [])  # type: ignore[arg-type]
        cursor = page["cursor"]  # type: ignore[assignment]
        if not cursor:
            return items


# -- bulk creates -----------------------------------------------------------------------


def fast_policy(max_retries: int = 12) -> RetryPolicy:
    """Many retries, millisecond backoff: a faulty server still gets every item through
    (``emulator_client`` uses it)."""
    return RetryPolicy(max_retries=max_retries, initial_delay=0.001, max_delay=0.004)


def item(category: str, i: int) -> dict[str, Any]:
    """The ``i``-th create item of a generated price list: resource ``model-<i>``."""
    return {
        "category": category,
        "resource": f"model-{i:07d}",
        "units": {"text": {"input_price": (i % 97) / 1e7, "output_price": (i % 89) / 1e7}},
        "max_input_units": 1000 + i,
    }


def items(category: str, n: int) -> Iterator[dict[str, Any]]:
    """``n`` generated create items, lazily."""
    return (item(category, i) for i in range(n))


async def versions_in(server: LocalPayiServer, category: str) -> list[ResourceRow]:
    """Every version row (soft-deleted too) the emulator holds in ``category``."""
    return [row for row in await server.store.all_versions() if row.category == category]


def threaded_versions_in(server: ThreadedPayiServer, category: str) -> list[ResourceRow]:
    """``versions_in`` for a ``ThreadedPayiServer``."""
    rows = server.run(server.store.all_versions)
    return [row for row in rows if row.category == category]


def duplicates(rows: list[ResourceRow]) -> dict[str, int]:
    """Resource names held more than once (each generated item has its own name)."""
    return {name: n for name, n in Counter(r.resource for r in rows).items() if n > 1}


# -- the catalogue ----------------------------------------------------------------------


def price_file(category: str, n: int, *, bump: float = 0.0) -> list[dict[str, Any]]:
    """``n`` rows: dated versions (past, future, a second version of some resources)
    and undated ones (in effect now)."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "category": category,
            "resource": f"model-{i // 2 if i % 5 == 0 else i:04d}",
            "units": {"text": {"input_price": (i % 7 + 1) / 1e6 + bump, "output_price": 3e-06}},
            "max_input_units": 1000 + i,
        }
        if i % 4 != 3:
            row["start_timestamp"] = MONTHS[i % len(MONTHS)]
        rows.append(row)
    return dedupe(rows)


def dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one undated row per resource and one row per (resource, start)."""
    seen: set[tuple[str, str, str | None]] = set()
    kept = []
    for row in rows:
        slot = (row["category"], row["resource"], row.get("start_timestamp"))
        if slot not in seen:
            seen.add(slot)
            kept.append(row)
    return kept


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def live_counts(db: Path, category: str) -> Counter[tuple[str, str | None]]:
    """Live versions per (resource, start_timestamp) in the emulator's SQLite file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT resource, start_timestamp, creation_timestamp FROM resources "
            "WHERE category = ? AND deleted_at IS NULL",
            (category,),
        ).fetchall()
    # An undated row's version starts when it was created: count it under None.
    return Counter((r, None if s == c else s) for r, s, c in rows)


def expected_counts(rows: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    """What ``live_counts`` holds when every row is there exactly once."""
    return Counter((r["resource"], _emulator_time(r.get("start_timestamp"))) for r in rows)


def _emulator_time(value: str | None) -> str | None:
    return None if value is None else value.replace("Z", ".000000Z")


class ScriptedState(Protocol):
    """What ``scripted_server`` fills in on the state object a test passes it."""

    url: str
    connections: int


StateT = TypeVar("StateT", bound=ScriptedState)
#: What a scripted server runs for each connection.
ConnectionScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def scripted_server(
    script: ConnectionScript,
    state: StateT,
    *,
    host: str = "127.0.0.1",
    rcvbuf: int | None = None,
) -> AsyncIterator[StateT]:
    """A streams server on ``host`` running ``script`` per connection; ``state.url`` is
    its base URL and ``state.connections`` counts connections (``rcvbuf``: a small kernel
    receive buffer, so that a client's upload waits for the script)."""
    tasks: set[asyncio.Task[Any]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()
            tasks.discard(task)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((host, 0))
    server = await asyncio.start_server(on_connect, sock=sock, limit=rcvbuf or 2**16)
    state.url = f"http://{host}:{sock.getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def head(status: int = 200, *headers: str, length: int | None = None) -> bytes:
    """An HTTP/1.1 answer's status line and headers, JSON typed (``length``: a
    Content-Length header), for scripted servers."""
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", *headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
