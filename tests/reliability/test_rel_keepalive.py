"""Item 6: stale keep-alive connections. A server that drops idle sockets after 0.5 s
must not turn a call made 0.6 s later into an error; a call that went out on a
socket the server had just given up on is retried (a create with its idempotency key).
"""

from __future__ import annotations

import asyncio

import pytest

from payi_async import AsyncPayi, RetryPolicy
from payi_async.emulator import LocalPayiServer
from tests.support import CANARY, UNITS, FakeClock, http_response, raw_server, read_request

pytestmark = pytest.mark.timeout(30)


async def test_calls_spaced_past_the_servers_idle_timeout_all_succeed() -> None:
    async with LocalPayiServer(api_key=CANARY, keepalive_timeout=0.5) as server:
        async with AsyncPayi(api_key=CANARY, base_url=server.base_url, max_retries=0) as client:
            created = await client.categories.resources.create("m", "custom.ka", UNITS)
            for _ in range(4):
                await asyncio.sleep(0.6)
                got = await client.categories.resources.retrieve(
                    created.resource_id, "custom.ka", "m"
                )
                assert got == created
            await asyncio.sleep(0.6)
            again = await client.categories.resources.create("m", "custom.ka", UNITS)
        # max_retries=0: every call succeeded on its first attempt, each on a new socket
        # because the server had closed the idle one.
        assert server.request_count == 6
        assert server.connections_accepted == 6
        assert again.resource_id != created.resource_id


class OneAnswerPerSocket:
    """Answers the first request of each connection (keep-alive), then reads the next
    one and closes the socket without a word: what a server does when its idle timer
    fires just as the client reuses the socket."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, int]] = []
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        line, headers, _ = await read_request(reader)
        self.seen.append((line.split()[0], headers.get("idempotency-key"), number))
        body = b'{"items": [], "cursor": null}'
        if line.startswith("POST"):
            body = (
                b'{"resource_id": "r1", "category": "custom.c", "resource": "m", '
                b'"units": {"text": {"input_price": 1, "output_price": 2}}}'
            )
        writer.write(http_response(200, body))
        await writer.drain()
        line, headers, _ = await read_request(reader)
        self.seen.append((line.split()[0], headers.get("idempotency-key"), number))
        # ... and hang up without answering.


@pytest.mark.parametrize("second", ["GET", "POST"])
async def test_request_on_a_socket_the_server_dropped_is_retried(
    clock: FakeClock, second: str
) -> None:
    server = OneAnswerPerSocket()
    async with (
        raw_server(server.serve) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=RetryPolicy(clock=clock)) as client,
    ):
        await client.categories.list()
        if second == "GET":
            page = await client.categories.list()
            assert page.items == []
        else:
            created = await client.categories.resources.create("m", "custom.c", UNITS)
            assert created.resource_id == "r1"
    methods = [m for m, _, _ in server.seen]
    assert methods == ["GET", second, second]
    # The second attempt went out on a fresh connection ...
    assert [n for _, _, n in server.seen] == [1, 1, 2]
    if second == "POST":
        # ... and a create carried the same idempotency key both times.
        keys = [k for m, k, _ in server.seen if m == "POST"]
        assert keys[0] is not None and keys[0] == keys[1]
