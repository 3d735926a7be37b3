"""Issue 11: every Reliability promise against a deliberately hostile server.

The server is a bare ``asyncio`` streams server on 127.0.0.1 (127.0.0.2 where a second
host is needed) that writes exactly the bytes each test scripts: compression bombs,
endless pages of wrong items, non-finite numbers, garbage status lines, oversized or
conflicting headers, echoed keys, invalid UTF-8, trickles and endless ``1xx`` answers.
Memory is measured in a child process running the client alone (tracemalloc peak and
RSS growth); the event loop's longest stall is measured by a ticker task. Secret checks
walk the whole error graph: text, attributes, ``args``, the ``__cause__``/``__context__``
chain and every traceback frame's local variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import pickle
import sys
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import brotli
import pytest

from payi_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncPayi,
    NotFoundError,
    RetryNotice,
    RetryPolicy,
    Timeout,
    UnexpectedRedirectError,
)
from tests.support import CANARY, head, resource_body, scripted_server

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

pytestmark = pytest.mark.timeout(120)

MIB = 1 << 20
#: What each bomb inflates to; its compressed form is a few hundred KiB at most.
BOMB_SIZE = 256 * MIB
#: The cap of the child's client: far below the bomb, far above one read step.
CHILD_CAP = 4 * MIB
OTHER_KEY = "sk-canary-second-0aa1-never-print"
HEADER_KEY = "sk-canary-header-77b3-never-print"

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """Where a scripted server listens, and what it saw."""

    def __init__(self) -> None:
        self.url = ""
        self.connections = 0
        self.requests: list[tuple[str, list[tuple[str, str]], bytes]] = []


def serve(
    script: Script, host: str = "127.0.0.1"
) -> contextlib.AbstractAsyncContextManager[Server]:
    """A streams server on ``host`` running ``script`` per connection."""
    return scripted_server(script, Server(), host=host)


async def read_request(
    reader: asyncio.StreamReader, seen: Server | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """One request: its line, its header lines in order (names as sent), its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    ]
    length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
    body = await reader.readexactly(length) if length else b""
    if seen is not None:
        seen.requests.append((lines[0], headers, body))
    return lines[0], headers, body


def answer(body: bytes, status: int = 200, *headers: str) -> Script:
    """A script answering every request with ``body``."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(head(status, *headers, length=len(body)) + body)
            await writer.drain()

    return script


class Stalls:
    """The event loop's longest gap between two ticks of a 5 ms ticker."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.005)
            last = now

    async def __aenter__(self) -> Stalls:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(0.02)  # the ticker notes the last gap
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# ------------------------------------------------------------------ secrets everywhere


def assert_no_secret(error: BaseException, *secrets: str, frame_locals: bool = True) -> None:
    """No secret in the error graph: text, repr, attributes, args, pickle, the
    ``__cause__``/``__context__`` chain and every traceback frame's locals.

    ``frame_locals=False`` for a key the test itself passed as an argument
    (``extra_headers``): the caller's own frames hold it, as they would any argument.
    """
    secrets = secrets or (CANARY,)

    def check(text: str, where: str) -> None:
        for secret in secrets:
            assert secret not in text, f"a key in {where}: {text[:300]}"

    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        name = type(item).__name__
        check(str(item), f"str({name})")
        check(repr(item), f"repr({name})")
        for index, arg in enumerate(item.args):
            check(repr(arg), f"{name}.args[{index}]")
        for attr, value in vars(item).items():
            check(repr(value), f"{name}.{attr}")
        for attr in ("request_info", "headers", "history"):
            if hasattr(item, attr):
                check(repr(getattr(item, attr)), f"{name}.{attr}")
        rendered = traceback.TracebackException.from_exception(item, capture_locals=frame_locals)
        check("".join(rendered.format()), f"the traceback (with locals) of {name}")
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            check(repr(pickle.dumps(item)), f"pickle of {name}")
        for linked in (item.__cause__, item.__context__):
            if linked is not None:
                todo.append(linked)


