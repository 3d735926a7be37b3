"""Fixtures of the bulk tests: an emulator on a real socket and clients that retry fast."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from _bulk_support import fast_policy

from payi_async import AsyncPayi
from payi_async.emulator import LocalPayiServer, ThreadedPayiServer


@pytest.fixture(autouse=True)
def _no_payi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
async def server() -> AsyncIterator[LocalPayiServer]:
    """An emulator on this test's event loop."""
    async with LocalPayiServer() as running:
        yield running


@pytest.fixture
async def client(server: LocalPayiServer) -> AsyncIterator[AsyncPayi]:
    """A client of ``server`` whose retries wait milliseconds, not seconds."""
    payi = AsyncPayi(api_key=server.api_key, base_url=server.base_url)
    payi._policy = fast_policy()
    try:
        yield payi
    finally:
        await payi.close()


@pytest.fixture
def threaded_server() -> Iterator[ThreadedPayiServer]:
    """An emulator on its own thread, for sync tests and the command line."""
    with ThreadedPayiServer() as running:
        yield running
