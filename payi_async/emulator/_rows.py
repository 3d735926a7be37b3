"""The database's schema, its row types and the SQL plumbing every query shares.

A version's ``end_timestamp`` is computed, not stored: it is the start of the next
live version of the same resource (ordered by start, then creation), so creating or
deleting a version moves its neighbours' ends at once. A version is *active* (in
effect) when it is live, has started and has not ended.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIVE",
    "SCHEMA",
    "CategoryRow",
    "ResourceRow",
    "Transaction",
    "execute",
    "resource_row",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS categories (
    name TEXT PRIMARY KEY,
    category_type TEXT NOT NULL CHECK (category_type IN ('system', 'custom')),
    description TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id TEXT NOT NULL UNIQUE,
    category TEXT NOT NULL REFERENCES categories (name),
    resource TEXT NOT NULL,
    units TEXT NOT NULL,
    max_input_units INTEGER,
    max_output_units INTEGER,
    max_total_units INTEGER,
    creation_timestamp TEXT NOT NULL,
    start_timestamp TEXT NOT NULL,
    resource_scope TEXT,
    aliases TEXT,
    deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS resources_live
    ON resources (category, resource, seq) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS resources_timeline
    ON resources (category, resource, start_timestamp, seq) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
"""

# The last column is the end: the start of the next live version. Timestamps are
# stored as fixed-width UTC strings (four-digit years), so comparing the strings
# compares the moments.
_COLUMNS = (
    "seq, resource_id, category, resource, units, max_input_units, max_output_units, "
    "max_total_units, creation_timestamp, start_timestamp, resource_scope, aliases, "
    "deleted_at, (SELECT category_type FROM categories c WHERE c.name = category) "
    "AS category_type, "
    "(SELECT w.start_timestamp FROM resources w WHERE w.category = resources.category "
    "AND w.resource = resources.resource AND w.deleted_at IS NULL "
    "AND (w.start_timestamp, w.seq) > (resources.start_timestamp, resources.seq) "
    "ORDER BY w.start_timestamp, w.seq LIMIT 1) AS end_timestamp"
)

#: SQL condition (over a derived table ``v`` of full rows and a ``:now`` parameter):
#: the version is in effect now.
ACTIVE = (
    "(v.deleted_at IS NULL AND v.start_timestamp <= :now "
    "AND (v.end_timestamp IS NULL OR v.end_timestamp > :now))"
)


def execute(
    conn: sqlite3.Connection,
    template: str,
    args: tuple[Any, ...] | dict[str, Any] = (),
    ascending: bool = True,
    **fragments: str,
) -> sqlite3.Cursor:
    """Run a query template: ``{cols}`` is a full row, ``{op}``/``{order}`` the direction,
    and each other ``{name}`` the SQL fragment given as ``name=`` (always a constant of
    this package, never anything a client sent: values go in ``args``)."""
    sql = template
    for name, fragment in fragments.items():
        sql = sql.replace("{" + name + "}", fragment)
    op, order = (">", "ASC") if ascending else ("<", "DESC")
    sql = sql.replace("{cols}", _COLUMNS).replace("{op}", op).replace("{order}", order)
    return conn.execute(sql, args)


@dataclass(frozen=True)
class CategoryRow:
    """A category (a live one, except in ``Active=false`` listings)."""

    name: str
    category_type: str
    description: str | None


@dataclass(frozen=True)
class ResourceRow:
    """One resource version (deleted ones too: ``deleted`` says so).

    ``end_timestamp`` is the start of the next live version (``None`` if there is
    none); ``active`` whether the version was in effect when it was read.
    """

    seq: int
    resource_id: str
    category: str
    resource: str
    units: dict[str, dict[str, float]]
    max_input_units: int | None
    max_output_units: int | None
    max_total_units: int | None
    creation_timestamp: str
    start_timestamp: str
    resource_scope: str | None
    aliases: list[str] | None
    deleted: bool
    system: bool
    end_timestamp: str | None = None
    active: bool = False


def resource_row(values: tuple[Any, ...], now: str) -> ResourceRow:
    """A ``ResourceRow`` from a full row (``{cols}``), its ``active`` judged at ``now``."""
    deleted = values[12] is not None
    start, end = values[9], values[14]
    return ResourceRow(
        seq=values[0],
        resource_id=values[1],
        category=values[2],
        resource=values[3],
        units=json.loads(values[4]),
        max_input_units=values[5],
        max_output_units=values[6],
        max_total_units=values[7],
        creation_timestamp=values[8],
        start_timestamp=start,
        resource_scope=values[10],
        aliases=None if values[11] is None else json.loads(values[11]),
        deleted=deleted,
        system=values[13] == "system",
        end_timestamp=end,
        active=not deleted and start <= now and (end is None or end > now),
    )


class Transaction:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> None:
        self._conn = conn
        self._begin = begin

    def __enter__(self) -> None:
        self._conn.execute(self._begin)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
