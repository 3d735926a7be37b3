"""Item 2: a create whose answer is lost after the server committed it makes one version.

The emulator stores ``Idempotency-Key``s; the SDK sends one per create call and the
same one on every retry, so a retried create is answered from the first one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from payi_async import AsyncPayi, ConflictError, RetryPolicy, Timeout
from payi_async.emulator import LocalPayiServer
from tests.support import CANARY, UNITS, FakeClock, raw_server, resource_body, scripted

pytestmark = pytest.mark.timeout(30)


class StallingProxy:
    """Forwards TCP to the emulator; the first ``stalls`` connections never get an answer
    back (the server did the work; the client hears nothing)."""

    def __init__(self, upstream: str, stalls: int) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.stalls = stalls
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        stall = self.stalls > 0
        self.stalls -= 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def to_server() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        async def to_client() -> None:
            while data := await up_reader.read(65536):
                if not stall:
                    writer.write(data)
                    await writer.drain()

        pumps = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


@contextlib.asynccontextmanager
async def stalling(
    server: LocalPayiServer, stalls: int
) -> AsyncIterator[tuple[str, StallingProxy]]:
    proxy = StallingProxy(server.base_url, stalls)
    async with raw_server(proxy.serve) as url:
        yield url, proxy


async def _versions(server: LocalPayiServer, category: str, resource: str) -> list[str]:
    rows = await server.store.all_versions()
    return [r.resource_id for r in rows if (r.category, r.resource) == (category, resource)]


def _post_keys(server: LocalPayiServer) -> list[str | None]:
    return [r.idempotency_key for r in server.requests if r.method == "POST"]


async def test_stall_after_commit_past_read_timeout_makes_one_version(
    emulator: LocalPayiServer, clock: FakeClock
) -> None:
    async with stalling(emulator, stalls=1) as (url, proxy):
        timeout = Timeout(connect=2.0, read=0.3, pool=2.0)
        async with AsyncPayi(
            api_key=CANARY, base_url=url, timeout=timeout, max_retries=RetryPolicy(clock=clock)
        ) as client:
            created = await client.categories.resources.create("gpt-x", "custom.idem", UNITS)
    assert proxy.connections == 2  # the stalled connection was given up, a new one used
    assert await _versions(emulator, "custom.idem", "gpt-x") == [created.resource_id]
    keys = _post_keys(emulator)
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
    assert len(clock.delays) == 1  # one backoff before the one retry


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_failure_after_commit_makes_one_version(
    emulator: LocalPayiServer, clock: FakeClock, mode: str
) -> None:
    emulator.set_faults(fail_after_commit_rate=1.0, fail_after_commit_mode=mode, max_faults=2)
    async with AsyncPayi(
        api_key=CANARY, base_url=emulator.base_url, max_retries=RetryPolicy(clock=clock)
    ) as client:
        created = await client.categories.resources.create("gpt-y", "custom.idem", UNITS)
    assert emulator.fault_counts == {"after_commit": 2}
    assert await _versions(emulator, "custom.idem", "gpt-y") == [created.resource_id]
    keys = _post_keys(emulator)
    assert len(keys) == 3 and keys[0] is not None and len(set(keys)) == 1
    assert len(clock.delays) == 2


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_a_delete_whose_answer_was_lost_is_answered_not_404(
    emulator: LocalPayiServer, clock: FakeClock, mode: str
) -> None:
    async with AsyncPayi(
        api_key=CANARY, base_url=emulator.base_url, max_retries=RetryPolicy(clock=clock)
    ) as client:
        made = await client.categories.resources.create("gpt-d", "custom.idem", UNITS)
        emulator.set_faults(fail_after_commit_rate=1.0, fail_after_commit_mode=mode, max_faults=1)
        deleted = await client.categories.resources.delete(made.resource_id, "custom.idem", "gpt-d")
        other = await client.categories.resources.create("gpt-e", "custom.idem", UNITS)
        emulator.set_faults(fail_after_commit_rate=1.0, fail_after_commit_mode=mode, max_faults=1)
        ack = await client.categories.delete_resource("gpt-e", "custom.idem")
    assert deleted.resource_id == made.resource_id
    assert ack.request_id
    assert await _versions(emulator, "custom.idem", "gpt-e") == [other.resource_id]
    keys = [r.idempotency_key for r in emulator.requests if r.method == "DELETE"]
    assert len(keys) == 4
    assert keys[0] is not None and keys[0] == keys[1]
    assert keys[2] is not None and keys[2] == keys[3]
    assert keys[0] != keys[2]


async def test_callers_own_idempotency_key_is_kept_on_every_attempt(
    emulator: LocalPayiServer, clock: FakeClock
) -> None:
    emulator.set_faults(fail_after_commit_rate=1.0, max_faults=1)
    async with AsyncPayi(
        api_key=CANARY, base_url=emulator.base_url, max_retries=RetryPolicy(clock=clock)
    ) as client:
        first = await client.categories.resources.create(
            "gpt-z", "custom.idem", UNITS, extra_headers={"idempotency-key": "my-key-1"}
        )
        # The same key again (say, a re-run of a job) is answered from the first create.
        again = await client.categories.resources.create(
            "gpt-z", "custom.idem", UNITS, extra_headers={"Idempotency-Key": "my-key-1"}
        )
    assert again.resource_id == first.resource_id
    assert _post_keys(emulator) == ["my-key-1"] * 3
    assert await _versions(emulator, "custom.idem", "gpt-z") == [first.resource_id]


async def test_two_create_calls_are_two_versions(emulator: LocalPayiServer) -> None:
    """The key is per call, not per body: calling create twice means two versions."""
    async with AsyncPayi(api_key=CANARY, base_url=emulator.base_url) as client:
        one = await client.categories.resources.create("twice", "custom.idem", UNITS)
        two = await client.categories.resources.create("twice", "custom.idem", UNITS)
    assert one.resource_id != two.resource_id
    keys = _post_keys(emulator)
    assert len(keys) == 2 and keys[0] != keys[1]


async def test_conflict_on_create_is_not_retried(clock: FakeClock) -> None:
    seen: list[tuple[str, str | None]] = []

    async def conflict(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.headers.get("Idempotency-Key")))
        return web.json_response({"message": "exists", "statusCode": 409}, status=409)

    async with (
        scripted(conflict) as url,
        AsyncPayi(
            api_key=CANARY, base_url=url, max_retries=RetryPolicy(max_retries=3, clock=clock)
        ) as client,
    ):
        with pytest.raises(ConflictError):
            await client.categories.resources.create("m", "custom.c", UNITS)
        assert len(seen) == 1 and clock.delays == []
        # The same status on a read is retried (the policy's 409 rule is for creates).
        with pytest.raises(ConflictError):
            await client.categories.resources.retrieve("rid", "custom.c", "m")
    assert [method for method, _ in seen] == ["POST", "GET", "GET", "GET", "GET"]
    assert len(clock.delays) == 3


async def test_conflict_on_create_retried_only_when_server_says_so(clock: FakeClock) -> None:
    seen: list[str | None] = []

    async def conflict_then_ok(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) == 1:
            return web.json_response(
                {"message": "busy", "statusCode": 409},
                status=409,
                headers={"x-should-retry": "true"},
            )
        return web.json_response(resource_body(), status=201)

    async with (
        scripted(conflict_then_ok) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=RetryPolicy(clock=clock)) as client,
    ):
        await client.categories.resources.create("m", "custom.c", UNITS)
    assert len(seen) == 2 and seen[0] is not None and seen[0] == seen[1]
