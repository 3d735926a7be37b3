"""Item 1: a redirect never carries the key anywhere, and a create never becomes a GET.

Server A answers every request with a 3xx pointing at server B (on 127.0.0.2, another
origin; same host other port as well). The SDK follows no redirect: the caller gets
``UnexpectedRedirectError`` naming the status and the target, A saw exactly one
request, B saw none.
"""

from __future__ import annotations

import pytest
from aiohttp import web

from payi_async import AsyncPayi, UnexpectedRedirectError
from tests.support import CANARY, UNITS, resource_body, scripted, secret_free

pytestmark = pytest.mark.timeout(30)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def target(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            (request.method, request.raw_path, dict(request.headers), await request.read())
        )
        return web.json_response(resource_body())


async def _call(client: AsyncPayi, call: str) -> object:
    resources = client.categories.resources
    if call == "create":
        return await resources.create("m", "custom.c", UNITS)
    if call == "retrieve":
        return await resources.retrieve("rid", "custom.c", "m")
    if call == "delete":
        return await resources.delete("rid", "custom.c", "m")
    return await client.categories.list()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target_host", ["127.0.0.2", "127.0.0.1"])
@pytest.mark.parametrize("call", ["create", "retrieve", "delete", "list"])
async def test_redirect_is_refused_and_key_never_reaches_the_target(
    status: int, target_host: str, call: str
) -> None:
    b = Recorder()
    a_seen: list[tuple[str, str]] = []
    async with scripted(b.target, host=target_host) as b_url:

        async def redirect(request: web.Request) -> web.StreamResponse:
            a_seen.append((request.method, request.headers.get("xProxy-api-key", "")))
            await request.read()
            return web.Response(
                status=status, headers={"Location": f"{b_url}{request.raw_path}?stolen=1"}
            )

        async with (
            scripted(redirect) as a_url,
            AsyncPayi(api_key=CANARY, base_url=a_url, max_retries=2) as client,
        ):
            with pytest.raises(UnexpectedRedirectError) as caught:
                await _call(client, call)
    error = caught.value
    assert b.seen == [], "the redirect target was contacted"
    # Exactly one request reached A (a redirect is not retried) with the method the
    # caller asked for: a POST never turned into a GET.
    expected = {"create": "POST", "retrieve": "GET", "delete": "DELETE", "list": "GET"}[call]
    assert a_seen == [(expected, CANARY)]
    assert error.status_code == status
    assert error.location is not None and error.location.startswith(b_url)
    assert "redirect" in str(error) and b_url in str(error)
    secret_free(error)


async def test_location_holding_the_key_is_not_echoed_into_the_error() -> None:
    """Even a hostile Location that repeats the key does not put it in the error text."""

    async def redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307, headers={"Location": f"http://127.0.0.2:1/?k={CANARY}"})

    async with scripted(redirect) as a_url, AsyncPayi(api_key=CANARY, base_url=a_url) as client:
        with pytest.raises(UnexpectedRedirectError) as caught:
            await client.categories.resources.create("m", "custom.c", UNITS)
    secret_free(caught.value)
