"""Categories, resources, versions and soft deletes, with raw aiohttp."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp
import pytest

from payi_async.emulator import LocalPayiServer
from tests.support import EMULATOR_UNITS, api_url, create, get_json, list_all


async def _delete(http: aiohttp.ClientSession, url: object, status: int = 200) -> object:
    async with http.delete(url) as response:  # type: ignore[arg-type]
        body = await response.json()
    assert response.status == status, body
    return body


async def test_system_categories_are_seeded_with_models(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    bedrock = await list_all(http, server, "system.aws.bedrock", "resources")
    assert "anthropic.claude-3-5-sonnet-20240620-v1:0" in {r["resource"] for r in bedrock}
    azure = await list_all(http, server, "system.azureopenai", "resources")
    assert {r["resource_scope"] for r in azure} == {"global", "datazone", "region"}
    openai = {r["resource"]: r for r in await list_all(http, server, "system.openai", "resources")}
    assert openai["gpt-4o-mini"]["units"] == {
        "text": {"input_price": 0.00000015, "output_price": 0.0000006}
    }
    assert openai["gpt-4o"]["units"]["text"]["input_price"] == 0.0000025  # type: ignore[index]
    versions = await list_all(http, server, "system.openai", "resources", "gpt-4o")
    assert len(versions) == 2
    vertex = await list_all(http, server, "system.google.vertex", "resources")
    assert any(str(r["resource"]).startswith("gemini") for r in vertex)
    anthropic = await list_all(http, server, "system.anthropic", "resources")
    assert {"claude-3-5-haiku-20241022", "claude-3-5-sonnet-20241022"} <= {
        r["resource"] for r in anthropic
    }


async def test_create_adds_versions_with_server_ids_and_timestamps(
    http: aiohttp.ClientSession,
) -> None:
    moments = iter(datetime(2025, 5, day, 12, tzinfo=timezone.utc) for day in range(1, 10))
    async with (
        LocalPayiServer(clock=lambda: next(moments)) as server,
        aiohttp.ClientSession(headers=server.headers) as session,
    ):
        first = await create(session, server, "custom.v", "model")
        second = await create(
            session,
            server,
            "custom.v",
            "model",
            {"units": EMULATOR_UNITS, "start_timestamp": "2030-01-01T00:00:00Z"},
        )
        assert first["resource_id"] != second["resource_id"]
        assert first["creation_timestamp"] == "2025-05-01T12:00:00.000000Z"
        assert first["start_timestamp"] == first["creation_timestamp"]
        assert second["start_timestamp"] == "2030-01-01T00:00:00.000000Z"
        versions = await list_all(session, server, "custom.v", "resources", "model")
        assert [v["resource_id"] for v in versions] == [
            first["resource_id"],
            second["resource_id"],
        ]
        heads = await list_all(session, server, "custom.v", "resources")
        assert [h["resource_id"] for h in heads] == [second["resource_id"]]
        categories = {c["category"]: c for c in await list_all(session, server)}
        assert categories["custom.v"] == {
            "category": "custom.v",
            "category_type": "custom",
            "category_description": None,
        }


async def test_full_life_cycle_with_soft_deletes(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    v1 = await create(http, server, "custom.life", "a")
    v2 = await create(http, server, "custom.life", "a")
    await create(http, server, "custom.life", "b")
    v1_url = api_url(server, "custom.life", "resources", "a", str(v1["resource_id"]))

    deleted = await _delete(http, v1_url)
    assert isinstance(deleted, dict)
    assert deleted["resource_id"] == v1["resource_id"]
    await get_json(http, v1_url, status=404)
    await _delete(http, v1_url, status=404)
    versions = await list_all(http, server, "custom.life", "resources", "a")
    assert [v["resource_id"] for v in versions] == [v2["resource_id"]]

    # the head of "a" is v2; after deleting v2 too, "a" disappears from the category
    await _delete(http, api_url(server, "custom.life", "resources", "a", str(v2["resource_id"])))
    heads = await list_all(http, server, "custom.life", "resources")
    assert [h["resource"] for h in heads] == ["b"]
    await get_json(http, api_url(server, "custom.life", "resources", "a"), status=404)

    message = await _delete(http, api_url(server, "custom.life", "resources", "b"))
    assert isinstance(message, dict)
    assert "1 resource version" in str(message["message"])
    assert await list_all(http, server, "custom.life", "resources") == []
    assert "custom.life" in {c["category"] for c in await list_all(http, server)}

    await create(http, server, "custom.life", "c")
    await _delete(http, api_url(server, "custom.life"))
    assert "custom.life" not in {c["category"] for c in await list_all(http, server)}
    await get_json(http, api_url(server, "custom.life", "resources"), status=404)
    await _delete(http, api_url(server, "custom.life"), status=404)

    # rows are kept, marked deleted
    rows = [r for r in await server.store.all_versions() if r.category == "custom.life"]
    assert len(rows) == 4
    assert all(r.deleted for r in rows)

    # creating again revives the category, without the old resources
    await create(http, server, "custom.life", "d")
    assert [h["resource"] for h in await list_all(http, server, "custom.life", "resources")] == [
        "d"
    ]


async def test_version_must_match_its_category_and_resource(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    v = await create(http, server, "custom.m", "a")
    await create(http, server, "custom.m", "b")
    rid = str(v["resource_id"])
    await get_json(http, api_url(server, "custom.m", "resources", "b", rid), status=404)
    await get_json(http, api_url(server, "custom.other", "resources", "a", rid), status=404)
    await get_json(http, api_url(server, "custom.m", "resources", "a", "rsrc_nope"), status=404)
    await get_json(http, api_url(server, "custom.m", "resources", "nope"), status=404)


@pytest.mark.parametrize(
    "segments",
    [
        ("system.openai",),
        ("system.openai", "resources", "gpt-4o"),
        ("system.openai", "resources", "no-such-model"),
    ],
)
async def test_system_categories_cannot_be_deleted_from(
    server: LocalPayiServer, http: aiohttp.ClientSession, segments: tuple[str, ...]
) -> None:
    before = await server.store.count_versions(include_deleted=False)
    body = await _delete(http, api_url(server, *segments), status=403)
    assert isinstance(body, dict)
    assert body["statusCode"] == 403
    assert await server.store.count_versions(include_deleted=False) == before


async def test_system_version_cannot_be_deleted(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    page = await get_json(http, api_url(server, "system.anthropic", "resources", limit="1"))
    item = page["items"][0]  # type: ignore[index]
    url = api_url(server, "system.anthropic", "resources", item["resource"], item["resource_id"])
    await _delete(http, url, status=403)
    assert (await get_json(http, url))["resource_id"] == item["resource_id"]