def printable_everywhere(error: BaseException) -> None:
    """``print(error)`` works on a strict UTF-8 stream, and every text attribute and
    header too (``body`` is the decoded JSON as sent: data, not text)."""
    for text in (str(error), repr(error)):
        text.encode("utf-8")
    for value in vars(error).values():
        if isinstance(value, str):
            value.encode("utf-8")
    for key, item in getattr(error, "headers", {}).items():
        f"{key}: {item}".encode()


async def first_error(url: str, **options: Any) -> APIError:
    options.setdefault("max_retries", 0)
    async with AsyncPayi(api_key=CANARY, base_url=url, **options) as client:
        with pytest.raises(APIError) as caught:
            await client.categories.list()
    return caught.value


MALFORMED = {
    "garbage-status-line": b"HTTP/1.1 2xx NOT-A-STATUS\r\nX: \x00\r\n\r\n",
    "oversized-header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"k" * 70_000 + b"\r\n\r\n",
    "conflicting-lengths": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}"),
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "truncated-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    "bad-gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnope!",
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_malformed_answers_leave_no_key_in_the_error_graph(name: str) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(MALFORMED[name])
        await writer.drain()
        await asyncio.sleep(0.05)

    async with serve(script) as server:
        error = await first_error(server.url, max_retries=1)
    assert isinstance(error, APIConnectionError)
    assert error.__cause__ is not None
    assert error.__cause__.__traceback__ is None  # no frame of aiohttp reachable
    assert error.__context__ is None
    assert_no_secret(error)


@pytest.mark.parametrize(
    "template",
    [
        "HTTP/1.1 2xx {key}\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Echo: {key}\x00\r\n\r\n",
        "HTTP/1.1 500 OK\r\n{key}: x\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\nContent-Length: {key}\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{key}\r\n",
    ],
)
async def test_a_malformed_answer_echoing_the_key_leaves_it_nowhere(template: str) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers, _ = await read_request(reader)
        key = next(v for n, v in headers if n.lower() == "xproxy-api-key")
        writer.write(template.format(key=key).encode())
        await writer.drain()
        await asyncio.sleep(0.05)

    async with serve(script) as server:
        error = await first_error(server.url)
    assert_no_secret(error)


async def test_refused_connection_and_timeouts_leave_no_key_in_frame_locals() -> None:
    # Nothing listens on this port of 127.0.0.2 any more.
    async with serve(answer(b"{}"), host="127.0.0.2") as server:
        dead = server.url
    errors = [await first_error(dead)]

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with serve(silent) as server:
        errors.append(await first_error(server.url, timeout=Timeout(read=0.2)))
    assert isinstance(errors[0], APIConnectionError)
    assert isinstance(errors[1], APITimeoutError)
    for error in errors:
        assert_no_secret(error)


