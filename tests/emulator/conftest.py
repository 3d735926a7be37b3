"""Fixtures of the emulator's own tests: a server, a raw HTTP session, URL helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from payi_async.emulator import LocalPayiServer

# The plugin's fixtures, also when the package is not installed (entry point absent).
from payi_async.emulator.pytest_plugin import (  # noqa: F401
    payi_emulator,
    payi_emulator_env,
    pytest_configure,
)

UNITS = {"text": {"input_price": 0.000001, "output_price": 0.000002}}


def api_url(server: LocalPayiServer, *segments: str, **query: str) -> URL:
    """``/api/v1/categories/<segments>``, each segment percent-encoded exactly once."""
    path = "/".join(["/api/v1/categories", *(quote(s, safe="") for s in segments)])
    url = URL(server.base_url + path, encoded=True)
    return url.with_query(query) if query else url


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


@pytest.fixture
async def server() -> AsyncIterator[LocalPayiServer]:
    async with LocalPayiServer() as running:
        yield running


@pytest.fixture
async def http(server: LocalPayiServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=server.headers) as session:
        yield session


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
        json={"units": UNITS} if body is None else body,
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
