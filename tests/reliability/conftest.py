"""Fixtures of the reliability tests: every client uses the canary key, and every log
record written at DEBUG during a test is checked for it when the test ends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from _rel_support import CANARY, FakeClock

from payi_async.emulator import LocalPayiServer

_LOGGERS = ("payi_async", "aiohttp", "asyncio", "payi_async.emulator")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(autouse=True)
def _canary_never_logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Collect]:
    """Capture every record at DEBUG; fail the test if the key is in any of them."""
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
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
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The transport's waits, recorded instead of slept."""
    fake = FakeClock()
    monkeypatch.setattr("payi_async._transport.sleep", fake.sleep)
    return fake


@pytest.fixture
async def emulator() -> AsyncIterator[LocalPayiServer]:
    """The emulator on 127.0.0.1 (in-memory database) accepting only the canary key."""
    async with LocalPayiServer(api_key=CANARY) as server:
        yield server