def _echo(reader_key: str = "xproxy-api-key") -> Script:
    """Echo the key the request carried in the body, the message, headers and the id."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _, headers, _ = await read_request(reader)
            key = next(v for n, v in headers if n.lower() == reader_key)
            status = int(next((v for n, v in headers if n.lower() == "x-status"), "400"))
            if status == 200:
                body = json.dumps({"items": [{"category": 5, "key": key}], "cursor": key})
            else:
                body = json.dumps({"message": f"bad key {key}", "request_id": key, "k": [key]})
            data = body.encode()
            writer.write(
                head(status, f"x-echo: {key}", f"x-request-id: {key}", length=len(data)) + data
            )
            await writer.drain()

    return script


@pytest.mark.parametrize("status", ["200", "400", "401", "404", "429", "500"])
@pytest.mark.parametrize("via", ["constructor", "default_headers", "with_options", "copy"])
async def test_every_key_ever_sent_is_masked_when_echoed(status: str, via: str) -> None:
    async with (
        serve(_echo()) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url, max_retries=0) as client,
    ):
        if via == "default_headers":
            client = client.with_options(default_headers={"XPROXY-API-KEY": HEADER_KEY})
        elif via == "with_options":
            client = client.with_options(api_key=OTHER_KEY)
        elif via == "copy":
            client = client.copy(api_key=HEADER_KEY, default_headers={"X-Other": "1"})
        with pytest.raises(APIError) as caught:
            await client.categories.list(extra_headers={"x-status": status})
    assert_no_secret(caught.value, CANARY, OTHER_KEY, HEADER_KEY)
    if isinstance(caught.value, APIStatusError):
        assert caught.value.headers["x-echo"] == "***"
        assert caught.value.request_id == "***"


@pytest.mark.parametrize("status", ["200", "400", "500"])
async def test_a_key_sent_in_extra_headers_is_masked_when_echoed(status: str) -> None:
    async with (
        serve(_echo()) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url, max_retries=0) as client,
    ):
        with pytest.raises(APIError) as caught:
            await client.categories.list(
                extra_headers={"x-status": status, "xProxy-Api-Key": OTHER_KEY}
            )
    assert_no_secret(caught.value, CANARY, OTHER_KEY, frame_locals=False)
    assert OTHER_KEY not in str(caught.value.__dict__)


async def test_exactly_one_key_header_goes_out_whatever_its_case() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader, server)
            data = b'{"items": [], "cursor": null}'
            writer.write(head(200, length=len(data)) + data)
            await writer.drain()

    async with (
        serve(script) as server,
        AsyncPayi(
            api_key=CANARY, base_url=server.url, default_headers={"xproxy-api-key": OTHER_KEY}
        ) as client,
    ):
        await client.categories.list()
        await client.categories.list(extra_headers={"XPROXY-API-KEY": HEADER_KEY})
        await client.with_options(api_key=CANARY).categories.list()
    sent = [
        [v for n, v in headers if n.lower() == "xproxy-api-key"]
        for _, headers, _ in server.requests
    ]
    # default_headers override the constructor's key; extra_headers override both.
    assert sent == [[OTHER_KEY], [HEADER_KEY], [OTHER_KEY]]
    for _, headers, _ in server.requests:
        assert not any(n.lower() == "authorization" for n, _ in headers)


async def test_a_redirect_to_another_host_is_not_followed_and_the_key_stays_put() -> None:
    async with serve(answer(b"{}"), host="127.0.0.2") as other:
        target = other.url
        async with serve(answer(b"", 307, f"Location: {target}/steal")) as server:
            error = await first_error(server.url)
        assert other.connections == 0
    assert isinstance(error, UnexpectedRedirectError)
    assert error.location == f"{target}/steal"
    assert_no_secret(error)


# ---------------------------------------------------------------------------- base_url


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2-password@127.0.0.1:9",
        "http://user@127.0.0.1:9",
        "http://:hunter2-password@127.0.0.1:9/prefix",
        "https://user:hunter2-password@api.pay-i.com/prefix?",
    ],
)
def test_base_url_with_credentials_is_refused_without_showing_them(url: str) -> None:
    with pytest.raises(ValueError, match="user name or password") as caught:
        AsyncPayi(api_key=CANARY, base_url=url)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in "".join(traceback.format_exception(caught.value))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/prefix?",
        "http://127.0.0.1:9/prefix#",
        "http://127.0.0.1:9?",
        "http://127.0.0.1:9/#frag",
        "http://127.0.0.1:9/p?a=1",
    ],
)
def test_base_url_with_a_query_or_fragment_even_empty_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="query or fragment"):
        AsyncPayi(api_key=CANARY, base_url=url)
    with pytest.raises(ValueError, match="query or fragment"):
        AsyncPayi(api_key=CANARY, base_url="http://127.0.0.1:9").with_options(base_url=url)


# -------------------------------------------------------------------------- header text


async def test_invalid_utf8_in_headers_gives_printable_errors() -> None:
    bad = b"x-request-id: req-\xff\xfe\x80-\x01end\r\nx-other: \xc3(\r\n"

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            body = b'{"message": "not here \\udc80 \\u0007"}'
            writer.write(
                b"HTTP/1.1 404 X\r\nContent-Type: application/json\r\n"
                + bad
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()

    async with serve(script) as server:
        error = await first_error(server.url)
    assert isinstance(error, NotFoundError)
    printable_everywhere(error)
    assert error.request_id is not None and error.request_id.startswith("req-")
    assert "end" in str(error)


# ------------------------------------------------------------------- compression bombs


@functools.cache
def bomb(encoding: str) -> bytes:
    """``BOMB_SIZE`` zero bytes in ``encoding``, compressed without building them."""
    if encoding == "br":
        return bytes(brotli.compress(bytes(BOMB_SIZE), quality=1))
    if encoding == "zstd":
        return bytes(zstd.compress(bytes(BOMB_SIZE)))
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(BOMB_SIZE // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def bomb_script(encoding: str, chunked: bool) -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)  # the child's warm-up call
        writer.write(head(200, length=13) + b'{"items": []}')
        await writer.drain()
        await read_request(reader)
        data = bomb(encoding)
        if chunked:
            writer.write(head(200, f"Content-Encoding: {encoding}", "Transfer-Encoding: chunked"))
            for start in range(0, len(data), 16384):
                part = data[start : start + 16384]
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(head(200, f"Content-Encoding: {encoding}", length=len(data)) + data)
        await writer.drain()
        await asyncio.sleep(5)

    return script


CHILD = r"""
import asyncio, contextlib, json, sys, time, tracemalloc
from payi_async import AsyncPayi, APIError

