"""Item 5: the connection pool survives cancellations and timeouts, and the timeout
model holds: a stall mid-body is a read timeout, a wait for a pooled connection is not.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from payi_async import APITimeoutError, AsyncPayi, Timeout
from tests.support import CANARY, raw_server, read_request, scripted, secret_free

pytestmark = pytest.mark.timeout(60)

PAGE = {"items": [], "cursor": None}


class Modal:
    """Answers by the ``x-mode`` header: ``stall`` waits until released, ``slow`` waits
    50 ms, ``hold`` waits for ``hold_release``; records the ``x-tag`` of each request."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.hold_release = asyncio.Event()
        self.holding = asyncio.Event()
        self.tags: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.tags.append(request.headers.get("x-tag", ""))
        self.holding.set()
        mode = request.headers.get("x-mode", "")
        if mode == "stall":
            await self.release.wait()
        elif mode == "slow":
            await asyncio.sleep(0.05)
        elif mode == "hold":
            await self.hold_release.wait()
        return web.json_response(PAGE)


def _others() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def test_pool_recovers_after_cancellations_and_timeouts() -> None:
    server = Modal()
    async with scripted(server.handle) as url:
        client = AsyncPayi(
            api_key=CANARY,
            base_url=url,
            connection_limit=2,
            max_retries=0,
            timeout=Timeout(connect=2.0, read=5.0, pool=30.0),
        )
        stall_timeout = Timeout(connect=2.0, read=0.2, pool=30.0)

        async def call(i: int) -> object:
            mode = "stall" if i % 4 == 0 else "slow"
            return await client.categories.list(
                extra_headers={"x-mode": mode, "x-tag": str(i)},
                timeout=stall_timeout if mode == "stall" else None,
            ).first_page()

        tasks = [asyncio.ensure_future(call(i)) for i in range(100)]
        await asyncio.sleep(0.3)  # some finished, two in flight, the rest queued for the pool
        cancelled = [t for i, t in enumerate(tasks) if i % 2 == 1]
        for task in cancelled:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for i, outcome in enumerate(results):
            if i % 4 == 0:
                assert isinstance(outcome, APITimeoutError), (i, outcome)
                assert "read timeout" in str(outcome)
                secret_free(outcome)
            elif i % 2 == 0:
                assert not isinstance(outcome, BaseException), (i, outcome)
            else:  # cancelled, unless it had already finished
                assert isinstance(outcome, asyncio.CancelledError) or outcome.items == [], outcome
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) >= 40

        # Afterwards ten ordinary calls go through promptly on the same pool.
        started = time.monotonic()
        for i in range(10):
            page = await client.categories.list(extra_headers={"x-tag": f"after{i}"})
            assert page.items == []
        assert time.monotonic() - started < 3.0

        session = client._transport._session
        assert session is not None
        connector = session.connector
        assert connector is not None
        assert not connector._acquired  # nothing still checked out of the pool
        idle = sum(len(conns) for conns in connector._conns.values())
        assert idle <= 2
        # No request was sent twice; cancelled ones that never got a connection never went.
        sent = [t for t in server.tags if not t.startswith("after")]
        assert len(sent) == len(set(sent))
        await client.close()
        server.release.set()
    assert _others() == set(), "a task outlived the client"


async def test_stall_mid_body_is_a_prompt_read_timeout() -> None:
    hold = asyncio.Event()

    async def stall_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"items": [{"category": "a'
        )
        await writer.drain()
        await hold.wait()

    read = 0.3
    async with raw_server(stall_mid_body) as url:
        timeout = Timeout(connect=2.0, read=read, pool=2.0)
        async with AsyncPayi(api_key=CANARY, base_url=url, timeout=timeout, max_retries=0) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as caught:
                await c.categories.list()
            elapsed = time.monotonic() - started
        hold.set()
    assert elapsed < 1.5 * read + 0.5, elapsed
    assert "read timeout" in str(caught.value)


async def test_silent_server_is_a_prompt_read_timeout() -> None:
    hold = asyncio.Event()

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await hold.wait()

    async with raw_server(say_nothing) as url:
        timeout = Timeout(connect=2.0, read=0.3, pool=2.0)
        async with AsyncPayi(api_key=CANARY, base_url=url, timeout=timeout, max_retries=0) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await c.categories.resources.retrieve("r", "custom.c", "m")
            assert time.monotonic() - started < 1.5 * 0.3 + 0.5
        hold.set()


async def test_drip_feed_is_bounded_only_by_total() -> None:
    """``read`` bounds silence; a server dripping a byte every 0.1 s needs ``total``."""
    hold = asyncio.Event()

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not hold.is_set():
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.1)

    async with raw_server(drip) as url:
        timeout = Timeout(connect=2.0, read=0.3, pool=2.0, total=1.0)
        async with AsyncPayi(api_key=CANARY, base_url=url, timeout=timeout, max_retries=0) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as caught:
                await c.categories.list()
            assert time.monotonic() - started < 1.5 * 1.0 + 0.5
        hold.set()
    assert "total" in str(caught.value)


async def test_waiting_for_a_pooled_connection_does_not_eat_the_read_timeout() -> None:
    server = Modal()
    async with scripted(server.handle) as url:
        timeout = Timeout(connect=2.0, read=0.3, pool=5.0)
        async with AsyncPayi(
            api_key=CANARY, base_url=url, connection_limit=1, max_retries=0, timeout=timeout
        ) as client:
            holder = asyncio.ensure_future(
                client.categories.list(
                    extra_headers={"x-mode": "hold", "x-tag": "A"}, timeout=10.0
                ).first_page()
            )
            await asyncio.wait_for(server.holding.wait(), 5)
            waiter = asyncio.ensure_future(
                client.categories.list(extra_headers={"x-tag": "B"}).first_page()
            )
            await asyncio.sleep(0.6)  # B waits for the pool twice as long as its read timeout
            assert server.tags == ["A"]
            server.hold_release.set()
            await holder
            page = await waiter  # sent once A let go, answered at once: no timeout
            assert page.items == [] and server.tags == ["A", "B"]


async def test_pool_timeout_says_the_request_was_not_sent() -> None:
    server = Modal()
    async with (
        scripted(server.handle) as url,
        AsyncPayi(api_key=CANARY, base_url=url, connection_limit=1, max_retries=2) as client,
    ):
        holder = asyncio.ensure_future(
            client.categories.list(
                extra_headers={"x-mode": "hold", "x-tag": "A"}, timeout=10.0
            ).first_page()
        )
        await asyncio.wait_for(server.holding.wait(), 5)
        quick = Timeout(connect=0.1, read=5.0, pool=0.2)
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as caught:
            await client.with_options(max_retries=0).categories.list(
                extra_headers={"x-tag": "B"}, timeout=quick
            )
        assert time.monotonic() - started < 1.5 * (0.2 + 0.1) + 0.5
        assert "not sent" in str(caught.value)
        assert server.tags == ["A"]
        server.hold_release.set()
        await holder
