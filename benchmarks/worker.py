"""One measurement in a fresh process: ``python -m benchmarks.worker '<json spec>'``.

The spec names the ``op`` (retrieve, page, iterate, create), the ``client``, the
server's ``url`` and sizes. The last stdout line is a JSON object: per-round client
CPU seconds (``time.process_time``, every thread of this process) and wall seconds
per operation, and peak RSS (``ru_maxrss``) before and after the work.

A fresh process per measurement keeps clients from sharing imports, caches and heap,
and makes peak RSS mean something.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .drivers import (
    ASYNC_CLIENTS,
    AsyncDriver,
    SyncDriver,
    create_bodies,
    gather_creates,
    make_async,
    make_sync,
    thread_creates,
)

__all__ = ["main", "run", "steady_heap"]

Spec = dict[str, Any]


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _check(what: str, got: Any, want: Any) -> None:
    if got != want:
        raise RuntimeError(f"{what}: expected {want!r}, got {got!r}")


def _async_op(driver: AsyncDriver, spec: Spec) -> tuple[Callable[[], Awaitable[Any]], int]:
    """The coroutine function of one round, and how many operations it does."""
    op, n = spec["op"], int(spec["n"])
    target = spec.get("target", {})
    if op == "retrieve":
        rid, cat, res = target["resource_id"], target["category"], target["resource"]

        async def retrieves() -> None:
            for _ in range(n):
                _check("retrieve", await driver.retrieve(rid, cat, res), rid)

        return retrieves, n
    if op == "page":

        async def pages() -> None:
            for _ in range(n):
                _check("page size", await driver.page("bench", "page"), 1000)

        return pages, n
    if op == "iterate":

        async def iterate() -> None:
            _check("items", await driver.iterate("stream", f"n{n}"), n)

        return iterate, n
    if op == "create":
        bodies = create_bodies(n)
        concurrency, mode = int(spec["concurrency"]), spec["mode"]

        async def creates() -> None:
            if mode == "create_many":
                done = await driver.create_many(bodies, concurrency)
            else:
                done = await gather_creates(driver, bodies, concurrency)
            _check("created", done, n)

        return creates, n
    raise ValueError(f"unknown op {op!r}")


def _sync_op(driver: SyncDriver, spec: Spec) -> tuple[Callable[[], Any], int]:
    op, n = spec["op"], int(spec["n"])
    target = spec.get("target", {})
    if op == "retrieve":
        rid, cat, res = target["resource_id"], target["category"], target["resource"]

        def retrieves() -> None:
            for _ in range(n):
                _check("retrieve", driver.retrieve(rid, cat, res), rid)

        return retrieves, n
    if op == "page":

        def pages() -> None:
            for _ in range(n):
                _check("page size", driver.page("bench", "page"), 1000)

        return pages, n
    if op == "iterate":

        def iterate() -> None:
            _check("items", driver.iterate("stream", f"n{n}"), n)

        return iterate, n
    if op == "create":
        bodies = create_bodies(n)
        concurrency, mode = int(spec["concurrency"]), spec["mode"]

        def creates() -> None:
            if mode == "create_many":
                done = driver.create_many(bodies, concurrency)
            else:  # "gather" (a thread pool) or "handoff" (the same through HandoffDriver)
                done = thread_creates(driver, bodies, concurrency)
            _check("created", done, n)

        return creates, n
    raise ValueError(f"unknown op {op!r}")


def _result(cpu: list[float], wall: list[float], rss_setup: int) -> dict[str, Any]:
    return {"cpu": cpu, "wall": wall, "maxrss_setup_kb": rss_setup, "maxrss_kb": _maxrss_kb()}


async def _run_async(spec: Spec) -> dict[str, Any]:
    driver = make_async(spec["client"], spec["url"], spec["api_key"])
    try:
        fn, count = _async_op(driver, spec)
        rss_setup = _maxrss_kb()
        for _ in range(int(spec.get("warmup", 1))):
            await fn()
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(int(spec["rounds"])):
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            await fn()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu.append((c1 - c0) / count)
            wall.append((w1 - w0) / count)
        return _result(cpu, wall, rss_setup)
    finally:
        await driver.close()


def _run_sync(spec: Spec) -> dict[str, Any]:
    client = "handoff" if spec.get("mode") == "handoff" else spec["client"]
    driver = make_sync(client, spec["url"], spec["api_key"])
    try:
        fn, count = _sync_op(driver, spec)
        rss_setup = _maxrss_kb()
        for _ in range(int(spec.get("warmup", 1))):
            fn()
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(int(spec["rounds"])):
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu.append((c1 - c0) / count)
            wall.append((w1 - w0) / count)
        return _result(cpu, wall, rss_setup)
    finally:
        driver.close()


def steady_heap() -> None:
    """Put the C allocator in the state a process that has run a while is in.

    asyncio reads each answer into a fresh 256 KiB buffer. glibc serves blocks that
    large with mmap (then mremap, munmap, page faults: ~30 µs of system CPU per answer)
    until a larger block has been freed once, which raises its mmap threshold. Whether
    a client's own work happens to free one (a 700 KB page, a 5,000-task table) would
    otherwise decide up to a fifth of its CPU figure; every worker starts from here.
    """
    block = bytearray(1 << 20)
    del block


def run(spec: Spec) -> dict[str, Any]:
    """Measure what ``spec`` says, in this process."""
    steady_heap()
    if spec.get("json_backend"):
        from payi_async import _json

        _json.use(spec["json_backend"])
    if spec["client"] in ASYNC_CLIENTS:
        return asyncio.run(_run_async(spec))
    return _run_sync(spec)


def main(argv: list[str] | None = None) -> int:
    """Run the spec given as the one argument; print the result as the last line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.worker '<json spec>'", file=sys.stderr)
        return 2
    print(json.dumps(run(json.loads(args[0]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