def status(field):
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024

async def main():
    url, cap = sys.argv[1], int(sys.argv[2])
    longest = 0.0
    async def tick():
        nonlocal longest
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.005)
            last = now
    async with AsyncPayi(api_key="k", base_url=url, max_response_bytes=cap, max_retries=0) as c:
        await c.categories.list()  # warm-up: the session and connection exist now
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.01)
        with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak RSS starts again from here
        before = status("VmRSS")
        tracemalloc.start()
        started = time.perf_counter()
        try:
            await c.categories.list()
            error = None
        except APIError as e:
            error = e
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        grown = status("VmHWM") - before
        ticker.cancel()
    print(json.dumps({"type": type(error).__name__, "message": str(error), "peak": peak,
                      "rss": grown, "stall": longest, "elapsed": elapsed}))

asyncio.run(main())
"""


async def run_child(url: str, cap: int) -> dict[str, Any]:
    """Run one client call in a fresh interpreter against ``url``; its measurements."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        url,
        str(cap),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 100)
    assert process.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
async def test_a_compression_bomb_costs_the_cap_not_the_bomb(encoding: str, chunked: bool) -> None:
    await asyncio.to_thread(bomb, encoding)  # built before the child starts timing
    async with serve(bomb_script(encoding, chunked)) as server:
        result = await run_child(server.url, CHILD_CAP)
    print(f"\n{encoding} chunked={chunked}: {result}")
    assert result["type"] == "APIResponseValidationError"
    assert "too large" in result["message"]
    assert f"max_response_bytes ({CHILD_CAP} bytes)" in result["message"]
    # Within the cap plus a small constant (measured: ~2.1 MiB whatever the cap, from
    # 1 to 16 MiB; the bomb itself would be 256 MiB).
    assert result["peak"] < CHILD_CAP + 3 * MIB
    assert result["rss"] < CHILD_CAP + 16 * MIB
    # Loose "does not hang" bounds; the figures are printed above.
    assert result["stall"] < 1.0
    assert result["elapsed"] < 30


