"""Item 8: hostile bodies. A 2xx answer that does not fit becomes
``APIResponseValidationError`` naming the status and the field path (never a bare
``KeyError``/``TypeError``/cattrs error); values the seed types as plain strings
(``category_type``, ``resource_scope``) are taken as they come; an answer larger than
``max_response_bytes`` (32 MiB by default) is refused without being held in memory.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from typing import Any

import pytest
from aiohttp import web

from payi_async import (
    APIResponseValidationError,
    AsyncPayi,
    InternalServerError,
)
from payi_async._transport import DEFAULT_MAX_RESPONSE_BYTES
from tests.support import CANARY, resource_body, scripted, secret_free

pytestmark = pytest.mark.timeout(60)

CHUNK = b" " * 65536
BIG = 50 * 1024 * 1024


def _with(**changes: Any) -> bytes:
    body = resource_body()
    body.update(changes)
    return json.dumps(body).encode()


def _units(value: Any) -> bytes:
    return _with(units={"text": value})


BODIES: dict[str, bytes] = {
    "html": b"<html><body>Service Unavailable</body></html>",
    "truncated": _with()[:40],
    "array": b"[]",
    "string": b'"ok"',
    "empty": b"",
    "not-utf8": b'{"resource_id": "\xff\xfe"}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "huge-int": b'{"max_input_units": ' + b"9" * 5000 + b"}",
    "null-id": _with(resource_id=None),
    "number-category": _with(category=42),
    "missing-resource": json.dumps(
        {k: v for k, v in resource_body().items() if k != "resource"}
    ).encode(),
    "bool-units": _with(max_input_units=True),
    "float-units": _with(max_output_units=2.5),
    "price-text": _units({"input_price": "cheap", "output_price": 1}),
    "units-list": _with(units=[1, 2]),
    "aliases-string": _with(aliases="gpt"),
}

# What the error's message must name (a field path) for each body.
EXPECTED: dict[str, str] = {
    "html": "not JSON",
    "truncated": "not JSON",
    "array": "expected an object, got array",
    "string": "expected an object, got string",
    "empty": "got null",
    "not-utf8": "not JSON",
    "deep": "not JSON",
    "huge-int": "not JSON",
    "null-id": "$.resource_id",
    "number-category": "$.category",
    "missing-resource": "$.resource",
    "bool-units": "$.max_input_units",
    "float-units": "$.max_output_units",
    "price-text": "input_price",
    "units-list": "$.units",
    "aliases-string": "$.aliases",
}


async def _serve_body(request: web.Request) -> web.StreamResponse:
    name = request.headers["x-body"]
    kind = "text/html" if name == "html" else "application/json"
    return web.Response(body=BODIES[name], content_type=kind)


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_body_that_does_not_fit_names_field_and_status(name: str) -> None:
    async with scripted(_serve_body) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client.categories.resources.retrieve(
                "rid-1", "custom.rel", "model", extra_headers={"x-body": name}
            )
    error = caught.value
    text = str(error)
    assert text.startswith("200 "), text
    assert EXPECTED[name] in text, text
    assert error.status_code == 200
    assert len(text) < 2000  # a huge body is not pasted whole into the message
    secret_free(error)


PAGES: dict[str, tuple[Any, str]] = {
    "items-number": ({"items": 5, "cursor": None}, "$.items"),
    "item-null-category": ({"items": [{"category": None}]}, "$.items[0].category"),
    "item-number": ({"items": [{"category": "a"}, 7]}, "$.items[1]"),
    "cursor-number": ({"items": [], "cursor": 3}, "cursor"),
    "page-array": ([{"category": "a"}], "expected a page object"),
}


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_page_that_does_not_fit_names_field(name: str) -> None:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.json_response(PAGES[name][0])

    async with scripted(serve) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client.categories.list()
    assert PAGES[name][1] in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("200 ")


async def test_new_enum_like_values_are_taken_as_they_come() -> None:
    """``category_type`` and ``resource_scope`` are plain strings in the seed: a value
    the SDK has never seen is kept, not refused. Unknown fields land in ``extra``."""
    page = {"items": [{"category": "c", "category_type": "partner", "tier": 3}], "cursor": None}
    resource = json.loads(_with(resource_scope="galaxy", new_field={"a": 1}))

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.json_response(page if request.path.endswith("categories") else resource)

    async with scripted(serve) as url, AsyncPayi(api_key=CANARY, base_url=url) as client:
        first = await client.categories.list()
        got = await client.categories.resources.retrieve("rid-1", "custom.rel", "model")
    assert first.items[0].category_type == "partner"
    assert first.items[0].extra == {"tier": 3}
    assert got.resource_scope == "galaxy"
    assert got.extra["new_field"] == {"a": 1}
    assert got.to_dict()["new_field"] == {"a": 1}


async def test_hostile_error_bodies_still_give_the_status_error() -> None:
    bodies = [b"<html>502 Bad Gateway</html>", b"[" * 100_000, b"\xff\xfe", b"null", b"[1,2]"]

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, body=bodies[int(request.headers["x-n"])])

    async with (
        scripted(serve) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=0) as client,
    ):
        for n in range(len(bodies)):
            with pytest.raises(InternalServerError) as caught:
                await client.categories.list(extra_headers={"x-n": str(n)})
            assert str(caught.value).startswith("500 ")
            assert len(str(caught.value)) < 2000


async def _stream_big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if request.headers.get("x-length") == "yes":
        response.content_length = BIG
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    try:
        while sent < BIG:
            await response.write(CHUNK)
            sent += len(CHUNK)
    except (ConnectionError, RuntimeError):
        return response
    await response.write_eof()
    return response


@pytest.mark.parametrize("length", ["yes", "no"])
async def test_huge_body_is_refused_with_bounded_memory(length: str) -> None:
    cap = 1024 * 1024
    async with (
        scripted(_stream_big) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_response_bytes=cap, max_retries=0) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(APIResponseValidationError, match="max_response_bytes"):
                await client.categories.list(extra_headers={"x-length": length})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * cap, peak
        # The pool is fine afterwards (the half-read connection was discarded).
        await asyncio.sleep(0)


async def test_default_cap_refuses_a_50_mb_body() -> None:
    assert DEFAULT_MAX_RESPONSE_BYTES == 32 * 1024 * 1024 < BIG
    async with (
        scripted(_stream_big) as url,
        AsyncPayi(api_key=CANARY, base_url=url, max_retries=0) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.categories.list(extra_headers={"x-length": "no"})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "larger than max_response_bytes" in str(caught.value)
    assert peak < DEFAULT_MAX_RESPONSE_BYTES + 16 * 1024 * 1024, peak
