"""Wire details, with raw aiohttp: auth, request ids, routing, encoded segments, shapes."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from payi_async.emulator import LocalPayiServer
from tests.support import EMULATOR_UNITS, api_url, create, get_json


async def test_missing_api_key_is_401_json(server: LocalPayiServer) -> None:
    async with aiohttp.ClientSession() as bare, bare.get(api_url(server)) as response:
        body = await response.json()
    assert response.status == 401
    assert body["statusCode"] == 401
    assert "xProxy-api-key" in body["message"]
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_api_key_is_401(server: LocalPayiServer) -> None:
    headers = {"xProxy-api-key": server.api_key + "x"}
    async with aiohttp.ClientSession(headers=headers) as wrong:
        async with wrong.get(api_url(server)) as response:
            body = await response.json()
        async with wrong.post(
            api_url(server, "custom.a", "resources", "r"), json={"units": EMULATOR_UNITS}
        ) as response:
            assert response.status == 401
    assert body["message"] == "invalid API key"
    assert body["statusCode"] == 401
    assert await server.store.count_versions() == await _seeded_count()


async def _seeded_count() -> int:
    async with LocalPayiServer() as fresh:
        return await fresh.store.count_versions()


async def test_custom_api_key_and_header_name_case() -> None:
    async with (
        LocalPayiServer(api_key="k-123") as server,
        aiohttp.ClientSession(headers={"XPROXY-API-KEY": "k-123"}) as session,
        session.get(api_url(server)) as response,
    ):
        assert response.status == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/api/v1/other", 404),
        ("GET", "/api/v1/categories/c/versions", 404),
        ("GET", "/api/v1/categories/c/resources/r/id/extra", 404),
        ("POST", "/api/v1/categories", 405),
        ("PUT", "/api/v1/categories/c/resources/r", 405),
        ("GET", "/api/v1/categories/nope/resources", 404),
        ("DELETE", "/api/v1/categories/nope", 404),
    ],
)
async def test_every_error_is_json_with_request_id(
    server: LocalPayiServer, http: aiohttp.ClientSession, method: str, path: str, status: int
) -> None:
    async with http.request(method, server.base_url + path) as response:
        body = await response.json()
    assert response.status == status
    assert body["statusCode"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 405:
        assert response.headers["Allow"]


async def test_request_ids_are_unique_and_in_header_and_body(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    ids = set()
    for _ in range(3):
        async with http.get(api_url(server)) as response:
            body = await response.json()
            assert body["request_id"] == response.headers["x-request-id"]
            ids.add(body["request_id"])
    created = await create(http, server, "custom.ids", "r")
    assert created["request_id"] not in ids
    assert len(ids) == 3


NAMES = [
    "plain",
    "with/slash",
    "a//double",
    "percent%25literal%",
    "question?mark",
    "hash#tag",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "with space and +plus",
    "ünïcødé-模型-🚀",
    "control\x01\x1f\x7fchars",
    "tab\tnewline\n",
    "..dots..",
    "semi;colon,comma&amp=eq",
]


@pytest.mark.parametrize("name", NAMES)
async def test_names_round_trip_as_one_segment(
    server: LocalPayiServer, http: aiohttp.ClientSession, name: str
) -> None:
    category = "custom." + name
    created = await create(http, server, category, name)
    assert created["category"] == category
    assert created["resource"] == name
    rid = str(created["resource_id"])
    got = await get_json(http, api_url(server, category, "resources", name, rid))
    assert (got["category"], got["resource"]) == (category, name)
    listed = await get_json(http, api_url(server, category, "resources"))
    assert [item["resource"] for item in listed["items"]] == [name]  # type: ignore[union-attr]
    async with http.delete(api_url(server, category, "resources", name)) as response:
        assert response.status == 200


async def test_slash_in_name_is_not_a_path_separator(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    # "a/resources/b" encoded stays one category name, not a deeper path.
    await create(http, server, "custom.a/resources/b", "r")
    categories = await get_json(http, api_url(server, limit="1000"))
    names = [c["category"] for c in categories["items"]]  # type: ignore[union-attr]
    assert "custom.a/resources/b" in names
    assert "custom.a" not in names


async def test_segments_are_decoded_once_not_twice(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    # %2541 is "%41" once decoded; decoding twice would give "A".
    url = URL(server.base_url + "/api/v1/categories/custom.x/resources/%2541", encoded=True)
    async with http.post(url, json={"units": EMULATOR_UNITS}) as response:
        body = await response.json()
    assert body["resource"] == "%41"


async def test_invalid_utf8_segment_is_400(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    url = URL(server.base_url + "/api/v1/categories/custom.%FF/resources", encoded=True)
    async with http.get(url) as response:
        body = await response.json()
    assert response.status == 400
    assert "UTF-8" in body["message"]


async def test_seed_shapes(server: LocalPayiServer, http: aiohttp.ClientSession) -> None:
    page = await get_json(http, api_url(server))
    assert set(page) == {"items", "cursor", "request_id"}
    assert page["items"] == [  # the five system categories, sorted by name
        {
            "category": name,
            "category_type": "system",
            "category_description": description,
        }
        for name, description in sorted(
            [
                ("system.openai", "OpenAI models"),
                ("system.anthropic", "Anthropic's Claude models"),
                ("system.azureopenai", "Azure-hosted OpenAI models"),
                ("system.aws.bedrock", "AWS Bedrock foundation models"),
                ("system.google.vertex", "Google Vertex AI models"),
            ]
        )
    ]
    created = await create(
        http, server, "custom.shape", "r", {"units": EMULATOR_UNITS, "max_input_units": 5}
    )
    assert set(created) == {
        "resource_id",
        "category",
        "resource",
        "units",
        "max_input_units",
        "max_output_units",
        "max_total_units",
        "creation_timestamp",
        "start_timestamp",
        "resource_scope",
        "aliases",
        "request_id",
    }
    assert created["units"] == EMULATOR_UNITS
    assert created["max_input_units"] == 5
    assert created["start_timestamp"] == created["creation_timestamp"]
    async with http.delete(api_url(server, "custom.shape", "resources", "r")) as response:
        deleted = await response.json()
    assert set(deleted) == {"request_id", "message"}
    assert deleted["request_id"] == response.headers["x-request-id"]


async def test_hosted_shapes() -> None:
    async with (
        LocalPayiServer(shapes="hosted") as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        page = await get_json(http, api_url(server, limit="2"))
        assert page["items"] == [
            {"category": "system.anthropic"},
            {"category": "system.aws.bedrock"},
        ]
        assert isinstance(page["request_id"], str)

        async with http.post(
            api_url(server, "custom.h", "resources", "r"), json={"units": EMULATOR_UNITS}
        ) as response:
            created = await response.json()
        assert response.status == 200
        assert created["active"] is True
        assert created["proxy_allowed"] is False
        assert "end_timestamp" in created
        assert created["end_timestamp"] is None
        system = await get_json(http, api_url(server, "system.openai", "resources"))
        assert all(item["proxy_allowed"] is True for item in system["items"])  # type: ignore[union-attr, index]

        await create_hosted(http, server, "custom.h", "r")
        async with http.delete(api_url(server, "custom.h", "resources", "r")) as response:
            deleted = await response.json()
        assert isinstance(deleted, list)
        assert len(deleted) == 2
        assert {d["active"] for d in deleted} == {False}
        assert response.headers["x-request-id"]

        await create_hosted(http, server, "custom.h", "s")
        async with http.delete(api_url(server, "custom.h")) as response:
            deleted = await response.json()
        assert [d["resource"] for d in deleted] == ["s"]

        await create_hosted(http, server, "custom.empty", "t")
        only = await get_json(http, api_url(server, "custom.empty", "resources"))
        rid = only["items"][0]["resource_id"]  # type: ignore[index]
        async with http.delete(api_url(server, "custom.empty", "resources", "t", rid)):
            pass
        empty = await get_json(http, api_url(server, "custom.empty", "resources"))
        assert empty["items"] is None
        assert empty["cursor"] is None


async def create_hosted(
    http: aiohttp.ClientSession, server: LocalPayiServer, category: str, resource: str
) -> None:
    async with http.post(
        api_url(server, category, "resources", resource), json={"units": EMULATOR_UNITS}
    ) as response:
        assert response.status == 200


def test_unknown_shapes_refused() -> None:
    with pytest.raises(ValueError, match="shapes"):
        LocalPayiServer(shapes="other")  # type: ignore[arg-type]
