"""payi_sync.Payi against the emulator over a real socket."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest

import payi_sync
from payi_async.emulator import ThreadedPayiServer
from payi_sync import (
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    NotFoundError,
    Payi,
    SyncCursorPage,
)

UNITS = {"text": {"input_price": 0.000015, "output_price": 0.000075}}


@pytest.fixture
def client(payi_emulator: ThreadedPayiServer) -> Any:
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as c:
        yield c


def test_the_seed_examples_run_as_written(client: Payi, capsys: pytest.CaptureFixture[str]) -> None:
    # categories.list()
    categories = client.categories.list()
    names = [category.category for category in categories]
    assert "system.openai" in names

    # categories.resources.create()
    response = client.categories.resources.create(
        resource="my_custom_model",
        category="custom.my_category",
        units={"text": {"input_price": 0.000015, "output_price": 0.000075}},
        max_input_units=16000,
        max_output_units=4000,
        start_timestamp=datetime.now(timezone.utc),
    )
    assert isinstance(response, CategoryResourceResponse)
    assert response.units["text"].output_price == pytest.approx(0.000075)

    # the custom-category example
    fine_tuned = client.categories.resources.create(
        resource="my_fine_tuned_model",
        category="custom.my_models",
        units={"text": {"input_price": 0.00002, "output_price": 0.00008}},
        max_input_units=50000,
    )
    assert fine_tuned.max_input_units == 50000

    # categories.list_resources()
    resources = client.categories.list_resources(category="system.openai")
    assert "gpt-4o" in [resource.resource for resource in resources]

    # categories.resources.retrieve() with the seed's placeholder id
    with pytest.raises(NotFoundError):
        client.categories.resources.retrieve(
            resource_id="resource123abc", category="system.openai", resource="gpt-4o"
        )
    got = client.categories.resources.retrieve(
        resource_id=response.resource_id, category="custom.my_category", resource="my_custom_model"
    )
    assert got == response

    # categories.resources.list()
    versions = client.categories.resources.list(resource="gpt-4o", category="system.openai")
    assert len([v.resource_id for v in versions]) >= 1

    # categories.resources.delete() with the seed's placeholder id, then a real one
    with pytest.raises(NotFoundError):
        client.categories.resources.delete(
            resource_id="resource456def", category="custom.my_category", resource="my_custom_model"
        )
    deleted = client.categories.resources.delete(
        resource_id=response.resource_id, category="custom.my_category", resource="my_custom_model"
    )
    assert deleted.resource_id == response.resource_id

    # categories.delete_resource()
    result = client.categories.delete_resource(
        category="custom.my_models", resource="my_fine_tuned_model"
    )
    assert isinstance(result, CategoryDeleteResourceResponse) and result.request_id

    # categories.delete()
    client.categories.resources.create(
        resource="my_custom_model", category="custom.my_category", units=UNITS
    )
    gone = client.categories.delete(category="custom.my_category")
    assert isinstance(gone, CategoryDeleteResponse) and gone.request_id
    assert "custom.my_category" not in [c.category for c in client.categories.list()]


def test_pages_stream_lazily_across_pages(client: Payi, payi_emulator: ThreadedPayiServer) -> None:
    for i in range(7):
        client.categories.resources.create(
            resource=f"model-{i}", category="custom.paged", units=UNITS
        )
    page = client.categories.list_resources(category="custom.paged", limit=3)
    assert isinstance(page, SyncCursorPage)
    assert len(page.items) == 3 and page.has_next_page()
    before = payi_emulator.request_count
    walked = iter(page)
    first_three = [next(walked).resource for _ in range(3)]
    assert payi_emulator.request_count == before  # nothing fetched yet
    rest = [r.resource for r in walked]
    assert first_three + rest == [f"model-{i}" for i in range(7)]
    assert payi_emulator.request_count == before + 2
    pages = list(page.iter_pages())
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert not pages[-1].has_next_page()


def test_sequential_calls_reuse_one_connection(
    client: Payi, payi_emulator: ThreadedPayiServer
) -> None:
    client.categories.list(limit=1)
    before = payi_emulator.connections_accepted
    for _ in range(200):
        client.categories.list(limit=1)
    assert payi_emulator.connections_accepted - before <= 2


def test_one_client_shared_by_sixteen_threads(client: Payi) -> None:
    def work(n: int) -> list[str]:
        out = []
        for i in range(50):
            if i % 10 == 0:
                made = client.categories.resources.create(
                    resource=f"t{n}-{i}", category="custom.threads", units=UNITS
                )
                out.append(made.resource)
            else:
                page = client.categories.list(limit=2)
                assert page.items
        return out

    with ThreadPoolExecutor(16) as pool:
        made = [name for names in pool.map(work, range(16)) for name in names]
    listed = sorted(r.resource for r in client.categories.list_resources("custom.threads"))
    assert listed == sorted(made) and len(made) == 16 * 5


def test_works_where_an_event_loop_is_already_running(client: Payi) -> None:
    async def cell() -> list[str]:
        return [c.category for c in client.categories.list().items]

    assert "system.openai" in asyncio.run(asyncio.wait_for(cell(), timeout=20))


def test_with_options_shares_the_pool(client: Payi, payi_emulator: ThreadedPayiServer) -> None:
    quick = client.with_options(timeout=5, max_retries=0)
    assert quick.max_retries == 0 and client.max_retries == 2
    client.categories.list()
    before = payi_emulator.connections_accepted
    quick.categories.list()
    assert payi_emulator.connections_accepted == before


def test_close_is_idempotent_and_use_after_close_is_clear(
    payi_emulator: ThreadedPayiServer,
) -> None:
    client = Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url)
    client.categories.list()
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.categories.list()


def test_repr_never_shows_the_key(payi_emulator: ThreadedPayiServer) -> None:
    with Payi(api_key="canary-sync-key-123", base_url=payi_emulator.base_url) as client:
        assert "canary-sync-key-123" not in repr(client)
        assert repr(client).startswith("Payi(")


def test_a_collected_unclosed_client_warns_and_leaves_no_thread(
    payi_emulator: ThreadedPayiServer,
) -> None:
    client = Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url)
    client.categories.list()
    thread = client._portal._thread
    assert thread is not None and thread.is_alive()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert any("was not closed" in str(w.message) for w in caught)
    assert not thread.is_alive()
    assert "payi-sync-loop" not in [t.name for t in threading.enumerate()]


def test_validation_happens_before_any_request(
    client: Payi, payi_emulator: ThreadedPayiServer
) -> None:
    before = payi_emulator.request_count
    with pytest.raises(ValueError, match="category"):
        client.categories.delete(category="")
    with pytest.raises(ValueError, match="limit"):
        client.categories.list(limit=0)
    assert payi_emulator.request_count == before


def test_module_exports_match_the_async_core() -> None:
    import payi_async

    shared = {n for n in payi_async.__all__ if not n.startswith("Async")}
    assert shared <= set(payi_sync.__all__)


def test_create_many_reads_items_and_reports_progress_on_the_loop_thread(client: Payi) -> None:
    # What the blocking create_many's docstring promises.
    where: set[str] = set()

    def rows() -> Any:
        for i in range(3):
            where.add(threading.current_thread().name)
            yield {"resource": f"m-{i}", "category": "custom.threads", "units": UNITS}

    def progress(_: Any) -> None:
        where.add(threading.current_thread().name)

    result = client.categories.resources.create_many(rows(), on_progress=progress)
    assert len(result.created) == 3
    assert where == {"payi-sync-loop"}


def test_a_blocking_walk_refuses_a_repeated_cursor() -> None:
    from payi_async import AsyncCursorPage
    from payi_sync._portal import Portal

    answers = {None: (["a"], "c1"), "c1": (["b"], "c2"), "c2": (["c"], "c1")}
    fetched: list[str | None] = []

    async def fetch(at: str | None) -> AsyncCursorPage[str]:
        fetched.append(at)
        items, cursor = answers[at]
        return AsyncCursorPage(items, cursor, None, fetch, at)

    portal = Portal()
    seen: list[str] = []

    def walk() -> None:
        page = SyncCursorPage(portal, portal.call(fetch, None))
        seen.extend(page)

    try:
        with pytest.raises(payi_sync.RepeatedCursorError, match="c1"):
            walk()
    finally:
        portal.shutdown()
    assert seen == ["a", "b", "c"]
    assert fetched == [None, "c1", "c2"]


def test_the_async_page_keeps_its_walk_private() -> None:
    from payi_async import AsyncCursorPage

    public = {n for n in dir(AsyncCursorPage) if not n.startswith("_")}
    assert public == {
        "cursor",
        "items",
        "request_id",
        "has_next_page",
        "get_next_page",
        "iter_pages",
    }
