"""Cursor pagination: both orders, page sizes, stability while others write."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import pytest

from payi_async.emulator import LocalPayiServer
from tests.support import api_url, create, get_json, list_all


@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 7, 50])
async def test_resources_pages_in_both_orders(
    server: LocalPayiServer, http: aiohttp.ClientSession, ascending: bool, limit: int
) -> None:
    names = [f"r{n:02d}" for n in range(20)]
    for name in random.Random(7).sample(names, len(names)):
        await create(http, server, "custom.p", name)
    items = await list_all(
        http,
        server,
        "custom.p",
        "resources",
        limit=str(limit),
        sort_ascending=str(ascending).lower(),
    )
    assert [i["resource"] for i in items] == sorted(names, reverse=not ascending)


@pytest.mark.parametrize("ascending", [True, False])
async def test_versions_and_categories_page_in_both_orders(
    server: LocalPayiServer, http: aiohttp.ClientSession, ascending: bool
) -> None:
    ids = [str((await create(http, server, "custom.p", "m"))["resource_id"]) for _ in range(9)]
    order = str(ascending).lower()
    versions = await list_all(
        http, server, "custom.p", "resources", "m", limit="2", sort_ascending=order
    )
    assert [v["resource_id"] for v in versions] == (ids if ascending else ids[::-1])
    categories = await list_all(http, server, limit="2", sort_ascending=order)
    names = [c["category"] for c in categories]
    assert names == sorted(names, reverse=not ascending)
    assert len(names) == 6


async def test_later_pages_keep_the_cursor_direction_without_sort_parameter(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    first = await get_json(http, api_url(server, limit="2", sort_ascending="false"))
    second = await get_json(http, api_url(server, cursor=str(first["cursor"]), limit="2"))
    names = [c["category"] for c in [*first["items"], *second["items"]]]  # type: ignore[misc]
    assert names == sorted(names, reverse=True)


async def test_last_page_has_null_cursor_even_when_exactly_full(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    page = await get_json(http, api_url(server, limit="5"))
    assert len(page["items"]) == 5  # type: ignore[arg-type]
    assert page["cursor"] is None  # type: ignore[arg-type]


@pytest.mark.parametrize("ascending", [True, False])
async def test_paging_while_others_write_never_repeats_or_skips_survivors(
    server: LocalPayiServer, http: aiohttp.ClientSession, ascending: bool
) -> None:
    rng = random.Random(42)
    survivors = [f"s{n:03d}" for n in range(0, 120, 2)]
    doomed = [f"s{n:03d}" for n in range(1, 120, 2)]
    for name in survivors + doomed:
        await create(http, server, "custom.busy", name)
    to_delete = list(doomed)
    rng.shuffle(to_delete)
    newcomers = iter(f"s{n:03d}x" for n in range(1000))

    async def churn() -> None:
        # Between two page fetches: delete some existing items and add new ones, on
        # both sides of the reader's position.
        for _ in range(3):
            if to_delete:
                name = to_delete.pop()
                async with http.delete(api_url(server, "custom.busy", "resources", name)) as r:
                    assert r.status == 200
            await create(http, server, "custom.busy", f"{rng.choice(survivors)}{next(newcomers)}")

    seen: list[str] = []
    cursor: str | None = None
    order = str(ascending).lower()
    while True:
        query = {"limit": "7", "sort_ascending": order}
        if cursor:
            query["cursor"] = cursor
        page, _ = await asyncio.gather(
            get_json(http, api_url(server, "custom.busy", "resources", **query)), churn()
        )
        seen.extend(str(item["resource"]) for item in page["items"])  # type: ignore[attr-defined]
        cursor = page["cursor"]  # type: ignore[assignment]
        if not cursor:
            break
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert set(survivors) <= set(seen), "a survivor was skipped"
    assert seen == sorted(seen, reverse=not ascending)
