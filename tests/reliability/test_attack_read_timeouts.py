"""An outside attack on read timeouts, closing with calls in flight and the read-whole
path's shortcuts (one-piece bodies, idempotency keys, header masking).

Written against a read limit kept by one timer per pool (a "watchdog"), which this attack
broke in six ways; the SDK went back to aiohttp's ``sock_read``, and these tests stay as
the contract any cheaper scheme must keep: the read limit is the longest silence *of the
wire* between two reads of the answer, counted once the request is sent, never time
queued for a connection; bytes that are not body (headers, chunk framing, a gzip header)
are not silence; a deadline passing as the answer ends never poisons the pooled
connection. Closing the client ends every call in flight with ``APIConnectionError``.

Every test talks to a real server on 127.0.0.1: a bare ``asyncio`` streams server on the
test's loop, or (where the client's loop is deliberately stalled, or the client is the
blocking facade) a socket server on its own threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import payi_sync
from payi_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncPayi,
    RetryPolicy,
    Timeout,
)
from payi_async import _request as request_module
from tests.support import CANARY, UNITS, head, resource_body, scripted_server

pytestmark = pytest.mark.timeout(60)

#: A valid ``CategoryResourceResponse`` (what ``retrieve`` and ``create`` answer).
BODY = json.dumps(resource_body()).encode()

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# ------------------------------------------------------------------------ the servers


class Server:
    """Where a scripted server listens, and what it saw."""

    def __init__(self) -> None:
        self.url = ""
        self.connections = 0
        self.lines: list[str] = []
        self.keys: list[str] = []


def serve(
    script: Script, *, rcvbuf: int | None = None
) -> contextlib.AbstractAsyncContextManager[Server]:
    """A streams server on 127.0.0.1 running ``script`` per connection (``rcvbuf``: a
    small kernel receive buffer, so that a client's upload waits for the script)."""
    return scripted_server(script, Server(), rcvbuf=rcvbuf)


async def read_request(
    reader: asyncio.StreamReader, seen: Server | None = None
) -> tuple[str, dict[str, str], bytes]:
    """One request: its line, its headers (lower-case names), its body."""
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    if seen is not None:
        seen.lines.append(lines[0])
        if "idempotency-key" in headers:
            seen.keys.append(headers["idempotency-key"])
    return lines[0], headers, body


def ok(body: bytes = BODY) -> bytes:
    return head(200, length=len(body)) + body


async def stall_forever() -> None:
    await asyncio.sleep(3600)


class ThreadServer:
    """A socket server on its own threads (one per connection): it keeps its timing
    while the client's event loop is stalled, and serves the blocking facade."""

    def __init__(self, handler: Callable[[socket.socket, ThreadServer], None]) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.headers_sent = threading.Event()
        self.request_seen = threading.Event()
        self.done = threading.Event()
        self.keys: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(conn)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.handler(conn, self)

    def read_request(self, conn: socket.socket) -> dict[str, str] | None:
        """One request's headers (its body read and dropped); ``None``: the client left."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        raw, _, rest = data.partition(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        length = int(headers.get("content-length", "0")) - len(rest)
        while length > 0:
            chunk = conn.recv(min(length, 65536))
            if not chunk:
                return None
            length -= len(chunk)
        with self._lock:
            if "idempotency-key" in headers:
                self.keys.append(headers["idempotency-key"])
        return headers

    def __enter__(self) -> ThreadServer:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.listener.close()
        with self._lock:
            for sock in self._socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


def client_for(url: str, read: float, total: float = 30, **options: Any) -> AsyncPayi:
    options.setdefault("max_retries", 0)
    return AsyncPayi(
        api_key=CANARY, base_url=url, timeout=Timeout(read=read, total=total), **options
    )


async def retrieve(client: AsyncPayi, **options: Any) -> Any:
    return await client.categories.resources.retrieve("rid-1", "custom.rel", "model", **options)


def reading(client: AsyncPayi) -> int:
    """How many answers the client's attempts are reading now."""
    return len(client._transport._reading)


async def timed(awaitable: Awaitable[Any]) -> tuple[Any, float]:
    """``awaitable``'s result (or the exception it raised) and how long it took."""
    started = time.perf_counter()
    try:
        result: Any = await awaitable
    except Exception as exc:
        result = exc
    return result, time.perf_counter() - started


# --------------------------------------------------------- a read limit that must trip


async def test_headers_then_a_stalled_body_time_out_after_about_read_not_total() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(200, length=len(BODY)) + BODY[:10])
        await writer.drain()
        await stall_forever()

    async with serve(script) as server, client_for(server.url, read=0.4) as client:
        error, elapsed = await timed(retrieve(client))
        assert reading(client) == 0
    assert isinstance(error, APITimeoutError), error
    assert "read timeout" in str(error)
    assert 0.3 < elapsed < 5 * 0.4


