"""Issue 10 on the wire: partial units, the ``Active`` filter, ``extra_query`` /
``extra_body``, and the hosted API's typed resource fields."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import attrs
import pytest
from _unit_support import BASE, body_of, calls, only_call, resource_json
from aioresponses import aioresponses

from payi_async import (
    APIResponseValidationError,
    AsyncPayi,
    AwsBedrockResource,
    AzureResource,
    CategoryResourceResponse,
    GoogleVertexResource,
    MappedResource,
    ResourceCreate,
    Units,
)

ANY = re.compile(r"^https://api\.test/.*$")
ROOT = f"{BASE}/api/v1/categories"
PARTIAL = {
    "text": {"input_price": 3e-06, "output_price": 1.5e-05},
    "text_cached": {"input_price": 1.25e-06},
    "text_out_only": {"output_price": 2e-06},
    "image": {},
}

HOSTED: dict[str, Any] = {
    "resource_id": "rid-9",
    "category": "system.azureopenai",
    "resource": "gpt-4o",
    "units": PARTIAL,
    "start_timestamp": "2025-01-01T00:00:00Z",
    "active": True,
    "proxy_allowed": True,
    "end_timestamp": "2026-01-01T00:00:00Z",
    "deprecated_timestamp": "2025-12-01T00:00:00Z",
    "description": "GPT-4o, data zone EU",
    "cost_per_hour": 2.5,
    "character_billing": False,
    "large_context_threshold": 128000,
    "aliased_resource": "gpt-4o-2024-08-06",
    "reservation_id": "res-1",
    "mapped_resource": {
        "host_name": "eu.example.net",
        "mapping_name": "gpt4o-eu",
        "resource": "gpt-4o",
        "category": "system.azureopenai",
        "scope": "datazone",
        "sub_scope": "eu",
    },
    "azure_resource": {"ptus": 50},
    "aws_bedrock_resource": {"model_units": 2},
    "google_vertex_resource": {"gsus": 3},
}


def page(*items: dict[str, Any], cursor: str | None = None) -> dict[str, Any]:
    return {"items": list(items), "cursor": cursor}


# ---------------------------------------------------------------- partial units


async def test_a_create_with_partial_units_sends_only_the_given_prices(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=resource_json(units=PARTIAL), status=201)
    units: dict[str, Any] = {
        **PARTIAL,
        "none_given_as_none": {"input_price": 1e-06, "output_price": None},
        "units_object": Units(output_price=4e-06),
    }
    result = await client.categories.resources.create("m", "custom.c", units)

    _, _, call = only_call(api)
    assert body_of(call) == {
        "units": {
            **PARTIAL,
            "none_given_as_none": {"input_price": 1e-06},
            "units_object": {"output_price": 4e-06},
        }
    }
    assert b":null" not in call.kwargs["data"]
    assert result.units["text_cached"] == Units(input_price=1.25e-06, output_price=None)
    assert result.units["text_out_only"].input_price is None
    assert result.units["image"] == Units()
    assert result.units["text"].input_price == 3e-06


@pytest.mark.parametrize(
    ("units", "exc", "field"),
    [
        ({"text_cached": {"input_price": -1e-06}}, ValueError, "units['text_cached'].input_price"),
        ({"c": {"output_price": math.inf}}, ValueError, "units['c'].output_price"),
        ({"c": {"input_price": math.nan}}, ValueError, "units['c'].input_price"),
        ({"c": {"output_price": "1"}}, TypeError, "units['c'].output_price"),
        ({"c": {"input_price": False}}, TypeError, "units['c'].input_price"),
        ({"c": {"cached_price": 1.0}}, ValueError, "cached_price"),
        ({"c": Units(input_price=-2.0)}, ValueError, "units['c'].input_price"),
    ],
)
async def test_bad_prices_in_partial_units_are_refused_before_sending(
    api: aioresponses, client: AsyncPayi, units: Any, exc: type[Exception], field: str
) -> None:
    with pytest.raises(exc, match=re.escape(field)):
        await client.categories.resources.create("m", "custom.c", units)
    assert calls(api) == []


def test_resource_create_keeps_none_prices_as_none() -> None:
    params = ResourceCreate(resource="m", category="c", units={"u": {"output_price": 0}})
    assert params.units == {"u": Units(input_price=None, output_price=0.0)}


@pytest.mark.parametrize("method", ["retrieve", "delete", "list", "list_resources", "create"])
async def test_a_resource_with_partial_units_parses_in_every_call_that_returns_one(
    api: aioresponses, client: AsyncPayi, method: str
) -> None:
    resources = client.categories.resources
    result: CategoryResourceResponse
    if method == "retrieve":
        api.get(ANY, payload=HOSTED)
        result = await resources.retrieve("rid-9", "c", "r")
    elif method == "delete":
        api.delete(ANY, payload=HOSTED)
        result = await resources.delete("rid-9", "c", "r")
    elif method == "create":
        api.post(ANY, payload=HOSTED)
        result = await resources.create("r", "c", PARTIAL)
    elif method == "list":
        api.get(ANY, payload=page(resource_json(), HOSTED))
        result = (await resources.list("r", "c")).items[1]
    else:
        api.get(ANY, payload={"items": [HOSTED], "cursor": None, "request_id": "x"})
        (result,) = (await client.categories.list_resources("c")).items
    assert result.units["text"].input_price == 3e-06
    assert result.units["text_cached"].output_price is None
    assert result.units["image"] == Units()


async def test_deletes_answered_with_partial_unit_arrays_keep_them(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload=[HOSTED], headers={"x-request-id": "req-d"})
    result = await client.categories.delete("system.azureopenai")
    assert result.request_id == "req-d"
    assert result.extra["deleted"][0]["units"]["text_cached"] == {"input_price": 1.25e-06}


# ---------------------------------------------------------------- typed hosted fields


async def test_the_hosted_fields_are_typed(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=HOSTED)
    result = await client.categories.resources.retrieve("rid-9", "c", "r")

    assert result.extra == {}
    assert (result.active, result.proxy_allowed, result.character_billing) == (True, True, False)
    assert result.end_timestamp == "2026-01-01T00:00:00Z"
    assert result.deprecated_timestamp == "2025-12-01T00:00:00Z"
    assert (result.description, result.aliased_resource, result.reservation_id) == (
        "GPT-4o, data zone EU",
        "gpt-4o-2024-08-06",
        "res-1",
    )
    assert (result.cost_per_hour, result.large_context_threshold) == (2.5, 128000)
    assert result.mapped_resource == MappedResource(
        host_name="eu.example.net",
        mapping_name="gpt4o-eu",
        resource="gpt-4o",
        category="system.azureopenai",
        scope="datazone",
        sub_scope="eu",
    )
    assert result.azure_resource == AzureResource(ptus=50)
    assert result.aws_bedrock_resource == AwsBedrockResource(model_units=2)
    assert result.google_vertex_resource == GoogleVertexResource(gsus=3)
    assert result.to_dict() == HOSTED | {
        k: None
        for k in ("max_input_units", "max_output_units", "max_total_units", "creation_timestamp")
    } | {"resource_scope": None, "aliases": None, "units": _full_units(PARTIAL)}


def _full_units(units: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    return {name: {"input_price": None, "output_price": None} | u for name, u in units.items()}


async def test_the_seed_shape_leaves_every_hosted_field_none(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=resource_json())
    result = await client.categories.resources.retrieve("rid-1", "c", "r")
    hosted = [a.name for a in attrs.fields(CategoryResourceResponse)][11:-1]
    assert hosted[0] == "active"
    assert hosted[-1] == "google_vertex_resource"
    assert len(hosted) == 14
    assert all(getattr(result, name) is None for name in hosted)


def test_hosted_field_order_is_after_the_seed_fields() -> None:
    names = [a.name for a in attrs.fields(CategoryResourceResponse)]
    assert names[:11] == [
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
    ]
    assert names[-1] == "extra"
    for cls in (MappedResource, AzureResource, AwsBedrockResource, GoogleVertexResource):
        assert attrs.has(cls)
        assert "__slots__" in vars(cls)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            cls().extra = {}  # type: ignore[misc]


async def test_unknown_keys_of_the_nested_hosted_objects_go_to_extra(
    api: aioresponses, client: AsyncPayi
) -> None:
    body = HOSTED | {
        "azure_resource": {"ptus": 1, "region": "westeurope"},
        "mapped_resource": {"scope": "planet", "tier": 2},
        "something_new": [1],
    }
    api.get(ANY, payload=body)
    result = await client.categories.resources.retrieve("rid-9", "c", "r")
    assert result.azure_resource is not None
    assert dict(result.azure_resource.extra) == {"region": "westeurope"}
    assert result.mapped_resource is not None
    assert result.mapped_resource.scope == "planet"  # a new value is kept, not refused
    assert dict(result.mapped_resource.extra) == {"tier": 2}
    assert dict(result.extra) == {"something_new": [1]}


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("active", "true", "$.active"),
        ("proxy_allowed", 1, "$.proxy_allowed"),
        ("cost_per_hour", "2.5", "$.cost_per_hour"),
        ("large_context_threshold", 1.5, "$.large_context_threshold"),
        ("azure_resource", {"ptus": "50"}, "$.azure_resource.ptus"),
        ("mapped_resource", "gpt-4o", "$.mapped_resource"),
        ("end_timestamp", 5, "$.end_timestamp"),
    ],
)
async def test_a_hosted_field_of_the_wrong_type_is_refused_naming_it(
    api: aioresponses, client: AsyncPayi, field: str, value: Any, path: str
) -> None:
    api.get(ANY, payload=HOSTED | {field: value})
    with pytest.raises(APIResponseValidationError, match=re.escape(path)):
        await client.categories.resources.retrieve("rid-9", "c", "r")


async def test_a_page_with_a_partial_unit_in_hosted_shape_is_not_lost(
    api: aioresponses, client: AsyncPayi
) -> None:
    hosted_page = {"items": [HOSTED, HOSTED | {"resource_id": "rid-10"}], "request_id": "p"}
    api.get(ANY, payload=hosted_page)
    first = await client.categories.list_resources("system.azureopenai")
    assert [r.resource_id for r in first.items] == ["rid-9", "rid-10"]
    assert first.request_id == "p"


# ---------------------------------------------------------------- the Active filter


LISTS = {
    "categories.list": (lambda c, **kw: c.categories.list(**kw), ""),
    "categories.list_resources": (
        lambda c, **kw: c.categories.list_resources("cat", **kw),
        "/cat/resources",
    ),
    "categories.resources.list": (
        lambda c, **kw: c.categories.resources.list("res", "cat", **kw),
        "/cat/resources/res",
    ),
}


@pytest.mark.parametrize("name", list(LISTS))
@pytest.mark.parametrize(("active", "wire"), [(True, "true"), (False, "false"), (None, None)])
async def test_active_is_sent_as_capital_a_active_and_omitted_when_not_given(
    api: aioresponses, client: AsyncPayi, name: str, active: bool | None, wire: str | None
) -> None:
    call_list, suffix = LISTS[name]
    api.get(ANY, payload=page())
    await call_list(client, active=active, limit=5)
    _, url, _ = only_call(api)
    assert url.path == f"/api/v1/categories{suffix}"
    expected = {"limit": "5"} if wire is None else {"limit": "5", "Active": wire}
    assert dict(url.query) == expected
    assert "active" not in url.query


@pytest.mark.parametrize("name", list(LISTS))
@pytest.mark.parametrize("bad", ["true", 1, 0, "False"])
async def test_active_that_is_not_a_bool_is_refused_before_sending(
    api: aioresponses, client: AsyncPayi, name: str, bad: object
) -> None:
    call_list, _ = LISTS[name]
    with pytest.raises(TypeError, match="active must be a bool or None"):
        await call_list(client, active=bad)
    assert calls(api) == []


async def test_the_following_pages_keep_the_active_filter(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=page(resource_json(), cursor="next"))
    api.get(ANY, payload=page(resource_json(resource_id="rid-2")))
    ids = [r.resource_id async for r in client.categories.list_resources("cat", active=False)]
    assert ids == ["rid-1", "rid-2"]
    first, second = (url for _, url, _ in calls(api))
    assert dict(first.query) == {"Active": "false"}
    assert dict(second.query) == {"Active": "false", "cursor": "next"}


# ---------------------------------------------------------------- extra_query / extra_body


async def test_extra_query_is_merged_after_the_methods_own_query(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=page())
    await client.categories.list(
        limit=5, active=True, extra_query={"limit": 7, "Active": False, "trace": "a b"}
    )
    _, url, _ = only_call(api)
    assert dict(url.query) == {"limit": "7", "Active": "false", "trace": "a b"}


async def test_extra_body_is_merged_into_the_create_body(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=resource_json(), status=201)
    await client.categories.resources.create(
        "m",
        "custom.c",
        {"text": {"input_price": 1.0}},
        max_input_units=10,
        extra_body={"max_input_units": 20, "description": "mine"},
        extra_query={"dry_run": True},
    )
    _, url, call = only_call(api)
    assert dict(url.query) == {"dry_run": "true"}
    assert body_of(call) == {
        "units": {"text": {"input_price": 1.0}},
        "max_input_units": 20,
        "description": "mine",
    }


SINGLE_CALLS: dict[str, tuple[str, Any]] = {
    "categories.delete": ("DELETE", lambda c, **kw: c.categories.delete("cat", **kw)),
    "categories.delete_resource": (
        "DELETE",
        lambda c, **kw: c.categories.delete_resource("res", "cat", **kw),
    ),
    "resources.retrieve": (
        "GET",
        lambda c, **kw: c.categories.resources.retrieve("i", "c", "r", **kw),
    ),
    "resources.delete": (
        "DELETE",
        lambda c, **kw: c.categories.resources.delete("i", "c", "r", **kw),
    ),
    "resources.create": (
        "POST",
        lambda c, **kw: c.categories.resources.create("r", "c", {"text": {}}, **kw),
    ),
}


@pytest.mark.parametrize("name", list(SINGLE_CALLS))
async def test_every_method_takes_extra_query_and_extra_body(
    api: aioresponses, client: AsyncPayi, name: str
) -> None:
    method, call_it = SINGLE_CALLS[name]
    answer = {"request_id": "r"} if name.startswith("categories.") else resource_json()
    api.add(ANY, method, payload=answer)
    await call_it(client, extra_query={"q": 1}, extra_body={"b": [1, 2]})
    seen_method, url, call = only_call(api)
    assert seen_method == method
    assert dict(url.query) == {"q": "1"}
    body = body_of(call)
    assert body["b"] == [1, 2]
    if method == "POST":
        assert body["units"] == {"text": {}}


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"extra_query": ["a", "b"]}, TypeError),
        ({"extra_body": "x"}, TypeError),
        ({"extra_body": {"price": math.nan}}, ValueError),  # a value JSON cannot hold
        ({"extra_body": {"when": object()}}, TypeError),
    ],
)
async def test_bad_extra_query_or_body_is_refused_before_sending(
    api: aioresponses, client: AsyncPayi, kwargs: dict[str, Any], exc: type[Exception]
) -> None:
    with pytest.raises(exc, match=r"extra_|JSON"):
        await client.categories.resources.retrieve("i", "c", "r", **kwargs)
    assert calls(api) == []


def test_the_partial_unit_body_is_plain_json() -> None:
    from payi_async._converter import create_body

    params = ResourceCreate(resource="m", category="c", units=PARTIAL, max_total_units=3)
    body = create_body(params)
    assert isinstance(body, dict)
    assert json.loads(json.dumps(body)) == {"units": PARTIAL, "max_total_units": 3}


@pytest.mark.parametrize(
    "body",
    [
        HOSTED,
        resource_json(),
        resource_json(units=PARTIAL, max_input_units=7.0, aliases=[]),
        HOSTED | {"cost_per_hour": 3, "mapped_resource": {}, "azure_resource": None},
        HOSTED | {"units": {"t": {"input_price": 1, "output_price": None}}, "new": {"a": 1}},
    ],
)
def test_the_fast_structuring_path_agrees_with_the_detailed_one(body: dict[str, Any]) -> None:
    from payi_async._converter import _fast, converter

    fast = _fast.structure(body, CategoryResourceResponse)
    detailed = converter.structure(body, CategoryResourceResponse)
    assert fast == detailed
    assert fast.extra == detailed.extra
    assert fast.to_dict() == detailed.to_dict()
    assert type(fast.units[next(iter(fast.units))].input_price) in (float, type(None))


@pytest.mark.parametrize(
    "body",
    [
        HOSTED | {"active": 1},
        HOSTED | {"large_context_threshold": True},
        HOSTED | {"units": {"t": {"input_price": "1"}}},
        {k: val for k, val in HOSTED.items() if k != "resource_id"},
        HOSTED | {"aliases": "abc"},
    ],
)
def test_the_fast_structuring_path_refuses_what_the_detailed_one_refuses(
    body: dict[str, Any],
) -> None:
    from payi_async._converter import _fast, converter

    with pytest.raises(Exception):  # noqa: B017, PT011
        _fast.structure(body, CategoryResourceResponse)
    with pytest.raises(Exception):  # noqa: B017, PT011
        converter.structure(body, CategoryResourceResponse)
