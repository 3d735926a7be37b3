"""Cursor pages: order, laziness, the ways to walk them and the guards."""

from __future__ import annotations

from typing import Any

import pytest
from aioresponses import aioresponses

from payi_async import (
    AsyncCursorPage,
    AsyncPager,
    AsyncPayi,
    CategoryResourceResponse,
    CategoryResponse,
    RepeatedCursorError,
)
from tests.support import BASE, calls, resource_json

ROOT = f"{BASE}/api/v1/categories"


def cat(name: str) -> dict[str, Any]:
    return {"category": name, "category_type": "custom"}


def three_pages(api: aioresponses, url: str = ROOT, query: str = "") -> None:
    sep = "&" if query else ""
    api.get(f"{url}?{query}", payload={"items": [cat("a"), cat("b")], "cursor": "c1"})
    api.get(f"{url}?{query}{sep}cursor=c1", payload={"items": [cat("c"), cat("d")], "cursor": "c2"})
    api.get(f"{url}?{query}{sep}cursor=c2", payload={"items": [cat("e")], "cursor": None})


def cursors_sent(api: aioresponses) -> list[str | None]:
    return [url.query.get("cursor") for _, url, _ in calls(api)]


async def test_async_for_on_the_list_call_walks_three_pages_in_order(
    api: aioresponses, client: AsyncPayi
) -> None:
    three_pages(api, query="limit=2")
    names = [c.category async for c in client.categories.list(limit=2)]
    assert names == ["a", "b", "c", "d", "e"]
    assert cursors_sent(api) == [None, "c1", "c2"]
    for _, url, _ in calls(api):
        assert url.query["limit"] == "2"


async def test_pages_are_fetched_lazily(api: aioresponses, client: AsyncPayi) -> None:
    three_pages(api)
    items = client.categories.list().__aiter__()
    assert calls(api) == []  # nothing is sent before the first item is asked for
    assert (await items.__anext__()).category == "a"
    assert len(calls(api)) == 1
    assert (await items.__anext__()).category == "b"
    assert len(calls(api)) == 1  # the first page is used up, but nobody asked for more
    assert (await items.__anext__()).category == "c"
    assert len(calls(api)) == 2
    assert (await items.__anext__()).category == "d"
    assert (await items.__anext__()).category == "e"
    assert len(calls(api)) == 3
    with pytest.raises(StopAsyncIteration):
        await items.__anext__()
    assert len(calls(api)) == 3


async def test_async_for_on_a_page_walks_it_and_the_following_pages(
    api: aioresponses, client: AsyncPayi
) -> None:
    three_pages(api)
    first = await client.categories.list()
    assert len(calls(api)) == 1
    names = [c.category async for c in first]
    assert names == ["a", "b", "c", "d", "e"]
    assert len(calls(api)) == 3


async def test_await_gives_the_first_page_and_get_next_page_the_rest(
    api: aioresponses, client: AsyncPayi
) -> None:
    three_pages(api)
    pager = client.categories.list()
    assert isinstance(pager, AsyncPager)
    first = await pager
    assert isinstance(first, AsyncCursorPage)
    assert [c.category for c in first.items] == ["a", "b"]
    assert all(isinstance(c, CategoryResponse) for c in first.items)
    assert first.cursor == "c1"
    assert first.has_next_page()

    second = await first.get_next_page()
    assert [c.category for c in second.items] == ["c", "d"]
    assert second.has_next_page()
    third = await second.get_next_page()
    assert [c.category for c in third.items] == ["e"]
    assert third.cursor is None
    assert not third.has_next_page()
    with pytest.raises(RuntimeError, match="last page"):
        await third.get_next_page()
    assert len(calls(api)) == 3