async def test_no_headers_at_all_time_out_after_about_read() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await stall_forever()

    async with serve(script) as server, client_for(server.url, read=0.4) as client:
        error, elapsed = await timed(retrieve(client))
    assert isinstance(error, APITimeoutError), error
    assert "read timeout" in str(error)
    assert 0.3 < elapsed < 5 * 0.4


def test_blocking_facade_times_out_on_a_stalled_body() -> None:
    def handler(conn: socket.socket, server: ThreadServer) -> None:
        server.read_request(conn)
        conn.sendall(head(200, length=len(BODY)) + BODY[:5])
        server.done.wait(30)

    with (
        ThreadServer(handler) as server,
        payi_sync.Payi(
            api_key=CANARY,
            base_url=server.url,
            timeout=Timeout(read=0.4, total=30),
            max_retries=0,
        ) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(APITimeoutError, match="read timeout"):
            client.categories.resources.retrieve("rid-1", "custom.rel", "model")
        elapsed = time.perf_counter() - started
    assert elapsed < 5 * 0.4


# ------------------------------------------------------ bytes keep arriving: no timeout


async def test_a_body_trickled_faster_than_read_but_longer_than_read_succeeds() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(200, length=len(BODY)))
        await writer.drain()
        step = len(BODY) // 10 + 1
        for start in range(0, len(BODY), step):
            await asyncio.sleep(0.15)
            writer.write(BODY[start : start + step])
            await writer.drain()
        await stall_forever()

    async with serve(script) as server, client_for(server.url, read=0.5) as client:
        got, elapsed = await timed(retrieve(client))
    assert not isinstance(got, Exception), got
    assert got.resource_id == "rid-1"
    assert elapsed > 1.0  # the trickle lasted longer than ``read``


def _packed_with_a_long_name() -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="n" * 30, mode="wb", fileobj=buffer, mtime=0) as packer:
        packer.write(BODY)
    return buffer.getvalue()


