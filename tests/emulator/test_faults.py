"""Each fault mode, seen with raw aiohttp, and the fault counters."""

from __future__ import annotations

import aiohttp
import pytest

from payi_async.emulator import Faults, LocalPayiServer
from tests.support import EMULATOR_UNITS, api_url, list_all


def _fresh_connection_session(server: LocalPayiServer) -> aiohttp.ClientSession:
    # One connection per request, so aiohttp never retries on a stale pooled socket.
    return aiohttp.ClientSession(
        headers=server.headers, connector=aiohttp.TCPConnector(force_close=True)
    )


async def _statuses(http: aiohttp.ClientSession, server: LocalPayiServer, n: int) -> list[int]:
    statuses = []
    for _ in range(n):
        async with http.get(api_url(server)) as response:
            await response.read()
            statuses.append(response.status)
    return statuses


def test_faults_are_off_by_default_and_checked() -> None:
    assert Faults() == Faults(error_rate=0.0, request_budget=None)
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="latency"):
        Faults(latency=-1)


async def test_error_rate_injects_500_and_503_reproducibly(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults(error_rate=0.5, seed=3)
    first = await _statuses(http, server, 40)
    server.set_faults(error_rate=0.5, seed=3)
    assert await _statuses(http, server, 40) == first
    assert {500, 503, 200} == set(first)
    assert server.fault_counts == {"error": sum(s != 200 for s in first)}
    server.clear_faults()
    assert set(await _statuses(http, server, 5)) == {200}


async def test_injected_error_body_and_503_retry_after(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    server.faults = Faults(error_rate=1.0, error_statuses=(503,), retry_after=0.25)
    async with http.get(api_url(server)) as response:
        body = await response.json()
    assert response.status == 503
    assert body["statusCode"] == 503
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["Retry-After"] == "1"
    assert response.headers["retry-after-ms"] == "250"


async def test_rate_limit_answers_429_with_retry_after(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults(rate_limit_rate=1.0, retry_after=2, max_faults=2)
    assert await _statuses(http, server, 3) == [429, 429, 200]
    server.set_faults(rate_limit_rate=1.0, retry_after=3)
    async with http.get(api_url(server)) as response:
        assert response.headers["Retry-After"] == "3"
        assert response.headers["retry-after-ms"] == "3000"
        assert (await response.json())["statusCode"] == 429
    assert server.fault_counts == {"rate_limit": 1}


async def test_request_budget_then_429(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults(request_budget=3)
    assert await _statuses(http, server, 5) == [200, 200, 200, 429, 429]
    assert server.fault_counts == {"budget": 2}


async def test_methods_filter(server: LocalPayiServer, http: aiohttp.ClientSession) -> None:
    server.set_faults(error_rate=1.0, methods=("post",))
    assert await _statuses(http, server, 2) == [200, 200]
    async with http.post(
        api_url(server, "custom.f", "resources", "r"), json={"units": EMULATOR_UNITS}
    ) as response:
        assert response.status in (500, 503)
    assert await server.store.count_versions() == 18  # the seed only: nothing created


async def test_latency_is_added(server: LocalPayiServer, http: aiohttp.ClientSession) -> None:
    server.set_faults(latency=0.2)
    # The request outlives a read timeout shorter than the latency.
    with pytest.raises(aiohttp.ServerTimeoutError):
        async with http.get(api_url(server), timeout=aiohttp.ClientTimeout(sock_read=0.05)):
            pass
    async with http.get(api_url(server), timeout=aiohttp.ClientTimeout(sock_read=5)) as r:
        assert r.status == 200
    assert server.fault_counts == {}


async def test_drop_mid_body(server: LocalPayiServer) -> None:
    server.set_faults(drop_rate=1.0, max_faults=1)
    async with _fresh_connection_session(server) as http:
        async with http.get(api_url(server)) as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        assert await _statuses(http, server, 1) == [200]
    assert server.fault_counts == {"drop": 1}


async def test_drop_mid_headers_before_anything_is_done(server: LocalPayiServer) -> None:
    # A POST: aiohttp itself silently retries an idempotent GET once on this failure.
    server.set_faults(drop_rate=1.0, drop_stage="headers", max_faults=1)
    async with _fresh_connection_session(server) as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.post(
                api_url(server, "custom.f", "resources", "r"), json={"units": EMULATOR_UNITS}
            ):
                pass
        assert await _statuses(http, server, 1) == [200]
    assert server.fault_counts == {"drop": 1}
    assert server.requests[-2].status is None
    assert server.requests[-2].fault == "drop"
    assert await server.store.count_versions() == 18  # dropped before the write


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_fail_after_commit_commits_then_fails(server: LocalPayiServer, mode: str) -> None:
    server.set_faults(fail_after_commit_rate=1.0, fail_after_commit_mode=mode, max_faults=1)
    url = api_url(server, "custom.f", "resources", "r")
    async with _fresh_connection_session(server) as http:
        if mode == "503":
            async with http.post(
                url, json={"units": EMULATOR_UNITS}, headers={"Idempotency-Key": "k"}
            ) as r:
                assert r.status == 503
        else:
            with pytest.raises(aiohttp.ClientError):
                async with http.post(
                    url, json={"units": EMULATOR_UNITS}, headers={"Idempotency-Key": "k"}
                ) as r:
                    await r.read()
        # committed despite the failure; the retry with the same key replays it
        versions = await list_all(http, server, "custom.f", "resources", "r")
        assert len(versions) == 1
        async with http.post(
            url, json={"units": EMULATOR_UNITS}, headers={"Idempotency-Key": "k"}
        ) as r:
            assert r.status == 201
            assert (await r.json())["resource_id"] == versions[0]["resource_id"]
        assert len(await list_all(http, server, "custom.f", "resources", "r")) == 1
    assert server.fault_counts == {"after_commit": 1}


async def test_fail_after_commit_spares_reads_and_failed_writes(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    server.set_faults(fail_after_commit_rate=1.0)
    assert await _statuses(http, server, 2) == [200, 200]
    async with http.delete(api_url(server, "custom.none")) as response:
        assert response.status == 404


async def test_faults_given_at_start_up_and_request_log() -> None:
    async with LocalPayiServer(faults=Faults(request_budget=1)) as server:
        async with aiohttp.ClientSession(headers=server.headers) as http:
            assert await _statuses(http, server, 2) == [200, 429]
        assert server.request_count == 2
        assert [(r.method, r.status, r.fault) for r in server.requests] == [
            ("GET", 200, None),
            ("GET", 429, "budget"),
        ]
        assert all("xProxy-api-key" not in r.headers for r in server.requests)
        server.clear_log()
        assert server.requests == []
        assert server.request_count == 2
