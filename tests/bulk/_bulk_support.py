"""Helpers of the bulk tests (a uniquely named module, imported by the tests)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from payi_async import RetryPolicy
from payi_async.emulator import LocalPayiServer, ResourceRow, ThreadedPayiServer


def fast_policy(max_retries: int = 12) -> RetryPolicy:
    """Many retries, millisecond backoff: a faulty server still gets every item through."""
    return RetryPolicy(max_retries=max_retries, initial_delay=0.001, max_delay=0.004)


def item(category: str, i: int) -> dict[str, Any]:
    """The ``i``-th create item of a generated price list: resource ``model-<i>``."""
    return {
        "category": category,
        "resource": f"model-{i:07d}",
        "units": {"text": {"input_price": (i % 97) / 1e7, "output_price": (i % 89) / 1e7}},
        "max_input_units": 1000 + i,
    }


def items(category: str, n: int) -> Iterator[dict[str, Any]]:
    """``n`` generated create items, lazily."""
    return (item(category, i) for i in range(n))


async def versions_in(server: LocalPayiServer, category: str) -> list[ResourceRow]:
    """Every version row (soft-deleted too) the emulator holds in ``category``."""
    return [row for row in await server.store.all_versions() if row.category == category]


def threaded_versions_in(server: ThreadedPayiServer, category: str) -> list[ResourceRow]:
    """``versions_in`` for a ``ThreadedPayiServer``."""
    rows = server.run(server.store.all_versions)
    return [row for row in rows if row.category == category]


def duplicates(rows: list[ResourceRow]) -> dict[str, int]:
    """Resource names held more than once (each generated item has its own name)."""
    return {name: n for name, n in Counter(r.resource for r in rows).items() if n > 1}