async def _trickled_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The status line and headers a few bytes every 0.15 s (1.5 s in all), then the body."""
    await read_request(reader)
    answer = head(200, "X-Padding: " + "p" * 20, length=len(BODY))
    step = len(answer) // 10 + 1
    for start in range(0, len(answer), step):
        writer.write(answer[start : start + step])
        await writer.drain()
        await asyncio.sleep(0.15)
    writer.write(BODY)
    await writer.drain()
    await stall_forever()


async def _trickled_trailer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The whole body in one chunk at once, then the last chunk and a trailer a few
    bytes every 0.15 s (1.5 s in all)."""
    await read_request(reader)
    writer.write(head(200, "Transfer-Encoding: chunked"))
    writer.write(f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n")
    await writer.drain()
    tail = b"0\r\nX-Checksum: " + b"c" * 30 + b"\r\n\r\n"
    step = len(tail) // 10 + 1
    for start in range(0, len(tail), step):
        await asyncio.sleep(0.15)
        writer.write(tail[start : start + step])
        await writer.drain()
    await stall_forever()


async def _trickled_gzip_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A gzip body whose header (10 bytes and a 31-byte file name) comes 4 bytes every
    0.15 s (1.5 s in all), then the rest at once."""
    packed = _packed_with_a_long_name()
    await read_request(reader)
    writer.write(head(200, "Content-Encoding: gzip", length=len(packed)))
    await writer.drain()
    for start in range(0, 40, 4):
        await asyncio.sleep(0.15)
        writer.write(packed[start : start + 4])
        await writer.drain()
    writer.write(packed[40:])
    await writer.drain()
    await stall_forever()


async def test_headers_trickled_faster_than_read_are_no_read_timeout() -> None:
    """The status line and headers arrive a few bytes every read/3 s: the wire is never
    silent for ``read``, so this is no read timeout (aiohttp's ``sock_read`` restarts on
    every byte received)."""
    async with serve(_trickled_headers) as server, client_for(server.url, read=0.5) as client:
        got, _ = await timed(retrieve(client))
    assert not isinstance(got, Exception), f"a false read timeout: {got!r}"


async def test_a_chunked_trailer_trickled_faster_than_read_is_no_read_timeout() -> None:
    """The body comes at once, then the last chunk and a trailer trickle: bytes keep
    arriving though none of them is body, so this is no read timeout."""
    async with serve(_trickled_trailer) as server, client_for(server.url, read=0.5) as client:
        got, _ = await timed(retrieve(client))
    assert not isinstance(got, Exception), f"a false read timeout: {got!r}"


async def test_a_gzip_header_trickled_faster_than_read_is_no_read_timeout() -> None:
    """A gzip header trickles: the reader gets nothing until inflating yields a byte, yet
    the wire is never silent for ``read``."""
    async with (
        serve(_trickled_gzip_header) as server,
        client_for(server.url, read=0.5) as client,
    ):
        got, _ = await timed(retrieve(client))
    assert not isinstance(got, Exception), f"a false read timeout: {got!r}"


@pytest.mark.parametrize(
    "script",
    [_trickled_headers, _trickled_trailer, _trickled_gzip_header],
    ids=["headers", "chunked-trailer", "gzip-header"],
)
async def test_the_same_trickles_are_no_read_timeout_on_the_streamed_path(
    script: Script,
) -> None:
    """The same trickles on the streamed path, with the same limits."""
    async with serve(script) as server, client_for(server.url, read=0.5) as client:
        view = client.categories.resources.with_streaming_response
        async with view.retrieve("rid-1", "custom.rel", "model") as response:
            assert response.status_code == 200
            raw = await response.read()
    assert json.loads(raw)["resource_id"] == "rid-1"


UPLOAD = 8 << 20  # far more than the kernel buffers between client and server


async def _slow_reader_answering(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Takes the request's head at once, its body only after 1.5 s, then answers."""
    raw = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in raw.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await asyncio.sleep(1.5)
    await reader.readexactly(length)
    writer.write(ok())
    await writer.drain()
    await stall_forever()


@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_a_slow_upload_does_not_count_against_read() -> None:
    """README: ``read`` bounds silence "once the request is sent": an upload that takes
    longer than ``read`` (the server reads it late) is no read timeout."""
    async with (
        serve(_slow_reader_answering, rcvbuf=65536) as server,
        client_for(server.url, read=0.5) as client,
    ):
        got, elapsed = await timed(
            client.categories.resources.create(
                "model", "custom.rel", UNITS, extra_body={"notes": "n" * UPLOAD}
            )
        )
    assert not isinstance(got, Exception), f"after {elapsed:.1f} s: {got!r}"


@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_a_slow_upload_does_not_count_against_read_on_the_streamed_path() -> None:
    async with (
        serve(_slow_reader_answering, rcvbuf=65536) as server,
        client_for(server.url, read=0.5) as client,
    ):
        view = client.categories.resources.with_streaming_response
        async with view.create(
            "model", "custom.rel", UNITS, extra_body={"notes": "n" * UPLOAD}
        ) as response:
            raw = await response.read()
    assert json.loads(raw)["resource_id"] == "rid-1"


async def test_a_pool_wait_longer_than_read_is_not_a_read_timeout() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader)
            if "slow" in line:
                await asyncio.sleep(1.5)
            writer.write(ok())
            await writer.drain()

    async with (
        serve(script) as server,
        client_for(server.url, read=0.4, connection_limit=1) as client,
    ):
        slow = asyncio.create_task(
            client.categories.resources.retrieve("slow", "custom.rel", "model", timeout=5)
        )
        await asyncio.sleep(0.1)  # ``slow`` holds the only connection
        waiting, elapsed = await timed(retrieve(client))
        assert not isinstance(waiting, Exception), waiting
        assert elapsed > 1.0  # it did wait in the pool longer than its read limit
        await slow
        assert reading(client) == 0


