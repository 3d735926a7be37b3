"""Fixtures of the catalogue tests: an emulator on a SQLite file and a fast client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from _catalog_support import fast_policy

from payi_async import AsyncPayi
from payi_async.emulator import LocalPayiServer


@pytest.fixture(autouse=True)
def _no_payi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "payi.sqlite"


@pytest.fixture
async def server(db: Path) -> AsyncIterator[LocalPayiServer]:
    """An emulator on a SQLite file, on this test's event loop."""
    async with LocalPayiServer(db=str(db)) as running:
        yield running


@pytest.fixture
async def client(server: LocalPayiServer) -> AsyncIterator[AsyncPayi]:
    """A client of ``server`` whose retries (and apply rounds) wait milliseconds."""
    payi = AsyncPayi(api_key=server.api_key, base_url=server.base_url)
    payi._policy = fast_policy()
    try:
        yield payi
    finally:
        await payi.close()
