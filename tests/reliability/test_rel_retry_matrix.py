"""Item 3: how long the SDK waits before each retry, on a fake clock.

Decisions (see ``payi_async._retry``): ``retry-after-ms`` wins over ``retry-after``;
``retry-after`` is seconds or an HTTP date; zero, negative, past and unparsable values
are ignored in favour of the SDK's own jittered backoff. A server asking for more than
``RetryPolicy.max_retry_after`` (60 s) gets no retry: the error is raised at once, its
``retry_after`` saying what the server asked, instead of the call sleeping for an hour.
"""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest
from aiohttp import web

from payi_async import (
    AsyncPayi,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
)
from tests.support import CANARY, UNITS, FakeClock, resource_body, scripted

pytestmark = pytest.mark.timeout(30)

PAGE = {"items": [], "cursor": None}


class Script:
    """Answers the queued (status, headers) in turn, then 200s; counts attempts."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.attempts = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        await request.read()
        if self.answers:
            status, headers = self.answers.pop(0)
            body = {"message": f"scripted {status}", "statusCode": status}
            return web.json_response(body, status=status, headers=headers)
        return web.json_response(resource_body() if request.method == "POST" else PAGE)


async def _run(
    clock: FakeClock, script: Script, *, max_retries: int = 2, create: bool = False
) -> None:
    async with (
        scripted(script.handle) as url,
        AsyncPayi(
            api_key=CANARY,
            base_url=url,
            max_retries=RetryPolicy(max_retries=max_retries, clock=clock),
        ) as client,
    ):
        if create:
            await client.categories.resources.create("m", "custom.c", UNITS)
        else:
            await client.categories.list()


def _http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"retry-after": "2"}, 2.0, 2.0),
        ({"retry-after": "0.25"}, 0.25, 0.25),
        ({"retry-after": "60"}, 60.0, 60.0),  # the cap itself is still waited
        ({"retry-after-ms": "1500"}, 1.5, 1.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5, 1.5),  # -ms wins
        ({"retry-after-ms": "abc", "retry-after": "3"}, 3.0, 3.0),  # bad -ms: next one
    ],
)
async def test_server_asked_waits_are_honoured(
    clock: FakeClock, headers: dict[str, str], low: float, high: float
) -> None:
    script = Script((503, headers))
    await _run(clock, script)
    assert script.attempts == 2
    assert len(clock.delays) == 1
    assert low <= clock.delays[0] <= high


async def test_http_date_is_honoured(clock: FakeClock) -> None:
    script = Script((503, {"retry-after": _http_date(30)}))
    await _run(clock, script)
    assert script.attempts == 2
    # An HTTP date has whole seconds: 30 s ahead is 29 to 30 s from now.
    assert 28.5 <= clock.delays[0] <= 30.5


@pytest.mark.parametrize(
    "value", ["0", "-1", "abc", "", "1e999", "nan", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"]
)
async def test_unusable_retry_after_falls_back_to_backoff(clock: FakeClock, value: str) -> None:
    script = Script((503, {"retry-after": value}), (503, {"retry-after": value}))
    await _run(clock, script)
    assert script.attempts == 3
    first, second = clock.delays
    policy = RetryPolicy()
    assert 0 < first <= policy.initial_delay
    assert 0 < second <= policy.initial_delay * 2


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "3600"},
        {"retry-after": "61"},
        {"retry-after-ms": "3600000"},
        {"retry-after": _http_date(3600)},
    ],
)
async def test_too_long_a_wait_raises_at_once(clock: FakeClock, headers: dict[str, str]) -> None:
    script = Script((503, headers))
    with pytest.raises(InternalServerError) as caught:
        await _run(clock, script)
    assert script.attempts == 1
    assert clock.delays == []
    assert caught.value.retry_after is not None and caught.value.retry_after > 60


async def test_429_waits_once_for_retry_after(clock: FakeClock) -> None:
    script = Script((429, {"retry-after": "2"}))
    await _run(clock, script)
    assert script.attempts == 2
    assert sum(clock.delays) == pytest.approx(2.0, abs=0.05)


async def test_429_retry_after_3600_raises_rate_limit_error_at_once(clock: FakeClock) -> None:
    script = Script((429, {"retry-after": "3600"}))
    with pytest.raises(RateLimitError) as caught:
        await _run(clock, script, create=True)
    assert script.attempts == 1 and clock.delays == []
    assert caught.value.retry_after == 3600


async def test_x_should_retry_false_stops_a_503(clock: FakeClock) -> None:
    script = Script((503, {"x-should-retry": "false", "retry-after": "1"}))
    with pytest.raises(InternalServerError):
        await _run(clock, script)
    assert script.attempts == 1 and clock.delays == []


async def test_x_should_retry_true_retries_a_400(clock: FakeClock) -> None:
    script = Script((400, {"x-should-retry": "true"}))
    await _run(clock, script, create=True)
    assert script.attempts == 2 and len(clock.delays) == 1


async def test_plain_400_is_not_retried(clock: FakeClock) -> None:
    script = Script((400, {}))
    with pytest.raises(BadRequestError):
        await _run(clock, script, create=True)
    assert script.attempts == 1 and clock.delays == []


async def test_backoff_grows_and_retries_run_out(clock: FakeClock) -> None:
    script = Script(*[(500, {})] * 6)
    with pytest.raises(InternalServerError):
        await _run(clock, script, max_retries=5)
    assert script.attempts == 6
    policy = RetryPolicy()
    for number, delay in enumerate(clock.delays):
        ceiling = min(policy.initial_delay * 2**number, policy.max_delay)
        assert 0 < delay <= ceiling
    assert clock.delays[-1] > policy.initial_delay  # it grew


async def test_jitter_spreads_concurrent_retries(clock: FakeClock) -> None:
    """Twenty calls failing at once do not come back at the same instant."""
    failed: set[str] = set()

    async def fail_once(request: web.Request) -> web.StreamResponse:
        tag = request.headers["x-tag"]
        if tag not in failed:
            failed.add(tag)
            return web.json_response({"message": "boom"}, status=500)
        return web.json_response(PAGE)

    async with (
        scripted(fail_once) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=RetryPolicy(clock=clock)) as client,
    ):
        pages = (client.categories.list(extra_headers={"x-tag": str(i)}) for i in range(20))
        await asyncio.gather(*(pager.first_page() for pager in pages))
    assert len(clock.delays) == 20
    assert all(0 < d <= RetryPolicy().initial_delay for d in clock.delays)
    assert len({round(d, 6) for d in clock.delays}) >= 15
    assert max(clock.delays) - min(clock.delays) > 0.02
