"""Vendor-`payi` user code against the emulator in hosted shapes, where it broke.

Each test is a call a user of the vendor's `payi` 0.1.0a183 writes, run after the
import line changes: a body read inside a streaming block stays readable after it,
`close()` releases a streamed response early, an `extra_query` cursor starts a
listing without pinning every later page, and a price too large for a float is
refused with an error naming it.
"""

from __future__ import annotations

import pytest

from payi_async import AsyncPayi, CategoryResourceResponse
from payi_async.emulator import ThreadedPayiServer
from payi_sync import Payi

CATEGORY = "custom.attack"
PARTIAL = {"text_cached": {"input_price": 1.25e-06}}


def _seed(server: ThreadedPayiServer, count: int) -> list[str]:
    with Payi(api_key=server.api_key, base_url=server.base_url) as client:
        return [
            client.categories.resources.create(
                resource=f"m{i}", category=CATEGORY, units=PARTIAL
            ).resource
            for i in range(count)
        ]


@pytest.mark.payi_emulator(shapes="hosted")
async def test_a_body_read_inside_a_streaming_block_still_parses_after_it(
    payi_emulator: ThreadedPayiServer,
) -> None:
    _seed(payi_emulator, 1)
    async with AsyncPayi(
        api_key=payi_emulator.api_key, base_url=payi_emulator.base_url, connection_limit=1
    ) as client:
        async with client.categories.with_streaming_response.list_resources(
            category=CATEGORY
        ) as response:
            text = await response.text()
        # The vendor's response keeps what it read: json() and parse() work from it.
        assert (await response.json())["items"][0]["resource"] == "m0"
        page = await response.parse()
        assert [r.resource for r in page.items] == ["m0"]
        assert page.items[0].units["text_cached"].output_price is None
        assert await response.text() == text


@pytest.mark.payi_emulator(shapes="hosted")
def test_a_blocking_body_read_inside_the_block_still_parses_after_it(
    payi_emulator: ThreadedPayiServer,
) -> None:
    _seed(payi_emulator, 1)
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        with client.categories.resources.with_streaming_response.list(
            resource="m0", category=CATEGORY
        ) as response:
            response.read()
        page = response.parse()
        assert [r.resource for r in page] == ["m0"]
        with client.categories.with_streaming_response.list() as unread:
            pass
        # Not read inside the block: refused, and the message fits a blocking `with`.
        with pytest.raises(RuntimeError, match="block") as caught:
            unread.json()
        assert "async with" not in str(caught.value)


@pytest.mark.payi_emulator(shapes="hosted")
async def test_close_releases_a_streamed_response_early_as_the_vendors_does(
    payi_emulator: ThreadedPayiServer,
) -> None:
    _seed(payi_emulator, 1)
    async with AsyncPayi(
        api_key=payi_emulator.api_key, base_url=payi_emulator.base_url, connection_limit=1
    ) as client:
        for _ in range(5):
            async with client.categories.with_streaming_response.list() as response:
                assert not response.is_closed
                await response.close()
                assert response.is_closed
                # The one connection is free again inside the block.
                page = await client.categories.list_resources(category=CATEGORY)
                assert [r.resource for r in page.items] == ["m0"]
        raw = await client.with_raw_response.categories.list()
        await raw.close()  # already released: nothing to do, and no error
        assert raw.is_closed
        assert (await raw.parse()).items


@pytest.mark.payi_emulator(shapes="hosted")
def test_blocking_close_on_raw_and_streamed_responses(
    payi_emulator: ThreadedPayiServer,
) -> None:
    _seed(payi_emulator, 1)
    with Payi(
        api_key=payi_emulator.api_key, base_url=payi_emulator.base_url, connection_limit=1
    ) as client:
        for _ in range(5):
            with client.categories.resources.with_streaming_response.list(
                resource="m0", category=CATEGORY
            ) as response:
                response.close()
                assert response.is_closed
                assert client.categories.list().items
        raw = client.categories.with_raw_response.list()
        raw.close()
        assert raw.parse().items


@pytest.mark.payi_emulator(shapes="hosted")
async def test_an_extra_query_cursor_starts_the_listing_and_later_pages_follow_on(
    payi_emulator: ThreadedPayiServer,
) -> None:
    names = _seed(payi_emulator, 5)
    async with AsyncPayi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        first = await client.categories.list_resources(category=CATEGORY, limit=2)
        assert first.cursor is not None
        # As in the vendor's client: extra_query wins for the request it is given to,
        # and each following page is asked for at the cursor the page before gave.
        rest = [
            r.resource
            async for r in client.categories.list_resources(
                category=CATEGORY, extra_query={"cursor": first.cursor, "limit": 2}
            )
        ]
        assert [r.resource for r in first.items] + rest == names
        raw = await client.categories.with_raw_response.list_resources(
            category=CATEGORY, extra_query={"cursor": first.cursor, "limit": 2}
        )
        assert [r.resource async for r in await raw.parse()] == names[2:]


@pytest.mark.payi_emulator(shapes="hosted")
def test_a_blocking_extra_query_cursor_does_not_pin_every_page(
    payi_emulator: ThreadedPayiServer,
) -> None:
    names = _seed(payi_emulator, 5)
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        first = client.categories.resources.list(resource="m0", category=CATEGORY)
        assert len(first.items) == 1
        first = client.categories.list_resources(category=CATEGORY, limit=1)
        listed = list(
            client.categories.list_resources(
                category=CATEGORY, extra_query={"cursor": first.cursor, "limit": 1}
            )
        )
        assert [r.resource for r in listed] == names[1:]
        assert all(isinstance(r, CategoryResourceResponse) for r in listed)


@pytest.mark.payi_emulator(shapes="hosted")
async def test_a_price_too_large_for_a_float_is_refused_naming_it_before_sending(
    payi_emulator: ThreadedPayiServer,
) -> None:
    async with AsyncPayi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        with pytest.raises(ValueError, match=r"units\['text_cached'\]\.output_price"):
            await client.categories.resources.create(
                resource="m", category=CATEGORY, units={"text_cached": {"output_price": 10**400}}
            )
    assert not [r for r in payi_emulator.requests if r.method == "POST"]


@pytest.mark.payi_emulator(shapes="hosted")
def test_a_blocking_response_already_read_is_readable_after_the_client_closes(
    payi_emulator: ThreadedPayiServer,
) -> None:
    _seed(payi_emulator, 1)
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        raw = client.categories.with_raw_response.list_resources(category=CATEGORY)
        created = client.categories.resources.with_raw_response.create(
            resource="m9", category=CATEGORY, units=PARTIAL
        )
        with client.categories.with_streaming_response.list() as streamed:
            streamed.read()
        with client.categories.with_streaming_response.list() as unread:
            pass
    # As with the vendor's client, what was read stays readable once the client is gone.
    assert [r.resource for r in raw.parse().items] == ["m0"]
    assert raw.json()["items"][0]["resource"] == "m0"
    assert '"m0"' in raw.text()
    assert created.parse().units["text_cached"].input_price == 1.25e-06
    assert created.http_request.method == "POST"
    assert CATEGORY in [c.category for c in streamed.parse().items]
    with pytest.raises(RuntimeError, match="before its body was read"):
        unread.parse()