async def test_a_body_within_the_cap_is_read_whole_whatever_its_encoding() -> None:
    page = json.dumps({"items": [{"category": f"c{i}"} for i in range(2000)]}).encode()
    for encoding, data in (
        ("gzip", zlib.compress(page, wbits=31)),
        ("deflate", zlib.compress(page)),
        ("br", brotli.compress(page)),
        ("zstd", zstd.compress(page)),
    ):
        async with (
            serve(answer(data, 200, f"Content-Encoding: {encoding}")) as server,
            AsyncPayi(api_key=CANARY, base_url=server.url) as client,
        ):
            listed = await client.categories.list()
        assert len(listed.items) == 2000, encoding


# -------------------------------------------------------------- bounded failure cost


async def test_a_2_mb_invalid_page_is_refused_promptly_without_blocking_the_loop() -> None:
    page = b'{"items": [' + b",".join([b"1"] * 1_000_000) + b"]}"
    assert len(page) > 2_000_000
    async with (
        serve(answer(page)) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url) as client,
        Stalls() as stalls,
    ):
        started = time.perf_counter()
        with pytest.raises(APIResponseValidationError) as caught:
            await client.categories.list()
        elapsed = time.perf_counter() - started
    print(f"\n2 MB invalid page: {elapsed:.3f} s, longest stall {stalls.longest * 1000:.1f} ms")
    message = str(caught.value)
    assert "expected an object, got number @ $.items[0]" in message
    assert message.count("expected an object") == 5  # a few, not a million
    assert elapsed < 10  # "does not hang" (measured well under a second)
    assert stalls.longest < 2.0


async def test_an_object_with_a_huge_invalid_mapping_is_explained_briefly() -> None:
    units = {f"u{i}": {"input_price": "x", "output_price": 1} for i in range(200_000)}
    body = json.dumps({**resource_body(), "units": units}).encode()
    async with (
        serve(answer(body)) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(APIResponseValidationError) as caught:
            await client.categories.resources.retrieve("rid", "custom.c", "m")
        elapsed = time.perf_counter() - started
    assert str(caught.value).count("expected a number, got string") == 5
    assert "$.units['u0'].input_price" in str(caught.value)
    assert elapsed < 20


# ----------------------------------------------------------------------- strict numbers


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1E+400"])
@pytest.mark.parametrize("where", ["price", "page", "unknown-field", "integer-field"])
async def test_non_finite_numbers_are_refused_naming_the_field(literal: str, where: str) -> None:
    body = json.dumps(resource_body())
    if where == "price":
        raw = body.replace('"input_price": 1.5e-05', f'"input_price": {literal}')
        path = "$.units.text.input_price"
    elif where == "page":
        raw = '{"items": [' + body.replace('"output_price": 7.5e-05', f'"output_price": {literal}')
        raw += "]}"
        path = "$.items[0].units.text.output_price"
    elif where == "unknown-field":
        raw = body[:-1] + f', "new": {{"cost": [1, {literal}]}}}}'
        path = "$.new.cost[1]"
    else:
        raw = body[:-1] + f', "max_input_units": {literal}}}'
        path = "$.max_input_units"
    assert literal in raw
    async with (
        serve(answer(raw.encode())) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url) as client,
    ):
        call = (
            client.categories.list_resources("custom.c")
            if where == "page"
            else client.categories.resources.retrieve("rid", "custom.c", "m")
        )
        with pytest.raises(APIResponseValidationError) as caught:
            await call
    assert path in str(caught.value)
    assert "not a finite number" in str(caught.value)


