"""The vendor's test style, written for this SDK: each of the eight methods called
plain, with ``.with_raw_response`` and with ``.with_streaming_response``, from
``payi_sync`` and ``payi_async``, against the emulator in both shapes; then each path
parameter left empty, which raises ``ValueError`` before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from payi_async import (
    AsyncAPIResponse,
    AsyncCursorPage,
    AsyncPayi,
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
)
from payi_async.emulator import Shapes, ThreadedPayiServer
from payi_sync import APIResponse, Payi, SyncCursorPage

CATEGORY = "custom.vendor-style"
RESOURCE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
UNITS = {"text": {"input_price": 3e-06, "output_price": 1.5e-05}}
MODES = ["plain", "raw", "stream"]


@attrs.frozen
class Made:
    """What each test finds on the server before its call."""

    resource_id: str


@attrs.frozen
class Case:
    """One method: where it lives, its arguments, and what its result must be."""

    owner: str  # "categories" or "resources"
    name: str
    args: Callable[[Made], dict[str, Any]]
    check: Callable[[Any, Made], None]
    path: Callable[[Made], str]
    http_method: str


def _items(result: Any) -> list[Any]:
    assert isinstance(result, (AsyncCursorPage, SyncCursorPage))
    return list(result.items)


def _check_categories(result: Any, made: Made) -> None:
    items = _items(result)
    assert all(type(c) is CategoryResponse for c in items)
    assert CATEGORY in [c.category for c in items]


def _check_heads(result: Any, made: Made) -> None:
    items = _items(result)
    assert [(r.resource, r.resource_id) for r in items] == [(RESOURCE, made.resource_id)]
    assert items[0].units["text"].input_price == 3e-06


def _check_versions(result: Any, made: Made) -> None:
    assert [r.resource_id for r in _items(result)] == [made.resource_id]


def _check_version(result: Any, made: Made) -> None:
    assert type(result) is CategoryResourceResponse
    assert result.resource_id == made.resource_id
    assert result.units["text"].output_price == 1.5e-05


def _check_created(result: Any, made: Made) -> None:
    assert type(result) is CategoryResourceResponse
    assert (result.category, result.resource) == (CATEGORY, RESOURCE)
    assert result.resource_id != made.resource_id
    assert result.max_total_units == 9


def _check_ack(cls: type) -> Callable[[Any, Made], None]:
    def check(result: Any, made: Made) -> None:
        assert type(result) is cls
        assert result.request_id

    return check


def _enc(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


_ROOT = "/api/v1/categories"
_RES = f"{_ROOT}/{_enc(CATEGORY)}/resources/{_enc(RESOURCE)}"

CASES: dict[str, Case] = {
    "categories.list": Case(
        "categories",
        "list",
        lambda m: {"limit": 1000, "active": True, "extra_query": {"sort_ascending": True}},
        _check_categories,
        lambda m: _ROOT,
        "GET",
    ),
    "categories.delete": Case(
        "categories",
        "delete",
        lambda m: {"category": CATEGORY},
        _check_ack(CategoryDeleteResponse),
        lambda m: f"{_ROOT}/{_enc(CATEGORY)}",
        "DELETE",
    ),
    "categories.delete_resource": Case(
        "categories",
        "delete_resource",
        lambda m: {"resource": RESOURCE, "category": CATEGORY},
        _check_ack(CategoryDeleteResourceResponse),
        lambda m: _RES,
        "DELETE",
    ),
    "categories.list_resources": Case(
        "categories",
        "list_resources",
        lambda m: {"category": CATEGORY, "active": True, "extra_headers": {"X-Test": "1"}},
        _check_heads,
        lambda m: f"{_ROOT}/{_enc(CATEGORY)}/resources",
        "GET",
    ),
    "resources.create": Case(
        "resources",
        "create",
        lambda m: {
            "resource": RESOURCE,
            "category": CATEGORY,
            "units": UNITS,
            "extra_body": {"max_total_units": 9},
        },
        _check_created,
        lambda m: _RES,
        "POST",
    ),
    "resources.retrieve": Case(
        "resources",
        "retrieve",
        lambda m: {"resource_id": m.resource_id, "category": CATEGORY, "resource": RESOURCE},
        _check_version,
        lambda m: f"{_RES}/{m.resource_id}",
        "GET",
    ),
    "resources.list": Case(
        "resources",
        "list",
        lambda m: {"resource": RESOURCE, "category": CATEGORY, "active": True, "timeout": 30},
        _check_versions,
        lambda m: _RES,
        "GET",
    ),
    "resources.delete": Case(
        "resources",
        "delete",
        lambda m: {"resource_id": m.resource_id, "category": CATEGORY, "resource": RESOURCE},
        _check_version,
        lambda m: f"{_RES}/{m.resource_id}",
        "DELETE",
    ),
}


@pytest.fixture(params=["seed", "hosted"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedPayiServer]:
    shapes: Shapes = request.param
    with ThreadedPayiServer(shapes=shapes) as running:
        yield running


def _owner(root: Any, case: Case) -> Any:
    return root.categories if case.owner == "categories" else root.categories.resources


def _check_response(response: Any, case: Case, made: Made, server: ThreadedPayiServer) -> None:
    assert response.status_code in ((200, 201) if case.name == "create" else (200,))
    assert response.request_id
    assert response.request_id == response.headers["x-request-id"]
    assert response.method == case.http_method
    assert response.url.split("?")[0] == server.base_url + case.path(made)
    assert response.http_request.method == case.http_method


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case_name", list(CASES))
def test_sync(server: ThreadedPayiServer, case_name: str, mode: str) -> None:
    case = CASES[case_name]
    with Payi(api_key=server.api_key, base_url=server.base_url) as client:
        made = Made(
            client.categories.resources.create(
                resource=RESOURCE, category=CATEGORY, units=UNITS
            ).resource_id
        )
        kwargs = case.args(made)
        if mode == "plain":
            result = getattr(_owner(client, case), case.name)(**kwargs)
        elif mode == "raw":
            # both spellings of the vendor's: client.with_raw_response.x and x.with_raw_response
            view = _owner(client.with_raw_response, case)
            response = getattr(view, case.name)(**kwargs)
            assert isinstance(response, APIResponse)
            assert response.is_closed
            _check_response(response, case, made, server)
            assert isinstance(response.json(), (dict, list))
            assert response.text().startswith(("{", "["))
            result = response.parse()
        else:
            view = _owner(client, case).with_streaming_response
            with getattr(view, case.name)(**kwargs) as response:
                assert isinstance(response, APIResponse)
                assert not response.is_closed
                _check_response(response, case, made, server)
                result = response.parse()
            assert response.is_closed
        case.check(result, made)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case_name", list(CASES))
async def test_async(server: ThreadedPayiServer, case_name: str, mode: str) -> None:
    case = CASES[case_name]
    async with AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client:
        created = await client.categories.resources.create(
            resource=RESOURCE, category=CATEGORY, units=UNITS
        )
        made = Made(created.resource_id)
        kwargs = case.args(made)
        if mode == "plain":
            result = getattr(_owner(client, case), case.name)(**kwargs)
            result = await result
        elif mode == "raw":
            view = _owner(client, case).with_raw_response
            response = await getattr(view, case.name)(**kwargs)
            assert isinstance(response, AsyncAPIResponse)
            assert response.is_closed
            _check_response(response, case, made, server)
            assert isinstance(await response.json(), (dict, list))
            assert (await response.text()).startswith(("{", "["))
            result = await response.parse()
        else:
            view = _owner(client.with_streaming_response, case)
            async with getattr(view, case.name)(**kwargs) as response:
                assert isinstance(response, AsyncAPIResponse)
                assert not response.is_closed
                _check_response(response, case, made, server)
                result = await response.parse()
            assert response.is_closed
        case.check(result, made)


def _path_params(case: Case) -> list[str]:
    return [k for k in case.args(Made("rid")) if k in {"category", "resource", "resource_id"}]


EMPTY = [(name, param) for name, case in CASES.items() for param in _path_params(case)]


def _call_sync(client: Payi, case: Case, mode: str, kwargs: dict[str, Any]) -> None:
    if mode == "plain":
        getattr(_owner(client, case), case.name)(**kwargs)
    elif mode == "raw":
        getattr(_owner(client, case).with_raw_response, case.name)(**kwargs)
    else:
        with getattr(_owner(client, case).with_streaming_response, case.name)(**kwargs):
            pass


async def _call_async(client: AsyncPayi, case: Case, mode: str, kwargs: dict[str, Any]) -> None:
    if mode == "plain":
        await getattr(_owner(client, case), case.name)(**kwargs)
    elif mode == "raw":
        await getattr(_owner(client, case).with_raw_response, case.name)(**kwargs)
    else:
        async with getattr(_owner(client, case).with_streaming_response, case.name)(**kwargs):
            pass


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("case_name", "param"), EMPTY)
def test_sync_empty_path_params(
    server: ThreadedPayiServer, case_name: str, param: str, mode: str
) -> None:
    case = CASES[case_name]
    kwargs = case.args(Made("rid")) | {param: ""}
    with Payi(api_key=server.api_key, base_url=server.base_url) as client:
        message = f"Expected a non-empty value for `{param}` but received ''"
        with pytest.raises(ValueError, match=message):
            _call_sync(client, case, mode, kwargs)
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("case_name", "param"), EMPTY)
async def test_async_empty_path_params(
    server: ThreadedPayiServer, case_name: str, param: str, mode: str
) -> None:
    case = CASES[case_name]
    kwargs = case.args(Made("rid")) | {param: ""}
    async with AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client:
        message = f"Expected a non-empty value for `{param}` but received ''"
        with pytest.raises(ValueError, match=message):
            await _call_async(client, case, mode, kwargs)
    assert server.requests == []


def test_every_method_but_create_many_is_covered() -> None:
    from payi_async import AsyncCategories, AsyncResources

    def public(cls: type) -> set[str]:
        return {
            n
            for n, v in vars(cls).items()
            if callable(v) and not n.startswith("_") and not isinstance(v, property)
        }

    methods = {f"categories.{n}" for n in public(AsyncCategories)} | {
        f"resources.{n}" for n in public(AsyncResources)
    }
    # create_many, plan, apply and resolve are this SDK's own, beyond the vendor's eight.
    assert methods - set(CASES) == {
        "resources.create_many",
        "resources.plan",
        "resources.apply",
        "resources.resolve",
    }