async def test_concurrent_calls_each_time_out_at_their_own_limit() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader)
            if "stall" in line:
                writer.write(head(200, length=len(BODY)))
                await writer.drain()
                await stall_forever()
            step = len(BODY) // 6 + 1
            writer.write(head(200, length=len(BODY)))
            for start in range(0, len(BODY), step):
                await asyncio.sleep(0.15)
                writer.write(BODY[start : start + step])
                await writer.drain()

    async with serve(script) as server, client_for(server.url, read=0.5) as client:
        resources = client.categories.resources

        async def call(rid: str, read: float) -> tuple[Any, float]:
            return await timed(
                resources.retrieve(rid, "custom.rel", "model", timeout=Timeout(read=read))
            )

        results = await asyncio.gather(
            call("stall-long", 3.0),
            call("stall-short", 0.4),
            *(call(f"fine-{i}", 0.5) for i in range(6)),
        )
        assert reading(client) == 0
    (long_error, long_time), (short_error, short_time), *fine = results
    assert isinstance(short_error, APITimeoutError), short_error
    assert isinstance(long_error, APITimeoutError), long_error
    assert short_time < 5 * 0.4
    assert 2.5 < long_time < 5 * 3.0  # not early by the short limit
    assert short_time < long_time
    for got, _ in fine:
        assert not isinstance(got, Exception), got


# ------------------------------------------------------------ retries, reuse, cancelling


async def test_a_read_timeout_is_retried_then_succeeds_on_a_fresh_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader, state)
            if len(state.lines) == 1:
                writer.write(head(200, length=len(BODY)) + BODY[:3])
                await writer.drain()
                await stall_forever()
            writer.write(ok())
            await writer.drain()

    async with serve(script) as state:
        policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.004)
        async with client_for(state.url, read=0.4, max_retries=policy) as client:
            got, _ = await timed(retrieve(client))
            assert reading(client) == 0
    assert not isinstance(got, Exception), got
    assert len(state.lines) == 2
    assert state.connections == 2


async def test_the_connection_of_a_timed_out_call_is_never_reused() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader, state)
            if "stall" in line:
                writer.write(head(200, length=len(BODY)) + BODY[:3])
                await writer.drain()
                await stall_forever()
            writer.write(ok())
            await writer.drain()

    async with serve(script) as state, client_for(state.url, read=0.4) as client:
        await retrieve(client)  # a keep-alive connection in the pool
        with pytest.raises(APITimeoutError):
            await client.categories.resources.retrieve("stall", "custom.rel", "model")
        for _ in range(3):
            assert (await retrieve(client)).resource_id == "rid-1"
        assert reading(client) == 0
    assert state.connections == 2


