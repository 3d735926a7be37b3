"""Structuring answers into the seed's models, strictly, and keeping what the seed lacks."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import pytest
from _unit_support import BASE, calls, resource_json
from aioresponses import aioresponses

from payi_async import (
    APIResponseValidationError,
    AsyncPayi,
    AwsBedrockResource,
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    GoogleVertexResource,
    Units,
)

ANY = re.compile(r"^https://api\.test/.*$")
RESOURCE_URL = f"{BASE}/api/v1/categories/c/resources/r/i"
MAPPED_FIELDS = ("host_name", "mapping_name", "resource", "category", "scope", "sub_scope")


async def retrieve(client: AsyncPayi) -> CategoryResourceResponse:
    return await client.categories.resources.retrieve("i", "c", "r")


async def test_a_full_resource_is_structured(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=resource_json())
    result = await retrieve(client)
    assert result == CategoryResourceResponse(
        resource_id="rid-1",
        category="custom.cat",
        resource="model-a",
        units={"text": Units(input_price=0.5, output_price=1.5)},
        max_input_units=16000,
        max_output_units=4000,
        max_total_units=20000,
        creation_timestamp="2024-05-01T10:00:00Z",
        start_timestamp="2024-05-02T00:00:00+00:00",
        resource_scope="global",
        aliases=["a1", "a2"],
    )
    assert type(result.units["text"]) is Units
    assert type(result.units["text"].input_price) is float
    assert type(result.max_input_units) is int
    assert result.extra == {}


async def test_integer_prices_become_floats(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=resource_json(units={"text": {"input_price": 2, "output_price": 0}}))
    result = await retrieve(client)
    assert result.units["text"].input_price == 2.0
    assert type(result.units["text"].input_price) is float


async def test_models_are_frozen_and_slotted(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload=resource_json())
    result = await retrieve(client)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.resource_id = "other"  # type: ignore[misc]
    assert not hasattr(result, "__dict__")
    assert not hasattr(result.units["text"], "__dict__")
    for cls in (CategoryResponse, CategoryDeleteResponse, CategoryDeleteResourceResponse):
        assert attrs.has(cls)
        assert not hasattr(cls("x"), "__dict__")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            cls("x").message = "y"  # type: ignore[attr-defined]


async def test_missing_optional_fields_are_none(api: aioresponses, client: AsyncPayi) -> None:
    api.get(
        ANY,
        payload={
            "resource_id": "i",
            "category": "c",
            "resource": "r",
            "units": {"text": {"input_price": 1, "output_price": 2}},
        },
    )
    result = await retrieve(client)
    for name in (
        "max_input_units",
        "max_output_units",
        "max_total_units",
        "creation_timestamp",
        "start_timestamp",
        "resource_scope",
        "aliases",
    ):
        assert getattr(result, name) is None, name


async def test_explicit_nulls_in_optional_fields_are_none(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload=resource_json(max_input_units=None, aliases=None, resource_scope=None))
    result = await retrieve(client)
    assert (result.max_input_units, result.aliases, result.resource_scope) == (None, None, None)


async def test_unknown_fields_are_kept_in_extra_and_written_back(
    api: aioresponses, client: AsyncPayi
) -> None:
    extra = {
        "future_flag": True,
        "future_window": None,
        "future_shape": {"scope": "datazone", "sub_scope": "eu"},
    }
    units = {"text": {"input_price": 1.0, "output_price": 2.0, "cached_input_price": 0.5}}
    hosted = {"active": True, "mapped_resource": {"scope": "global", "tier": "x"}}
    api.get(ANY, payload=resource_json(units=units, **hosted, **extra))
    result = await retrieve(client)

    assert dict(result.extra) == extra
    assert result.extra["future_shape"]["scope"] == "datazone"
    assert dict(result.units["text"].extra) == {"cached_input_price": 0.5}
    assert result.mapped_resource is not None
    assert dict(result.mapped_resource.extra) == {"tier": "x"}
    with pytest.raises(TypeError):
        result.extra["future_flag"] = False  # type: ignore[index]

    as_dict = result.to_dict()
    assert {k: val for k, val in as_dict.items() if val is not None} == {
        k: val
        for k, val in resource_json(units=units, **hosted, **extra).items()
        if val is not None
    } | {"mapped_resource": {**dict.fromkeys(MAPPED_FIELDS), "scope": "global", "tier": "x"}}
    assert json.loads(result.to_json()) == as_dict
    assert json.loads(result.to_json(indent=2)) == as_dict
    assert "\n" in result.to_json(indent=2)


async def test_to_dict_of_a_sparse_model_has_nulls_for_missing_optionals(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload={"items": [{"category": "system.openai", "request_id": None}]})
    (category,) = (await client.categories.list()).items
    assert category.to_dict() == {
        "category": "system.openai",
        "category_type": None,
        "category_description": None,
        "request_id": None,
    }
    assert category.extra == {"request_id": None}


async def test_hosted_category_response_with_only_category(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(
        ANY,
        payload={"items": [{"category": "system.openai"}], "cursor": None, "request_id": "rq"},
    )
    first = await client.categories.list()
    assert first.items == [CategoryResponse("system.openai")]
    assert first.items[0].category_type is None
    assert first.items[0].category_description is None
    assert first.request_id == "rq"


async def test_page_request_id_falls_back_to_the_header(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload={"items": []}, headers={"x-request-id": "from-header"})
    first = await client.categories.list()
    assert first.request_id == "from-header"
    assert first.items == []
    assert first.cursor is None


async def test_hosted_resource_shape_parses(api: aioresponses, client: AsyncPayi) -> None:
    hosted = {
        "resource_id": "i",
        "category": "system.azureopenai",
        "resource": "gpt-4o",
        "units": {"text": {"input_price": 1, "output_price": 2}},
        "active": True,
        "proxy_allowed": True,
        "start_timestamp": "2024-01-01T00:00:00Z",
        "deprecated_timestamp": None,
        "description": "d",
        "cost_per_hour": 1.25,
        "character_billing": False,
        "large_context_threshold": 128000,
        "aliased_resource": None,
        "reservation_id": None,
        "aws_bedrock_resource": {"model_units": 2},
        "google_vertex_resource": {"gsus": 1},
    }
    api.get(ANY, payload=hosted)
    result = await retrieve(client)
    assert result.start_timestamp == "2024-01-01T00:00:00Z"
    assert (result.active, result.proxy_allowed, result.character_billing) == (True, True, False)
    assert result.aws_bedrock_resource == AwsBedrockResource(model_units=2)
    assert result.google_vertex_resource == GoogleVertexResource(gsus=1)
    assert (result.cost_per_hour, result.large_context_threshold) == (1.25, 128000)
    assert result.extra == {}
    assert result.to_dict()["cost_per_hour"] == 1.25


@pytest.mark.parametrize(
    ("method", "cls"),
    [("delete", CategoryDeleteResponse), ("delete_resource", CategoryDeleteResourceResponse)],
)
async def test_hosted_category_deletes_answering_an_array(
    api: aioresponses, client: AsyncPayi, method: str, cls: type[Any]
) -> None:
    deleted = [resource_json(), resource_json(resource_id="rid-2")]
    api.delete(ANY, payload=deleted, headers={"x-request-id": "trace-9"})
    if method == "delete":
        result = await client.categories.delete("c")
    else:
        result = await client.categories.delete_resource("r", "c")
    assert type(result) is cls
    assert result.request_id == "trace-9"
    assert result.message is None
    assert result.extra["deleted"] == deleted
    assert result.to_dict()["deleted"] == deleted


async def test_a_delete_body_request_id_wins_over_the_header(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload={"request_id": "body-id"}, headers={"x-request-id": "header-id"})
    result = await client.categories.delete("c")
    assert result.request_id == "body-id"


async def test_a_delete_without_request_id_in_body_uses_the_header(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload={"message": "gone"}, headers={"x-request-id": "header-id"})
    result = await client.categories.delete_resource("r", "c")
    assert (result.request_id, result.message) == ("header-id", "gone")


async def test_page_with_null_items_is_empty(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload={"items": None, "cursor": None, "request_id": "x"})
    first = await client.categories.list_resources("c")
    assert first.items == []
    assert [r async for r in first] == []


# ---------------------------------------------------------------- bodies that do not fit


def _resource_with(**overrides: Any) -> dict[str, Any]:
    return resource_json(**overrides)


BAD_BODIES = {
    "null for required str": (_resource_with(resource_id=None), "$.resource_id", "null"),
    "number for str": (_resource_with(category=5), "$.category", "number"),
    "bool for str": (_resource_with(resource=True), "$.resource", "boolean"),
    "str for number": (
        _resource_with(units={"text": {"input_price": "0.1", "output_price": 1}}),
        "$.units['text'].input_price",
        "string",
    ),
    "bool for number": (
        _resource_with(units={"text": {"input_price": 0.1, "output_price": False}}),
        "$.units['text'].output_price",
        "boolean",
    ),
    "bool for int": (_resource_with(max_input_units=True), "$.max_input_units", "boolean"),
    "str for int": (_resource_with(max_total_units="10"), "$.max_total_units", "string"),
    "fraction for int": (_resource_with(max_output_units=2.5), "$.max_output_units", "number"),
    "null in aliases": (_resource_with(aliases=["a", None]), "$.aliases[1]", "null"),
    "units not an object": (_resource_with(units=[1, 2]), "$.units", ""),
    "missing required field": (
        {k: v for k, v in resource_json().items() if k != "units"},
        "$.units",
        "",
    ),
    "array for object": ([resource_json()], "$", "array"),
    "string for object": ("hello", "$", "string"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_a_body_that_does_not_fit_names_the_field_and_status(
    api: aioresponses, client: AsyncPayi, case: str
) -> None:
    body, path, got = BAD_BODIES[case]
    api.get(ANY, body=json.dumps(body), status=200, headers={"x-request-id": "rq-7"})
    with pytest.raises(APIResponseValidationError) as caught:
        await retrieve(client)
    error = caught.value
    assert error.status_code == 200
    assert error.request_id == "rq-7"
    assert error.body == body
    text = str(error)
    assert text.startswith("200 ")
    assert f"@ {path}" in text
    assert got in text
    assert "CategoryResourceResponse" in text
    assert "GET" in text
    assert RESOURCE_URL in text
    assert "\n" not in text
    assert len(calls(api)) == 1  # a body that does not fit is not retried


async def test_a_201_that_does_not_fit_names_its_status(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.post(ANY, payload=_resource_with(resource_id=None), status=201)
    with pytest.raises(APIResponseValidationError) as caught:
        await client.categories.resources.create("r", "c", {"t": Units(1, 2)})
    assert caught.value.status_code == 201
    assert str(caught.value).startswith("201 ")
    assert "$.resource_id" in str(caught.value)


async def test_null_category_in_a_page_names_the_item(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, payload={"items": [{"category": "ok"}, {"category": None}]})
    with pytest.raises(APIResponseValidationError) as caught:
        await client.categories.list()
    assert "$.items[1].category" in str(caught.value)
    assert "null" in str(caught.value)
    assert "None" not in str(caught.value).split("@")[0]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ([{"category": "x"}], "array"),
        ({"items": {"category": "x"}}, "items"),
        ({"items": [], "cursor": 5}, "cursor"),
    ],
)
async def test_a_page_that_does_not_fit(
    api: aioresponses, client: AsyncPayi, payload: Any, fragment: str
) -> None:
    api.get(ANY, body=json.dumps(payload))
    with pytest.raises(APIResponseValidationError) as caught:
        await client.categories.list()
    assert caught.value.status_code == 200
    assert fragment in str(caught.value)
    assert "page of CategoryResponse" in str(caught.value)


async def test_a_non_json_body_is_a_validation_error(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, body=b"<html>oops</html>", status=200, content_type="text/html")
    with pytest.raises(APIResponseValidationError) as caught:
        await retrieve(client)
    assert caught.value.status_code == 200
    assert "not JSON" in str(caught.value)
    assert caught.value.body == "<html>oops</html>"
    assert isinstance(caught.value.__cause__, ValueError)


async def test_a_delete_ack_without_any_request_id_still_reports_the_delete(
    api: aioresponses, client: AsyncPayi
) -> None:
    # The delete happened (2xx); a missing trace id must not make it look failed.
    api.delete(ANY, payload={"request_id": None, "message": "m"})
    result = await client.categories.delete("c")
    assert result.request_id == ""
    assert result.message == "m"


async def test_a_delete_ack_with_a_non_string_request_id_is_an_error(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.delete(ANY, payload={"request_id": 5, "message": "m"})
    with pytest.raises(APIResponseValidationError) as caught:
        await client.categories.delete("c")
    assert "$.request_id" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        resource_json(),
        {**resource_json(), "extra_a": 1, "units": {"t": {"input_price": 1, "output_price": 2.0}}},
        {**resource_json(), "max_input_units": 5.0, "aliases": None},
        {**resource_json(), "category": None},
        {**resource_json(), "max_input_units": 3.7},
        {**resource_json(), "max_input_units": True},
        {**resource_json(), "aliases": "gpt"},
        {**resource_json(), "units": {"t": {"input_price": "1", "output_price": 2}}},
        {**resource_json(), "units": []},
        [],
    ],
)
def test_the_fast_converter_agrees_with_the_detailed_one(body: Any) -> None:
    # Bodies are structured by _fast first; what it returns must be what converter would.
    from payi_async._converter import _fast, converter

    try:
        want: Any = converter.structure(body, CategoryResourceResponse)
    except Exception:
        with pytest.raises(Exception):  # noqa: B017, PT011
            _fast.structure(body, CategoryResourceResponse)
        return
    got = _fast.structure(body, CategoryResourceResponse)
    assert got == want
    assert dict(got.extra) == dict(want.extra)
    assert got.to_dict() == want.to_dict()
