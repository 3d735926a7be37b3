"""The client's life: opening, sharing, closing, cancelling, and never showing the key."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import warnings
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

import payi_async
from payi_async import (
    APITimeoutError,
    AsyncCategories,
    AsyncPayi,
    AsyncResources,
    InternalServerError,
    Timeout,
    UnexpectedRedirectError,
)
from payi_async._transport import aiohttp_timeout
from tests.support import BASE, KEY, FakeClock, LiveServer, calls, resource_json

ANY = re.compile(r"^https://api\.test/.*$")
RESOURCE = f"{BASE}/api/v1/categories/c/resources/r/i"


async def retrieve(payi: AsyncPayi, **kwargs: Any) -> Any:
    return await payi.categories.resources.retrieve("i", "c", "r", **kwargs)


def resource_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def test_the_client_has_the_seed_resources(client: AsyncPayi) -> None:
    assert isinstance(client.categories, AsyncCategories)
    assert isinstance(client.categories.resources, AsyncResources)
    for name in ("list", "delete", "delete_resource", "list_resources"):
        assert callable(getattr(client.categories, name))
    for name in ("create", "retrieve", "list", "delete"):
        assert callable(getattr(client.categories.resources, name))


async def test_async_with_closes_the_client(api: aioresponses) -> None:
    api.get(RESOURCE, payload=resource_json())
    async with AsyncPayi(KEY, BASE) as payi:
        await retrieve(payi)
    with pytest.raises(RuntimeError, match="closed"):
        await retrieve(payi)
    assert len(calls(api)) == 1


async def test_close_is_idempotent_and_use_after_close_is_a_clear_error(
    api: aioresponses,
) -> None:
    api.get(RESOURCE, payload=resource_json(), repeat=True)
    payi = AsyncPayi(KEY, BASE)
    await retrieve(payi)
    await payi.close()
    await payi.close()
    with pytest.raises(RuntimeError, match="closed"):
        await retrieve(payi)
    with pytest.raises(RuntimeError, match="closed"):
        await payi.categories.list()
    assert len(calls(api)) == 1


async def test_a_never_used_client_closes_and_stays_closed(api: aioresponses) -> None:
    payi = AsyncPayi(KEY, BASE)
    await payi.close()
    with pytest.raises(RuntimeError, match="closed"):
        await payi.categories.delete("c")
    assert calls(api) == []


async def test_with_options_shares_the_session_and_changes_behaviour(
    api: aioresponses, client: AsyncPayi, clock: FakeClock
) -> None:
    fast = client.with_options(timeout=2.5, max_retries=0)
    assert fast.max_retries == 0
    assert fast.timeout == Timeout.of(2.5)
    assert client.max_retries == 2
    assert client.timeout == Timeout()
    assert fast.base_url == client.base_url

    for _ in range(4):
        api.get(RESOURCE, status=503)
    with pytest.raises(InternalServerError):
        await retrieve(fast)
    assert len(calls(api)) == 1
    assert clock.delays == []
    with pytest.raises(InternalServerError):
        await retrieve(client)
    assert len(calls(api)) == 4
    assert len(clock.delays) == 2

    requests = api.requests[("GET", calls(api)[0][1])]
    assert requests[0].kwargs["timeout"] == aiohttp_timeout(Timeout.of(2.5))
    assert requests[1].kwargs["timeout"] == aiohttp_timeout(Timeout())
    assert requests[0].kwargs["headers"]["xProxy-api-key"] == KEY

    # One pool: closing the copy closes the original too.
    await fast.close()
    with pytest.raises(RuntimeError, match="closed"):
        await retrieve(client)


async def test_with_options_keeps_what_is_not_given(client: AsyncPayi) -> None:
    only_retries = client.with_options(max_retries=5)
    assert only_retries.max_retries == 5
    assert only_retries.timeout == client.timeout
    only_timeout = client.with_options(timeout=Timeout(read=3.0))
    assert only_timeout.max_retries == 2
    assert only_timeout.timeout.read == 3.0


async def test_with_options_shares_one_aiohttp_session(live: LiveServer) -> None:
    async with AsyncPayi(KEY, live.url) as payi:
        other = payi.with_options(max_retries=1)
        await payi.categories.delete("c")
        await other.categories.delete("c")
        assert payi._transport is other._transport
    assert len(live.seen) == 2


def test_repr_never_shows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYI_BASE_URL", raising=False)
    payi = AsyncPayi(KEY, BASE, max_retries=3)
    text = repr(payi)
    assert KEY not in text
    assert BASE in text
    assert "max_retries=3" in text
    assert KEY not in repr(payi.with_options(max_retries=1))
    assert KEY not in repr(payi._transport)
    assert KEY not in str(payi.__dict__.get("categories"))


async def test_debug_logs_of_a_failing_call_never_hold_the_key(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="payi_async")
    for _ in range(3):
        api.get(RESOURCE, status=500, payload={"message": "kaput"})
    with pytest.raises(InternalServerError) as caught:
        await retrieve(client, extra_headers={"X-Extra": "e"})
    assert len(caplog.records) >= 5  # 3 answers, 2 retries
    assert "(3/3) after status 500" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in str(caught.value)
    for record in caplog.records:
        assert KEY not in repr(record.args)


async def test_the_user_agent_names_the_package_python_and_aiohttp(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, payload={"items": [], "cursor": None})
    await client.categories.list()
    ((_, _, call),) = calls(api)
    agent = call.kwargs["headers"]["User-Agent"]
    assert agent.startswith(f"payi-async/{payi_async.__version__} (Python ")
    assert agent.endswith(f"; aiohttp {aiohttp.__version__})")
    assert payi_async.__version__ == "0.1.0"


# ---------------------------------------------------------------- against a real server


async def test_a_per_call_timeout_is_enforced(live: LiveServer) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.wait_for(live.release.wait(), 5)
        return web.json_response(resource_json())

    live.respond = slow
    async with AsyncPayi(KEY, live.url, max_retries=0) as payi:
        with pytest.raises(APITimeoutError) as caught:
            await retrieve(payi, timeout=0.05)
        live.release.set()
    assert "read timeout" in str(caught.value)
    assert len(live.seen) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(live: LiveServer, status: int) -> None:
    async def redirect(request: web.Request) -> web.Response:
        if request.path.startswith("/elsewhere"):
            return web.json_response(resource_json())
        return web.Response(status=status, headers={"Location": f"{live.url}/elsewhere"})

    live.respond = redirect
    async with AsyncPayi(KEY, live.url) as payi:
        with pytest.raises(UnexpectedRedirectError) as caught:
            await payi.categories.resources.create(
                "r", "c", {"t": {"input_price": 1, "output_price": 1}}
            )
    assert caught.value.status_code == status
    assert caught.value.location == f"{live.url}/elsewhere"
    assert [s["method"] for s in live.seen] == ["POST"]
    assert [s["path"] for s in live.seen] == ["/api/v1/categories/c/resources/r"]


async def test_cancelling_a_request_leaks_nothing(live: LiveServer) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.wait_for(live.release.wait(), 5)
        return web.json_response(resource_json())

    live.respond = hang
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        payi = AsyncPayi(KEY, live.url)
        task = asyncio.create_task(retrieve(payi))
        await asyncio.wait_for(live.arrived.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await payi.close()
        live.release.set()
        del payi, task
        gc.collect()
    assert resource_warnings(caught) == []


async def test_the_client_still_works_after_a_cancelled_request(live: LiveServer) -> None:
    async def maybe_hang(request: web.Request) -> web.Response:
        if len(live.seen) == 1:
            await asyncio.wait_for(live.release.wait(), 5)
        return web.json_response(resource_json())

    live.respond = maybe_hang
    async with AsyncPayi(KEY, live.url) as payi:
        task = asyncio.create_task(retrieve(payi))
        await asyncio.wait_for(live.arrived.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        result = await retrieve(payi)
        assert result.resource_id == "rid-1"
    live.release.set()


async def test_an_unclosed_client_would_be_caught(live: LiveServer) -> None:
    """The guard the suite relies on: a client left open does warn, so leaks fail tests."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        payi = AsyncPayi(KEY, live.url)
        await payi.categories.delete("c")
        session = payi._transport._session
        assert isinstance(session, aiohttp.ClientSession)
        del payi, session
        gc.collect()
    assert any("Unclosed" in text for text in resource_warnings(caught))


async def test_a_closed_client_leaves_nothing_behind(live: LiveServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with AsyncPayi(KEY, live.url) as payi:
            await payi.categories.delete("c")
            await payi.categories.list()
        del payi
        gc.collect()
    assert resource_warnings(caught) == []


async def test_many_concurrent_calls_share_one_client(live: LiveServer) -> None:
    async with AsyncPayi(KEY, live.url) as payi:
        results = await asyncio.gather(*(payi.categories.delete(f"c{i}") for i in range(20)))
    assert len(results) == 20
    assert sorted(s["raw_path"] for s in live.seen) == sorted(
        f"/api/v1/categories/c{i}" for i in range(20)
    )
