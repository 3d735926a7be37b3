"""Idempotency keys, persistence across restarts, concurrent writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from payi_async.emulator import LocalPayiServer

from .conftest import UNITS, api_url, create, get_json, list_all


async def _post(
    http: aiohttp.ClientSession, server: LocalPayiServer, resource: str, body: object, key: str
) -> tuple[int, object, aiohttp.typedefs.LooseHeaders]:
    async with http.post(
        api_url(server, "custom.idem", "resources", resource),
        json=body,
        headers={"Idempotency-Key": key},
    ) as response:
        return response.status, await response.json(), response.headers


async def test_repeated_create_with_same_key_answers_the_first_result(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    body = {"units": UNITS, "max_input_units": 10}
    status1, first, _ = await _post(http, server, "r", body, "key-1")
    status2, again, headers = await _post(http, server, "r", dict(reversed(body.items())), "key-1")
    assert (status1, status2) == (201, 201)
    assert again == first
    assert headers["Idempotent-Replayed"] == "true"  # type: ignore[index]
    assert len(await list_all(http, server, "custom.idem", "resources", "r")) == 1


async def test_same_key_with_other_body_is_422_and_creates_nothing(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    await _post(http, server, "r", {"units": UNITS}, "key-2")
    status, error, _ = await _post(
        http, server, "r", {"units": UNITS, "max_input_units": 1}, "key-2"
    )
    assert status == 422
    assert "Idempotency-Key" in error["message"]  # type: ignore[index]
    assert len(await list_all(http, server, "custom.idem", "resources", "r")) == 1


async def test_key_reused_on_another_path_is_422_and_failures_are_not_remembered(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    assert (await _post(http, server, "r", {"units": {}}, "key-3"))[0] == 400
    assert (await _post(http, server, "r", {"units": UNITS}, "key-3"))[0] == 201
    status, error, headers = await _post(http, server, "s", {"units": UNITS}, "key-3")
    assert status == 422
    assert "another endpoint" in error["message"]  # type: ignore[index]
    assert "Idempotent-Replayed" not in headers  # type: ignore[operator]
    async with http.delete(
        api_url(server, "custom.idem", "resources", "r"), headers={"Idempotency-Key": "key-3"}
    ) as response:
        assert response.status == 422
    assert len(await list_all(http, server, "custom.idem", "resources", "r")) == 1
    await get_json(http, api_url(server, "custom.idem", "resources", "s"), status=404)


async def test_concurrent_creates_with_one_key_make_one_version(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    results = await asyncio.gather(
        *(_post(http, server, "race", {"units": UNITS}, "same") for _ in range(16))
    )
    assert {str(body["resource_id"]) for _, body, _ in results} == {  # type: ignore[index]
        str(results[0][1]["resource_id"])  # type: ignore[index]
    }
    assert len(await list_all(http, server, "custom.idem", "resources", "race")) == 1


async def test_64_concurrent_creates_lose_nothing(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    created = await asyncio.gather(
        *(create(http, server, "custom.many", f"r{n % 8}") for n in range(64))
    )
    ids = {c["resource_id"] for c in created}
    assert len(ids) == 64
    listed = []
    for n in range(8):
        listed += await list_all(http, server, "custom.many", "resources", f"r{n}", limit="3")
    assert {v["resource_id"] for v in listed} == ids
    heads = await list_all(http, server, "custom.many", "resources")
    assert len(heads) == 8


async def test_file_database_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "payi.sqlite")
    async with (
        LocalPayiServer(db=db) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        kept = await create(http, server, "custom.disk", "kept", None, **{"Idempotency-Key": "k"})
        gone = await create(http, server, "custom.disk", "gone")
        async with http.delete(api_url(server, "custom.disk", "resources", "gone")):
            pass
        count = await server.store.count_versions()
    assert await asyncio.to_thread(Path(db).exists)
    async with (
        LocalPayiServer(db=db) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        assert await server.store.count_versions() == count  # not seeded twice
        heads = await list_all(http, server, "custom.disk", "resources")
        assert [h["resource_id"] for h in heads] == [kept["resource_id"]]
        assert gone["resource_id"] not in {
            r.resource_id for r in await server.store.all_versions() if not r.deleted
        }
        again = await create(http, server, "custom.disk", "kept", None, **{"Idempotency-Key": "k"})
        assert again == kept
        assert len(await list_all(http, server)) == 6


async def test_memory_databases_are_separate() -> None:
    async with LocalPayiServer() as one, LocalPayiServer() as two:
        await one.store.create_resource(
            "custom.only", "r", {"text": {"input_price": 1.0, "output_price": 1.0}}
        )
        assert await one.store.count_versions() == await two.store.count_versions() + 1
