"""Helpers of the catalogue tests (a uniquely named module, imported by the tests)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from payi_async import RetryPolicy

MONTHS = ("2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2099-01-01T00:00:00Z")


def fast_policy(max_retries: int = 8) -> RetryPolicy:
    """Retries (and apply's rounds) that wait milliseconds."""
    return RetryPolicy(max_retries=max_retries, initial_delay=0.001, max_delay=0.004)


def price_file(category: str, n: int, *, bump: float = 0.0) -> list[dict[str, Any]]:
    """``n`` rows: dated versions (past, future, a second version of some resources)
    and undated ones (in effect now)."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "category": category,
            "resource": f"model-{i // 2 if i % 5 == 0 else i:04d}",
            "units": {"text": {"input_price": (i % 7 + 1) / 1e6 + bump, "output_price": 3e-06}},
            "max_input_units": 1000 + i,
        }
        if i % 4 != 3:
            row["start_timestamp"] = MONTHS[i % len(MONTHS)]
        rows.append(row)
    return dedupe(rows)


def dedupe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one undated row per resource and one row per (resource, start)."""
    seen: set[tuple[str, str, str | None]] = set()
    kept = []
    for row in rows:
        slot = (row["category"], row["resource"], row.get("start_timestamp"))
        if slot not in seen:
            seen.add(slot)
            kept.append(row)
    return kept


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def live_counts(db: Path, category: str) -> Counter[tuple[str, str | None]]:
    """Live versions per (resource, start_timestamp) in the emulator's SQLite file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT resource, start_timestamp, creation_timestamp FROM resources "
            "WHERE category = ? AND deleted_at IS NULL",
            (category,),
        ).fetchall()
    # An undated row's version starts when it was created: count it under None.
    return Counter((r, None if s == c else s) for r, s, c in rows)


def expected_counts(rows: list[dict[str, Any]]) -> Counter[tuple[str, str | None]]:
    """What ``live_counts`` holds when every row is there exactly once."""
    return Counter((r["resource"], _emulator_time(r.get("start_timestamp"))) for r in rows)


def _emulator_time(value: str | None) -> str | None:
    return None if value is None else value.replace("Z", ".000000Z")
