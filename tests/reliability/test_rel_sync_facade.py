"""Item 10: the blocking facade under threads, inside running loops, and at exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

import payi_sync
from payi_async.emulator import ThreadedPayiServer
from tests.support import CANARY, UNITS

pytestmark = pytest.mark.timeout(60)


pytestmark = pytest.mark.payi_emulator(api_key=CANARY)


@pytest.fixture
def server(payi_emulator: ThreadedPayiServer) -> ThreadedPayiServer:
    """The plugin's emulator, accepting only the canary key (this module's marker)."""
    return payi_emulator


@pytest.fixture
def client(server: ThreadedPayiServer) -> Iterator[payi_sync.Payi]:
    with payi_sync.Payi(api_key=CANARY, base_url=server.base_url) as payi:
        yield payi


def _worker(client: payi_sync.Payi, n: int) -> list[str]:
    """50 mixed calls; returns the ids of the versions it left alive."""
    category = f"custom.thread{n}"
    res = client.categories.resources
    alive: list[str] = []
    for i in range(10):
        created = res.create(f"m{i % 3}", category, UNITS, max_input_units=i)
        got = res.retrieve(created.resource_id, category, f"m{i % 3}")
        assert got == created and got.max_input_units == i
        versions = [v.resource_id for v in res.list(f"m{i % 3}", category)]
        assert created.resource_id in versions
        names = {r.resource for r in client.categories.list_resources(category)}
        assert f"m{i % 3}" in names
        if i % 2:
            assert res.delete(created.resource_id, category, f"m{i % 3}").resource_id == (
                created.resource_id
            )
        else:
            assert any(c.category == category for c in client.categories.list())
            alive.append(created.resource_id)
    return alive


def test_eight_threads_share_one_client(client: payi_sync.Payi, server: ThreadedPayiServer) -> None:
    with ThreadPoolExecutor(8) as pool:
        alive = list(pool.map(lambda n: _worker(client, n), range(8)))
    assert server.request_count == 8 * 50
    rows = server.run(server.store.all_versions)
    live = {r.resource_id for r in rows if not r.deleted and r.category.startswith("custom.")}
    assert live == {rid for ids in alive for rid in ids}
    assert sum(r.category.startswith("custom.") for r in rows) == 8 * 10


def test_call_from_a_thread_whose_loop_is_running(client: payi_sync.Payi) -> None:
    """As in a notebook cell: blocking code inside a running loop still gets its answer."""
    outcome: list[object] = []

    async def cell() -> None:
        created = client.categories.resources.create("nb", "custom.nb", UNITS)
        outcome.append(client.categories.resources.retrieve(created.resource_id, "custom.nb", "nb"))

    thread = threading.Thread(target=lambda: asyncio.run(cell()), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the blocking call hung inside a running loop"
    assert len(outcome) == 1


async def test_sync_to_async_inside_a_running_loop(server: ThreadedPayiServer) -> None:
    client = payi_sync.Payi(api_key=CANARY, base_url=server.base_url)
    try:
        items = await asyncio.wait_for(
            sync_to_async(lambda: client.categories.list().items)(), timeout=20
        )
        assert {c.category for c in items} >= {"system.openai", "system.anthropic"}
    finally:
        await asyncio.wait_for(sync_to_async(client.close)(), timeout=20)


def test_close_twice_and_use_after_close(server: ThreadedPayiServer) -> None:
    client = payi_sync.Payi(api_key=CANARY, base_url=server.base_url)
    client.categories.list()
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.categories.list()
    with payi_sync.Payi(api_key=CANARY, base_url=server.base_url) as other:
        assert other.categories.list().items  # a fresh client works


@pytest.mark.parametrize("warnings", ["default", "always::ResourceWarning"])
def test_exit_with_an_unclosed_client_prints_at_most_a_warning(
    server: ThreadedPayiServer, warnings: str
) -> None:
    script = textwrap.dedent(
        """
        import os, payi_sync
        client = payi_sync.Payi(api_key=os.environ["KEY"], base_url=os.environ["URL"])
        print(len(client.categories.list().items))
        lingering = client.categories.resources  # still referenced at exit
        """
    )
    env = {**os.environ, "KEY": CANARY, "URL": server.base_url}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-W", warnings, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=root,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert CANARY not in done.stderr
    other_lines = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and "ResourceWarning" not in line and "warn" not in line
    ]
    assert len(other_lines) <= 1, done.stderr  # at most the warning's source line
