"""The clients under test, each driven the way its documentation shows.

Every driver does the same four things: ``retrieve`` one version, fetch one ``page``
of a listing, ``iterate`` a whole listing through auto-pagination, and ``create``
versions (one call, ``create_many`` or a gather/thread-pool loop). Each returns
something derived from the answer so no work can be skipped.

The vendor's ``payi`` package is imported only inside its drivers: it is an optional
extra and the harness must import without it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import quote

__all__ = [
    "ASYNC_CLIENTS",
    "CLIENTS",
    "SYNC_CLIENTS",
    "AsyncDriver",
    "SyncDriver",
    "create_bodies",
    "make_async",
    "make_sync",
]

#: Client keys, in table order.
CLIENTS = ("payi_async", "payi_sync", "aiohttp", "vendor_async", "vendor_sync")
ASYNC_CLIENTS = ("payi_async", "aiohttp", "vendor_async")
SYNC_CLIENTS = ("payi_sync", "vendor_sync")

_ROOT = "/api/v1/categories"


def create_bodies(count: int, category: str = "bench.create") -> list[dict[str, Any]]:
    """``count`` create arguments, as keyword arguments of ``resources.create``."""
    return [
        {
            "resource": f"model-{i}",
            "category": category,
            "units": {"text": {"input_price": 1e-06, "output_price": 2e-06}},
            "max_input_units": 128000,
            "max_output_units": 4096,
        }
        for i in range(count)
    ]


class AsyncDriver(Protocol):
    """An async client under test."""

    async def retrieve(self, resource_id: str, category: str, resource: str) -> str: ...
    async def page(self, category: str, resource: str) -> int: ...
    async def iterate(self, category: str, resource: str) -> int: ...
    async def create(self, body: Mapping[str, Any]) -> str: ...
    async def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int: ...
    async def close(self) -> None: ...


class SyncDriver(Protocol):
    """A blocking client under test."""

    def retrieve(self, resource_id: str, category: str, resource: str) -> str: ...
    def page(self, category: str, resource: str) -> int: ...
    def iterate(self, category: str, resource: str) -> int: ...
    def create(self, body: Mapping[str, Any]) -> str: ...
    def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int: ...
    def close(self) -> None: ...


async def gather_creates(
    driver: AsyncDriver, bodies: Sequence[Mapping[str, Any]], concurrency: int
) -> int:
    """The hand-written loop: one task per item, a semaphore for the concurrency."""
    gate = asyncio.Semaphore(concurrency)

    async def one(body: Mapping[str, Any]) -> str:
        async with gate:
            return await driver.create(body)

    done = await asyncio.gather(*(one(b) for b in bodies))
    return len(done)


def thread_creates(
    driver: SyncDriver, bodies: Sequence[Mapping[str, Any]], concurrency: int
) -> int:
    """The blocking equivalent: a thread pool of ``concurrency`` workers."""
    with ThreadPoolExecutor(concurrency) as pool:
        return sum(1 for _ in pool.map(driver.create, bodies))


# ------------------------------------------------------------------ this SDK


class PayiAsyncDriver:
    def __init__(self, base_url: str, api_key: str) -> None:
        from payi_async import AsyncPayi

        self.client = AsyncPayi(api_key=api_key, base_url=base_url)

    async def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        got = await self.client.categories.resources.retrieve(resource_id, category, resource)
        return got.resource_id

    async def page(self, category: str, resource: str) -> int:
        page = await self.client.categories.resources.list(resource, category, limit=1000)
        return len(page.items)

    async def iterate(self, category: str, resource: str) -> int:
        count = 0
        async for item in self.client.categories.resources.list(resource, category, limit=1000):
            count += item.resource_id is not None
        return count

    async def create(self, body: Mapping[str, Any]) -> str:
        got = await self.client.categories.resources.create(**body)
        return got.resource_id

    async def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        result = await self.client.categories.resources.create_many(bodies, concurrency=concurrency)
        if result.failed:
            raise RuntimeError(f"create_many failed: {result.failed[0].message}")
        return len(result.created)

    async def close(self) -> None:
        await self.client.close()


class PayiSyncDriver:
    def __init__(self, base_url: str, api_key: str) -> None:
        from payi_sync import Payi

        self.client = Payi(api_key=api_key, base_url=base_url)

    def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        return self.client.categories.resources.retrieve(
            resource_id, category, resource
        ).resource_id

    def page(self, category: str, resource: str) -> int:
        return len(self.client.categories.resources.list(resource, category, limit=1000).items)

    def iterate(self, category: str, resource: str) -> int:
        count = 0
        for item in self.client.categories.resources.list(resource, category, limit=1000):
            count += item.resource_id is not None
        return count

    def create(self, body: Mapping[str, Any]) -> str:
        return self.client.categories.resources.create(**body).resource_id

    def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        result = self.client.categories.resources.create_many(bodies, concurrency=concurrency)
        if result.failed:
            raise RuntimeError(f"create_many failed: {result.failed[0].message}")
        return len(result.created)

    def close(self) -> None:
        self.client.close()


class HandoffDriver:
    """``AsyncPayi`` on one loop thread, each blocking call handed over with a bare
    ``asyncio.run_coroutine_threadsafe``: no asgiref, no portal. The floor of any bridge
    that runs a blocking caller's coroutine on a loop in another thread (two thread
    wake-ups per call), measured to show what ``Payi``'s thread pool can reach."""

    def __init__(self, base_url: str, api_key: str) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def make() -> PayiAsyncDriver:
            return PayiAsyncDriver(base_url, api_key)

        self.inner = asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        return str(self._call(self.inner.retrieve(resource_id, category, resource)))

    def page(self, category: str, resource: str) -> int:
        return int(self._call(self.inner.page(category, resource)))

    def iterate(self, category: str, resource: str) -> int:
        return int(self._call(self.inner.iterate(category, resource)))

    def create(self, body: Mapping[str, Any]) -> str:
        return str(self._call(self.inner.create(body)))

    def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        return thread_creates(self, bodies, concurrency)

    def close(self) -> None:
        self._call(self.inner.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


# ------------------------------------------------------------------ the floor


class AiohttpDriver:
    """A bare ``aiohttp.ClientSession`` with ``json.loads``: no checks, no models."""

    def __init__(self, base_url: str, api_key: str) -> None:
        import aiohttp

        self.base = base_url.rstrip("/") + _ROOT
        self.session = aiohttp.ClientSession(
            headers={"xProxy-api-key": api_key, "Accept": "application/json"}
        )

    async def _get(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        async with self.session.get(url, params=params) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {url} -> {resp.status}")
        return json.loads(raw)

    async def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        url = (
            f"{self.base}/{quote(category, safe='')}/resources/"
            f"{quote(resource, safe='')}/{quote(resource_id, safe='')}"
        )
        data = await self._get(url)
        return str(data["resource_id"])

    def _list_url(self, category: str, resource: str) -> str:
        return f"{self.base}/{quote(category, safe='')}/resources/{quote(resource, safe='')}"

    async def page(self, category: str, resource: str) -> int:
        data = await self._get(self._list_url(category, resource), {"limit": "1000"})
        return len(data["items"] or ())

    async def iterate(self, category: str, resource: str) -> int:
        url = self._list_url(category, resource)
        params = {"limit": "1000"}
        count = 0
        while True:
            data = await self._get(url, params)
            for item in data["items"] or ():
                count += item["resource_id"] is not None
            cursor = data.get("cursor")
            if not cursor:
                return count
            params = {"limit": "1000", "cursor": cursor}

    async def create(self, body: Mapping[str, Any]) -> str:
        fields = {k: v for k, v in body.items() if k not in ("resource", "category")}
        url = self._list_url(body["category"], body["resource"])
        async with self.session.post(
            url, data=json.dumps(fields), headers={"Content-Type": "application/json"}
        ) as resp:
            raw = await resp.read()
            if resp.status not in (200, 201):
                raise RuntimeError(f"POST {url} -> {resp.status}")
        return str(json.loads(raw)["resource_id"])

    async def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        return await gather_creates(self, bodies, concurrency)

    async def close(self) -> None:
        await self.session.close()


# ------------------------------------------------------------------ the vendor's SDK


class VendorAsyncDriver:
    """The vendor's ``payi.AsyncPayi`` (httpx + pydantic)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        import payi

        self.client: Any = payi.AsyncPayi(api_key=api_key, base_url=base_url)

    async def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        got = await self.client.categories.resources.retrieve(
            resource_id, category=category, resource=resource
        )
        return str(got.resource_id)

    async def page(self, category: str, resource: str) -> int:
        page = await self.client.categories.resources.list(resource, category=category, limit=1000)
        return len(page.items)

    async def iterate(self, category: str, resource: str) -> int:
        count = 0
        pager = self.client.categories.resources.list(resource, category=category, limit=1000)
        async for item in pager:
            count += item.resource_id is not None
        return count

    async def create(self, body: Mapping[str, Any]) -> str:
        kwargs = dict(body)
        got = await self.client.categories.resources.create(
            kwargs.pop("resource"), category=kwargs.pop("category"), **kwargs
        )
        return str(got.resource_id)

    async def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        return await gather_creates(self, bodies, concurrency)

    async def close(self) -> None:
        await self.client.close()


class VendorSyncDriver:
    """The vendor's ``payi.Payi`` (httpx + pydantic)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        import payi

        self.client: Any = payi.Payi(api_key=api_key, base_url=base_url)

    def retrieve(self, resource_id: str, category: str, resource: str) -> str:
        got = self.client.categories.resources.retrieve(
            resource_id, category=category, resource=resource
        )
        return str(got.resource_id)

    def page(self, category: str, resource: str) -> int:
        page = self.client.categories.resources.list(resource, category=category, limit=1000)
        return len(page.items)

    def iterate(self, category: str, resource: str) -> int:
        count = 0
        for item in self.client.categories.resources.list(resource, category=category, limit=1000):
            count += item.resource_id is not None
        return count

    def create(self, body: Mapping[str, Any]) -> str:
        kwargs = dict(body)
        got = self.client.categories.resources.create(
            kwargs.pop("resource"), category=kwargs.pop("category"), **kwargs
        )
        return str(got.resource_id)

    def create_many(self, bodies: Sequence[Mapping[str, Any]], concurrency: int) -> int:
        return thread_creates(self, bodies, concurrency)

    def close(self) -> None:
        self.client.close()


def make_async(client: str, base_url: str, api_key: str) -> AsyncDriver:
    """An async driver; call inside the event loop that will use it."""
    kinds: dict[str, Callable[[str, str], AsyncDriver]] = {
        "payi_async": PayiAsyncDriver,
        "aiohttp": AiohttpDriver,
        "vendor_async": VendorAsyncDriver,
    }
    return kinds[client](base_url, api_key)


def make_sync(client: str, base_url: str, api_key: str) -> SyncDriver:
    """A blocking driver."""
    kinds: dict[str, Callable[[str, str], SyncDriver]] = {
        "payi_sync": PayiSyncDriver,
        "handoff": HandoffDriver,
        "vendor_sync": VendorSyncDriver,
    }
    return kinds[client](base_url, api_key)
