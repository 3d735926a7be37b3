"""``resources.resolve`` (the version in effect at a moment) and ``cost``."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from payi_async import (
    AsyncPayi,
    CategoryResourceResponse,
    NotFoundError,
    NoVersionInEffectError,
    Units,
)
from payi_async.emulator import LocalPayiServer, ThreadedPayiServer
from payi_sync import Payi

CAT, RES = "custom.resolve", "model"


def _units(price: float) -> dict[str, Any]:
    return {"text": {"input_price": price, "output_price": price * 2}}


async def _history(client: AsyncPayi, now: list[datetime]) -> dict[str, str]:
    """Versions made at chosen moments; returns their ids by name."""
    create = client.categories.resources.create
    ids: dict[str, str] = {}

    async def make(name: str, when: str, price: float, start: str | None = None) -> None:
        now[0] = datetime.fromisoformat(when)
        version = await create(RES, CAT, _units(price), start_timestamp=start)
        ids[name] = version.resource_id

    await make("past", "2024-12-01T00:00:00+00:00", 1.0, "2025-01-01T00:00:00Z")
    await make("tie_old", "2024-12-02T00:00:00+00:00", 2.0, "2025-02-01T00:00:00Z")
    await make("tie_new", "2024-12-03T00:00:00+00:00", 3.0, "2025-02-01T00:00:00+00:00")
    await make("undated", "2025-03-01T00:00:00+00:00", 4.0)
    await make("deleted", "2025-03-02T00:00:00+00:00", 5.0, "2025-06-01T00:00:00Z")
    await make("future", "2025-03-03T00:00:00+00:00", 6.0, "2099-01-01T00:00:00Z")
    await client.categories.resources.delete(ids["deleted"], CAT, RES)
    now[0] = datetime.now(timezone.utc)
    return ids


async def test_resolution_across_versions(db: Path) -> None:
    now = [datetime.now(timezone.utc)]
    async with (
        LocalPayiServer(db=str(db), clock=lambda: now[0]) as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        ids = await _history(client, now)
        resolve = client.categories.resources.resolve
        expected = {
            "2025-01-15T00:00:00Z": "past",
            "2025-01-01T00:00:00Z": "past",  # at its start: in effect
            "2025-02-15T12:00:00+02:00": "tie_new",  # same start: the later created
            "2025-03-01T00:00:00Z": "undated",  # from its creation
            "2025-07-01T00:00:00Z": "undated",  # the deleted version never counts
            "2099-06-01T00:00:00Z": "future",
        }
        for at, name in expected.items():
            assert (await resolve(CAT, RES, at)).resource_id == ids[name], at
        assert (await resolve(CAT, RES)).resource_id == ids["undated"]
        moment = datetime(2025, 2, 1, tzinfo=timezone.utc)
        assert (await resolve(CAT, RES, moment)).resource_id == ids["tie_new"]

        with pytest.raises(NoVersionInEffectError) as caught:
            await resolve(CAT, RES, "2024-12-31T23:59:59Z")
        error = caught.value
        assert isinstance(error, NotFoundError) and error.status_code == 404
        assert "no version of resource 'model'" in str(error)
        assert "2025-01-01T00:00:00+00:00" in str(error)  # the earliest start
        assert error.at == datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc)

        with pytest.raises(NotFoundError) as unknown:
            await resolve(CAT, "nope")
        assert not isinstance(unknown.value, NoVersionInEffectError)


async def test_at_must_name_an_instant(client: AsyncPayi, server: LocalPayiServer) -> None:
    resolve = client.categories.resources.resolve
    server.clear_log()
    with pytest.raises(ValueError, match="at must be timezone-aware") as from_text:
        await resolve(CAT, RES, "2025-01-01T00:00:00")
    with pytest.raises(ValueError, match="at must be timezone-aware") as from_datetime:
        await resolve(CAT, RES, datetime(2025, 1, 1))
    assert str(from_text.value) == str(from_datetime.value)
    with pytest.raises(ValueError, match="not an ISO 8601"):
        await resolve(CAT, RES, "yesterday")
    with pytest.raises(TypeError, match="at must be a datetime"):
        await resolve(CAT, RES, 20250101)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty value for `category`"):
        await resolve("", RES)
    assert server.requests == []


def test_resolve_from_the_blocking_client(tmp_path: Path) -> None:
    with (
        ThreadedPayiServer(db=str(tmp_path / "payi.sqlite")) as server,
        Payi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        rows = [
            {"category": CAT, "resource": RES, "units": _units(1e-6)},
            {
                **{"category": CAT, "resource": RES, "units": _units(2e-6)},
                "start_timestamp": "2099-01-01T00:00:00Z",
            },
        ]
        assert client.categories.resources.plan(rows)
        assert client.categories.resources.apply(rows).ok
        assert not client.categories.resources.plan(rows)
        now = client.categories.resources.resolve(CAT, RES)
        assert now.cost({"text": (1_000_000, 1_000_000)}) == Decimal(3)
        later = client.categories.resources.resolve(CAT, RES, "2100-01-01T00:00:00Z")
        assert later.units["text"].input_price == 2e-6


def _version(**units: Units) -> CategoryResourceResponse:
    return CategoryResourceResponse(resource_id="rsrc_1", category=CAT, resource=RES, units=units)


def test_cost_is_exact() -> None:
    version = _version(text=Units(0.000015, 0.00006), image=Units(0.1, 0.2))
    fifteen = version.cost({"text": (1_000_000, 0)})
    assert fifteen == 15 and str(fifteen) == "15"
    assert version.cost({"text": (1_000_000, 200_000)}) == Decimal(27)
    # 0.1 + 0.2 is 0.3 here, not 0.30000000000000004.
    assert str(version.cost({"image": (1, 1)})) == "0.3"
    assert version.cost({"text": (10**18, 10**18)}) == Decimal(75) * 10**12
    assert version.cost({"text": (3, 0)}) == Decimal("0.000045")
    assert version.cost({}) == 0


def test_cost_names_what_is_missing() -> None:
    version = _version(text=Units(0.000015, cast(float, None)))
    assert version.cost({"text": (1000, 0)}) == Decimal("0.015")  # no output units used
    with pytest.raises(ValueError, match=r"unit 'text' .* has no output_price"):
        version.cost({"text": (1000, 1)})
    with pytest.raises(ValueError, match=r"unit 'image' is not priced .* \(it prices 'text'\)"):
        version.cost({"image": (0, 0)})
    with pytest.raises(ValueError, match="input units must be zero or more"):
        version.cost({"text": (-1, 0)})
    with pytest.raises(TypeError, match="pair"):
        version.cost({"text": 5})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be an int"):
        version.cost({"text": (1.5, 0)})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="usage must map"):
        version.cost([("text", (1, 1))])  # type: ignore[arg-type]