async def test_a_price_too_large_for_a_float_is_refused_and_to_json_stays_json() -> None:
    huge = json.dumps(resource_body()).replace(
        '"input_price": 1.5e-05', '"input_price": 1' + "0" * 400
    )
    fine = json.dumps({**resource_body(), "extra_field": {"n": 1e308}})
    async with (
        serve(answer(huge.encode())) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url) as client,
    ):
        with pytest.raises(APIResponseValidationError, match=r"\$\.units"):
            await client.categories.resources.retrieve("rid", "custom.c", "m")
    async with (
        serve(answer(fine.encode())) as server,
        AsyncPayi(api_key=CANARY, base_url=server.url) as client,
    ):
        resource = await client.categories.resources.retrieve("rid", "custom.c", "m")
    json.loads(resource.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in to_json"))


# ------------------------------------------------------------------------ bounded waits


def test_the_default_timeout_bounds_every_attempt() -> None:
    assert Timeout().total is not None
    assert Timeout(5) == Timeout.of(5) == Timeout(connect=5, read=5, pool=5)
    assert Timeout(5).total == Timeout().total
    assert AsyncPayi(api_key=CANARY, base_url="http://127.0.0.1:9").timeout.total == 300.0
    assert Timeout(None) == Timeout(connect=None, read=None, pool=None, total=None)
    assert Timeout(10, connect=2) == Timeout(connect=2, read=10, pool=10)


async def test_an_endless_trickle_is_cut_by_total_although_read_never_trips() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(head(200, "Transfer-Encoding: chunked"))
        while True:
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with serve(trickle) as server:
        started = time.perf_counter()
        error = await first_error(server.url, timeout=Timeout(read=5, total=0.6))
        elapsed = time.perf_counter() - started
    assert isinstance(error, APITimeoutError)
    assert "total timeout" in str(error)
    assert elapsed < 10


async def test_endless_interim_1xx_answers_are_cut_by_total() -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        while True:
            writer.write(b"HTTP/1.1 102 Processing\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)

    async with serve(interim) as server:
        error = await first_error(server.url, timeout=Timeout(read=5, total=0.6))
    assert isinstance(error, APITimeoutError)
    assert_no_secret(error)


async def test_endless_headers_are_refused_without_waiting_for_total() -> None:
    async def headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for index in range(100_000):
            writer.write(f"X-H{index}: v\r\n".encode())
            if index % 100 == 0:
                await writer.drain()
                await asyncio.sleep(0.001)

    async with serve(headers) as server:
        started = time.perf_counter()
        error = await first_error(server.url, timeout=Timeout(read=5, total=60))
        elapsed = time.perf_counter() - started
    assert isinstance(error, APIConnectionError)
    assert not isinstance(error, APITimeoutError)  # refused by a limit, not timed out
    assert elapsed < 30
    assert_no_secret(error)


async def test_an_error_answer_over_the_cap_is_refused_too() -> None:
    body = b'{"message": "' + b"x" * 300_000 + b'"}'
    async with serve(answer(body, 500)) as server:
        error = await first_error(server.url, max_response_bytes=100_000, max_retries=2)
    assert isinstance(error, APIResponseValidationError)
    assert error.status_code == 500
    assert "too large" in str(error)


async def test_each_retry_is_logged_at_info_with_its_reason_and_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        while True:
            await read_request(reader)
            attempts += 1
            if attempts == 1:
                writer.write(head(503, "retry-after: 0.01", length=2) + b"{}")
            elif attempts == 2:
                await asyncio.sleep(1)  # a read timeout
            else:
                writer.write(head(200, length=13) + b'{"items": []}')
            await writer.drain()

    caplog.set_level(logging.INFO, logger="payi_async")
    async with (
        serve(flaky) as server,
        AsyncPayi(
            api_key=CANARY,
            base_url=server.url,
            timeout=Timeout(read=0.2),
            max_retries=RetryPolicy(max_retries=3, initial_delay=0.01),
        ) as client,
    ):
        await client.categories.list()
    notices = [r.payi_retry for r in caplog.records if hasattr(r, "payi_retry")]
    assert all(isinstance(n, RetryNotice) for n in notices)
    assert [(n.attempt, n.max_attempts, n.reason) for n in notices] == [
        (2, 4, "status 503"),
        (3, 4, "a read timeout"),
    ]
    assert notices[0].wait == pytest.approx(0.01)
    retries = [r for r in caplog.records if hasattr(r, "payi_retry")]
    assert all(r.levelno == logging.INFO for r in retries)
    assert retries[0].getMessage().endswith("(2/4) after status 503 in 0.0 s")
