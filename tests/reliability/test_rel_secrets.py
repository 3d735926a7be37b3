"""Item 9: the API key never shows: not in the repr of a client or option object, not
in any error's text, attributes, cause chain, formatted traceback or pickle, not in
DEBUG logs. Every test of this directory uses the canary key, and the autouse fixture
in ``conftest.py`` fails any test whose captured DEBUG logs contain it.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import web

import payi_sync
from payi_async import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AsyncPayi,
    AuthenticationError,
    BulkResult,
    ResourceCreate,
    RetryPolicy,
    Timeout,
)
from payi_async.emulator import LocalPayiServer
from tests.support import CANARY, UNITS, raw_server, read_request, scripted, secret_free

pytestmark = pytest.mark.timeout(30)


async def test_reprs_of_clients_and_options_hide_the_key(emulator: LocalPayiServer) -> None:
    client = AsyncPayi(api_key=CANARY, base_url=emulator.base_url)
    try:
        await client.categories.list()  # the session exists now
        clone = client.with_options(timeout=3.0, max_retries=1)
        page = await client.categories.list()
        objects: list[object] = [
            client,
            clone,
            client.categories,
            client.categories.resources,
            client.timeout,
            client._policy,
            client._transport,
            Timeout(),
            RetryPolicy(),
            page,
            client.categories.list(),
            BulkResult(),
            ResourceCreate("m", "custom.c", UNITS),
        ]
        for obj in objects:
            for text in (repr(obj), str(obj), f"{obj}"):
                assert CANARY not in text, type(obj).__name__
        assert "***" in repr(client)
    finally:
        await client.close()


def test_sync_client_repr_hides_the_key() -> None:
    with payi_sync.Payi(api_key=CANARY, base_url="http://127.0.0.1:9") as client:
        for obj in (client, client.with_options(max_retries=0), client.categories):
            assert CANARY not in repr(obj) and CANARY not in str(obj)


async def test_errors_from_real_failures_hold_no_key(emulator: LocalPayiServer) -> None:
    errors: list[BaseException] = []
    # 401: the server does not know this key.
    async with (
        LocalPayiServer(api_key="another-key") as other,
        AsyncPayi(api_key=CANARY, base_url=other.base_url) as client,
    ):
        with pytest.raises(AuthenticationError) as auth:
            await client.categories.list()
        errors.append(auth.value)
    # Connection refused (nothing listens on the port any more).
    dead = other.base_url
    async with AsyncPayi(api_key=CANARY, base_url=dead, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.categories.resources.create("m", "custom.c", UNITS)
        errors.append(refused.value)
    # 404 and 400 from the emulator.
    async with AsyncPayi(api_key=CANARY, base_url=emulator.base_url) as client:
        with pytest.raises(APIStatusError) as missing:
            await client.categories.resources.retrieve("nope", "custom.c", "m")
        errors.append(missing.value)
        with pytest.raises(APIStatusError) as bad:
            await client.categories.list(limit=5000)
        errors.append(bad.value)
    for error in errors:
        secret_free(error)


async def test_garbage_http_answer_error_chain_holds_no_key() -> None:
    """aiohttp's own errors for a malformed answer carry the request's headers
    (``request_info``); the error the SDK raises must not expose them."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 2xx NOT-A-STATUS\r\nX: \x00\r\n\r\n")
        await writer.drain()

    async with (
        raw_server(garbage) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=1) as client,
    ):
        with pytest.raises(APIError) as caught:
            await client.categories.list()
    secret_free(caught.value)


async def test_server_that_echoes_the_key_does_not_get_it_into_errors() -> None:
    """A misbehaving proxy that repeats the request's key back (in the message, the body
    or a header) does not make the SDK print it."""

    async def echo(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("xProxy-api-key", "")
        status = int(request.headers.get("x-status", "400"))
        body = {"message": f"bad key {key}", "statusCode": status, "echo": {"key": [key]}}
        if status == 200:
            body = {"items": [{"category": 5, "key": key}]}
        return web.Response(
            status=status,
            body=json.dumps(body),
            content_type="application/json",
            headers={"x-echo": key},
        )

    async with (
        scripted(echo) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=1) as client,
    ):
        for status in ("400", "401", "429", "500", "200"):
            with pytest.raises(APIError) as caught:
                await client.categories.list(extra_headers={"x-status": status})
            secret_free(caught.value)


async def test_debug_logs_of_retries_hold_no_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    attempts = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return web.json_response({"message": "x"}, status=503, headers={"retry-after": "0.01"})
        return web.json_response({"items": [], "cursor": None})

    async with scripted(flaky) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        await client.categories.list()
    assert any("retry" in r.getMessage() for r in caplog.records)
    assert all(CANARY not in r.getMessage() for r in caplog.records)