async def test_iter_pages_from_the_pager_and_from_a_page(
    api: aioresponses, client: AsyncPayi
) -> None:
    three_pages(api)
    pages = [page async for page in client.categories.list().iter_pages()]
    assert [[c.category for c in p.items] for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert [p.cursor for p in pages] == ["c1", "c2", None]

    three_pages(api)
    first = await client.categories.list()
    again = [page async for page in first.iter_pages()]
    assert again[0] is first
    assert [len(p.items) for p in again] == [2, 2, 1]


async def test_an_empty_page_with_a_cursor_is_not_the_end(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ROOT, payload={"items": [cat("a")], "cursor": "c1"})
    api.get(f"{ROOT}?cursor=c1", payload={"items": [], "cursor": "c2"})
    api.get(f"{ROOT}?cursor=c2", payload={"items": None, "cursor": "c3"})
    api.get(f"{ROOT}?cursor=c3", payload={"items": [cat("z")], "cursor": ""})
    names = [c.category async for c in client.categories.list()]
    assert names == ["a", "z"]
    assert cursors_sent(api) == [None, "c1", "c2", "c3"]


@pytest.mark.parametrize("last", [{"cursor": None}, {"cursor": ""}, {}])
async def test_a_missing_null_or_empty_cursor_ends_the_listing(
    api: aioresponses, client: AsyncPayi, last: dict[str, Any]
) -> None:
    api.get(ROOT, payload={"items": [cat("a")], **last})
    first = await client.categories.list()
    assert first.cursor is None
    assert not first.has_next_page()
    assert [c.category async for c in first] == ["a"]
    assert len(calls(api)) == 1


async def test_a_repeated_cursor_raises_instead_of_looping(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ROOT, payload={"items": [cat("a")], "cursor": "c1"})
    api.get(f"{ROOT}?cursor=c1", payload={"items": [cat("b")], "cursor": "c2"})
    api.get(f"{ROOT}?cursor=c2", payload={"items": [cat("c")], "cursor": "c1"})
    seen: list[str] = []

    async def walk() -> None:
        async for c in client.categories.list():
            seen.append(c.category)

    with pytest.raises(RepeatedCursorError) as caught:
        await walk()
    assert seen == ["a", "b", "c"]
    assert caught.value.cursor == "c1"
    assert "c1" in str(caught.value)
    assert len(calls(api)) == 3


async def test_a_page_handing_back_its_own_cursor_raises(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ROOT, payload={"items": [cat("a")], "cursor": "same"})
    api.get(f"{ROOT}?cursor=same", payload={"items": [cat("b")], "cursor": "same"})
    first = await client.categories.list()
    second = await first.get_next_page()
    with pytest.raises(RepeatedCursorError):
        await second.get_next_page()
    assert len(calls(api)) == 2


async def test_a_starting_cursor_counts_as_seen(api: aioresponses, client: AsyncPayi) -> None:
    api.get(f"{ROOT}?cursor=start", payload={"items": [cat("a")], "cursor": "start"})
    with pytest.raises(RepeatedCursorError):
        [c async for c in client.categories.list(cursor="start")]
    assert cursors_sent(api) == ["start"]


async def test_get_next_page_twice_on_one_page_refetches(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ROOT, payload={"items": [cat("a")], "cursor": "c1"})
    api.get(f"{ROOT}?cursor=c1", payload={"items": [cat("b")], "cursor": None}, repeat=True)
    first = await client.categories.list()
    assert [c.category for c in (await first.get_next_page()).items] == ["b"]
    assert [c.category for c in (await first.get_next_page()).items] == ["b"]


async def test_list_resources_pages_keep_path_limit_and_sort(
    api: aioresponses, client: AsyncPayi
) -> None:
    url = f"{ROOT}/system.openai/resources"
    api.get(
        f"{url}?limit=1&sort_ascending=false",
        payload={"items": [resource_json(resource_id="v1")], "cursor": "n1"},
    )
    api.get(
        f"{url}?limit=1&sort_ascending=false&cursor=n1",
        payload={"items": [resource_json(resource_id="v2")], "cursor": None},
    )
    got = [
        r.resource_id
        async for r in client.categories.list_resources(
            "system.openai", limit=1, sort_ascending=False
        )
    ]
    assert got == ["v1", "v2"]
    for _, seen_url, _ in calls(api):
        assert seen_url.path == "/api/v1/categories/system.openai/resources"
        assert seen_url.query["sort_ascending"] == "false"


async def test_resources_list_pages_and_extra_headers_on_every_page(
    api: aioresponses, client: AsyncPayi
) -> None:
    url = f"{ROOT}/system.openai/resources/gpt-4"
    api.get(url, payload={"items": [resource_json(resource_id="v1")], "cursor": "n1"})
    api.get(f"{url}?cursor=n1", payload={"items": [resource_json(resource_id="v2")]})
    pager = client.categories.resources.list(
        "gpt-4", "system.openai", extra_headers={"X-Trace": "t"}, timeout=9
    )
    items = [r async for r in pager]
    assert [r.resource_id for r in items] == ["v1", "v2"]
    assert all(type(r) is CategoryResourceResponse for r in items)
    for _, _, call in calls(api):
        assert call.kwargs["headers"]["X-Trace"] == "t"
        assert call.kwargs["timeout"].sock_read == 9


async def test_a_pager_can_be_walked_twice(api: aioresponses, client: AsyncPayi) -> None:
    three_pages(api)
    three_pages(api)
    pager = client.categories.list()
    first = [c.category async for c in pager]
    second = [c.category async for c in pager]
    assert first == second == ["a", "b", "c", "d", "e"]
    assert len(calls(api)) == 6
