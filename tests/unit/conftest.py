"""Fixtures of the async core's unit tests: a mocked wire, a client and a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aioresponses.core as aioresponses_core
import pytest
from _unit_support import BASE, KEY, CompatResponse, FakeClock, LiveServer
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from payi_async import AsyncPayi


@pytest.fixture
def api() -> Iterator[aioresponses]:
    """aioresponses with every unmatched request refused (nothing reaches a network)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aioresponses_core, "ClientResponse", CompatResponse)
        with aioresponses() as mocked:
            yield mocked


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncPayi]:
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    payi = AsyncPayi(api_key=KEY, base_url=BASE)
    try:
        yield payi
    finally:
        await payi.close()


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    loop = asyncio.get_running_loop()
    fake = FakeClock(loop)
    monkeypatch.setattr("payi_async._transport.sleep", fake.sleep)
    monkeypatch.setattr(loop, "time", fake.time)
    return fake


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    state = LiveServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    state.url = str(server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        state.release.set()
        await server.close()
