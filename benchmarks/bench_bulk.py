"""Bulk creates: ``create_many`` against a hand-written ``asyncio.gather`` + ``Semaphore`` loop.

For each concurrency (1, 16, 64 by default) both ways create the same number of
resources through one ``AsyncPayi`` against the emulator, run in a separate process
(``python -m payi_async.emulator --port 0``; its first stdout line is its URL), so the
client's CPU time is not mixed with the server's. Reported per way and concurrency:
creates per second (wall clock) and client CPU per create (``time.process_time`` of
this process). Each measurement is repeated and the best round kept; the two ways
alternate so that a drift of the machine hits both alike.

    python -m benchmarks.bench_bulk [--items 2000] [--repeat 3] [--concurrency 1 16 64]

Prints a Markdown table and writes JSON to ``benchmarks/results/bulk.json``. Run it
by hand; it is not a test. ``main(argv)`` lets a harness call it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from payi_async import AsyncPayi, CategoryResourceResponse, __version__
from payi_async.emulator import DEFAULT_API_KEY

__all__ = ["main", "run"]

RESULTS = Path(__file__).with_name("results") / "bulk.json"
WAYS = ("create_many", "gather+semaphore")

Way = Callable[[AsyncPayi, list[dict[str, Any]], int], Awaitable[int]]


def _items(category: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "category": category,
            "resource": f"bench-model-{i:06d}",
            "units": {"text": {"input_price": 1e-07 * (1 + i % 7), "output_price": 3e-07}},
            "max_input_units": 128_000,
        }
        for i in range(n)
    ]


async def _with_create_many(client: AsyncPayi, items: list[dict[str, Any]], n: int) -> int:
    result = await client.categories.resources.create_many(items, concurrency=n)
    return len(result.created)


async def _with_gather(client: AsyncPayi, items: list[dict[str, Any]], n: int) -> int:
    """What people write by hand: a task per item, a semaphore to bound them."""
    semaphore = asyncio.Semaphore(n)
    resources = client.categories.resources

    async def one(item: dict[str, Any]) -> CategoryResourceResponse:
        async with semaphore:
            return await resources.create(**item)

    answers = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
    return sum(isinstance(a, CategoryResourceResponse) for a in answers)


_IMPLEMENTATIONS: dict[str, Way] = {
    "create_many": _with_create_many,
    "gather+semaphore": _with_gather,
}


async def _measure(
    url: str, way: str, concurrency: int, items: list[dict[str, Any]]
) -> dict[str, float]:
    async with AsyncPayi(api_key=DEFAULT_API_KEY, base_url=url) as client:
        # Warm the pool: open `concurrency` connections before the clock starts.
        async def first_page() -> None:
            await client.categories.list(limit=1)

        await asyncio.gather(*(first_page() for _ in range(concurrency)))
        cpu, wall = time.process_time(), time.perf_counter()
        created = await _IMPLEMENTATIONS[way](client, items, concurrency)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if created != len(items):
        raise RuntimeError(f"{way} at {concurrency}: {created} of {len(items)} created")
    return {
        "creates_per_s": len(items) / wall,
        "cpu_us_per_create": cpu / len(items) * 1e6,
        "wall_s": wall,
        "cpu_s": cpu,
    }


def _emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "payi_async.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        process.wait()
        raise RuntimeError(f"the emulator did not start (first line: {url!r})")
    return process, url


def _rounds(concurrencies: list[int], repeat: int) -> Iterator[tuple[int, int, str]]:
    for c in concurrencies:
        for r in range(repeat):
            ways = WAYS if r % 2 == 0 else WAYS[::-1]
            for way in ways:
                yield c, r, way


def run(items: int, repeat: int, concurrencies: list[int]) -> dict[str, Any]:
    """Measure every way at every concurrency; the best of ``repeat`` rounds of each."""
    process, url = _emulator()
    best: dict[tuple[str, int], dict[str, float]] = {}
    try:
        for concurrency, round_no, way in _rounds(concurrencies, repeat):
            category = f"custom.bench.{way.replace('+', '-')}.c{concurrency}.r{round_no}"
            figures = asyncio.run(_measure(url, way, concurrency, _items(category, items)))
            key = (way, concurrency)
            if key not in best or figures["creates_per_s"] > best[key]["creates_per_s"]:
                best[key] = figures
    finally:
        process.terminate()
        process.wait(10)
    return {
        "benchmark": "bulk creates",
        "items_per_round": items,
        "repeat": repeat,
        "payi_async": __version__,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "server": "python -m payi_async.emulator (separate process, in-memory SQLite)",
        "results": [
            {"way": way, "concurrency": c, **{k: round(v, 3) for k, v in best[(way, c)].items()}}
            for c in concurrencies
            for way in WAYS
        ],
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        f"{report['items_per_round']} creates per round, best of {report['repeat']}; "
        f"server: {report['server']}",
        "",
        "| concurrency | way | creates/s | client CPU per create (µs) |",
        "|---:|---|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['concurrency']} | {r['way']} | {r['creates_per_s']:,.0f} "
            f"| {r['cpu_us_per_create']:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; the exit status."""
    parser = argparse.ArgumentParser(description="create_many vs gather+Semaphore")
    parser.add_argument("--items", type=int, default=2000, help="creates per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per way and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    report = run(args.items, args.repeat, args.concurrency)
    print(markdown(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
