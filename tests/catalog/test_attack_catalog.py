"""Attacks on the catalogue's promises (issue 12), kept as regressions.

Each test names the class of failure it found: a reverted price hidden by an older,
shadowed version; a create that commits after the client gave up on it, made twice by
the next round; a row re-sent every round to a server that stores something else;
keys that change as sibling rows get created; input that reached the wire (or
crashed) instead of being refused by name; a cost that raised ``decimal`` errors for
big unit counts; a task per worker made up front, however big the concurrency.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from payi_async import AsyncPayi
from payi_async._catalog import plan_catalog
from payi_async._models import CategoryResourceResponse, ResourceCreate, Units
from payi_async.emulator import LocalPayiServer

CATEGORY = "custom.attack"
START = "2025-01-01T00:00:00Z"


def row(resource: str, price: float, start: str | None = START, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "category": CATEGORY,
        "resource": resource,
        "units": {"text": {"input_price": price, "output_price": price * 2}},
        **extra,
    }
    if start is not None:
        item["start_timestamp"] = start
    return item


@pytest.fixture
async def server() -> AsyncIterator[LocalPayiServer]:
    async with LocalPayiServer() as running:
        yield running


def client_of(server: LocalPayiServer, **options: Any) -> AsyncPayi:
    return AsyncPayi(api_key=server.api_key, base_url=server.base_url, **options)


async def versions(server: LocalPayiServer, resource: str) -> collections.Counter[str]:
    """How many live versions of ``resource`` start at each moment."""
    async with client_of(server) as client:
        found = [v async for v in client.categories.resources.list(resource, CATEGORY)]
    return collections.Counter(str(v.start_timestamp) for v in found)


def slow_commits(server: LocalPayiServer, seconds: float) -> None:
    """Every write commits ``seconds`` after its body was read, as a busy server's
    does; the request goes on when the client stops waiting for the answer."""
    original: Callable[..., Awaitable[Any]] = server.store.write

    async def write(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(seconds)
        return await original(*args, **kwargs)

    server.store.write = write  # type: ignore[method-assign]


# ------------------------------------------------------------------ shadowed versions


async def test_a_reverted_price_at_the_same_start_is_created_again(
    server: LocalPayiServer,
) -> None:
    """p1 from S, then p2 from S, then the file reverted to p1 from S: the older p1
    version still exists but is shadowed by p2 (ties go to the latest created), so
    the file is not matched until p1 is made again."""
    async with client_of(server) as client:
        resources = client.categories.resources
        assert (await resources.apply([row("m", 1e-6)])).ok
        assert (await resources.apply([row("m", 5e-6)])).ok
        plan = await resources.plan([row("m", 1e-6)])
        assert [item.units["text"].input_price for item in plan.creates] == [1e-6]
        assert (await resources.apply([row("m", 1e-6)])).ok
        in_effect = await resources.resolve(CATEGORY, "m", at="2025-06-01T00:00:00Z")
        assert in_effect.units["text"].input_price == 1e-6
        assert not await resources.plan([row("m", 1e-6)])
        assert await resources.plan([row("m", 5e-6)])  # now p2 is the shadowed one


# ------------------------------------------------------------------ late commits


async def test_a_create_that_commits_after_its_timeout_is_made_once_when_keys_count(
    server: LocalPayiServer,
) -> None:
    """The create times out, the server commits it later: the next round re-sends
    the row with the same key, which a server honouring keys answers from the first
    (a key that changed per round made every version twice)."""
    slow_commits(server, 1.0)
    rows = [row("m", 1e-6 * (i + 1), start=f"202{i}-01-01T00:00:00Z") for i in range(3)]
    async with client_of(server, timeout=0.4) as client:
        await client.categories.resources.apply(rows)
    await asyncio.sleep(1.5)  # let every write that is still running finish
    counts = await versions(server, "m")
    assert sorted(counts.values()) == [1, 1, 1], counts


async def test_a_create_that_commits_soon_after_its_timeout_is_made_once_without_keys() -> None:
    """On a server that ignores keys, a create still running when the client timed
    out gets as long again before the server is read and the row re-sent."""
    async with LocalPayiServer(ignore_idempotency=True) as server:
        slow_commits(server, 1.1)
        async with client_of(server, timeout=0.5) as client:
            result = await client.categories.resources.apply([row("m", 1e-6)])
        await asyncio.sleep(1.5)
        assert result.ok
        assert sorted((await versions(server, "m")).values()) == [1]


# ------------------------------------------------------------------ a server that stores otherwise


def _ignore_start(body: Any) -> Any:
    return dataclasses.replace(body, start_timestamp=None)


def _round_prices(body: Any) -> Any:
    units = {
        name: {key: float(f"{price:.3g}") for key, price in prices.items()}
        for name, prices in body.units.items()
    }
    return dataclasses.replace(body, units=units)


@pytest.mark.parametrize("change", [_ignore_start, _round_prices])
async def test_a_server_that_stores_another_version_gets_the_row_once(
    change: Callable[[Any], Any],
) -> None:
    """A server that ignores ``start_timestamp`` or rounds prices answers every create
    with a version the row does not match; re-sending it each round made one more
    such version per round. The answer shows it: one create, and a failure naming it."""
    async with LocalPayiServer(ignore_idempotency=True) as server:
        original = server.store.create

        def create(conn: Any, category: str, resource: str, body: Any) -> Any:
            return original(conn, category, resource, change(body))

        server.store.create = create  # type: ignore[method-assign]
        async with client_of(server) as client:
            result = await client.categories.resources.apply([row("m", 1.23456789e-6)])
        assert not result.ok
        assert [type(f.error).__name__ for f in result.failed] == ["VersionMismatchError"]
        assert "not sending it again" in result.failed[0].message
        assert sum((await versions(server, "m")).values()) == 1


# ------------------------------------------------------------------ careless concurrency


async def test_a_huge_concurrency_costs_no_more_tasks_than_there_are_rows(
    server: LocalPayiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--concurrency 3000000`` on a one-row file took 2.7 GB and a minute before
    sending anything: a task per worker was made up front."""
    workers: list[str] = []
    ensure_future = asyncio.ensure_future

    def counting(coro: Any, **kwargs: Any) -> Any:
        name = getattr(coro, "__qualname__", "")
        if name.endswith("run_create_many.<locals>.worker"):
            workers.append(name)
        return ensure_future(coro, **kwargs)

    monkeypatch.setattr(asyncio, "ensure_future", counting)
    async with client_of(server) as client:
        result = await client.categories.resources.apply(
            [row(f"m{i}", 1e-6) for i in range(3)], concurrency=100_000
        )
    assert result.ok
    assert 0 < len(workers) <= 4, len(workers)


