"""Retries on a fake clock: which failures, how many times, how long between them."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from payi_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncPayi,
    BadRequestError,
    CauseSummary,
    ConflictError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)
from tests.support import BASE, KEY, ROUND_UNITS, FakeClock, calls, resource_json

ANY = re.compile(r"^https://api\.test/.*$")
ROOT = f"{BASE}/api/v1/categories"
RESOURCE = f"{ROOT}/c/resources/r/i"


async def retrieve(payi: AsyncPayi) -> Any:
    return await payi.categories.resources.retrieve("i", "c", "r")


def fail(api: aioresponses, times: int, **kwargs: Any) -> None:
    for _ in range(times):
        api.get(RESOURCE, **kwargs)


def request_count(api: aioresponses) -> int:
    return len(calls(api))


@pytest.mark.parametrize(
    ("exception", "raised"),
    [
        (aiohttp.ClientConnectionError("refused"), APIConnectionError),
        (aiohttp.ServerDisconnectedError(), APIConnectionError),
        (aiohttp.ClientOSError(104, "reset"), APIConnectionError),
        (aiohttp.SocketTimeoutError("read"), APITimeoutError),
        (aiohttp.ConnectionTimeoutError("connect"), APITimeoutError),
        (asyncio.TimeoutError(), APITimeoutError),
    ],
)
async def test_connection_errors_and_timeouts_are_retried_twice_by_default(
    api: aioresponses,
    client: AsyncPayi,
    clock: FakeClock,
    exception: Exception,
    raised: type[Exception],
) -> None:
    fail(api, 3, exception=exception)
    with pytest.raises(raised) as caught:
        await retrieve(client)
    assert type(caught.value) is raised
    # The cause is a sanitized summary, never aiohttp's exception (it holds the headers).
    assert isinstance(caught.value.__cause__, CauseSummary)
    assert caught.value.__cause__.original_type is type(exception)
    assert request_count(api) == 3
    assert len(clock.delays) == 2
    assert caught.value.url == RESOURCE  # type: ignore[attr-defined]


async def test_a_connection_error_then_success(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, exception=aiohttp.ClientConnectionError("refused"))
    api.get(RESOURCE, payload=resource_json())
    result = await retrieve(client)
    assert result.resource_id == "rid-1"
    assert request_count(api) == 2
    assert len(clock.delays) == 1
    assert 0.375 <= clock.delays[0] <= 0.5


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
async def test_retried_statuses(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, status: int
) -> None:
    fail(api, 3, status=status, payload={"message": "try again"})
    with pytest.raises(APIStatusError) as caught:
        await retrieve(client)
    assert caught.value.status_code == status
    assert request_count(api) == 3
    assert len(clock.delays) >= 2


@pytest.mark.parametrize("status", [500, 503, 429, 408])
async def test_a_retried_status_then_success(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, status: int
) -> None:
    api.get(RESOURCE, status=status, payload={"message": "busy"})
    api.get(RESOURCE, payload=resource_json())
    result = await retrieve(client)
    assert result.resource_id == "rid-1"
    assert request_count(api) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 418, 302])
async def test_statuses_that_are_not_retried(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, status: int
) -> None:
    fail(api, 3, status=status, payload={"message": "no"})
    with pytest.raises(APIStatusError):
        await retrieve(client)
    assert request_count(api) == 1
    assert clock.delays == []


async def test_max_retries_zero_makes_one_attempt(
    api: aioresponses, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(api, 1, status=503)
    fail(api, 1, exception=aiohttp.ClientConnectionError("refused"))
    async with AsyncPayi(KEY, BASE, max_retries=RetryPolicy(max_retries=0, clock=clock)) as payi:
        assert payi.max_retries == 0
        with pytest.raises(InternalServerError):
            await retrieve(payi)
        with pytest.raises(APIConnectionError):
            await retrieve(payi)
    assert request_count(api) == 2
    assert clock.delays == []


async def test_max_retries_five(api: aioresponses, clock: FakeClock) -> None:
    fail(api, 10, status=500)
    async with AsyncPayi(KEY, BASE, max_retries=RetryPolicy(max_retries=5, clock=clock)) as payi:
        with pytest.raises(InternalServerError):
            await retrieve(payi)
    assert request_count(api) == 6
    assert len(clock.delays) == 5


# ---------------------------------------------------------------- delays


async def test_backoff_doubles_from_half_a_second_to_eight_with_jitter(
    api: aioresponses, clock: FakeClock
) -> None:
    fail(api, 8, status=500)
    async with AsyncPayi(KEY, BASE, max_retries=RetryPolicy(max_retries=7, clock=clock)) as payi:
        with pytest.raises(InternalServerError):
            await retrieve(payi)
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(clock.delays) == len(bases)
    for delay, base in zip(clock.delays, bases, strict=True):
        assert base * 0.75 <= delay <= base, (delay, base)


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 1.0), (0.5, 0.875), (0.999999, 0.75)])
async def test_jitter_takes_off_zero_to_a_quarter(
    api: aioresponses, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, draw: float, factor: float
) -> None:
    monkeypatch.setattr("payi_async._retry.random.random", lambda: draw)
    fail(api, 7, status=502)
    async with AsyncPayi(KEY, BASE, max_retries=RetryPolicy(max_retries=6, clock=clock)) as payi:
        with pytest.raises(InternalServerError):
            await retrieve(payi)
    expected = [b * factor for b in (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)]
    assert clock.delays == pytest.approx(expected, abs=1e-5)


async def test_retry_after_ms_is_honoured(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=503, headers={"retry-after-ms": "1500"})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    assert clock.delays == [1.5]


async def test_retry_after_ms_wins_over_retry_after(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=503, headers={"retry-after-ms": "250", "retry-after": "7"})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    assert clock.delays == [0.25]


async def test_retry_after_seconds_is_honoured(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=500, headers={"retry-after": "3"})
    api.get(RESOURCE, status=500, headers={"retry-after": "1.5"})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    assert clock.delays == [3.0, 1.5]


async def test_retry_after_http_date_is_honoured(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    api.get(RESOURCE, status=503, headers={"retry-after": format_datetime(when, usegmt=True)})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    (delay,) = clock.delays
    assert 25.0 < delay <= 30.0


@pytest.mark.parametrize("value", ["0", "-5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "inf"])
async def test_unusable_retry_after_falls_back_to_backoff(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, value: str
) -> None:
    api.get(RESOURCE, status=503, headers={"retry-after": value})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    (delay,) = clock.delays
    assert 0.375 <= delay <= 0.5


async def test_a_retry_after_above_sixty_seconds_raises_at_once(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    fail(api, 3, status=429, headers={"retry-after": "61"}, payload={"message": "slow down"})
    with pytest.raises(RateLimitError) as caught:
        await retrieve(client)
    assert caught.value.retry_after == 61.0
    assert request_count(api) == 1
    assert clock.delays == []


async def test_a_retry_after_of_sixty_seconds_is_waited(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=503, headers={"retry-after-ms": "60000"})
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    assert clock.delays == [60.0]


async def test_x_should_retry_false_stops_a_retry(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    fail(api, 3, status=503, headers={"x-should-retry": "false"})
    with pytest.raises(InternalServerError):
        await retrieve(client)
    assert request_count(api) == 1
    assert clock.delays == []


async def test_x_should_retry_true_retries_what_would_not_be(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    fail(api, 3, status=400, headers={"x-should-retry": "true"})
    with pytest.raises(BadRequestError):
        await retrieve(client)
    assert request_count(api) == 3
    assert len(clock.delays) == 2


# ---------------------------------------------------------------- creates


async def create(payi: AsyncPayi, **kwargs: Any) -> Any:
    return await payi.categories.resources.create("r", "c", ROUND_UNITS, **kwargs)


def create_calls(api: aioresponses) -> list[Any]:
    return api.requests.get(("POST", calls(api)[0][1]), []) if calls(api) else []


async def test_a_create_keeps_its_idempotency_key_across_retries(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    url = f"{ROOT}/c/resources/r"
    api.post(url, status=503)
    api.post(url, exception=aiohttp.ServerDisconnectedError())
    api.post(url, payload=resource_json())
    api.post(url, payload=resource_json())
    await create(client)
    first_call = create_calls(api)
    assert len(first_call) == 3
    keys = {c.kwargs["headers"]["Idempotency-Key"] for c in first_call}
    assert len(keys) == 1
    (key,) = keys
    assert len(key) >= 16
    assert {c.kwargs["data"] for c in first_call} == {
        b'{"units":{"text":{"input_price":1.0,"output_price":2.0}}}'
    }

    await create(client)
    second = create_calls(api)[3].kwargs["headers"]["Idempotency-Key"]
    assert second != key


async def test_a_caller_given_idempotency_key_is_used(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    url = f"{ROOT}/c/resources/r"
    api.post(url, status=500)
    api.post(url, payload=resource_json())
    await create(client, extra_headers={"idempotency-key": "mine-1"})
    for call in create_calls(api):
        headers = call.kwargs["headers"]
        assert headers.getall("Idempotency-Key") == ["mine-1"]


async def test_a_409_on_a_create_is_not_retried(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    url = f"{ROOT}/c/resources/r"
    for _ in range(3):
        api.post(url, status=409, payload={"message": "exists"})
    with pytest.raises(ConflictError) as caught:
        await create(client)
    assert caught.value.message == "exists"
    assert len(create_calls(api)) == 1
    assert clock.delays == []


async def test_a_create_is_retried_on_5xx_and_429(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    url = f"{ROOT}/c/resources/r"
    api.post(url, status=429, headers={"retry-after": "1"})
    api.post(url, status=500)
    api.post(url, payload=resource_json(), status=201)
    result = await create(client)
    assert result.resource_id == "rid-1"
    assert len(create_calls(api)) == 3


async def test_other_methods_send_no_idempotency_key(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=500)
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    for _, _, call in calls(api):
        assert "Idempotency-Key" not in call.kwargs["headers"]


# ---------------------------------------------------------------- shared backoff


async def test_a_429_holds_back_every_request_of_the_client(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    other = f"{ROOT}/c/resources"
    api.get(RESOURCE, status=429, headers={"retry-after": "5"})
    api.get(RESOURCE, payload=resource_json())
    api.get(other, payload={"items": [], "cursor": None})
    clock.gate = asyncio.Event()

    first = asyncio.create_task(retrieve(client))
    await asyncio.wait_for(clock.slept.wait(), 5)
    assert clock.delays == [pytest.approx(5.0, abs=0.05)]

    # A request on another path, through a with_options copy, started during the pause.
    async def listing() -> Any:
        return await client.with_options(max_retries=0).categories.list_resources("c")

    second = asyncio.create_task(listing())
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(clock.delays) == 2
    assert clock.delays[1] >= 4.9  # held back for (at least) the pause the server asked for
    assert [key[1].path for key in api.requests] == ["/api/v1/categories/c/resources/r/i"]

    clock.gate.set()
    result, listing = await asyncio.gather(first, second)
    assert result.resource_id == "rid-1"
    assert listing.items == []
    assert len(calls(api)) == 3


async def test_requests_go_straight_out_again_long_after_a_429(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    api.get(RESOURCE, status=429, headers={"retry-after": "2"})
    api.get(RESOURCE, payload=resource_json())
    api.get(RESOURCE, payload=resource_json())
    await retrieve(client)
    assert clock.delays == [pytest.approx(2.0, abs=0.05)]
    clock.offset += 61.0  # a minute later, nothing holds requests back any more
    await retrieve(client)
    assert len(clock.delays) == 1
    assert len(calls(api)) == 3


# ---------------------------------------------------------------- logs


async def test_retries_are_logged_at_debug_without_the_key(
    api: aioresponses, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="payi_async")
    fail(api, 1, exception=aiohttp.ClientConnectionError("refused"))
    fail(api, 1, status=503, payload={"message": "down"})
    fail(api, 1, exception=aiohttp.ClientConnectionError("refused"))
    async with AsyncPayi(
        KEY, BASE, default_headers={"X-Other": "v"}, max_retries=RetryPolicy(clock=clock)
    ) as payi:
        with pytest.raises(APIConnectionError):
            await retrieve(payi)
        url = f"{ROOT}/c/resources/r"
        api.post(url, status=500)
        api.post(url, payload=resource_json())
        await create(payi)
    records = [r for r in caplog.records if r.name.startswith("payi_async")]
    text = "\n".join(r.getMessage() for r in records)
    assert "(2/3) after a connection error" in text
    assert "(3/3) after status 503" in text
    assert "refused" in text
    assert KEY not in text
    assert KEY not in caplog.text
    # Retries are logged at INFO (why a call is slow), everything else at DEBUG.
    assert all(
        r.levelno == (logging.INFO if r.getMessage().startswith("retrying") else logging.DEBUG)
        for r in records
    )


async def test_a_delete_keeps_one_idempotency_key_across_its_retries(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    url = "https://api.test/api/v1/categories/custom.c"
    api.delete(url, status=503)
    api.delete(url, status=503)
    api.delete(url, payload={"request_id": "r", "message": "gone"})
    await client.categories.delete("custom.c")
    keys = {call.kwargs["headers"]["Idempotency-Key"] for _, _, call in calls(api)}
    assert len(keys) == 1
    assert len(calls(api)) == 3
