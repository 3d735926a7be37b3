"""Bad arguments are refused, naming the field, before anything is sent."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from _unit_support import BASE, KEY, calls, resource_json
from aioresponses import aioresponses

from payi_async import DEFAULT_BASE_URL, AsyncPayi, Timeout, Units

UNITS = {"text": {"input_price": 1.0, "output_price": 2.0}}
Call = Callable[[AsyncPayi], Any]


def create(**overrides: Any) -> Call:
    kwargs: dict[str, Any] = {"resource": "r", "category": "c", "units": UNITS}
    kwargs.update(overrides)
    return lambda c: c.categories.resources.create(**kwargs)


BAD_NAMES: list[tuple[Any, type[Exception]]] = [
    ("", ValueError),
    (".", ValueError),
    ("..", ValueError),
    ("x" * 2049, ValueError),
    ("é" * 700, ValueError),
    (None, TypeError),
    (5, TypeError),
    (b"bytes", TypeError),
    (["c"], TypeError),
]


def name_calls(field: str, value: Any) -> list[Call]:
    """Every method that takes ``field``, called with ``value`` for it."""
    cat = value if field == "category" else "c"
    res = value if field == "resource" else "r"
    rid = value if field == "resource_id" else "i"
    made: list[Call] = [
        lambda c: c.categories.resources.retrieve(resource_id=rid, category=cat, resource=res),
        lambda c: c.categories.resources.delete(resource_id=rid, category=cat, resource=res),
    ]
    if field != "resource_id":
        made += [
            lambda c: c.categories.delete_resource(resource=res, category=cat),
            lambda c: c.categories.resources.list(resource=res, category=cat),
            create(resource=res, category=cat),
        ]
    if field == "category":
        made += [
            lambda c: c.categories.delete(category=cat),
            lambda c: c.categories.list_resources(category=cat),
        ]
    return made


NAME_CASES = [
    (field, value, exc, index)
    for field in ("category", "resource", "resource_id")
    for value, exc in BAD_NAMES
    for index in range(len(name_calls(field, value)))
]


async def run(call: Call, client: AsyncPayi) -> None:
    result = call(client)
    if inspect.isawaitable(result):
        await result


async def refused(
    api: aioresponses, client: AsyncPayi, call: Call, exc: type[Exception], field: str
) -> str:
    with pytest.raises(exc) as caught:
        await run(call, client)
    assert type(caught.value) is exc
    assert field in str(caught.value)
    assert calls(api) == []
    return str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "exc", "index"),
    NAME_CASES,
    ids=[f"{f}-{v!r:.12}-{i}" for f, v, _, i in NAME_CASES],
)
async def test_bad_names_are_refused_before_any_request(
    api: aioresponses, client: AsyncPayi, field: str, value: Any, exc: type[Exception], index: int
) -> None:
    await refused(api, client, name_calls(field, value)[index], exc, field)


async def test_dot_segments_say_why(api: aioresponses, client: AsyncPayi) -> None:
    message = await refused(
        api, client, lambda c: c.categories.delete(".."), ValueError, "category"
    )
    assert "'..'" in message


async def test_a_too_long_name_says_so(api: aioresponses, client: AsyncPayi) -> None:
    message = await refused(api, client, create(resource="x" * 5000), ValueError, "resource")
    assert "too long" in message


async def test_a_long_but_acceptable_name_is_sent(api: aioresponses, client: AsyncPayi) -> None:
    api.get(f"{BASE}/api/v1/categories/{'x' * 2048}/resources/r/i", payload=resource_json())
    await client.categories.resources.retrieve("i", "x" * 2048, "r")
    assert len(calls(api)) == 1


BAD_UNITS: list[tuple[Any, type[Exception], str]] = [
    (None, TypeError, "units"),
    ([("text", {"input_price": 1, "output_price": 2})], TypeError, "units"),
    ("text", TypeError, "units"),
    ({}, ValueError, "units"),
    ({"": {"input_price": 1, "output_price": 2}}, ValueError, "units"),
    ({5: {"input_price": 1, "output_price": 2}}, ValueError, "units"),
    ({"text": 5}, TypeError, "units['text']"),
    ({"text": [1, 2]}, TypeError, "units['text']"),
    (
        {"text": {"input_price": 1, "output_price": 2, "cached_price": 3}},
        ValueError,
        "cached_price",
    ),
    ({"text": {"input_price": -0.01, "output_price": 2}}, ValueError, "input_price"),
    ({"text": {"input_price": 1, "output_price": -1}}, ValueError, "output_price"),
    ({"text": {"input_price": math.nan, "output_price": 2}}, ValueError, "input_price"),
    ({"text": {"input_price": 1, "output_price": math.inf}}, ValueError, "output_price"),
    ({"text": {"input_price": -math.inf, "output_price": 1}}, ValueError, "input_price"),
    ({"text": {"input_price": True, "output_price": 2}}, TypeError, "input_price"),
    ({"text": {"input_price": 1, "output_price": "2"}}, TypeError, "output_price"),
    ({"text": Units(1.0, -2.0)}, ValueError, "output_price"),
    ({"ok": UNITS["text"], "bad": {"input_price": -1}}, ValueError, "units['bad']"),
    ({"text": {"output_price": "1"}}, TypeError, "output_price"),
    ({"text": {"input_price": math.nan}}, ValueError, "input_price"),
    ({"text": object()}, TypeError, "units['text']"),
]


@pytest.mark.parametrize(("units", "exc", "field"), BAD_UNITS)
async def test_bad_units_are_refused(
    api: aioresponses, client: AsyncPayi, units: Any, exc: type[Exception], field: str
) -> None:
    await refused(api, client, create(units=units), exc, field)


@pytest.mark.parametrize("field", ["max_input_units", "max_output_units", "max_total_units"])
@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (-1, ValueError),
        (2**63, ValueError),  # beyond what the API stores (found by an outside attack)
        (True, TypeError),
        (1.5, TypeError),
        ("10", TypeError),
    ],
)
async def test_bad_unit_limits_are_refused(
    api: aioresponses,
    client: AsyncPayi,
    field: str,
    value: Any,
    exc: type[Exception],
) -> None:
    await refused(api, client, create(**{field: value}), exc, field)


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (datetime(2024, 1, 1, 12, 0), ValueError),
        ("", ValueError),
        ("   ", ValueError),
        (1700000000, TypeError),
        (datetime(2024, 1, 1, tzinfo=timezone.utc).date(), TypeError),
    ],
)
async def test_bad_start_timestamps_are_refused(
    api: aioresponses, client: AsyncPayi, value: Any, exc: type[Exception]
) -> None:
    message = await refused(api, client, create(start_timestamp=value), exc, "start_timestamp")
    if isinstance(value, datetime):
        assert "timezone-aware" in message


def list_calls(**kwargs: Any) -> list[Call]:
    return [
        lambda c: c.categories.list(**kwargs),
        lambda c: c.categories.list_resources("c", **kwargs),
        lambda c: c.categories.resources.list("r", "c", **kwargs),
    ]


LIST_CASES: list[tuple[str, Any, type[Exception]]] = [
    ("limit", 0, ValueError),
    ("limit", -5, ValueError),
    ("limit", True, TypeError),
    ("limit", False, TypeError),
    ("limit", 2.0, TypeError),
    ("limit", "10", TypeError),
    ("sort_ascending", "true", TypeError),
    ("sort_ascending", 1, TypeError),
    ("sort_ascending", 0, TypeError),
    ("cursor", 5, TypeError),
    ("cursor", b"c", TypeError),
]


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize(("field", "value", "exc"), LIST_CASES)
async def test_bad_list_arguments_are_refused_when_the_list_is_called(
    api: aioresponses,
    client: AsyncPayi,
    field: str,
    value: Any,
    exc: type[Exception],
    index: int,
) -> None:
    call = list_calls(**{field: value})[index]
    with pytest.raises(exc) as caught:
        call(client)  # no await needed: the list call itself checks
    assert field in str(caught.value)
    assert calls(api) == []


@pytest.mark.parametrize(
    ("options", "exc", "field"),
    [
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1.0}, ValueError, "timeout"),
        ({"timeout": math.nan}, ValueError, "timeout"),
        ({"timeout": "5"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"extra_headers": [("a", "b")]}, TypeError, "extra_headers"),
        ({"extra_headers": {"X-A": 5}}, TypeError, "extra_headers"),
        ({"extra_headers": {"X-A": "a\r\nX-Injected: 1"}}, ValueError, "extra_headers"),
        ({"extra_headers": {"X-A\n": "a"}}, ValueError, "extra_headers"),
    ],
)
async def test_bad_per_call_options_are_refused(
    api: aioresponses, client: AsyncPayi, options: dict[str, Any], exc: type[Exception], field: str
) -> None:
    for call in (
        lambda c: c.categories.delete("c", **options),
        create(**options),
        lambda c: c.categories.list(**options),
        lambda c: c.categories.resources.retrieve("i", "c", "r", **options),
    ):
        await refused(api, client, call, exc, field)


# ---------------------------------------------------------------- construction


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("PAYI_API_KEY", raising=False)
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    return monkeypatch


@pytest.mark.usefixtures("no_env")
def test_no_api_key_at_all_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="PAYI_API_KEY"):
        AsyncPayi()
    with pytest.raises(ValueError, match="api_key"):
        AsyncPayi(api_key="")


def test_an_empty_env_key_is_refused(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("PAYI_API_KEY", "")
    with pytest.raises(ValueError, match="PAYI_API_KEY"):
        AsyncPayi()


async def test_env_vars_are_the_fallbacks(no_env: pytest.MonkeyPatch, api: aioresponses) -> None:
    no_env.setenv("PAYI_API_KEY", "env-key-123")
    no_env.setenv("PAYI_BASE_URL", "https://env.example:8443/prefix")
    api.delete("https://env.example:8443/prefix/api/v1/categories/c", payload={"request_id": "x"})
    async with AsyncPayi() as payi:
        assert payi.base_url == "https://env.example:8443/prefix"
        await payi.categories.delete("c")
    ((_, url, call),) = calls(api)
    assert str(url) == "https://env.example:8443/prefix/api/v1/categories/c"
    assert call.kwargs["headers"]["xProxy-api-key"] == "env-key-123"


async def test_arguments_win_over_env_vars(no_env: pytest.MonkeyPatch, api: aioresponses) -> None:
    no_env.setenv("PAYI_API_KEY", "env-key")
    no_env.setenv("PAYI_BASE_URL", "https://env.example")
    api.delete(f"{BASE}/api/v1/categories/c", payload={"request_id": "x"})
    async with AsyncPayi(KEY, BASE + "/") as payi:
        assert payi.base_url == BASE
        await payi.categories.delete("c")
    ((_, url, call),) = calls(api)
    assert str(url) == f"{BASE}/api/v1/categories/c"
    assert call.kwargs["headers"]["xProxy-api-key"] == KEY


@pytest.mark.usefixtures("no_env")
def test_the_default_base_url() -> None:
    assert AsyncPayi(KEY).base_url == DEFAULT_BASE_URL == "https://api.pay-i.com"


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize(
    ("url", "exc"),
    [
        ("api.pay-i.com", ValueError),
        ("ftp://api.pay-i.com", ValueError),
        ("https://", ValueError),
        ("https://api.pay-i.com?x=1", ValueError),
        ("https://api.pay-i.com#frag", ValueError),
        (123, TypeError),
    ],
)
def test_bad_base_urls_are_refused(url: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc, match="base_url"):
        AsyncPayi(KEY, url)


def test_a_bad_env_base_url_is_refused(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("PAYI_BASE_URL", "not a url")
    with pytest.raises(ValueError, match="base_url"):
        AsyncPayi(KEY)


@pytest.mark.usefixtures("no_env")
@pytest.mark.parametrize(
    ("kwargs", "exc", "field"),
    [
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": True}, TypeError, "max_retries"),
        ({"max_retries": 1.0}, TypeError, "max_retries"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "1"}, TypeError, "timeout"),
        ({"default_headers": {"X": 1}}, TypeError, "default_headers"),
        ({"default_headers": {"X": "a\nb"}}, ValueError, "default_headers"),
        ({"connection_limit": 0}, ValueError, "connection_limit"),
    ],
)
def test_bad_client_options_are_refused(
    kwargs: dict[str, Any], exc: type[Exception], field: str
) -> None:
    with pytest.raises(exc, match=field):
        AsyncPayi(KEY, **kwargs)


async def test_bad_with_options_are_refused(client: AsyncPayi) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        client.with_options(max_retries=-1)
    with pytest.raises(TypeError, match="timeout"):
        client.with_options(timeout="slow")  # type: ignore[arg-type]


def test_timeout_of() -> None:
    assert Timeout.of(2) == Timeout(connect=2.0, read=2.0, pool=2.0) == Timeout(2)
    custom = Timeout(read=1.0)
    assert Timeout.of(custom) is custom


def test_a_non_string_api_key_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="api_key"):
        AsyncPayi(api_key=123)  # type: ignore[arg-type]


def test_an_empty_base_url_is_refused_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYI_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="base_url"):
        AsyncPayi(api_key="k", base_url="")
