"""The whole categories-and-resources flow, end to end, with the async SDK.

Without ``PAYI_API_KEY`` it starts the local emulator on a free port and talks to it.
With ``PAYI_API_KEY`` (and optionally ``PAYI_BASE_URL``) set it talks to that API
instead, touching only a custom category it creates and deletes at the end.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from payi_async import AsyncPayi, NotFoundError, PermissionDeniedError
from payi_async.emulator import LocalPayiServer

RESOURCES = 30
TWICE = 5  # this many resources get a second version (a price change)


@asynccontextmanager
async def connect() -> AsyncIterator[tuple[AsyncPayi, str]]:
    """A client for the API in the environment, or for a fresh local emulator."""
    if os.environ.get("PAYI_API_KEY"):
        async with AsyncPayi() as client:
            yield client, f"the API at {client.base_url}"
        return
    async with (
        LocalPayiServer() as server,
        AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client,
    ):
        yield client, f"the local emulator at {server.base_url}"


def per_million(price: float | None) -> str:
    """A per-token price as dollars per million tokens ("-" for a unit without one)."""
    return "-" if price is None else f"${price * 1_000_000:,.3f}/M"


async def run(client: AsyncPayi, where: str) -> None:
    categories, resources = client.categories, client.categories.resources
    category = f"custom.demo-{secrets.token_hex(3)}"
    started = time.perf_counter()
    print(f"Pay-i categories and resources demo, against {where}\n")

    print("1. System category prices (system.openai):")
    async for model in categories.list_resources(category="system.openai"):
        text = model.units.get("text")
        if text is not None:
            print(
                f"   {model.resource:<28} in {per_million(text.input_price):>12}"
                f"  out {per_million(text.output_price):>12}"
            )

    print(f"\n2. Creating {RESOURCES} resources in {category} (concurrently):")
    gate = asyncio.Semaphore(8)

    async def make(n: int, price: float) -> str:
        async with gate:
            made = await resources.create(
                resource=f"model-{n:02d}",
                category=category,
                units={"text": {"input_price": price, "output_price": price * 4}},
                max_input_units=128_000,
                max_output_units=4_096,
            )
            return made.resource_id

    try:
        await asyncio.gather(*(make(n, (n + 1) / 1e7) for n in range(RESOURCES)))
        await asyncio.gather(*(make(n, (n + 1) / 2e7) for n in range(TWICE)))
        print(f"   {RESOURCES + TWICE} versions created ({TWICE} resources have 2 versions)")

        print("\n3. Paging through categories, 3 per page:")
        page_no = 0
        async for page in (await categories.list(limit=3)).iter_pages():
            page_no += 1
            print(f"   page {page_no}: {', '.join(c.category for c in page.items)}")

        print(f"\n4. Paging through {category}, 8 per page, newest name first:")
        first = await categories.list_resources(category=category, limit=8, sort_ascending=False)
        sizes = []
        async for chunk in first.iter_pages():
            sizes.append(len(chunk.items))
            print(
                f"   {chunk.items[0].resource} .. {chunk.items[-1].resource} ({len(chunk.items)})"
            )
        print(f"   {sum(sizes)} resources in {len(sizes)} pages")

        print("\n5. Versions of model-00:")
        versions = [v async for v in resources.list(resource="model-00", category=category)]
        for v in versions:
            price = per_million(v.units["text"].input_price)
            print(f"   {v.resource_id}  created {v.creation_timestamp}  input {price}")
        newest = await resources.retrieve(
            resource_id=versions[-1].resource_id, category=category, resource="model-00"
        )
        price = per_million(newest.units["text"].input_price)
        print(f"   retrieved {newest.resource_id}: the current version, input {price}")

        print("\n6. Soft deletes:")
        await resources.delete(
            resource_id=versions[0].resource_id, category=category, resource="model-00"
        )
        left = [v async for v in resources.list(resource="model-00", category=category)]
        print(f"   deleted the first version of model-00; {len(left)} version left")
        try:
            await resources.retrieve(
                resource_id=versions[0].resource_id, category=category, resource="model-00"
            )
        except NotFoundError as error:
            print(f"   retrieving it now: {error.status_code} not found, as expected")
        gone = await categories.delete_resource(resource="model-01", category=category)
        remaining = [r.resource async for r in categories.list_resources(category=category)]
        print(f"   deleted model-01 (request {gone.request_id}); {len(remaining)} resources left")
        try:
            await categories.delete(category="system.openai")
        except PermissionDeniedError as error:
            print(f"   deleting system.openai: {error.status_code} refused, as expected")
    finally:
        await categories.delete(category=category)
        print(f"\n7. Deleted {category} and all its resources.")

    listed = [c.category async for c in categories.list()]
    assert category not in listed
    elapsed = time.perf_counter() - started
    print(f"\nDone in {elapsed:.2f} s: {len(listed)} categories remain, none of them ours.")


async def main() -> int:
    """Run the demo; exit status 0 on success."""
    async with connect() as (client, where):
        await run(client, where)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
