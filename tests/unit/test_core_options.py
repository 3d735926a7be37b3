"""Client options (issue 10 point 5, issue 11): default_query, extra_query/extra_body
merging (contract C1), with_options/copy, readable options, RetryPolicy as max_retries,
NOT_GIVEN, PAYI_LOG, and ``_request``'s body handling."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys

import pytest
from aioresponses import aioresponses

import payi_sync
from payi_async import (
    NOT_GIVEN,
    AsyncPayi,
    InternalServerError,
    NotGiven,
    RetryPolicy,
    Timeout,
)
from tests.support import BASE, KEY, ROUND_UNITS, FakeClock, calls, resource_json

ROOT = f"{BASE}/api/v1/categories"
PAGE = {"items": [], "cursor": None}


def sent_query(api: aioresponses) -> list[list[tuple[str, str]]]:
    return [list(url.query.items()) for _, url, _ in calls(api)]


async def test_default_query_goes_with_every_request_and_the_method_and_extra_win(
    api: aioresponses,
) -> None:
    api.get(re.compile(r".*"), payload=PAGE, repeat=True)
    async with AsyncPayi(KEY, BASE, default_query={"tenant": "t1", "limit": "7"}) as client:
        await client.categories.list()
        await client.categories.list(limit=3)
        await client._request(
            "GET",
            "/api/v1/categories",
            query=[("limit", "3"), ("sort_ascending", "true")],
            extra_query={"limit": 9, "flag": True, "off": False, "gone": None, "tenant": "t2"},
        )
    queries = [q for _, url, _ in calls(api) for q in [sorted(url.query.items())]]
    assert queries[0] == [("limit", "7"), ("tenant", "t1")]
    assert queries[1] == [("limit", "3"), ("tenant", "t1")]
    assert queries[-1] == sorted(
        [
            ("sort_ascending", "true"),
            ("limit", "9"),
            ("flag", "true"),
            ("off", "false"),
            ("tenant", "t2"),
        ]
    )


async def test_extra_body_is_merged_into_the_body_before_encoding(api: aioresponses) -> None:
    url = f"{ROOT}/c/resources/r"
    api.post(url, payload=resource_json())
    async with AsyncPayi(KEY, BASE) as client:
        await client._request(
            "POST",
            "/api/v1/categories/c/resources/r",
            body={"units": ROUND_UNITS, "max_input_units": 5},
            extra_body={"max_input_units": 6, "note": ["x"]},
            create=True,
        )
    ((_, _, call),) = calls(api)
    assert json.loads(call.kwargs["data"]) == {
        "units": ROUND_UNITS,
        "max_input_units": 6,
        "note": ["x"],
    }
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert call.kwargs["headers"]["Idempotency-Key"].startswith("payi-async-")


async def test_bad_extra_values_are_refused_before_sending(api: aioresponses) -> None:
    async with AsyncPayi(KEY, BASE) as client:
        with pytest.raises(TypeError, match="extra_query"):
            await client._request("GET", "/x", extra_query=["a"])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="extra_body"):
            await client._request("POST", "/x", body={}, extra_body={"n": float("nan")})
        with pytest.raises(TypeError, match="extra_body"):
            await client._request("POST", "/x", body={}, extra_body={"n": object()})
    with pytest.raises(TypeError, match="default_query"):
        AsyncPayi(KEY, BASE, default_query=[("a", "b")])  # type: ignore[arg-type]
    assert calls(api) == []


async def test_with_options_changes_every_option_and_shares_the_pool(api: aioresponses) -> None:
    api.get(re.compile(r".*"), payload=PAGE, repeat=True)
    async with AsyncPayi(
        KEY, BASE, default_headers={"X-A": "1"}, default_query={"q": "1"}
    ) as client:
        other = client.with_options(
            api_key="sk-other",
            base_url="https://other.test/prefix/",
            timeout=7,
            max_retries=0,
            default_headers={"x-a": "2", "X-B": "3"},
            default_query={"r": "2"},
        )
        assert other._transport is client._transport
        assert (other.api_key, other.base_url, other.max_retries) == (
            "sk-other",
            "https://other.test/prefix",
            0,
        )
        assert other.timeout == Timeout(7)
        assert dict(other.default_headers) == {"x-a": "2", "X-B": "3"}
        assert dict(other.default_query) == {"q": "1", "r": "2"}
        # The original keeps its own.
        assert (client.api_key, client.base_url) == (KEY, BASE)
        assert dict(client.default_headers) == {"X-A": "1"}
        assert "sk-other" not in repr(other) and "***" in repr(other)
        await other.categories.list()
        await client.categories.list()
    (_, first, one), (_, second, two) = calls(api)
    assert str(first).startswith("https://other.test/prefix/api/v1/categories?")
    assert one.kwargs["headers"]["xProxy-api-key"] == "sk-other"
    assert one.kwargs["headers"]["X-A"] == "2"
    assert two.kwargs["headers"]["xProxy-api-key"] == KEY
    assert str(second).startswith(BASE)


def test_copy_is_with_options_and_not_given_is_a_typed_sentinel() -> None:
    assert AsyncPayi.copy is AsyncPayi.with_options
    assert payi_sync.Payi.copy.__doc__ == payi_sync.Payi.with_options.__doc__
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert not NOT_GIVEN
    assert NotGiven() is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN
    client = AsyncPayi(KEY, BASE)
    same = client.copy(timeout=NOT_GIVEN)
    assert same.timeout == client.timeout and same.api_key == KEY


async def test_a_retry_policy_as_max_retries(api: aioresponses, clock: FakeClock) -> None:
    url = f"{ROOT}/c/resources/r/i"
    for _ in range(3):
        api.get(url, status=503)
    policy = RetryPolicy(max_retries=1, initial_delay=0.25, max_delay=0.25, clock=clock)
    async with AsyncPayi(KEY, BASE, max_retries=policy) as client:
        assert client.max_retries == 1
        with pytest.raises(InternalServerError):
            await client.categories.resources.retrieve("i", "c", "r")
        assert len(calls(api)) == 2
        assert 0.18 <= clock.delays[0] <= 0.25
        assert client.with_options(max_retries=RetryPolicy(max_retries=0)).max_retries == 0
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(TypeError, match="max_retries"):
        AsyncPayi(KEY, BASE, max_retries="2")  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "level"), [("debug", 10), ("info", 20), ("", 0), ("x", 0)])
def test_payi_log_turns_the_sdk_logging_on(value: str, level: int) -> None:
    code = (
        "import logging\n"
        "from payi_async import AsyncPayi\n"
        "AsyncPayi(api_key='k', base_url='http://127.0.0.1:9')\n"
        "AsyncPayi(api_key='k', base_url='http://127.0.0.1:9')\n"
        "logger = logging.getLogger('payi_async')\n"
        "print(logger.level, len(logger.handlers))\n"
        "logger.info('hello from the sdk')\n"
    )
    env = {"PAYI_LOG": value, "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    if level:
        assert done.stdout.split() == [str(level), "1"]  # one handler, however many clients
        assert "hello from the sdk" in done.stderr
    else:
        assert done.stdout.split() == ["0", "0"]
        assert done.stderr == ""


def test_sync_client_takes_the_same_options(
    payi_emulator: object,
) -> None:
    server = payi_emulator
    with payi_sync.Payi(
        api_key=server.api_key,  # type: ignore[attr-defined]
        base_url=server.base_url,  # type: ignore[attr-defined]
        default_query={"limit": "2"},
    ) as client:
        assert len(client.categories.list().items) == 2
        copy = client.copy(default_query={"limit": "1"})
        assert copy.default_query == {"limit": "1"}
        assert len(copy.categories.list().items) == 1
        assert copy.api_key == client.api_key


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((0,), {}, ValueError),
        ((-1,), {}, ValueError),
        ((float("inf"),), {}, ValueError),
        (("5",), {}, TypeError),
        ((), {"read": "slow"}, TypeError),
        ((), {"total": 0}, ValueError),
        ((True,), {}, TypeError),
    ],
)
def test_timeout_refuses_what_is_not_a_positive_number(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error, match="timeout"):
        Timeout(*args, **kwargs)  # type: ignore[arg-type]


def test_a_timeout_is_copied_and_overridden_by_phase() -> None:
    base = Timeout(10, total=20)
    assert Timeout(base) == base
    assert Timeout(base, read=1) == Timeout(connect=10, read=1, pool=10, total=20)
    assert Timeout(read=None).read is None and Timeout(read=None).connect == 5


async def test_a_short_local_key_does_not_rewrite_answers(api: aioresponses) -> None:
    api.get(re.compile(r".*"), payload={"items": [{"category": "custom.test"}]})
    async with AsyncPayi("test", BASE) as client:
        page = await client.categories.list()
    assert page.items[0].category == "custom.test"


async def test_the_clock_of_a_policy_takes_every_wait_and_a_count_keeps_it(
    api: aioresponses,
) -> None:
    url = f"{ROOT}/c/resources/r/i"
    api.get(url, status=503, repeat=True)
    clock = FakeClock()
    async with AsyncPayi(KEY, BASE, max_retries=RetryPolicy(max_retries=1, clock=clock)) as payi:
        with pytest.raises(InternalServerError):
            await payi.categories.resources.retrieve("i", "c", "r")
        assert len(clock.delays) == 1
        # with_options(max_retries=n) keeps the clock (only a whole policy replaces it).
        with pytest.raises(InternalServerError):
            await payi.with_options(max_retries=3).categories.resources.retrieve("i", "c", "r")
        assert len(clock.delays) == 1 + 3
        fresh = payi.with_options(max_retries=RetryPolicy(max_retries=0))
        with pytest.raises(InternalServerError):
            await fresh.categories.resources.retrieve("i", "c", "r")
        assert len(clock.delays) == 4
    assert RetryPolicy(clock=clock) == RetryPolicy()  # a clock is not part of the rule