async def test_cancelled_and_timed_out_calls_leave_nothing_behind_and_the_pool_healthy() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader)
            if "body" in line:
                writer.write(head(200, length=len(BODY)))
                await writer.drain()
                await stall_forever()
            if "head" in line:
                await stall_forever()
            writer.write(ok())
            await writer.drain()

    async with serve(script) as server, client_for(server.url, read=5.0) as client:
        resources = client.categories.resources
        task = asyncio.create_task(resources.retrieve("body", "custom.rel", "model"))
        await asyncio.sleep(0.3)
        assert reading(client) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reading(client) == 0
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(resources.retrieve("head", "custom.rel", "model"), 0.3)
        assert reading(client) == 0
        with pytest.raises(APITimeoutError):
            await resources.retrieve("head", "custom.rel", "model", timeout=Timeout(read=0.3))
        assert reading(client) == 0
        for _ in range(3):
            assert (await retrieve(client)).resource_id == "rid-1"
        assert reading(client) == 0


async def _stall_after_head_or_before(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    line, _, _ = await read_request(reader)
    if "body" in line:
        writer.write(head(200, length=len(BODY)))
        await writer.drain()
    await stall_forever()


async def test_closing_the_client_ends_a_call_waiting_for_headers_promptly() -> None:
    async with serve(_stall_after_head_or_before) as server:
        client = client_for(server.url, read=20, total=6)
        task = asyncio.create_task(client.categories.resources.retrieve("head", "c.x", "m"))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await client.close()
        result, _ = await timed(task)
        elapsed = time.perf_counter() - started
        assert reading(client) == 0
    assert isinstance(result, APIConnectionError), result
    assert elapsed < 3


async def test_closing_the_client_ends_a_call_queued_for_the_pool_with_an_api_error() -> None:
    """A call waiting for a pooled connection when the client is closed ends with
    ``APIConnectionError``, not a bare ``CancelledError`` (aiohttp's ``BaseConnector._close``
    cancels the pool's waiters, but nobody cancelled the caller's task: ``except
    APIError`` and a ``TaskGroup`` must not take it for a cancellation)."""
    async with serve(_stall_after_head_or_before) as server:
        client = client_for(server.url, read=20, total=6, connection_limit=1)
        resources = client.categories.resources
        holder = asyncio.create_task(resources.retrieve("head", "c.x", "m"))
        queued = asyncio.create_task(resources.retrieve("queued", "c.x", "m"))
        await asyncio.sleep(0.3)
        await client.close()
        results = await asyncio.gather(holder, queued, return_exceptions=True)
        assert reading(client) == 0
    assert not queued.cancelled()
    for result in results:
        assert isinstance(result, APIConnectionError), repr(result)


async def test_closing_the_client_ends_a_call_reading_its_body_promptly() -> None:
    """A call has its headers and waits for the body when the client is closed: it ends
    with ``APIConnectionError`` at once, not after ``total`` (aiohttp's
    ``connection_lost`` fails the protocol's queue, not the body being awaited; the
    transport fails the bodies its attempts are reading)."""
    async with serve(_stall_after_head_or_before) as server:
        client = client_for(server.url, read=20, total=6)
        task = asyncio.create_task(client.categories.resources.retrieve("body", "c.x", "m"))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await client.close()
        result, _ = await timed(task)
        elapsed = time.perf_counter() - started
    assert isinstance(result, APIConnectionError), result
    assert elapsed < 3, f"{result!r} {elapsed:.1f} s after close()"


# ---------------------------------------------- the client's loop stalls past a deadline


def hog_the_loop(seconds: float) -> None:
    """What a CPU-bound callback does to the loop: nothing else runs meanwhile."""
    time.sleep(seconds)


def _wait_for(event: threading.Event) -> Awaitable[bool]:
    return asyncio.to_thread(event.wait, 10)


async def test_a_deadline_passing_as_the_answer_ends_never_poisons_the_pool() -> None:
    """The loop is busy (any CPU-bound callback) past a call's read deadline while the
    rest of its body arrives: aiohttp reads the body, reaches EOF and pools the
    connection in the same turn as the due timer. The call succeeds, and the next call
    on that pooled connection must not inherit a read timeout it never had (aiohttp drops
    its timer at EOF; a timer kept elsewhere must too)."""

    def handler(conn: socket.socket, server: ThreadServer) -> None:
        first = True
        while server.read_request(conn) is not None:
            if first:
                first = False
                conn.sendall(head(200, length=len(BODY)))
                server.headers_sent.set()
                time.sleep(0.3)
                conn.sendall(BODY)
            else:
                conn.sendall(ok())

    with ThreadServer(handler) as server:
        async with client_for(server.url, read=0.5, total=20) as client:
            first = asyncio.create_task(retrieve(client))
            await _wait_for(server.headers_sent)
            await asyncio.sleep(0.1)  # the client takes in the headers
            hog_the_loop(1.2)  # the loop is busy: the body arrives, the deadline passes
            one, _ = await timed(first)
            two, elapsed = await timed(retrieve(client))
    assert not isinstance(one, Exception), one
    assert not isinstance(two, Exception), f"the next call, after {elapsed:.3f} s: {two!r}"


async def test_headers_arriving_as_the_deadline_passes_still_bound_the_body() -> None:
    """Headers arrive in the same loop turn as the read deadline (here: the loop was
    busy; in production: a server answering at ~``read`` s), then the body stalls: the
    read limit still ends the call, not ``total``."""

    def handler(conn: socket.socket, server: ThreadServer) -> None:
        server.read_request(conn)
        server.request_seen.set()
        time.sleep(0.3)
        conn.sendall(head(200, length=len(BODY)) + BODY[:4])
        server.done.wait(30)

    with ThreadServer(handler) as server:
        async with client_for(server.url, read=0.5, total=8) as client:
            call = asyncio.create_task(retrieve(client))
            await _wait_for(server.request_seen)
            hog_the_loop(1.2)  # the loop is busy: the headers arrive, the deadline passes
            error, elapsed = await timed(call)
    assert isinstance(error, APITimeoutError), error
    assert elapsed < 4, f"{error} after {elapsed:.1f} s: the read limit never tripped"


# -------------------------------------------------------------------- idempotency keys


def test_idempotency_keys_are_unique_across_threads_each_with_its_own_loop() -> None:
    def handler(conn: socket.socket, server: ThreadServer) -> None:
        while server.read_request(conn) is not None:
            conn.sendall(ok())

    def run(url: str) -> None:
        async def creates() -> None:
            async with AsyncPayi(api_key=CANARY, base_url=url, max_retries=0) as client:
                for _ in range(40):
                    await client.categories.resources.create("model", "custom.rel", UNITS)

        asyncio.run(creates())

    with ThreadServer(handler) as server:
        threads = [threading.Thread(target=run, args=(server.url,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        keys = list(server.keys)
    assert len(keys) == 6 * 40
    assert len(set(keys)) == len(keys)

    # And the key maker itself, hammered from threads across many buffer refills.
    made: list[list[str]] = [[] for _ in range(8)]

    def make(out: list[str]) -> None:
        for _ in range(4000):
            out.append(request_module._random_key())

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [key for out in made for key in out]
    assert len(set(every)) == len(every) == 8 * 4000


def test_a_forked_child_never_makes_a_key_its_parent_makes() -> None:
    request_module._random_key()  # the buffer holds unused blocks at the fork
    assert request_module._blocks
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            keys = "\n".join(request_module._random_key() for _ in range(600))
            with os.fdopen(write_end, "w") as out:
                out.write(keys)
        finally:
            os._exit(0)
    os.close(write_end)
    parent = {request_module._random_key() for _ in range(600)}
    with os.fdopen(read_end) as source:
        child = set(source.read().split("\n"))
    os.waitpid(pid, 0)
    assert len(child) == 600
    assert not parent & child


# ----------------------------------------------------------- headers, bodies, the cap


@pytest.mark.parametrize(
    "echo",
    [
        f"X-Echo: {CANARY}",
        f"X-{CANARY}: yes",
        f"X-Echo: a{CANARY}b",
        f"X-Echo: \x01{CANARY}\x7f",
        f"X-One: {CANARY[:10]}\r\nX-Two: {CANARY[10:]}\r\nX-Three: {CANARY}",
        f"X-Echo: {CANARY}\r\nX-Echo: {CANARY}",
    ],
    ids=["value", "name", "inside", "non-printable", "split-then-whole", "repeated"],
)
async def test_a_key_echoed_in_response_headers_is_masked_in_errors(echo: str) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        body = b'{"error": "nope"}'
        writer.write(head(400, echo, length=len(body)) + body)
        await writer.drain()

    async with serve(script) as server, client_for(server.url, read=2) as client:
        with pytest.raises(APIStatusError) as caught:
            await retrieve(client)
    error = caught.value
    texts = [str(error), repr(error), repr(dict(error.headers))]
    texts += [f"{name}: {value}" for name, value in error.headers.items()]
    for text in texts:
        assert CANARY not in text, text
        assert text.isprintable(), text


async def test_non_printable_header_bytes_are_made_printable_without_any_key() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        body = b'{"error": "nope"}'
        writer.write(head(400, "X-Bad: a\x01b\xffc", length=len(body)) + body)
        await writer.drain()

    async with serve(script) as server, client_for(server.url, read=2) as client:
        with pytest.raises(APIStatusError) as caught:
            await retrieve(client)
    for name, value in caught.value.headers.items():
        assert name.isprintable() and value.isprintable(), (name, value)
        f"{name}: {value}".encode()


def _gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_one_piece_bodies_and_many_piece_bodies_read_whole(
    encoding: str, chunked: bool
) -> None:
    padded = json.dumps({**resource_body(), "pad": "z" * 300_000}).encode()
    wire = padded if encoding == "identity" else _gzipped(padded)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader)
            data = BODY if "small" in line else wire
            extra = () if encoding == "identity" else ("Content-Encoding: gzip",)
            if "small" in line and encoding == "gzip":
                data = _gzipped(BODY)
            if chunked:
                writer.write(head(200, *extra, "Transfer-Encoding: chunked"))
                for start in range(0, len(data), 7000):
                    piece = data[start : start + 7000]
                    writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(head(200, *extra, length=len(data)) + data)
            await writer.drain()

    async with serve(script) as server, client_for(server.url, read=2) as client:
        resources = client.categories.resources
        small = await resources.retrieve("small", "custom.rel", "model")
        big = await resources.retrieve("big", "custom.rel", "model")
        again = await resources.retrieve("small", "custom.rel", "model")
    assert small.resource_id == big.resource_id == again.resource_id == "rid-1"
    assert big.extra["pad"] == "z" * 300_000


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_body_over_the_cap_in_one_piece_is_refused(encoding: str, chunked: bool) -> None:
    cap = 4096
    data = json.dumps({**resource_body(), "pad": "q" * (cap * 2)}).encode()
    wire = data if encoding == "identity" else _gzipped(data)
    extra = () if encoding == "identity" else ("Content-Encoding: gzip",)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if chunked:
            writer.write(head(200, *extra, "Transfer-Encoding: chunked"))
            writer.write(f"{len(wire):x}\r\n".encode() + wire + b"\r\n0\r\n\r\n")
        else:
            writer.write(head(200, *extra, length=len(wire)) + wire)
        await writer.drain()
        await asyncio.sleep(1)

    async with (
        serve(script) as server,
        client_for(server.url, read=2, max_response_bytes=cap) as client,
    ):
        with pytest.raises(APIResponseValidationError, match="too large"):
            await retrieve(client)
        assert reading(client) == 0
