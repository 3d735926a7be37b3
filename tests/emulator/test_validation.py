"""Bodies and parameters the server refuses, with the field named in the message."""

from __future__ import annotations

import aiohttp
import pytest

from payi_async.emulator import MAX_LIMIT, LocalPayiServer

from .conftest import UNITS, api_url, create, get_json


def _units(**unit: object) -> dict[str, object]:
    return {"units": {"text": unit}}


BAD_BODIES: list[tuple[object, str]] = [
    ({}, "units"),
    ({"units": None}, "units"),
    ({"units": {}}, "units"),
    ({"units": []}, "units"),
    ({"units": "text"}, "units"),
    ({"units": {"text": 1}}, "units.text"),
    ({"units": {"": {"input_price": 1, "output_price": 1}}}, "units"),
    (_units(input_price=None, output_price="x"), "units.text.output_price"),
    (_units(input_price=float("-0.0") - 1e-300), "units.text.input_price"),
    (_units(input_price=-0.5, output_price=1), "units.text.input_price"),
    (_units(input_price=1, output_price=-1), "units.text.output_price"),
    (_units(input_price="1", output_price=1), "units.text.input_price"),
    (_units(input_price=True, output_price=1), "units.text.input_price"),
    (_units(input_price=1, output_price=False), "units.text.output_price"),
    ({"units": UNITS, "max_input_units": -1}, "max_input_units"),
    ({"units": UNITS, "max_output_units": 1.5}, "max_output_units"),
    ({"units": UNITS, "max_total_units": True}, "max_total_units"),
    ({"units": UNITS, "max_total_units": "10"}, "max_total_units"),
    ({"units": UNITS, "max_input_units": 2**64}, "max_input_units"),
    ({"units": UNITS, "start_timestamp": "yesterday"}, "start_timestamp"),
    ({"units": UNITS, "start_timestamp": "2024-13-01T00:00:00Z"}, "start_timestamp"),
    ({"units": UNITS, "start_timestamp": 1700000000}, "start_timestamp"),
    ([UNITS], "body"),
    ("units", "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_bad_bodies_are_400_naming_the_field(
    server: LocalPayiServer, http: aiohttp.ClientSession, body: object, field: str
) -> None:
    before = await server.store.count_versions()
    async with http.post(api_url(server, "custom.v", "resources", "r"), json=body) as response:
        error = await response.json()
    assert response.status == 400, error
    assert error["statusCode"] == 400
    assert error["message"].startswith(field) or f" {field}" in error["message"], error
    assert await server.store.count_versions() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"units": NaN}',
        b'{"units": {"text": {"input_price": Infinity}}}',
        b"\xff",
    ],
)
async def test_unparsable_bodies_are_400(
    server: LocalPayiServer, http: aiohttp.ClientSession, raw: bytes
) -> None:
    async with http.post(
        api_url(server, "custom.v", "resources", "r"),
        data=raw,
        headers={"Content-Type": "application/json"},
    ) as response:
        error = await response.json()
    assert response.status == 400
    assert "body" in error["message"]


async def test_overflowing_number_is_not_finite(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    raw = b'{"units": {"text": {"input_price": 1e400, "output_price": 1}}}'
    async with http.post(
        api_url(server, "custom.v", "resources", "r"),
        data=raw,
        headers={"Content-Type": "application/json"},
    ) as response:
        error = await response.json()
    assert response.status == 400
    assert error["message"] == "units.text.input_price must be finite"


@pytest.mark.parametrize(
    ("stamp", "stored"),
    [
        ("2025-03-04T05:06:07Z", "2025-03-04T05:06:07.000000Z"),
        ("2025-03-04T05:06:07.5+02:00", "2025-03-04T03:06:07.500000Z"),
        ("2025-03-04T05:06:07.1234567Z", "2025-03-04T05:06:07.123456Z"),
        ("2025-03-04", "2025-03-04T00:00:00.000000Z"),
        ("2025-03-04T05:06:07", "2025-03-04T05:06:07.000000Z"),
    ],
)
async def test_start_timestamp_is_normalised_to_utc(
    server: LocalPayiServer, http: aiohttp.ClientSession, stamp: str, stored: str
) -> None:
    created = await create(
        http, server, "custom.t", "r", {"units": UNITS, "start_timestamp": stamp}
    )
    assert created["start_timestamp"] == stored


async def test_optional_fields_may_be_null_and_unknown_fields_are_ignored(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    body = {"units": UNITS, "max_input_units": None, "start_timestamp": None, "colour": "red"}
    created = await create(http, server, "custom.t", "r", body)
    assert created["max_input_units"] is None
    assert "colour" not in created


@pytest.mark.parametrize(
    ("category", "resource", "status", "word"),
    [
        ("custom.x", ".", 400, "resource"),
        ("..", "r", 400, "category"),
        ("c" * 257, "r", 400, "category"),
        ("custom.x", "r" * 257, 400, "resource"),
        ("system.openai", "mine", 403, "system"),
        ("system.mine", "r", 403, "system."),
        ("SYSTEM.Mine", "r", 403, "system."),
    ],
)
async def test_name_rules(
    server: LocalPayiServer,
    http: aiohttp.ClientSession,
    category: str,
    resource: str,
    status: int,
    word: str,
) -> None:
    async with http.post(
        api_url(server, category, "resources", resource), json={"units": UNITS}
    ) as response:
        error = await response.json()
    assert response.status == status
    assert word in error["message"]


async def test_longest_allowed_names(server: LocalPayiServer, http: aiohttp.ClientSession) -> None:
    created = await create(http, server, "c" * 256, "r" * 256)
    assert len(str(created["resource"])) == 256


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": str(MAX_LIMIT + 1)}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"sort_ascending": "yes"}, "sort_ascending"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "eyJmb28iOjF9"}, "cursor"),  # base64 of {"foo":1}
    ],
)
async def test_bad_list_parameters_are_400(
    server: LocalPayiServer, http: aiohttp.ClientSession, query: dict[str, str], word: str
) -> None:
    error = await get_json(http, api_url(server, **query), status=400)
    assert word in str(error["message"])


async def test_cursor_of_another_listing_is_400(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    page = await get_json(http, api_url(server, "system.openai", "resources", limit="1"))
    cursor = str(page["cursor"])
    await get_json(http, api_url(server, "system.anthropic", "resources", cursor=cursor), 400)
    await get_json(http, api_url(server, cursor=cursor), 400)
    error = await get_json(
        http,
        api_url(server, "system.openai", "resources", cursor=cursor, sort_ascending="false"),
        400,
    )
    assert "sort_ascending" in str(error["message"])


async def test_limit_bounds_are_accepted(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    one = await get_json(http, api_url(server, limit="1"))
    assert len(one["items"]) == 1  # type: ignore[arg-type]
    everything = await get_json(http, api_url(server, limit=str(MAX_LIMIT), active="true"))
    assert len(everything["items"]) == 5  # type: ignore[arg-type]
    assert everything["cursor"] is None
