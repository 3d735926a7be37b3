"""Every method of the seed's table: what goes on the wire and what comes back."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from aioresponses import aioresponses

import payi_async
from payi_async import (
    AsyncCursorPage,
    AsyncPayi,
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    Timeout,
    Units,
)
from payi_async._transport import aiohttp_timeout
from tests.support import BASE, KEY, UNITS, LiveServer, body_of, calls, only_call, resource_json

ANY = re.compile(r"^https://api\.test/.*$")
ROOT = f"{BASE}/api/v1/categories"


def page(*items: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    return {"items": list(items), "cursor": cursor}


def category_json(name: str = "custom.cat") -> dict[str, Any]:
    return {"category": name, "category_type": "custom", "category_description": "mine"}


def assert_common_headers(call: Any, *, idempotent: bool = False, has_body: bool = False) -> None:
    headers = call.kwargs["headers"]
    assert headers["xProxy-api-key"] == KEY
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith(f"payi-async/{payi_async.__version__} ")
    assert ("Idempotency-Key" in headers) is idempotent
    if has_body:
        assert headers["Content-Type"] == "application/json"
    else:
        assert call.kwargs["data"] is None
        assert "Content-Type" not in headers
    assert call.kwargs["allow_redirects"] is False


# ---------------------------------------------------------------- categories.list


async def test_categories_list_sends_get_without_query(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=page(category_json("system.openai"), category_json("custom.x")))
    first = await client.categories.list()

    method, url, call = only_call(api)
    assert method == "GET"
    assert str(url) == ROOT
    assert url.raw_query_string == ""
    assert_common_headers(call)
    assert isinstance(first, AsyncCursorPage)
    assert [c.category for c in first.items] == ["system.openai", "custom.x"]
    assert all(type(c) is CategoryResponse for c in first.items)
    assert first.items[0] == CategoryResponse("system.openai", "custom", "mine")
    assert first.cursor is None
    assert first.has_next_page() is False


@pytest.mark.parametrize(("ascending", "wire"), [(True, "true"), (False, "false")])
async def test_categories_list_sends_cursor_limit_and_sort(
    api: aioresponses, client: AsyncPayi, ascending: bool, wire: str
) -> None:
    api.get(ANY, payload=page(category_json()))
    await client.categories.list(cursor="c/1 x", limit=7, sort_ascending=ascending)

    _, url, _ = only_call(api)
    assert url.path == "/api/v1/categories"
    assert dict(url.query) == {"cursor": "c/1 x", "limit": "7", "sort_ascending": wire}


async def test_categories_list_positional_arguments(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=page())
    await client.categories.list("cur", 3, False)
    _, url, _ = only_call(api)
    assert dict(url.query) == {"cursor": "cur", "limit": "3", "sort_ascending": "false"}


# ---------------------------------------------------------------- categories.delete


async def test_categories_delete(api: aioresponses, client: AsyncPayi) -> None:
    api.delete(ANY, payload={"request_id": "req-1", "message": "deleted"})
    result = await client.categories.delete(category="custom.my_category")

    method, url, call = only_call(api)
    assert method == "DELETE"
    assert str(url) == f"{ROOT}/custom.my_category"
    assert_common_headers(call, idempotent=True)
    assert type(result) is CategoryDeleteResponse
    assert result.request_id == "req-1"
    assert result.message == "deleted"


async def test_categories_delete_positional_and_encoded(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload={"request_id": "req-1"})
    result = await client.categories.delete("custom/a b")
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/custom%2Fa%20b"
    assert result.message is None


# ---------------------------------------------------------------- categories.delete_resource


async def test_categories_delete_resource(api: aioresponses, client: AsyncPayi) -> None:
    api.delete(ANY, payload={"request_id": "req-2", "message": "ok"})
    result = await client.categories.delete_resource(
        category="custom.my_category", resource="my_custom_model"
    )

    method, url, call = only_call(api)
    assert method == "DELETE"
    assert str(url) == f"{ROOT}/custom.my_category/resources/my_custom_model"
    assert_common_headers(call, idempotent=True)
    assert type(result) is CategoryDeleteResourceResponse
    assert (result.request_id, result.message) == ("req-2", "ok")


async def test_categories_delete_resource_positional_order_is_resource_then_category(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload={"request_id": "r"})
    await client.categories.delete_resource("the-resource", "the.category")
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/the.category/resources/the-resource"


# ---------------------------------------------------------------- categories.list_resources


async def test_categories_list_resources(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=page(resource_json(), resource_json(resource_id="rid-2"), cursor="nx"))
    first = await client.categories.list_resources(category="system.openai")

    method, url, call = only_call(api)
    assert method == "GET"
    assert str(url) == f"{ROOT}/system.openai/resources"
    assert_common_headers(call)
    assert [r.resource_id for r in first.items] == ["rid-1", "rid-2"]
    assert all(type(r) is CategoryResourceResponse for r in first.items)
    assert first.cursor == "nx"
    assert first.has_next_page() is True


async def test_categories_list_resources_query_and_positional(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=page())
    await client.categories.list_resources("system.aws.bedrock", "cur", 50, True)
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/system.aws.bedrock/resources"
    assert dict(url.query) == {"cursor": "cur", "limit": "50", "sort_ascending": "true"}


# ---------------------------------------------------------------- resources.create


async def test_resources_create_as_in_the_seed(api: aioresponses, client: AsyncPayi) -> None:
    api.post(ANY, payload=resource_json(), status=201)
    when = datetime(2024, 5, 1, 12, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    result = await client.categories.resources.create(
        resource="my_custom_model",
        category="custom.my_category",
        units=UNITS,
        max_input_units=16000,
        max_output_units=4000,
        start_timestamp=when,
    )

    method, url, call = only_call(api)
    assert method == "POST"
    assert str(url) == f"{ROOT}/custom.my_category/resources/my_custom_model"
    assert_common_headers(call, idempotent=True, has_body=True)
    assert body_of(call) == {
        "units": {"text": {"input_price": 0.000015, "output_price": 0.000075}},
        "max_input_units": 16000,
        "max_output_units": 4000,
        "start_timestamp": "2024-05-01T12:30:15+02:00",
    }
    assert "max_total_units" not in body_of(call)
    assert type(result) is CategoryResourceResponse
    assert result.resource_id == "rid-1"
    assert result.units["text"] == Units(0.5, 1.5)


async def test_resources_create_leaves_out_unset_optional_fields(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=resource_json())
    await client.categories.resources.create(
        "m", "custom.c", {"text": {"input_price": 1.5, "output_price": 2}}
    )
    _, url, call = only_call(api)
    assert url.raw_path == "/api/v1/categories/custom.c/resources/m"
    assert call.kwargs["data"] == b'{"units":{"text":{"input_price":1.5,"output_price":2.0}}}'


async def test_resources_create_sends_zero_limits_and_string_timestamp_unchanged(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=resource_json())
    await client.categories.resources.create(
        resource="m",
        category="custom.c",
        units={"text": Units(0.1, 0.2), "image": {"input_price": 0, "output_price": 3}},
        max_input_units=0,
        max_output_units=0,
        max_total_units=9,
        start_timestamp="2025-01-02T03:04:05Z",
    )
    _, _, call = only_call(api)
    assert body_of(call) == {
        "units": {
            "text": {"input_price": 0.1, "output_price": 0.2},
            "image": {"input_price": 0.0, "output_price": 3.0},
        },
        "max_input_units": 0,
        "max_output_units": 0,
        "max_total_units": 9,
        "start_timestamp": "2025-01-02T03:04:05Z",
    }


async def test_resources_create_utc_datetime_keeps_its_offset(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=resource_json())
    await client.categories.resources.create(
        "m", "custom.c", UNITS, start_timestamp=datetime(2024, 1, 1, tzinfo=timezone.utc)
    )
    _, _, call = only_call(api)
    assert body_of(call)["start_timestamp"] == "2024-01-01T00:00:00+00:00"


# ---------------------------------------------------------------- resources.retrieve


async def test_resources_retrieve(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=resource_json(resource_id="resource123abc", category="system.openai"))
    result = await client.categories.resources.retrieve(
        resource_id="resource123abc", category="system.openai", resource="gpt-4o"
    )

    method, url, call = only_call(api)
    assert method == "GET"
    assert str(url) == f"{ROOT}/system.openai/resources/gpt-4o/resource123abc"
    assert_common_headers(call)
    assert type(result) is CategoryResourceResponse
    assert result.resource_id == "resource123abc"
    assert result.units["text"].input_price == 0.5
    assert result.units["text"].output_price == 1.5


async def test_resources_retrieve_positional_order(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=resource_json())
    await client.categories.resources.retrieve("the-id", "the.cat", "the-res")
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/the.cat/resources/the-res/the-id"


# ---------------------------------------------------------------- resources.list


async def test_resources_list(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=page(resource_json(resource="gpt-4")))
    first = await client.categories.resources.list(resource="gpt-4", category="system.openai")

    method, url, call = only_call(api)
    assert method == "GET"
    assert str(url) == f"{ROOT}/system.openai/resources/gpt-4"
    assert_common_headers(call)
    assert [r.resource for r in first.items] == ["gpt-4"]
    assert type(first.items[0]) is CategoryResourceResponse


async def test_resources_list_query_and_positional(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=page())
    await client.categories.resources.list("gpt-4", "system.openai", "cur", 2, False)
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/system.openai/resources/gpt-4"
    assert dict(url.query) == {"cursor": "cur", "limit": "2", "sort_ascending": "false"}


# ---------------------------------------------------------------- resources.delete


async def test_resources_delete(api: aioresponses, client: AsyncPayi) -> None:
    api.delete(ANY, payload=resource_json(resource_id="resource456def"))
    result = await client.categories.resources.delete(
        resource_id="resource456def", category="custom.my_category", resource="my_custom_model"
    )

    method, url, call = only_call(api)
    assert method == "DELETE"
    assert str(url) == f"{ROOT}/custom.my_category/resources/my_custom_model/resource456def"
    assert_common_headers(call, idempotent=True)
    assert type(result) is CategoryResourceResponse
    assert result.resource_id == "resource456def"


async def test_resources_delete_positional_order(api: aioresponses, client: AsyncPayi) -> None:
    api.delete(ANY, payload=resource_json())
    await client.categories.resources.delete("the-id", "the.cat", "the-res")
    _, url, _ = only_call(api)
    assert url.raw_path == "/api/v1/categories/the.cat/resources/the-res/the-id"


# ---------------------------------------------------------------- per-call options


async def _every_method(client: AsyncPayi, **options: Any) -> None:
    cats = client.categories
    res = cats.resources
    await cats.list(**options)
    await cats.delete("c", **options)
    await cats.delete_resource("r", "c", **options)
    await cats.list_resources("c", **options)
    await res.create("r", "c", UNITS, **options)
    await res.retrieve("i", "c", "r", **options)
    await res.list("r", "c", **options)
    await res.delete("i", "c", "r", **options)


def _mock_every_method(api: aioresponses) -> None:
    api.get(f"{ROOT}", payload=page())
    api.delete(f"{ROOT}/c", payload={"request_id": "x"})
    api.delete(f"{ROOT}/c/resources/r", payload={"request_id": "x"})
    api.get(f"{ROOT}/c/resources", payload=page())
    api.post(f"{ROOT}/c/resources/r", payload=resource_json())
    api.get(f"{ROOT}/c/resources/r/i", payload=resource_json())
    api.get(f"{ROOT}/c/resources/r", payload=page())
    api.delete(f"{ROOT}/c/resources/r/i", payload=resource_json())


async def test_every_method_takes_a_per_call_timeout(api: aioresponses, client: AsyncPayi) -> None:
    _mock_every_method(api)
    await _every_method(client, timeout=3.5)
    seen = calls(api)
    assert len(seen) == 8
    expected = aiohttp_timeout(Timeout(connect=3.5, read=3.5, pool=3.5))
    for _, _, call in seen:
        assert call.kwargs["timeout"] == expected
        assert expected.sock_read == 3.5
        assert expected.sock_connect == 3.5


async def test_a_timeout_object_per_call_and_the_default(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ROOT, payload=page(), repeat=True)
    custom = Timeout(connect=1.0, read=2.0, pool=3.0, total=10.0)
    await client.categories.list(timeout=custom)
    await client.categories.list()
    first, second = api.requests[("GET", calls(api)[0][1])]
    assert first.kwargs["timeout"] == aiohttp_timeout(custom)
    assert first.kwargs["timeout"].total == 10.0
    assert second.kwargs["timeout"] == aiohttp_timeout(Timeout())
    assert second.kwargs["timeout"].sock_read == 60.0
    assert second.kwargs["timeout"].sock_connect == 5.0


async def test_every_method_takes_extra_headers_for_that_call_only(
    api: aioresponses, client: AsyncPayi
) -> None:
    _mock_every_method(api)
    await _every_method(client, extra_headers={"X-Trace": "t-1"})
    _mock_every_method(api)
    await _every_method(client)
    seen = [call for group in api.requests.values() for call in group]
    assert len(seen) == 16
    with_header = [c for c in seen if c.kwargs["headers"].get("X-Trace") == "t-1"]
    assert len(with_header) == 8
    for call in seen:
        assert call.kwargs["headers"]["xProxy-api-key"] == KEY


async def test_default_headers_are_sent_and_extra_headers_win(
    api: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.get(ROOT, payload=page(), repeat=True)
    async with AsyncPayi(KEY, BASE, default_headers={"X-Team": "a", "X-Env": "dev"}) as payi:
        await payi.categories.list(extra_headers={"X-Env": "prod"})
    (call,) = api.requests[("GET", calls(api)[0][1])]
    assert call.kwargs["headers"]["X-Team"] == "a"
    assert call.kwargs["headers"]["X-Env"] == "prod"


# ---------------------------------------------------------------- the bytes that reach a server


NAMES = {
    "slash": ("a/b", "a%2Fb"),
    "query": ("q?x=1", "q%3Fx%3D1"),
    "fragment": ("h#y", "h%23y"),
    "percent": ("p%2Fz", "p%252Fz"),
    "colon": (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-5-sonnet-20240620-v1%3A0",
    ),
    "space": ("sp ace", "sp%20ace"),
    "non-ascii": ("modèle-é", "mod%C3%A8le-%C3%A9"),
    "dots": ("system.aws.bedrock", "system.aws.bedrock"),
    "dot-dot inside": ("a..b", "a..b"),
    "plus and ampersand": ("a+b&c", "a%2Bb%26c"),
}


@pytest.mark.parametrize("name", sorted(NAMES))
async def test_segments_reach_the_server_as_one_encoded_segment(
    live: LiveServer, name: str
) -> None:
    raw, encoded = NAMES[name]

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(resource_json())

    live.respond = answer
    async with AsyncPayi(KEY, live.url, max_retries=0) as payi:
        await payi.categories.resources.retrieve(raw, raw, raw)
        await payi.categories.resources.create(raw, raw, UNITS)
    get, post = live.seen
    expected = f"/api/v1/categories/{encoded}/resources/{encoded}/{encoded}"
    assert get["method"] == "GET"
    assert get["raw_path"] == expected
    assert post["method"] == "POST"
    assert post["raw_path"] == f"/api/v1/categories/{encoded}/resources/{encoded}"
    segments = get["raw_path"].split("/")
    assert [unquote(s) for s in segments[4:]] == [raw, "resources", raw, raw]


async def test_the_query_string_and_headers_reach_the_server_exactly(live: LiveServer) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"items": [], "cursor": None})

    live.respond = answer
    async with AsyncPayi(KEY, live.url, max_retries=0) as payi:
        await payi.categories.list_resources("c", cursor="a b&c=d/é", limit=3, sort_ascending=False)
        await payi.categories.list(sort_ascending=True)
    first, second = live.seen
    assert first["raw_path"] == (
        "/api/v1/categories/c/resources?limit=3&sort_ascending=false&cursor=a%20b%26c%3Dd%2F%C3%A9"
    )
    assert first["headers"]["xProxy-api-key"] == KEY
    assert first["headers"]["User-Agent"].startswith(f"payi-async/{payi_async.__version__}")
    assert "Idempotency-Key" not in first["headers"]
    assert second["raw_path"] == "/api/v1/categories?sort_ascending=true"


async def test_a_create_reaches_the_server_as_json_with_an_idempotency_key(
    live: LiveServer,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(resource_json(), status=201)

    live.respond = answer
    async with AsyncPayi(KEY, live.url, max_retries=0) as payi:
        result = await payi.categories.resources.create("m", "custom.c", UNITS, max_total_units=5)
    (seen,) = live.seen
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Idempotency-Key"]
    assert json.loads(seen["body"]) == {"units": UNITS, "max_total_units": 5}
    assert result.resource_id == "rid-1"
