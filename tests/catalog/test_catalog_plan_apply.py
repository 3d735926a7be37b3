"""``resources.plan`` / ``resources.apply`` against the emulator on a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _catalog_support import expected_counts, fast_policy, live_counts, price_file

from payi_async import AsyncPayi, BulkProgress, CatalogPlan, ResourceCreate
from payi_async._catalog import content_key
from payi_async.emulator import Faults, LocalPayiServer


def methods(server: LocalPayiServer) -> Counter[str]:
    return Counter(record.method for record in server.requests)


async def test_apply_then_plan_is_empty_and_apply_again_only_reads(
    client: AsyncPayi, server: LocalPayiServer, db: Path
) -> None:
    rows = price_file("custom.cat", 60)
    resources = client.categories.resources
    first = await resources.plan(rows)
    assert first and len(first.creates) == len(rows) and not first.unchanged
    result = await resources.apply(rows)
    assert result.ok and len(result.created) == len(rows)
    assert live_counts(db, "custom.cat") == expected_counts(rows)

    after = await resources.plan(rows)
    assert not after and not after.creates and not after.deletes
    assert len(after.unchanged) == len(rows)
    assert "Plan: 0 to create" in str(after)

    server.clear_log()
    again = await resources.apply(rows)
    assert again.ok and again.created == [] and again.deleted == []
    assert set(methods(server)) == {"GET"}
    # One listing per resource at most (plus the category's own listing).
    assert len(server.requests) <= 1 + len({r["resource"] for r in rows})
    assert live_counts(db, "custom.cat") == expected_counts(rows)


async def test_ten_changed_prices_are_ten_creates(client: AsyncPayi, db: Path) -> None:
    rows = price_file("custom.ten", 40)
    resources = client.categories.resources
    assert (await resources.apply(rows)).ok
    changed = [dict(row) for row in rows]
    for row in changed[:10]:
        row["units"] = {"text": {"input_price": 0.5, "output_price": 0.25}}
    plan = await resources.plan(changed)
    assert len(plan.creates) == 10 and len(plan.unchanged) == len(rows) - 10
    assert [c.resource for c in plan.creates] == [r["resource"] for r in changed[:10]]
    assert str(plan).count("\n+ ") + str(plan).startswith("+ ") == 10
    result = await resources.apply(plan)
    assert result.ok and len(result.created) == 10
    assert not await resources.plan(changed)


async def test_undated_row_is_judged_by_the_version_in_effect_now(db: Path, tmp_path: Path) -> None:
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    async with (
        LocalPayiServer(db=str(db), clock=lambda: now[0]) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        resources = client.categories.resources
        undated = {"category": "custom.u", "resource": "m", "units": {"t": _p(1e-6, 2e-6)}}
        assert (await resources.apply([undated])).ok
        assert not await resources.plan([undated])
        now[0] = datetime.now(timezone.utc)
        # A dated version starting after the undated one was made takes over...
        dated = {**undated, "units": {"t": _p(9e-6, 9e-6)}}
        dated["start_timestamp"] = "2026-06-01T00:00:00Z"
        plan = await resources.plan([undated, dated])
        # ... so the undated row must be made again, after it.
        assert len(plan.creates) == 2
        assert (await resources.apply([undated, dated])).ok
        assert not await resources.plan([undated, dated])
        current = await resources.resolve("custom.u", "m")
        assert current.units["t"].input_price == 1e-6


def _p(i: float, o: float) -> dict[str, float]:
    return {"input_price": i, "output_price": o}


@pytest.mark.parametrize("ignore", [False, True], ids=["honoured", "ignored"])
async def test_faults_after_commit_never_duplicate(db: Path, ignore: bool) -> None:
    faults = Faults(fail_after_commit_rate=0.3, error_rate=0.05, seed=3)
    async with (
        LocalPayiServer(db=str(db), faults=faults, ignore_idempotency=ignore) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        client._policy = fast_policy(12)
        rows = price_file("custom.faults", 80)
        seen: list[BulkProgress] = []
        result = await client.categories.resources.apply(
            rows, concurrency=8, on_progress=seen.append
        )
        assert result.ok, (result.failed, result.unconverged)
        assert server.fault_counts.get("after_commit", 0) > 5
        # Creates whose answers were lost count once they are seen on the server.
        assert len(result.created) < result.confirmed == len(rows)
        assert seen[-1].done == seen[-1].total == len(rows)
        assert live_counts(db, "custom.faults") == expected_counts(rows)
        server.clear_faults()
        assert not await client.categories.resources.plan(rows)


async def test_creates_carry_content_keys_stable_across_processes(
    client: AsyncPayi, server: LocalPayiServer
) -> None:
    rows = price_file("custom.keys", 6)
    plan = await client.categories.resources.plan(rows)
    server.clear_log()
    await client.categories.resources.apply(plan)
    sent = {r.idempotency_key for r in server.requests if r.method == "POST"}
    assert sent == set(plan.create_keys) and len(sent) == len(rows)
    assert all(key.startswith("payi-catalog-") for key in sent)
    code = (
        "import json, sys; from payi_async import ResourceCreate;"
        "from payi_async._catalog import content_key;"
        "print(json.dumps([content_key(ResourceCreate.of(r)) for r in json.load(sys.stdin)]))"
    )
    other = subprocess.run(  # noqa: ASYNC221 (a short child process)
        [sys.executable, "-c", code], input=json.dumps(rows), capture_output=True, text=True
    )
    assert json.loads(other.stdout) == [content_key(ResourceCreate.of(r)) for r in rows]
    # The same content with its units in another order has the same key.
    units = {"a": _p(1, 2), "b": _p(3, 4)}
    a = ResourceCreate.of({**rows[0], "units": units})
    b = ResourceCreate.of({**rows[0], "units": dict(reversed(units.items()))})
    assert content_key(a) == content_key(b)
    assert content_key(a) != content_key(a, ["rsrc_1"])
    assert content_key(a) != content_key(ResourceCreate.of({**rows[0], "max_input_units": 1}))


async def test_a_version_deleted_by_hand_is_made_again(
    client: AsyncPayi, server: LocalPayiServer
) -> None:
    # The server honours keys: a re-apply must not be answered from the first create.
    rows = price_file("custom.again", 4)
    resources = client.categories.resources
    assert (await resources.apply(rows)).ok
    gone = await resources.resolve("custom.again", rows[0]["resource"], "2025-02-01T00:00:00Z")
    await resources.delete(gone.resource_id, gone.category, gone.resource)
    assert len((await resources.plan(rows)).creates) == 1
    assert (await resources.apply(rows)).ok
    assert not await resources.plan(rows)


async def test_prune_deletes_unnamed_resources_but_never_system_ones(
    client: AsyncPayi, server: LocalPayiServer
) -> None:
    rows = price_file("custom.prune", 10)
    resources = client.categories.resources
    assert (await resources.apply(rows)).ok
    kept = [r for r in rows if r["resource"] != rows[0]["resource"]]
    dropped = rows[0]["resource"]
    assert not (await resources.plan(kept)).deletes  # without prune: nothing to delete
    system = await anext(client.categories.list_resources("system.openai").__aiter__())
    system_row = {
        "category": "system.openai",
        "resource": system.resource,
        "units": {k: _p(u.input_price, u.output_price) for k, u in system.units.items()},
    }
    plan = await resources.plan([*kept, system_row], prune=True)
    assert [(v.category, v.resource) for v in plan.deletes] == [("custom.prune", dropped)]
    assert f"- custom.prune / {dropped}" in str(plan)
    # A plan passed to apply deletes only what it listed.
    assert (await resources.apply(CatalogPlan(items=plan.items, prune=True))).deleted == []
    result = await resources.apply(plan)
    assert [v.resource for v in result.deleted] == [dropped]
    assert not await resources.plan(kept, prune=True)
    assert len([r async for r in client.categories.list_resources("system.openai")]) > 1


async def test_bad_or_contradictory_rows_are_refused_before_any_request(
    client: AsyncPayi, server: LocalPayiServer
) -> None:
    resources = client.categories.resources
    row: dict[str, Any] = {"category": "custom.x", "resource": "m", "units": {"t": _p(1, 2)}}
    server.clear_log()
    with pytest.raises(ValueError, match="items 0 and 1 both describe"):
        await resources.plan([row, {**row, "units": {"t": _p(3, 4)}}])
    with pytest.raises(ValueError, match="item 1: start_timestamp must be timezone-aware"):
        await resources.plan([row, {**row, "start_timestamp": "2025-01-01T00:00:00"}])
    with pytest.raises(ValueError, match="item 0: units"):
        await resources.apply([{**row, "units": {}}])
    with pytest.raises(ValueError, match="concurrency"):
        await resources.apply([row], concurrency=0)
    assert server.requests == []
    # Identical rows are one desired version.
    assert len((await resources.plan([row, dict(row)])).creates) == 1


async def test_future_and_past_dates_and_progress(client: AsyncPayi) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    rows = [
        {"category": "custom.p", "resource": "m", "units": {"t": _p(1, 1)}},
        {
            **{"category": "custom.p", "resource": "m", "units": {"t": _p(2, 2)}},
            "start_timestamp": soon,
        },
    ]
    seen: list[int] = []
    result = await client.categories.resources.apply(
        rows, on_progress=lambda p: seen.append(p.done)
    )
    assert result.ok and seen[-1] == 2
    assert not await client.categories.resources.plan(rows)


@pytest.mark.parametrize("ignore", [False, True])
async def test_emulator_can_ignore_idempotency_keys(db: Path, ignore: bool) -> None:
    async with (
        LocalPayiServer(db=str(db), ignore_idempotency=ignore) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        headers = {"Idempotency-Key": "same-key"}
        units = {"t": _p(1, 1)}
        for _ in range(2):
            await client.categories.resources.create("m", "custom.i", units, extra_headers=headers)
        versions = [v async for v in client.categories.resources.list("m", "custom.i")]
        assert len(versions) == (2 if ignore else 1)


async def test_a_server_clock_ahead_of_ours_does_not_repeat_undated_rows(db: Path) -> None:
    ahead = timedelta(minutes=5)
    async with (
        LocalPayiServer(db=str(db), clock=lambda: datetime.now(timezone.utc) + ahead) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        row = {"category": "custom.skew", "resource": "m", "units": {"t": _p(1, 2)}}
        assert (await client.categories.resources.apply([row])).ok
        assert not await client.categories.resources.plan([row])


async def test_a_server_that_keeps_failing_leaves_rows_unconverged(
    client: AsyncPayi, server: LocalPayiServer
) -> None:
    server.set_faults(Faults(error_rate=1.0, methods=("POST",)))
    rows = price_file("custom.down", 4)
    result = await client.categories.resources.apply(rows)
    assert not result.ok and result.created == [] and result.failed == []
    assert len(result.unconverged) == len(rows)
    posts = [r for r in server.requests if r.method == "POST"]
    # One attempt per row per round (max_retries + 1 rounds), each after a fresh read.
    assert len(posts) == len(rows) * (client.max_retries + 1)


async def test_refused_rows_fail_alone(client: AsyncPayi, server: LocalPayiServer) -> None:
    system = await anext(client.categories.list_resources("system.openai").__aiter__())
    rows = [
        {"category": "system.openai", "resource": "mine", "units": {"t": _p(1, 1)}},
        {"category": "custom.ok", "resource": "m", "units": {"t": _p(1, 1)}},
    ]
    result = await client.categories.resources.apply(rows)
    assert not result.ok and [c.resource for c in result.created] == ["m"]
    assert [(f.index, type(f.error).__name__) for f in result.failed] == [
        (0, "PermissionDeniedError")
    ]
    # Refused at once: no second attempt at the refused row.
    assert sum(r.method == "POST" and "system.openai" in r.path for r in server.requests) == 1
    assert system.category == "system.openai"


@pytest.mark.payi_emulator(shapes="hosted")
def test_hosted_shapes(payi_emulator: Any) -> None:
    from payi_sync import Payi

    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        rows = price_file("custom.hosted", 8)
        assert client.categories.resources.apply(rows).ok
        assert not client.categories.resources.plan(rows)
        kept = [r for r in rows if r["resource"] != rows[0]["resource"]]
        plan = client.categories.resources.plan(kept, prune=True)
        assert [v.resource for v in plan.deletes] == [rows[0]["resource"]]
        result = client.categories.resources.apply(plan)
        assert result.ok and len(result.deleted) == 1
        assert not client.categories.resources.plan(kept, prune=True)


@pytest.mark.parametrize("seed", range(6))
async def test_apply_cancelled_at_a_random_moment_then_again_converges(db: Path, seed: int) -> None:
    faults = Faults(latency=0.002, fail_after_commit_rate=0.2, seed=seed)
    async with (
        LocalPayiServer(db=str(db), faults=faults, ignore_idempotency=True) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        client._policy = fast_policy(12)
        rows = price_file("custom.cancel", 120)
        # Cancel once this many creates are confirmed (0: while it plans).
        target = random.Random(seed).randint(0, len(rows))

        def progress(p: BulkProgress) -> None:
            if p.done >= target:
                task.cancel()

        task = asyncio.ensure_future(
            client.categories.resources.apply(rows, concurrency=8, on_progress=progress)
        )
        if target == 0:
            await asyncio.sleep(0.01)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert sum(live_counts(db, "custom.cancel").values()) <= len(rows)
        result = await client.categories.resources.apply(rows, concurrency=8)
        assert result.ok, (result.failed, result.unconverged)
        assert live_counts(db, "custom.cancel") == expected_counts(rows)
