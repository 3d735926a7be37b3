"""``.with_raw_response`` and ``.with_streaming_response`` over a real socket: what the
response carries, that a streamed body is read only when asked, and that the
connection is released when the ``async with`` block ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _unit_support import KEY, LiveServer, resource_json
from aiohttp import web

from payi_async import (
    APIResponseValidationError,
    AsyncAPIResponse,
    AsyncCursorPage,
    AsyncPayi,
    AsyncResponseContextManager,
    AsyncResponseView,
    CategoryResourceResponse,
    NotFoundError,
    RequestInfo,
)

#: A loose "does not hang" bound, never a speed assertion.
BOUND = 10.0


def _client(live: LiveServer, **options: Any) -> AsyncPayi:
    return AsyncPayi(KEY, live.url, max_retries=0, **options)


async def test_a_raw_response_carries_status_headers_request_id_and_the_model(
    live: LiveServer,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(
            resource_json(), headers={"x-request-id": "req-raw", "x-extra": "1"}
        )

    live.respond = answer
    async with _client(live) as payi:
        response = await payi.categories.resources.with_raw_response.retrieve(
            "rid-1", "custom.cat", "model-a", extra_query={"v": 2}
        )
    assert isinstance(response, AsyncAPIResponse)
    assert response.status_code == 200
    assert response.headers["x-extra"] == "1"
    assert response.request_id == "req-raw"
    assert response.method == "GET"
    assert response.url == f"{live.url}/api/v1/categories/custom.cat/resources/model-a/rid-1?v=2"
    assert response.http_request == RequestInfo("GET", response.url)
    assert response.is_closed  # read whole, connection given back
    assert json.loads(await response.text()) == resource_json()
    assert await response.json() == resource_json()
    assert await response.read() == (await response.text()).encode()
    model = await response.parse()
    assert isinstance(model, CategoryResourceResponse)
    assert model.resource_id == "rid-1"
    assert await response.parse() is model


async def test_raw_parse_of_a_list_is_the_page_whose_iteration_goes_on(live: LiveServer) -> None:
    async def answer(request: web.Request) -> web.Response:
        if "cursor" in request.query:
            return web.json_response({"items": [resource_json(resource_id="rid-2")]})
        return web.json_response({"items": [resource_json()], "cursor": "c2"})

    live.respond = answer
    async with _client(live) as payi:
        response = await payi.with_raw_response.categories.list_resources("custom.cat", limit=1)
        page = await response.parse()
        assert isinstance(page, AsyncCursorPage)
        assert [r.resource_id for r in page.items] == ["rid-1"]
        assert [r.resource_id async for r in page] == ["rid-1", "rid-2"]
    assert [s["query_string"] for s in live.seen] == ["limit=1", "limit=1&cursor=c2"]


async def test_a_raw_error_raises_the_usual_status_error(live: LiveServer) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"message": "no such version", "statusCode": 404}, status=404)

    live.respond = answer
    async with _client(live) as payi:
        with pytest.raises(NotFoundError, match="no such version"):
            await payi.categories.resources.with_raw_response.retrieve("x", "c", "r")
        with pytest.raises(NotFoundError):
            async with payi.categories.with_streaming_response.list_resources("c"):
                pass


async def test_a_raw_non_json_body_reads_as_text_and_fails_to_parse(live: LiveServer) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    live.respond = answer
    async with _client(live) as payi:
        response = await payi.categories.with_raw_response.delete("c")
    assert await response.text() == "<html>maintenance</html>"
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        await response.json()
    with pytest.raises(APIResponseValidationError, match="not JSON"):
        await response.parse()


async def test_a_streamed_body_is_read_only_when_asked(live: LiveServer) -> None:
    body = json.dumps(resource_json()).encode()

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"x-request-id": "req-s"})
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(request)  # status and headers go out now
        await live.release.wait()  # the body only once the test says so
        await response.write(body)
        await response.write_eof()
        return response

    live.respond = answer
    async with _client(live) as payi:
        manager = payi.categories.resources.with_streaming_response.retrieve("rid-1", "c", "r")
        assert isinstance(manager, AsyncResponseContextManager)
        assert live.seen == []  # nothing is sent before the block is entered
        async with manager as response:
            # Entering returned while the server still holds the body back.
            assert not live.release.is_set()
            assert response.status_code == 200
            assert response.request_id == "req-s"
            assert response.headers["Content-Length"] == str(len(body))
            assert not response.is_closed
            reading = asyncio.ensure_future(response.parse())
            await asyncio.sleep(0.05)
            assert not reading.done()  # waiting for the body the server holds
            live.release.set()
            model = await asyncio.wait_for(reading, BOUND)
        assert model.resource_id == "rid-1"
        assert response.is_closed
        assert await response.json() == resource_json()  # what was read stays readable


async def test_the_connection_is_released_when_the_block_ends(live: LiveServer) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"items": [resource_json()] * 50, "cursor": None})

    live.respond = answer
    # One connection in the pool: any block that kept it would hang the next call.
    async with _client(live, connection_limit=1) as payi:
        for _ in range(3):
            async with payi.categories.with_streaming_response.list_resources("c") as unread:
                assert unread.status_code == 200
            assert unread.is_closed
            with pytest.raises(RuntimeError, match="closed"):
                await unread.read()
        async with payi.with_streaming_response.categories.list_resources("c") as read:
            assert len((await read.parse()).items) == 50
        page = await asyncio.wait_for(payi.categories.list_resources("c"), BOUND)
        assert len(page.items) == 50
        raw = await asyncio.wait_for(payi.categories.with_raw_response.list_resources("c"), BOUND)
        assert raw.status_code == 200
    assert len(live.seen) == 6


async def test_an_error_inside_the_block_still_releases_the_connection(
    live: LiveServer,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(resource_json())

    live.respond = answer
    async with _client(live, connection_limit=1) as payi:
        with pytest.raises(KeyError):
            async with payi.categories.resources.with_streaming_response.retrieve("i", "c", "r"):
                raise KeyError("boom")
        got = await asyncio.wait_for(payi.categories.resources.retrieve("i", "c", "r"), BOUND)
        assert got.resource_id == "rid-1"


async def test_views_offer_the_eight_methods_and_the_sub_resources_only(
    live: LiveServer,
) -> None:
    async with _client(live) as payi:
        view = payi.categories.with_raw_response
        assert isinstance(view, AsyncResponseView)
        assert view.mode == "raw"
        assert payi.with_streaming_response.categories.resources.mode == "stream"
        assert set(dir(view)) >= {"list", "delete", "delete_resource", "list_resources"}
        assert set(dir(payi.categories.resources.with_raw_response)) >= {
            "create",
            "retrieve",
            "list",
            "delete",
        }
        for name in ("create_many", "_send", "with_raw_response", "nope"):
            with pytest.raises(AttributeError):
                getattr(payi.categories.resources.with_raw_response, name)
        with pytest.raises(AttributeError):
            getattr(payi.with_raw_response, "close")  # noqa: B009
        # the plain methods are untouched by a view
        assert payi.categories._mode is None


async def test_empty_names_raise_value_error_in_every_mode(live: LiveServer) -> None:
    async with _client(live) as payi:
        with pytest.raises(ValueError, match="Expected a non-empty value for `category`"):
            await payi.categories.with_raw_response.delete("")
        with pytest.raises(ValueError, match="Expected a non-empty value for `category`"):
            await payi.categories.with_raw_response.list_resources("")
        with pytest.raises(ValueError, match="Expected a non-empty value for `resource_id`"):
            async with payi.categories.resources.with_streaming_response.retrieve("", "c", "r"):
                pass
    assert live.seen == []


async def test_a_key_echoed_back_is_masked_in_raw_and_streamed_responses(
    live: LiveServer,
) -> None:
    async def answer(request: web.Request) -> web.Response:
        echoed = request.headers["xProxy-api-key"]
        return web.json_response(
            resource_json(resource_scope=echoed), headers={"x-echo": f"key={echoed}"}
        )

    live.respond = answer
    async with _client(live) as payi:
        raw = await payi.categories.resources.with_raw_response.retrieve("i", "c", "r")
        async with payi.with_streaming_response.categories.resources.retrieve(
            "i", "c", "r"
        ) as streamed:
            streamed_text = await streamed.text()
            streamed_header = streamed.headers["x-echo"]
    for text, header in (
        (await raw.text(), raw.headers["x-echo"]),
        (streamed_text, streamed_header),
    ):
        assert KEY not in text and KEY not in header
        assert '"resource_scope": "***"' in text
        assert header == "key=***"
    assert (await raw.parse()).resource_scope == "***"