# ------------------------------------------------------------------ stable keys


async def test_a_rows_key_does_not_change_as_its_sibling_rows_are_created(
    server: LocalPayiServer,
) -> None:
    """An apply killed mid-way leaves some rows of a resource made; the next apply's
    keys for the other rows must be the ones the first sent, or a create still in
    flight from the first is made again even by a server that honours keys."""
    dated = [row("m", 1e-6 * (i + 1), start=f"202{i}-01-01T00:00:00Z") for i in range(3)]
    rows = [*dated, row("m", 9e-6, start=None)]
    async with client_of(server) as client:
        resources = client.categories.resources
        await resources.create(**row("m", 7e-6, start="2019-01-01T00:00:00Z"))
        before = await plan_catalog(resources, rows, prune=False)
        await resources.create(**dated[0])
        await resources.create(**dated[2])
        after = await plan_catalog(resources, rows, prune=False)
    keys_before = {
        item.start_timestamp: key
        for item, key in zip(before.creates, before.create_keys, strict=True)
    }
    keys_after = {
        item.start_timestamp: key
        for item, key in zip(after.creates, after.create_keys, strict=True)
    }
    assert len(keys_before) == 4 and len(keys_after) == 2
    for start, key in keys_after.items():
        assert keys_before[start] == key, start


async def test_a_row_deleted_by_hand_is_made_again_by_a_server_that_honours_keys(
    server: LocalPayiServer,
) -> None:
    async with client_of(server) as client:
        resources = client.categories.resources
        for _ in range(2):
            assert (await resources.apply([row("m", 1e-6)])).ok
            await client.categories.delete_resource("m", CATEGORY)
        result = await resources.apply([row("m", 1e-6)])
        assert result.ok and not await resources.plan([row("m", 1e-6)])
    assert sorted((await versions(server, "m")).values()) == [1]


# ------------------------------------------------------------------ input refused by name


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": {"text": {"input_price": 10**400}}}, "input_price"),
        ({"units": {"text": {"output_price": -(10**400)}}}, "output_price"),
        ({"units": {"\ud800": {"input_price": 1.0}}}, "units"),
        ({"start_timestamp": "0001-01-01T00:30:00+01:00"}, "start_timestamp"),
        ({"start_timestamp": "9999-12-31T23:30:00-01:00"}, "start_timestamp"),
    ],
)
async def test_input_the_server_cannot_take_is_refused_by_name_before_sending(
    server: LocalPayiServer, change: dict[str, Any], field: str
) -> None:
    item = {**row("m", 1e-6), **change}
    with pytest.raises(ValueError, match=field):
        ResourceCreate.of(item)
    async with client_of(server) as client:
        with pytest.raises(ValueError, match=field):
            await client.categories.resources.plan([item])
    assert server.request_count == 0


# ------------------------------------------------------------------ exact costs


@pytest.mark.parametrize(
    ("counts", "prices"),
    [
        ((10**250, 0), (1.5e-6, 2.5e-7)),  # a whole result of 245 digits
        ((3**500, 7**300), (1.5e-6, 2.5e-7)),  # 240 + 254 significant digits
        ((1, 10**40), (5e-324, 1e300)),  # exponents 600 apart
    ],
)
def test_cost_is_exact_for_any_unit_count(
    counts: tuple[int, int], prices: tuple[float, float]
) -> None:
    version = CategoryResourceResponse(
        resource_id="rsrc_1",
        category=CATEGORY,
        resource="m",
        units={"text": Units(*prices)},
    )
    expected = counts[0] * Fraction(repr(prices[0])) + counts[1] * Fraction(repr(prices[1]))
    cost = version.cost({"text": counts})
    assert isinstance(cost, Decimal) and Fraction(cost) == expected
