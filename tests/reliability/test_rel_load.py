"""Item 11: the emulator on a file database under load and faults, and killed mid-run.

Sized for the suite: 10,000 calls from 64 clients (about 10 % of the attempts meet an
injected fault). ``benchmarks/bench_load.py`` runs a larger version by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from payi_async import APIConnectionError, AsyncPayi, NotFoundError, RetryPolicy, Timeout
from payi_async.emulator import Faults, LocalPayiServer, ThreadedPayiServer
from tests.support import CANARY, UNITS

ROOT = Path(__file__).resolve().parents[2]
CALLS = 10_000
CLIENTS = 64
FAULTS = Faults(
    error_rate=0.04,
    rate_limit_rate=0.02,
    drop_rate=0.02,
    fail_after_commit_rate=0.03,
    fail_after_commit_mode="drop",
    retry_after=0.01,
    seed=7,
)


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return result
    finally:
        conn.close()


class Ledger:
    """What the clients were told: acknowledged creates and deletes, and failures."""

    def __init__(self) -> None:
        self.created: dict[tuple[str, str], str] = {}  # (category, resource) -> resource_id
        self.deleted: set[str] = set()
        self.unacknowledged: set[tuple[str, str]] = set()
        self.calls = 0


class _BriefWaits:
    """Backoffs shortened: this test is about the server's data, not the waits."""

    def time(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.02))


async def _client_run(number: int, url: str, calls: int, ledger: Ledger) -> None:
    rng = random.Random(number)
    category = f"custom.load{number % 8}"
    mine: list[tuple[str, str]] = []
    async with AsyncPayi(
        api_key=CANARY,
        base_url=url,
        max_retries=RetryPolicy(max_retries=6, clock=_BriefWaits()),
        timeout=Timeout(connect=5, read=10, pool=30),
    ) as client:
        res = client.categories.resources
        for i in range(calls):
            ledger.calls += 1
            roll = rng.random()
            if roll < 0.55 or not mine:
                name = f"c{number}-r{i}"
                try:
                    created = await res.create(name, category, UNITS, max_total_units=i)
                except APIConnectionError:
                    ledger.unacknowledged.add((category, name))
                    continue
                assert (created.category, created.resource) == (category, name)
                ledger.created[(category, name)] = created.resource_id
                mine.append((category, name))
            elif roll < 0.75:
                key = rng.choice(mine)
                rid = ledger.created[key]
                try:
                    got = await res.retrieve(rid, *key)
                except NotFoundError:
                    assert rid in ledger.deleted
                else:
                    assert got.resource_id == rid and rid not in ledger.deleted
            elif roll < 0.9:
                page = await client.categories.list_resources(category, limit=20)
                assert len(page.items) <= 20
            else:
                key = mine.pop(rng.randrange(len(mine)))
                rid = ledger.created[key]
                # A delete whose answer was lost after it was committed is retried
                # with the same Idempotency-Key and answered as the first attempt was.
                deleted = await res.delete(rid, *key)
                assert deleted.resource_id == rid
                ledger.deleted.add(rid)


@pytest.mark.timeout(120)
def test_emulator_under_load_with_faults_loses_and_duplicates_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "load.sqlite3"
    ledger = Ledger()
    with ThreadedPayiServer(api_key=CANARY, db=str(db), faults=FAULTS) as server:

        async def main() -> None:
            per_client = CALLS // CLIENTS
            await asyncio.gather(
                *(_client_run(n, server.base_url, per_client, ledger) for n in range(CLIENTS))
            )

        asyncio.run(main())
        counts = server.fault_counts
        records = server.requests
        rows = server.run(server.store.all_versions)
    assert ledger.calls == (CALLS // CLIENTS) * CLIENTS
    assert sum(counts.values()) >= 0.05 * ledger.calls, counts
    # Every 5xx the server sent was one it was told to inject: none in its request log
    # (the last 10,000 attempts) and no handler crash (each one is logged) at all.
    assert [r for r in records if r.status is not None and r.status >= 500 and not r.fault] == []
    logs: list[str] = request.getfixturevalue("_canary_never_logged").texts
    assert [t for t in logs if "unexpected error" in t] == []
    # Every acknowledged create is there exactly once; no create made two versions.
    by_name: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        if row.category.startswith("custom.load"):
            by_name.setdefault((row.category, row.resource), []).append(row.resource_id)
    for key, rid in ledger.created.items():
        assert by_name.get(key) == [rid], (key, by_name.get(key))
    for key in ledger.unacknowledged:
        assert len(by_name.get(key, [])) <= 1
    assert set(by_name) <= set(ledger.created) | ledger.unacknowledged
    # Every acknowledged delete happened, and nothing else was deleted.
    deleted = {r.resource_id for r in rows if r.deleted and r.category.startswith("custom.load")}
    assert deleted == ledger.deleted
    assert _integrity(db) == "ok"


@contextlib.asynccontextmanager
async def _emulator_process(db: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "payi_async.emulator",
        "--db",
        str(db),
        "--api-key",
        CANARY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
        yield proc, line.decode().strip()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


@pytest.mark.timeout(120)
async def test_killed_emulator_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    acked: dict[str, str] = {}
    async with _emulator_process(db) as (proc, url):
        enough = asyncio.Event()

        async def writer(n: int) -> None:
            async with AsyncPayi(api_key=CANARY, base_url=url, max_retries=0) as client:
                for i in range(10_000):
                    name = f"w{n}-{i}"
                    try:
                        created = await client.categories.resources.create(
                            name, "custom.kill", UNITS
                        )
                    except APIConnectionError:
                        return  # the server is gone
                    acked[name] = created.resource_id
                    if len(acked) >= 400:
                        enough.set()

        writers = [asyncio.ensure_future(writer(n)) for n in range(16)]
        await asyncio.wait_for(enough.wait(), timeout=60)
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: writes are in flight
        await proc.wait()
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)
    assert len(acked) >= 400

    async with _emulator_process(db) as (proc, url):
        async with AsyncPayi(api_key=CANARY, base_url=url) as client:
            found = {
                r.resource: r.resource_id
                async for r in client.categories.list_resources("custom.kill", limit=1000)
            }
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
    for name, rid in acked.items():
        assert found.get(name) == rid, name
    # At most the writes in flight at the kill (one per writer) exist unacknowledged.
    assert len(set(found) - set(acked)) <= 16
    assert _integrity(db) == "ok"


async def test_restarted_emulator_on_the_same_file_serves_old_data(tmp_path: Path) -> None:
    """The in-process twin of the test above: a clean stop and start keeps everything."""
    db = tmp_path / "restart.sqlite3"
    async with (
        LocalPayiServer(api_key=CANARY, db=str(db)) as server,
        AsyncPayi(api_key=CANARY, base_url=server.base_url) as client,
    ):
        created = await client.categories.resources.create("m", "custom.restart", UNITS)
    async with (
        LocalPayiServer(api_key=CANARY, db=str(db)) as server,
        AsyncPayi(api_key=CANARY, base_url=server.base_url) as client,
    ):
        got = await client.categories.resources.retrieve(created.resource_id, "custom.restart", "m")
    assert got == created
