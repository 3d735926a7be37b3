"""Helpers shared by the unit tests (a uniquely named module, imported by tests)."""

from __future__ import annotations

import asyncio
import json
import types
from typing import Any

from aiohttp import ClientResponse, web
from aioresponses import aioresponses
from yarl import URL

BASE = "https://api.test"
KEY = "sk-unit-test-key-7f3a9c"


class CompatResponse(ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp 3.14's ``stream_writer``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", types.SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class FakeClock:
    """Replaces the transport's ``sleep``: records each wait and moves the loop's clock.

    While ``gate`` is set, every sleeper waits on it before its time passes.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.delays: list[float] = []
        self.offset = 0.0
        self.gate: asyncio.Event | None = None
        #: Set whenever something starts to sleep.
        self.slept = asyncio.Event()
        self._real_time = loop.time

    def time(self) -> float:
        return self._real_time() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.slept.set()
        if self.gate is not None:
            await self.gate.wait()
        self.offset += max(seconds, 0.0)
        await asyncio.sleep(0)


def calls(mocked: aioresponses) -> list[tuple[str, URL, Any]]:
    """Every request aioresponses saw, in order: (method, URL, call)."""
    seen = [(key[0], key[1], call) for key, group in mocked.requests.items() for call in group]
    # dict order is by first sight of a key; calls to one key keep their order.
    return seen


def only_call(mocked: aioresponses) -> tuple[str, URL, Any]:
    seen = calls(mocked)
    assert len(seen) == 1, seen
    return seen[0]


def body_of(call: Any) -> Any:
    data = call.kwargs["data"]
    return None if data is None else json.loads(data)


def resource_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resource_id": "rid-1",
        "category": "custom.cat",
        "resource": "model-a",
        "units": {"text": {"input_price": 0.5, "output_price": 1.5}},
        "max_input_units": 16000,
        "max_output_units": 4000,
        "max_total_units": 20000,
        "creation_timestamp": "2024-05-01T10:00:00Z",
        "start_timestamp": "2024-05-02T00:00:00+00:00",
        "resource_scope": "global",
        "aliases": ["a1", "a2"],
    }
    data.update(overrides)
    return data


class LiveServer:
    """A real aiohttp server on 127.0.0.1 that records what reaches it.

    ``respond`` makes the answer of each request (default: an empty page that also
    fits a delete's acknowledgement); ``release``
    ends every handler that waits on it.
    """

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.respond: Any = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "path": request.path,
                "query_string": request.query_string,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        self.arrived.set()
        if self.respond is None:
            return web.json_response({"request_id": "live", "items": [], "cursor": None})
        response: web.StreamResponse = await self.respond(request)
        return response
