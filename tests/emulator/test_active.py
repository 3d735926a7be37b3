"""Partial units, the ``Active`` filter and the hosted fields, on the wire (raw aiohttp).

The clock is set by hand so "now", "ended" and "not yet started" are exact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import aiohttp
import pytest

from payi_async.emulator import LocalPayiServer, Shapes

from .conftest import UNITS, api_url, get_json, list_all

JUNE = datetime(2025, 6, 1, tzinfo=timezone.utc)
OCTOBER = datetime(2025, 10, 1, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(JUNE)


async def _open(
    clock: Clock, shapes: Shapes
) -> AsyncIterator[tuple[LocalPayiServer, aiohttp.ClientSession]]:
    async with (
        LocalPayiServer(clock=clock, shapes=shapes) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        yield server, http


@pytest.fixture
async def hosted(clock: Clock) -> AsyncIterator[tuple[LocalPayiServer, aiohttp.ClientSession]]:
    async for pair in _open(clock, "hosted"):
        yield pair


@pytest.fixture(params=["seed", "hosted"])
async def either(
    request: pytest.FixtureRequest, clock: Clock
) -> AsyncIterator[tuple[LocalPayiServer, aiohttp.ClientSession]]:
    async for pair in _open(clock, request.param):
        yield pair


async def _post(
    http: aiohttp.ClientSession, server: LocalPayiServer, category: str, resource: str, body: object
) -> dict[str, object]:
    async with http.post(api_url(server, category, "resources", resource), json=body) as response:
        payload = await response.json()
    assert response.status in (200, 201), payload
    assert isinstance(payload, dict)
    return payload


async def _version(
    http: aiohttp.ClientSession, server: LocalPayiServer, resource: str, start: str
) -> str:
    body = {"units": UNITS, "start_timestamp": start}
    return str((await _post(http, server, "custom.a", resource, body))["resource_id"])


async def _delete(http: aiohttp.ClientSession, url: object) -> object:
    async with http.delete(url) as response:  # type: ignore[arg-type]
        assert response.status == 200
        return await response.json()


def _ids(items: list[dict[str, object]]) -> list[object]:
    return [item["resource_id"] for item in items]


# ------------------------------------------------------------------ partial units


PARTIAL = {
    "text": {"input_price": 2.5e-06, "output_price": 1e-05},
    "text_cached": {"input_price": 1.25e-06},
    "text_output_only": {"output_price": 3e-06},
    "flat": {},
    "explicit_nulls": {"input_price": None, "output_price": None},
}
RENDERED = {
    "text": {"input_price": 2.5e-06, "output_price": 1e-05},
    "text_cached": {"input_price": 1.25e-06, "output_price": None},
    "text_output_only": {"input_price": None, "output_price": 3e-06},
    "flat": {"input_price": None, "output_price": None},
    "explicit_nulls": {"input_price": None, "output_price": None},
}


async def test_partial_units_are_stored_and_returned_everywhere(
    either: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = either
    created = await _post(http, server, "custom.units", "m", {"units": PARTIAL})
    assert created["units"] == RENDERED
    url = api_url(server, "custom.units", "resources", "m", str(created["resource_id"]))
    assert (await get_json(http, url))["units"] == RENDERED
    for segments in (("custom.units", "resources"), ("custom.units", "resources", "m")):
        (item,) = await list_all(http, server, *segments)
        assert item["units"] == RENDERED
    rows = [r for r in await server.store.all_versions() if r.category == "custom.units"]
    assert rows[0].units["text_cached"] == {"input_price": 1.25e-06}
    assert rows[0].units["flat"] == {}


async def test_partial_units_keep_refusing_bad_prices(
    either: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = either
    for unit, word in [
        ({"input_price": -1.0}, "negative"),
        ({"output_price": "1"}, "must be a number"),
        ({"input_price": None, "output_price": -0.5}, "negative"),
    ]:
        async with http.post(
            api_url(server, "custom.units", "resources", "m"), json={"units": {"u": unit}}
        ) as response:
            error = await response.json()
        assert response.status == 400
        assert word in error["message"]
        assert "units.u." in error["message"]


# ------------------------------------------------------------------ Active on versions


async def test_active_on_versions_follows_deletes_and_time(
    hosted: tuple[LocalPayiServer, aiohttp.ClientSession], clock: Clock
) -> None:
    server, http = hosted
    v1 = await _version(http, server, "m", "2025-01-01T00:00:00Z")
    v2 = await _version(http, server, "m", "2025-03-01T00:00:00Z")
    v3 = await _version(http, server, "m", "2025-09-01T00:00:00Z")  # not yet started
    v4 = await _version(http, server, "m", "2025-02-01T00:00:00Z")  # created last
    versions = {
        v["resource_id"]: v for v in await list_all(http, server, "custom.a", "resources", "m")
    }
    assert versions[v1]["end_timestamp"] == "2025-02-01T00:00:00.000000Z"  # v4 took over
    assert versions[v4]["end_timestamp"] == "2025-03-01T00:00:00.000000Z"
    await _delete(http, api_url(server, "custom.a", "resources", "m", v4))

    live = await list_all(http, server, "custom.a", "resources", "m")
    active = await list_all(http, server, "custom.a", "resources", "m", Active="true")
    inactive = await list_all(http, server, "custom.a", "resources", "m", Active="false")
    assert _ids(live) == [v1, v2, v3]
    assert _ids(active) == [v2]
    assert _ids(inactive) == [v1, v3, v4]  # ended, not yet started, deleted
    by_id = {item["resource_id"]: item for item in active + inactive}
    assert {rid: by_id[rid]["active"] for rid in by_id} == {
        v1: False,
        v2: True,
        v3: False,
        v4: False,
    }
    # v4's deletion moved v1's end back to v2's start
    assert by_id[v1]["end_timestamp"] == "2025-03-01T00:00:00.000000Z"
    assert by_id[v2]["end_timestamp"] == "2025-09-01T00:00:00.000000Z"
    assert by_id[v3]["end_timestamp"] is None

    clock.now = OCTOBER  # v3 has taken over
    active = await list_all(http, server, "custom.a", "resources", "m", Active="TRUE")
    inactive = await list_all(http, server, "custom.a", "resources", "m", Active="false")
    assert _ids(active) == [v3]
    assert _ids(inactive) == [v1, v2, v4]
    one = await get_json(http, api_url(server, "custom.a", "resources", "m", v2))
    assert one["active"] is False
    assert one["end_timestamp"] == "2025-09-01T00:00:00.000000Z"

    # Descending, one per page, through cursors of the filtered listing.
    pages = await list_all(
        http,
        server,
        "custom.a",
        "resources",
        "m",
        Active="false",
        limit="1",
        sort_ascending="false",
    )
    assert _ids(pages) == [v4, v2, v1]


async def test_history_of_a_deleted_resource_stays_reachable(
    hosted: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hosted
    first = await _version(http, server, "gone", "2025-01-01T00:00:00Z")
    second = await _version(http, server, "gone", "2025-02-01T00:00:00Z")
    deleted = await _delete(http, api_url(server, "custom.a", "resources", "gone"))
    assert isinstance(deleted, list)
    assert [(d["resource_id"], d["active"]) for d in deleted] == [
        (first, False),
        (second, False),
    ]
    await get_json(http, api_url(server, "custom.a", "resources", "gone"), status=404)
    await get_json(http, api_url(server, "custom.a", "resources", "gone", Active="true"), 404)
    history = await list_all(http, server, "custom.a", "resources", "gone", Active="false")
    assert _ids(history) == [first, second]
    await get_json(http, api_url(server, "custom.a", "resources", "never", Active="false"), 404)


# ------------------------------------------------------------------ Active on a category


async def test_active_on_a_categorys_resources(
    hosted: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hosted
    m1 = await _version(http, server, "m", "2025-01-01T00:00:00Z")
    m2 = await _version(http, server, "m", "2025-02-01T00:00:00Z")
    n1 = await _version(http, server, "n", "2026-01-01T00:00:00Z")  # future only
    o1 = await _version(http, server, "o", "2025-01-01T00:00:00Z")
    p1 = await _version(http, server, "p", "2025-05-01T00:00:00Z")
    await _delete(http, api_url(server, "custom.a", "resources", "o"))

    heads = await list_all(http, server, "custom.a", "resources")
    assert _ids(heads) == [m2, n1, p1]  # latest live version of each resource
    active = await list_all(http, server, "custom.a", "resources", Active="true")
    assert _ids(active) == [m2, p1]
    assert all(item["active"] is True for item in active)
    for ascending, order in (("true", [m1, n1, o1]), ("false", [o1, n1, m1])):
        inactive = await list_all(
            http, server, "custom.a", "resources", Active="false", limit="1",
            sort_ascending=ascending,
        )  # fmt: skip
        assert _ids(inactive) == order
        assert all(item["active"] is False for item in inactive)

    # a cursor of one filter is refused by the other and by the unfiltered listing
    page = await get_json(http, api_url(server, "custom.a", "resources", Active="false", limit="1"))
    for other in ({"Active": "true"}, {}):
        await get_json(
            http,
            api_url(server, "custom.a", "resources", cursor=str(page["cursor"]), **other),
            status=400,
        )


async def test_active_on_categories(
    either: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = either
    body = {"units": UNITS, "start_timestamp": "2025-01-01T00:00:00Z"}
    await _post(http, server, "custom.now", "m", body)
    await _post(http, server, "custom.later", "m", {**body, "start_timestamp": "2030-01-01Z"})
    await _post(http, server, "custom.emptied", "m", body)
    await _delete(http, api_url(server, "custom.emptied", "resources", "m"))
    gone = await _post(http, server, "custom.gone", "m", body)
    await _delete(http, api_url(server, "custom.gone"))
    systems = {c["category"] for c in await list_all(http, server) if "system." in c["category"]}  # type: ignore[operator]
    assert len(systems) == 5

    def names(items: list[dict[str, object]]) -> list[object]:
        return [item["category"] for item in items]

    assert names(await list_all(http, server)) == sorted(
        [*systems, "custom.now", "custom.later", "custom.emptied"]
    )
    assert names(await list_all(http, server, Active="true")) == sorted([*systems, "custom.now"])
    assert names(await list_all(http, server, Active="false", limit="1")) == [
        "custom.emptied",
        "custom.gone",
        "custom.later",
    ]
    # the deleted category's history is reachable with Active=false, and only so
    await get_json(http, api_url(server, "custom.gone", "resources"), status=404)
    history = await list_all(http, server, "custom.gone", "resources", Active="false")
    assert _ids(history) == [gone["resource_id"]]
    versions = await list_all(http, server, "custom.gone", "resources", "m", Active="false")
    assert _ids(versions) == [gone["resource_id"]]


async def test_seeded_history_is_listed_as_inactive(
    either: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = either
    (old,) = await list_all(http, server, "system.openai", "resources", "gpt-4o", Active="false")
    (current,) = await list_all(http, server, "system.openai", "resources", "gpt-4o", Active="true")
    assert old["start_timestamp"] < current["start_timestamp"]  # type: ignore[operator]
    assert old["units"]["text"]["input_price"] == 5e-06  # type: ignore[index]
    everything = await list_all(http, server, "system.openai", "resources", Active="true")
    assert current["resource_id"] in _ids(everything)
    assert old["resource_id"] not in _ids(everything)


# ------------------------------------------------------------------ hosted fields


async def test_hosted_fields_of_system_resources(
    hosted: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hosted
    azure = await list_all(http, server, "system.azureopenai", "resources")
    assert len(azure) == 4
    for item in azure:
        mapped = item["mapped_resource"]
        assert isinstance(mapped, dict)
        assert mapped["scope"] == item["resource_scope"]
        assert mapped["scope"] in ("global", "datazone", "region")
        assert mapped["category"] == "system.openai"
        openai = await get_json(
            http, api_url(server, "system.openai", "resources", str(mapped["resource"]))
        )
        assert openai["items"], mapped  # the mapped model exists
        assert item["proxy_allowed"] is True
        assert item["active"] is True
    assert {i["mapped_resource"]["scope"] for i in azure} == {"global", "datazone", "region"}  # type: ignore[index]

    old, new = await list_all(http, server, "system.openai", "resources", "gpt-4o")
    assert (old["active"], new["active"]) == (False, True)
    assert old["end_timestamp"] == new["start_timestamp"]
    assert new["end_timestamp"] is None
    assert old["mapped_resource"] is None
    assert old["character_billing"] is False

    vertex = {
        i["resource"]: i for i in await list_all(http, server, "system.google.vertex", "resources")
    }
    assert vertex["gemini-1.5-pro-002"]["large_context_threshold"] == 128_000
    assert vertex["gemini-2.0-flash-001"]["large_context_threshold"] is None


async def test_hosted_fields_of_custom_resources(
    hosted: tuple[LocalPayiServer, aiohttp.ClientSession], clock: Clock
) -> None:
    server, http = hosted
    later = await _post(
        http, server, "custom.a", "m", {"units": UNITS, "start_timestamp": "2025-07-01T00:00:00Z"}
    )
    assert later["active"] is False  # not yet started
    assert later["end_timestamp"] is None
    now = await _post(http, server, "custom.a", "m", {"units": UNITS})
    assert now["active"] is True
    assert now["start_timestamp"] == "2025-06-01T00:00:00.000000Z"
    assert now["end_timestamp"] == "2025-07-01T00:00:00.000000Z"
    assert now["proxy_allowed"] is False
    for name in ("mapped_resource", "azure_resource", "aws_bedrock_resource", "character_billing"):
        assert now[name] is None
    clock.now = OCTOBER
    current = await get_json(
        http, api_url(server, "custom.a", "resources", "m", str(now["resource_id"]))
    )
    assert current["active"] is False
    deleted = await _delete(
        http, api_url(server, "custom.a", "resources", "m", str(later["resource_id"]))
    )
    assert isinstance(deleted, dict)
    assert deleted["active"] is False
    current = await get_json(
        http, api_url(server, "custom.a", "resources", "m", str(now["resource_id"]))
    )
    assert current["active"] is True  # the one that took over is gone
    assert current["end_timestamp"] is None
