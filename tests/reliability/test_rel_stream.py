"""``AsyncPayi._stream`` (contract C1): status and headers before the body, the body
read only when asked and within the cap, retries on status before anything is yielded,
the connection given back when the ``async with`` block ends."""

from __future__ import annotations

import asyncio
import json

import pytest
from _rel_support import CANARY, raw_server, read_request

from payi_async import (
    APIResponseValidationError,
    APITimeoutError,
    AsyncPayi,
    NotFoundError,
    Timeout,
)

pytestmark = pytest.mark.timeout(30)

PATH = "/api/v1/categories"
BODY = json.dumps({"items": [{"category": "a"}], "cursor": None}).encode()


def _head(status: int, length: int, *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", *extra]
    return ("\r\n".join([*lines, f"Content-Length: {length}"]) + "\r\n\r\n").encode()


async def test_status_and_headers_come_before_the_body_is_sent() -> None:
    release = asyncio.Event()
    sent = asyncio.Event()

    async def slow_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(_head(200, len(BODY), "x-request-id: req-9", f"x-echo: {CANARY}"))
        await writer.drain()
        await release.wait()
        writer.write(BODY)
        await writer.drain()
        sent.set()
        await asyncio.sleep(1)

    async with (
        raw_server(slow_body) as url,
        AsyncPayi(api_key=CANARY, base_url=url) as client,
        client._stream("GET", PATH) as response,
    ):
        assert response.status == 200
        assert response.headers["x-request-id"] == "req-9"
        assert response.headers["x-echo"] == "***"
        assert response.context.request_id == "req-9"
        assert response.context.url == url + PATH
        assert not sent.is_set()  # nothing of the body was even sent yet
        release.set()
        raw = await response.read()
        assert raw == BODY
        assert await response.read() is raw  # read once, remembered
        assert await response.data() == json.loads(BODY)


async def test_the_connection_goes_back_when_the_block_ends_read_or_not() -> None:
    connections = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            await read_request(reader)
            writer.write(_head(200, len(BODY)) + BODY)
            await writer.drain()

    async with (
        raw_server(keep_alive) as url,
        AsyncPayi(
            api_key=CANARY, base_url=url, connection_limit=1, timeout=Timeout(5, pool=0.5)
        ) as client,
    ):
        for _ in range(3):
            async with client._stream("GET", PATH) as response:
                await response.read()
        assert connections == 1  # read whole: the one connection is reused
        for _ in range(3):
            # Not read: the connection is closed rather than reused, but given back.
            async with client._stream("GET", PATH) as response:
                assert response.status == 200
        # With a pool of one, a connection not given back would time out here.
        assert (await client._request("GET", PATH)).data == json.loads(BODY)


async def test_a_failing_block_still_gives_the_connection_back() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(_head(200, len(BODY)) + BODY)
            await writer.drain()

    async with (
        raw_server(answer) as url,
        AsyncPayi(
            api_key=CANARY, base_url=url, connection_limit=1, timeout=Timeout(5, pool=0.5)
        ) as client,
    ):
        for _ in range(2):
            with pytest.raises(KeyError):
                async with client._stream("GET", PATH):
                    raise KeyError("the caller's own bug")
        await client._request("GET", PATH)


async def test_retries_on_status_happen_before_anything_is_yielded() -> None:
    seen = 0

    async def flaky(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        while True:
            await read_request(reader)
            seen += 1
            if seen < 3:
                writer.write(_head(503, 2, "retry-after: 0.01") + b"{}")
            else:
                writer.write(_head(200, len(BODY)) + BODY)
            await writer.drain()

    async with raw_server(flaky) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        yielded = 0
        async with client._stream("GET", PATH) as response:
            yielded += 1
            assert response.status == 200
            assert await response.data() == json.loads(BODY)
        assert (seen, yielded) == (3, 1)


async def test_a_final_error_status_raises_as_request_does_without_yielding() -> None:
    async def missing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            body = b'{"message": "no such category"}'
            writer.write(_head(404, len(body), "x-request-id: r-404") + body)
            await writer.drain()

    async with raw_server(missing) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        with pytest.raises(NotFoundError) as streamed:
            async with client._stream("GET", PATH):
                pytest.fail("a 404 must not be yielded")
        with pytest.raises(NotFoundError) as requested:
            await client._request("GET", PATH)
    assert str(streamed.value) == str(requested.value)
    assert streamed.value.request_id == "r-404"


async def test_a_streamed_body_is_capped_and_checked_when_read() -> None:
    big = b"[" + b"1," * 5000 + b"1]"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line, _, _ = await read_request(reader)
            body = big if "big" in line else b"<html>"
            writer.write(_head(200, len(body)) + body)
            await writer.drain()

    async with (
        raw_server(answer) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_response_bytes=1000) as client,
    ):
        async with client._stream("GET", PATH + "/big") as response:
            assert response.status == 200  # the cap applies to reading, not to opening
            with pytest.raises(APIResponseValidationError, match="too large"):
                await response.read()
        async with client._stream("GET", PATH) as response:
            with pytest.raises(APIResponseValidationError, match="not JSON"):
                await response.data()


async def test_a_stall_while_reading_a_streamed_body_is_a_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(_head(200, len(BODY)) + BODY[:5])
        await writer.drain()
        await asyncio.sleep(10)

    async with (
        raw_server(stall) as url,
        AsyncPayi(api_key=CANARY, base_url=url, timeout=Timeout(5, read=0.2)) as client,
        client._stream("GET", PATH) as response,
    ):
        with pytest.raises(APITimeoutError, match="read timeout"):
            await response.read()
