"""Reliability at full size: the 429 storm and the emulator under faulted load.

The test suite (``tests/reliability``) runs smaller versions of both; this runs the
sizes of issue 7 and more, by hand:

* **storm**: ``--creates`` (500) ``create_many`` items at ``--concurrency`` (50)
  against a server letting ``--rate`` (20) requests a second through and answering
  ``429 Retry-After: 1`` beyond that. Checks every item is created exactly once and
  reports the attempts per create (the suite asks for at most 1.5).
* **load**: ``--calls`` (50,000) mixed calls from ``--clients`` (64) clients against the
  emulator on a SQLite file with about 10 % of attempts faulted. Checks that no
  acknowledged create is missing or doubled, every acknowledged delete happened and
  ``PRAGMA integrity_check`` is ok.

    python -m benchmarks.bench_load [--only storm|load] [--creates 500] [--calls 50000]

Prints one line per scenario; exit status 1 if a check failed. ``main(argv)`` lets a
harness call it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from payi_async import APIConnectionError, AsyncPayi, NotFoundError, ResourceCreate
from payi_async.emulator import Faults, ThreadedPayiServer

__all__ = ["main", "run_load", "run_storm"]

UNITS = {"text": {"input_price": 0.000015, "output_price": 0.000075}}
KEY = "bench-load-key"


async def run_storm(creates: int, concurrency: int, rate: float) -> dict[str, float]:
    """The 429 storm; returns attempts, 429s, seconds and whether every check held."""
    tokens, stamp = rate, time.monotonic()
    attempts = limited = 0
    committed: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal tokens, stamp, attempts, limited
        attempts += 1
        await request.read()
        now = time.monotonic()
        tokens, stamp = min(rate, tokens + (now - stamp) * rate), now
        if tokens < 1.0:
            limited += 1
            return web.json_response(
                {"message": "slow down", "statusCode": 429},
                status=429,
                headers={"Retry-After": "1"},
            )
        tokens -= 1.0
        resource = request.match_info["tail"].rsplit("/", 1)[-1]
        committed[resource] += 1
        body = {
            "resource_id": uuid.uuid4().hex,
            "category": "custom.storm",
            "resource": resource,
            "units": UNITS,
        }
        return web.json_response(body, status=201)

    app = web.Application()
    app.router.add_route("*", r"/{tail:[\s\S]*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    items = [ResourceCreate(f"m{i:06d}", "custom.storm", UNITS) for i in range(creates)]
    started = time.monotonic()
    try:
        async with AsyncPayi(api_key=KEY, base_url=f"http://127.0.0.1:{port}") as client:
            result = await client.categories.resources.create_many(items, concurrency=concurrency)
    finally:
        await runner.cleanup()
    ok = result.ok and len(committed) == creates and set(committed.values()) == {1}
    return {
        "seconds": time.monotonic() - started,
        "attempts": attempts,
        "limited": limited,
        "per_create": attempts / creates,
        "ok": float(ok and attempts <= 1.5 * creates),
    }


async def _client(number: int, url: str, calls: int, acked: dict[str, str], gone: set[str]) -> None:
    rng = random.Random(number)
    category = f"custom.bench{number % 8}"
    mine: list[str] = []
    async with AsyncPayi(api_key=KEY, base_url=url, max_retries=6) as client:
        res = client.categories.resources
        for i in range(calls):
            roll = rng.random()
            if roll < 0.55 or not mine:
                name = f"c{number}-{i}"
                try:
                    created = await res.create(name, category, UNITS)
                except APIConnectionError:
                    continue
                acked[name] = created.resource_id
                mine.append(name)
            elif roll < 0.75:
                name = rng.choice(mine)
                await res.retrieve(acked[name], category, name)
            elif roll < 0.9:
                await client.categories.list_resources(category, limit=20)
            else:
                name = mine.pop(rng.randrange(len(mine)))
                # A delete committed whose answer was lost: the retry finds it gone.
                with contextlib.suppress(NotFoundError):
                    await res.delete(acked[name], category, name)
                gone.add(acked[name])


def run_load(calls: int, clients: int, fault_rate: float) -> dict[str, float]:
    """The faulted load on a file database; returns throughput and whether checks held."""
    share = fault_rate / 10
    faults = Faults(
        error_rate=4 * share,
        rate_limit_rate=2 * share,
        drop_rate=2 * share,
        fail_after_commit_rate=2 * share,
        fail_after_commit_mode="drop",
        retry_after=0.01,
        seed=1,
    )
    acked: dict[str, str] = {}
    gone: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        with ThreadedPayiServer(api_key=KEY, db=str(db), faults=faults) as server:

            async def drive() -> None:
                per = calls // clients
                await asyncio.gather(
                    *(_client(n, server.base_url, per, acked, gone) for n in range(clients))
                )

            started = time.monotonic()
            asyncio.run(drive())
            seconds = time.monotonic() - started
            injected = sum(server.fault_counts.values())
            attempts = server.request_count
        conn = sqlite3.connect(db)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            rows = conn.execute(
                "SELECT resource, resource_id, deleted_at IS NOT NULL FROM resources "
                "WHERE category LIKE 'custom.bench%'"
            ).fetchall()
        finally:
            conn.close()
    versions: dict[str, list[str]] = {}
    for resource, rid, _ in rows:
        versions.setdefault(resource, []).append(rid)
    deleted = {rid for _, rid, is_deleted in rows if is_deleted}
    ok = (
        integrity == "ok"
        and all(versions.get(name) == [rid] for name, rid in acked.items())
        and all(len(ids) == 1 for ids in versions.values())
        and deleted == gone
    )
    return {
        "seconds": seconds,
        "calls_per_s": calls / seconds,
        "attempts": attempts,
        "injected": injected,
        "ok": float(ok),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios, print a line each; 1 if a check failed."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_load", description=__doc__)
    p.add_argument("--only", choices=("storm", "load"))
    p.add_argument("--creates", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--calls", type=int, default=50_000)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--fault-rate", type=float, default=0.1)
    args = p.parse_args(argv)
    failed = False
    if args.only in (None, "storm"):
        storm = asyncio.run(run_storm(args.creates, args.concurrency, args.rate))
        failed |= not storm["ok"]
        print(
            f"storm: {args.creates} creates, concurrency {args.concurrency}, {args.rate:g}/s: "
            f"{storm['attempts']:.0f} attempts ({storm['per_create']:.2f} per create, "
            f"{storm['limited']:.0f} x 429) in {storm['seconds']:.1f} s; "
            f"{'ok' if storm['ok'] else 'FAILED'}"
        )
    if args.only in (None, "load"):
        load = run_load(args.calls, args.clients, args.fault_rate)
        failed |= not load["ok"]
        print(
            f"load: {args.calls} calls from {args.clients} clients, "
            f"{load['attempts']:.0f} attempts, {load['injected']:.0f} faults injected, "
            f"{load['calls_per_s']:.0f} calls/s; {'ok' if load['ok'] else 'FAILED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
