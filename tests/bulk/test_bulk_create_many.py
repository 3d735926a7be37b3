"""``create_many`` against the emulator over a real socket: faults, failures, cancellation,
bounded reading, shared 429 backoff, and the blocking facade."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _bulk_support import duplicates, fast_policy, item, items, threaded_versions_in, versions_in

import payi_async._transport as transport
from payi_async import (
    AsyncPayi,
    BadRequestError,
    BulkProgress,
    BulkResult,
    PermissionDeniedError,
)
from payi_async.emulator import Faults, LocalPayiServer, ThreadedPayiServer
from payi_sync import Payi

#: About 20% of requests fail on the way: 429s, 500/503s, dropped connections, and
#: writes that are committed but whose answer is lost (as a 503 or a dropped body).
TRANSIENT = Faults(
    rate_limit_rate=0.05,
    error_rate=0.05,
    drop_rate=0.05,
    fail_after_commit_rate=0.05,
    retry_after=0.002,
    seed=20,
)


def _check_account(result: BulkResult, n: int) -> None:
    """Every item read is in created or failed, exactly once."""
    indices = [c.index for c in result.created] + [f.index for f in result.failed]
    assert sorted(indices) == list(range(n))
    assert result.read == n


async def test_2000_items_through_transient_faults_are_each_created_once(
    server: LocalPayiServer, client: AsyncPayi
) -> None:
    server.set_faults(TRANSIENT)
    first_half: dict[str, int] = {}

    def halfway(progress: BulkProgress) -> None:
        # Lost answers after commit come first as 503s, then as dropped connections.
        if not first_half and progress.done >= 1000:
            first_half.update(server.fault_counts)
            server.set_faults(TRANSIENT.replace(fail_after_commit_mode="drop", seed=21))

    result = await client.categories.resources.create_many(
        items("custom.bulk", 2000), concurrency=32, total=2000, on_progress=halfway
    )
    second_half = server.fault_counts

    assert result.ok, [f.message for f in result.failed[:5]]
    _check_account(result, 2000)
    assert len(result.created) == 2000
    stored = await versions_in(server, "custom.bulk")
    assert len(stored) == 2000
    assert duplicates(stored) == {}
    assert {r.resource_id for r in stored} == {c.resource_id for c in result.created}
    by_index = {c.index: c.resource for c in result.created}
    assert by_index == {i: f"model-{i:07d}" for i in range(2000)}
    # The faults did happen, of every kind, in both halves.
    for counts in (first_half, second_half):
        for kind in ("rate_limit", "error", "drop", "after_commit"):
            assert counts.get(kind, 0) > 0, counts
    replayed = [r for r in server.requests if r.method == "POST" and r.status == 201]
    assert len({r.idempotency_key for r in replayed}) == 2000


async def test_hard_failures_fail_alone_with_their_index(
    server: LocalPayiServer, client: AsyncPayi
) -> None:
    bad: dict[int, type[BaseException]] = {}

    def mixed() -> Iterator[dict[str, Any]]:
        for i in range(600):
            row = item("custom.mixed", i)
            if i % 50 == 7:  # refused before sending: a negative price
                row["units"] = {"text": {"input_price": -1.0, "output_price": 0.0}}
                bad[i] = ValueError
            elif i % 50 == 19:  # refused by the server (names up to 256): 400, not retried
                row["resource"] += "x" * 300
                bad[i] = BadRequestError
            elif i % 50 == 33:  # refused by the server: 403 for the reserved prefix
                row["category"] = "system.not-yours"
                bad[i] = PermissionDeniedError
            yield row

    server.set_faults(TRANSIENT.replace(seed=3))
    result = await client.categories.resources.create_many(mixed(), concurrency=16)

    _check_account(result, 600)
    assert not result.ok and not result.interrupted
    failed = {f.index: f for f in result.failed}
    assert set(failed) == set(bad)
    for index, failure in failed.items():
        assert isinstance(failure.error, bad[index]), failure.message
        assert failure.item["resource"].startswith(f"model-{index:07d}")
    stored = await versions_in(server, "custom.mixed")
    assert len(stored) == 600 - len(bad) == len(result.created)
    assert duplicates(stored) == {}
    assert await versions_in(server, "system.not-yours") == []


async def test_cancellation_mid_run_keeps_the_account(
    server: LocalPayiServer, client: AsyncPayi
) -> None:
    server.set_faults(Faults(latency=0.001))
    result = BulkResult()
    enough = asyncio.Event()

    def watch(progress: BulkProgress) -> None:
        if progress.done >= 300:
            enough.set()

    run = asyncio.ensure_future(
        client.categories.resources.create_many(
            items("custom.cancel", 5000), concurrency=16, on_progress=watch, result=result
        )
    )
    await enough.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    assert result.interrupted and not result.ok
    _check_account(result, result.read)
    assert 300 <= len(result.created) < result.read < 5000
    assert 0 < len(result.failed) <= 16
    assert all(isinstance(f.error, asyncio.CancelledError) for f in result.failed)
    # Created items are stored once; items in flight may or may not be; nothing unread is.
    stored = await versions_in(server, "custom.cancel")
    assert duplicates(stored) == {}
    names = {r.resource for r in stored}
    assert {c.resource for c in result.created} <= names
    assert names <= {f"model-{i:07d}" for i in range(result.read)}


async def test_a_million_item_input_is_read_only_as_workers_free_up(
    server: LocalPayiServer, client: AsyncPayi
) -> None:
    concurrency = 32
    yielded = finished = most_ahead = 0

    async def million() -> AsyncIterator[dict[str, Any]]:
        nonlocal yielded, most_ahead
        for i in range(1_000_000):
            most_ahead = max(most_ahead, yielded - finished)
            yielded += 1
            yield item("custom.stream", i)

    stop = asyncio.Event()

    def count(progress: BulkProgress) -> None:
        nonlocal finished
        finished = progress.done + progress.failed
        if finished >= 1500:
            stop.set()

    result = BulkResult()
    run = asyncio.ensure_future(
        client.categories.resources.create_many(
            million(), concurrency=concurrency, on_progress=count, result=result
        )
    )
    await stop.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    # Never more than `concurrency` items read and not finished, so the input was
    # not drained: 1,500-odd of a million items were ever produced.
    assert most_ahead <= concurrency
    assert yielded == result.read <= 1500 + 2 * concurrency
    _check_account(result, result.read)


async def test_a_429_seen_by_one_worker_holds_back_the_others(
    server: LocalPayiServer, client: AsyncPayi, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_sleep = transport.sleep
    sleepers: list[asyncio.Task[Any] | None] = []

    async def recording_sleep(seconds: float) -> None:
        sleepers.append(asyncio.current_task())
        await real_sleep(seconds)

    monkeypatch.setattr(transport, "sleep", recording_sleep)

    def warm(progress: BulkProgress) -> None:
        # Once the run is going, exactly one request is a 429 asking for 0.1 s.
        if progress.done == 50:
            server.set_faults(Faults(rate_limit_rate=1.0, retry_after=0.1, max_faults=1))

    result = await client.categories.resources.create_many(
        items("custom.backoff", 200), concurrency=8, on_progress=warm
    )

    assert result.ok and len(result.created) == 200
    assert server.fault_counts == {"rate_limit": 1}
    # Only one worker saw the 429, yet others waited out the same pause before sending.
    assert len(set(sleepers)) > 1
    assert len(await versions_in(server, "custom.backoff")) == 200


def test_create_many_through_the_blocking_facade(threaded_server: ThreadedPayiServer) -> None:
    threaded_server.set_faults(TRANSIENT.replace(seed=9))
    seen: list[BulkProgress] = []
    with Payi(api_key=threaded_server.api_key, base_url=threaded_server.base_url) as payi:
        payi._async._policy = fast_policy()
        result = payi.categories.resources.create_many(
            list(items("custom.sync", 300)), concurrency=12, on_progress=seen.append
        )
    assert result.ok
    _check_account(result, 300)
    assert seen[-1].done == 300 and seen[-1].total == 300
    stored = threaded_versions_in(threaded_server, "custom.sync")
    assert len(stored) == 300 and duplicates(stored) == {}
    assert sum(threaded_server.fault_counts.values()) > 0
