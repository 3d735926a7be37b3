"""The fixtures of every test (the one conftest of the ``tests`` package).

Helpers and constants are in ``tests/support.py``. An emulator on its own thread is the
plugin's ``payi_emulator``; ``server`` is one on the test's own event loop.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import aioresponses.core as aioresponses_core
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from payi_async import AsyncPayi, RetryPolicy
from payi_async.emulator import LocalPayiServer

# The plugin's fixtures, also when the package is not installed (entry point absent).
from payi_async.emulator.pytest_plugin import (  # noqa: F401
    payi_emulator,
    payi_emulator_env,
    pytest_configure,
)
from tests.support import BASE, CANARY, KEY, CompatResponse, FakeClock, LiveServer, fast_policy

_LOGGERS = ("payi_async", "aiohttp", "asyncio", "payi_async.emulator")


@pytest.fixture(autouse=True)
def _no_payi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's ``PAYI_*`` settings; the CLI prints 200 columns wide."""
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(autouse=True)
def no_internal_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LocalPayiServer]]:
    """Fail the test if any emulator it started answered a 5xx that was not injected.

    Yields the servers started so far; a test that provokes an internal error on
    purpose removes its server from the list.
    """
    started: list[LocalPayiServer] = []
    original = LocalPayiServer.start

    async def start(self: LocalPayiServer) -> None:
        started.append(self)
        await original(self)

    monkeypatch.setattr(LocalPayiServer, "start", start)
    yield started
    errors = [f"{e.method} {e.path} -> {e.status}" for s in started for e in s.internal_errors]
    assert not errors, f"the emulator answered internal errors: {errors}"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(autouse=True)
def _canary_never_logged(request: pytest.FixtureRequest) -> Iterator[_Collect | None]:
    """In the reliability tests (every client there uses ``CANARY``): capture every
    record at DEBUG and fail the test if the key is in any of them. Yields the
    collected records there (None elsewhere)."""
    if "reliability" not in request.node.path.parts:
        yield
        return
    handler = _Collect()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    leaked = [text for text in handler.texts if CANARY in text]
    assert not leaked, f"the API key was logged: {leaked[:3]}"


@pytest.fixture
def api() -> Iterator[aioresponses]:
    """aioresponses with every unmatched request refused (nothing reaches a network)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aioresponses_core, "ClientResponse", CompatResponse)
        with aioresponses() as mocked:
            yield mocked


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Where ``server`` keeps its SQLite file, when a test asks for it."""
    return tmp_path / "payi.sqlite"


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[LocalPayiServer]:
    """An emulator on this test's event loop: on the ``db`` file when the test uses
    ``db``, else in memory."""
    db = request.getfixturevalue("db") if "db" in request.fixturenames else None
    async with LocalPayiServer() if db is None else LocalPayiServer(db=str(db)) as running:
        yield running


@pytest.fixture
async def emulator() -> AsyncIterator[LocalPayiServer]:
    """The emulator on 127.0.0.1 (in-memory database) accepting only the canary key."""
    async with LocalPayiServer(api_key=CANARY) as running:
        yield running


@pytest.fixture
async def client(request: pytest.FixtureRequest) -> AsyncIterator[AsyncPayi]:
    """A client of the mocked wire (``api``) at ``BASE``; on ``clock`` when the test
    uses it."""
    policy: int | RetryPolicy = 2
    if "clock" in request.fixturenames:
        policy = RetryPolicy(clock=request.getfixturevalue("clock"))
    async with AsyncPayi(api_key=KEY, base_url=BASE, max_retries=policy) as payi:
        yield payi


@pytest.fixture
async def emulator_client(server: LocalPayiServer) -> AsyncIterator[AsyncPayi]:
    """A client of ``server`` whose retries (and apply's rounds) wait milliseconds."""
    policy = fast_policy()
    async with AsyncPayi(
        api_key=server.api_key, base_url=server.base_url, max_retries=policy
    ) as payi:
        yield payi


@pytest.fixture
async def http(server: LocalPayiServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP session carrying ``server``'s key."""
    async with aiohttp.ClientSession(headers=server.headers) as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock; a client waits on it given ``max_retries=RetryPolicy(clock=clock)``
    (``client`` is, when the test asks for ``clock`` too)."""
    return FakeClock()


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    """A real aiohttp server recording what reaches it (``LiveServer``)."""
    state = LiveServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    state.url = str(test_server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        state.release.set()
        await test_server.close()
