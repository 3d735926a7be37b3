"""The SDK (payi_async) against the emulator over a real socket: every method, the
errors it documents, and its retries meeting each injected fault."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from payi_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncPayi,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from payi_async.emulator import LocalPayiServer, Shapes

UNITS = {"text": {"input_price": 0.000003, "output_price": 0.000015}}


def _sdk(server: LocalPayiServer, **options: Any) -> AsyncPayi:
    return AsyncPayi(api_key=server.api_key, base_url=server.base_url, **options)


@pytest.fixture(params=["seed", "hosted"])
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[LocalPayiServer]:
    shapes: Shapes = request.param
    async with LocalPayiServer(shapes=shapes) as server:
        yield server


@pytest.fixture
async def client(emulator: LocalPayiServer) -> AsyncIterator[AsyncPayi]:
    async with AsyncPayi(api_key=emulator.api_key, base_url=emulator.base_url) as sdk:
        yield sdk


async def test_every_method_in_one_life_cycle(client: AsyncPayi) -> None:
    resources = client.categories.resources
    category, name = "custom.sdk", "anthropic.claude-3-5-sonnet-20240620-v1:0/ft 1"
    v1 = await resources.create(resource=name, category=category, units=UNITS, max_input_units=1000)
    v2 = await resources.create(
        resource=name, category=category, units=UNITS, start_timestamp="2030-01-01T00:00:00Z"
    )
    assert (v1.category, v1.resource, v1.max_input_units) == (category, name, 1000)
    assert v1.units["text"].output_price == 0.000015
    got = await resources.retrieve(resource_id=v1.resource_id, category=category, resource=name)
    assert got.resource_id == v1.resource_id
    versions = [v.resource_id async for v in resources.list(resource=name, category=category)]
    assert versions == [v1.resource_id, v2.resource_id]
    heads = [r async for r in client.categories.list_resources(category=category)]
    assert [(h.resource, h.resource_id) for h in heads] == [(name, v2.resource_id)]
    assert category in [c.category async for c in client.categories.list()]

    deleted = await resources.delete(resource_id=v1.resource_id, category=category, resource=name)
    assert deleted.resource_id == v1.resource_id
    with pytest.raises(NotFoundError):
        await resources.retrieve(resource_id=v1.resource_id, category=category, resource=name)
    versions = [v.resource_id async for v in resources.list(resource=name, category=category)]
    assert versions == [v2.resource_id]

    gone = await client.categories.delete_resource(resource=name, category=category)
    assert gone.request_id
    with pytest.raises(NotFoundError):
        await resources.list(resource=name, category=category)
    assert [r async for r in client.categories.list_resources(category=category)] == []

    await resources.create(resource="other", category=category, units=UNITS)
    dropped = await client.categories.delete(category=category)
    assert dropped.request_id
    assert category not in [c.category async for c in client.categories.list()]
    with pytest.raises(NotFoundError):
        await client.categories.list_resources(category=category)


@pytest.mark.parametrize("ascending", [True, False])
async def test_pagination_across_pages(client: AsyncPayi, ascending: bool) -> None:
    names = [f"m{n:02d}" for n in range(23)]
    await asyncio.gather(
        *(
            client.categories.resources.create(resource=n, category="custom.pages", units=UNITS)
            for n in names
        )
    )
    first = await client.categories.list_resources(
        category="custom.pages", limit=5, sort_ascending=ascending
    )
    assert len(first.items) == 5
    assert first.has_next_page()
    pages = [page async for page in first.iter_pages()]
    assert [len(p.items) for p in pages] == [5, 5, 5, 5, 3]
    seen = [item.resource for page in pages for item in page.items]
    assert seen == sorted(names, reverse=not ascending)
    every = [
        r.resource
        async for r in client.categories.list_resources(
            category="custom.pages", limit=4, sort_ascending=ascending
        )
    ]
    assert every == seen
    second = await first.get_next_page()
    assert [i.resource for i in second.items] == seen[5:10]


async def test_system_categories_are_protected(client: AsyncPayi) -> None:
    with pytest.raises(PermissionDeniedError):
        await client.categories.resources.create(
            resource="mine", category="system.openai", units=UNITS
        )
    with pytest.raises(PermissionDeniedError):
        await client.categories.delete(category="system.openai")
    with pytest.raises(PermissionDeniedError):
        await client.categories.delete_resource(resource="gpt-4o", category="system.openai")
    models = [r.resource async for r in client.categories.list_resources(category="system.openai")]
    assert "gpt-4o" in models


async def test_bad_cursor_and_unknown_names(client: AsyncPayi) -> None:
    with pytest.raises(BadRequestError):
        await client.categories.list(cursor="not-a-cursor")
    with pytest.raises(NotFoundError):
        await client.categories.delete(category="custom.never")
    with pytest.raises(NotFoundError):
        await client.categories.resources.retrieve(
            resource_id="rsrc_x", category="system.openai", resource="gpt-4o"
        )


async def test_wrong_key_is_authentication_error(emulator: LocalPayiServer) -> None:
    async with AsyncPayi(api_key="wrong", base_url=emulator.base_url) as sdk:
        with pytest.raises(AuthenticationError) as caught:
            await sdk.categories.list()
    assert caught.value.status_code == 401
    assert caught.value.request_id == emulator.requests[-1].request_id


async def test_64_concurrent_creates(client: AsyncPayi, emulator: LocalPayiServer) -> None:
    made = await asyncio.gather(
        *(
            client.categories.resources.create(
                resource=f"r{n % 4}", category="custom.crowd", units=UNITS
            )
            for n in range(64)
        )
    )
    assert len({m.resource_id for m in made}) == 64
    listed = [
        v.resource_id
        for n in range(4)
        async for v in client.categories.resources.list(
            resource=f"r{n}", category="custom.crowd", limit=7
        )
    ]
    assert sorted(listed) == sorted(m.resource_id for m in made)


async def test_sequential_calls_reuse_connections(
    client: AsyncPayi, emulator: LocalPayiServer
) -> None:
    for _ in range(200):
        await client.categories.list(limit=1)
    assert emulator.connections_accepted <= 2


# ---------------------------------------------------------------- faults


async def test_server_error_then_success_is_retried(
    client: AsyncPayi, emulator: LocalPayiServer
) -> None:
    emulator.set_faults(error_rate=1.0, error_statuses=(503,), retry_after=0.01, max_faults=2)
    page = await client.categories.list()
    assert len(page.items) == 5
    assert emulator.fault_counts == {"error": 2}
    assert [r.status for r in emulator.requests] == [503, 503, 200]


async def test_server_errors_beyond_retries_raise(emulator: LocalPayiServer) -> None:
    emulator.set_faults(error_rate=1.0, error_statuses=(500,))
    async with AsyncPayi(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0
    ) as sdk:
        with pytest.raises(InternalServerError) as caught:
            await sdk.categories.list()
    assert caught.value.status_code == 500
    assert emulator.request_count == 1


async def test_rate_limit_is_retried_after_retry_after(
    client: AsyncPayi, emulator: LocalPayiServer
) -> None:
    emulator.set_faults(rate_limit_rate=1.0, retry_after=0.02, max_faults=1)
    assert len((await client.categories.list()).items) == 5
    assert emulator.fault_counts == {"rate_limit": 1}


async def test_rate_limit_error_carries_retry_after(emulator: LocalPayiServer) -> None:
    emulator.set_faults(request_budget=0, retry_after=7)
    async with AsyncPayi(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0
    ) as sdk:
        with pytest.raises(RateLimitError) as caught:
            await sdk.categories.list()
    assert caught.value.retry_after == 7


async def test_dropped_connection_is_retried(client: AsyncPayi, emulator: LocalPayiServer) -> None:
    emulator.set_faults(drop_rate=1.0, max_faults=1)
    assert len((await client.categories.list()).items) == 5
    assert emulator.fault_counts == {"drop": 1}


async def test_dropped_connection_without_retries_is_connection_error(
    emulator: LocalPayiServer,
) -> None:
    emulator.set_faults(drop_rate=1.0)
    async with AsyncPayi(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0
    ) as sdk:
        with pytest.raises(APIConnectionError):
            await sdk.categories.resources.create(resource="r", category="custom.drop", units=UNITS)
    emulator.clear_faults()
    assert await emulator.store.count_versions() == 18  # dropped before the write


async def test_latency_beyond_timeout_is_timeout_error(emulator: LocalPayiServer) -> None:
    emulator.set_faults(latency=0.4)
    async with AsyncPayi(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0, timeout=0.1
    ) as sdk:
        with pytest.raises(APITimeoutError):
            await sdk.categories.list()


@pytest.mark.parametrize("mode", ["503", "drop"])
async def test_create_failing_after_commit_is_retried_without_duplicate(
    client: AsyncPayi, emulator: LocalPayiServer, mode: str
) -> None:
    emulator.set_faults(
        fail_after_commit_rate=1.0, fail_after_commit_mode=mode, retry_after=0.01, max_faults=1
    )
    made = await client.categories.resources.create(
        resource="once", category="custom.commit", units=UNITS
    )
    assert emulator.fault_counts == {"after_commit": 1}
    posts = [r for r in emulator.requests if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0].idempotency_key is not None
    assert posts[0].idempotency_key == posts[1].idempotency_key
    versions = [
        v.resource_id
        async for v in client.categories.resources.list(resource="once", category="custom.commit")
    ]
    assert versions == [made.resource_id]


async def test_idempotent_create_with_caller_key(
    client: AsyncPayi, emulator: LocalPayiServer
) -> None:
    headers = {"Idempotency-Key": "caller-chosen"}
    first = await client.categories.resources.create(
        resource="r", category="custom.key", units=UNITS, extra_headers=headers
    )
    again = await client.categories.resources.create(
        resource="r", category="custom.key", units=UNITS, extra_headers=headers
    )
    assert again == first
    versions = client.categories.resources.list(resource="r", category="custom.key")
    assert [v.resource_id async for v in versions] == [first.resource_id]


async def test_data_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sdk.sqlite")
    async with LocalPayiServer(db=db) as server, _sdk(server) as sdk:
        made = await sdk.categories.resources.create(
            resource="r", category="custom.disk", units=UNITS
        )
    async with LocalPayiServer(db=db) as server, _sdk(server) as sdk:
        got = await sdk.categories.resources.retrieve(
            resource_id=made.resource_id, category="custom.disk", resource="r"
        )
    assert got == made


def test_sdk_with_the_pytest_fixture(payi_emulator_env: object) -> None:
    async def main() -> list[str]:
        async with AsyncPayi() as sdk:  # PAYI_BASE_URL / PAYI_API_KEY from the fixture
            return [c.category async for c in sdk.categories.list()]

    assert len(asyncio.run(main())) == 5


def test_demo_runs_against_the_emulator() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYI_")}
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(root / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "the local emulator at http://127.0.0.1:" in done.stdout
    assert "30 resources in 4 pages" in done.stdout
    assert "none of them ours" in done.stdout
