"""SQLite storage: schema, queries and short transactions on one dedicated thread.

All SQLite work runs on a single worker thread that owns the only connection, so the
event loop never waits on the database and writes are serialised (SQLite allows one
writer anyway). Each request is one short transaction (``BEGIN IMMEDIATE`` for
writes). Rows are never removed: deletes set ``deleted_at`` (soft delete).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from ._errors import ApiError
from ._seed_data import SEED_RESOURCES, SEED_TIMESTAMP, SYSTEM_CATEGORIES
from ._validation import CreateBody, ListParams, format_timestamp, is_reserved_category

__all__ = ["CategoryRow", "IdempotencyKey", "Outcome", "ResourceRow", "Store"]

T = TypeVar("T")

_SCHEMA = """
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

_COLUMNS = (
    "seq, resource_id, category, resource, units, max_input_units, max_output_units, "
    "max_total_units, creation_timestamp, start_timestamp, resource_scope, aliases, "
    "deleted_at, (SELECT category_type FROM categories c WHERE c.name = category)"
)


def _exec(
    conn: sqlite3.Connection, template: str, args: tuple[Any, ...] = (), ascending: bool = True
) -> sqlite3.Cursor:
    """Run a query template: ``{cols}`` is a full row, ``{op}``/``{order}`` the direction."""
    op, order = (">", "ASC") if ascending else ("<", "DESC")
    sql = template.replace("{cols}", _COLUMNS).replace("{op}", op).replace("{order}", order)
    return conn.execute(sql, args)


@dataclass(frozen=True)
class CategoryRow:
    """A live category."""

    name: str
    category_type: str
    description: str | None


@dataclass(frozen=True)
class ResourceRow:
    """One resource version (deleted ones too: ``deleted`` says so)."""

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


@dataclass(frozen=True)
class IdempotencyKey:
    """Where a create's first answer is remembered: ``scope`` (API key + path) and key."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Outcome:
    """A write's answer; ``replayed`` when it came from the idempotency table."""

    status: int
    body: Any
    replayed: bool = False


def _row(values: tuple[Any, ...]) -> ResourceRow:
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
        start_timestamp=values[9],
        resource_scope=values[10],
        aliases=None if values[11] is None else json.loads(values[11]),
        deleted=values[12] is not None,
        system=values[13] == "system",
    )


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", code="not_found")


def _read_only(category: str) -> ApiError:
    return ApiError(
        403, f"category {category!r} is a system category and is read-only", code="forbidden"
    )


def _new_resource_id() -> str:
    return "rsrc_" + secrets.token_hex(12)


class Store:
    """The emulator's database. Coroutine methods run the work on the SQLite thread.

    ``path`` is ``":memory:"`` (the default) or a file, opened in WAL mode, whose
    contents survive a restart. ``clock`` gives "now" (UTC) and can be replaced in tests.
    Open it with ``await store.open()`` (the server does) and close it with ``aclose``.
    """

    def __init__(
        self, path: str = ":memory:", *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.path = path
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # ------------------------------------------------------------ life cycle

    async def open(self) -> None:
        """Start the SQLite thread, create the schema and seed a new database."""
        if self._executor is not None:
            raise RuntimeError("store is already open")
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="payi-emulator-sqlite")
        try:
            await self._call(self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise

    async def aclose(self) -> None:
        """Close the connection and stop the SQLite thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._close_sync)
        finally:
            executor.shutdown(wait=True)

    def _open_sync(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn = conn
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_SCHEMA)
        with _transaction(conn):
            seeded = conn.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
            if seeded is None:
                self._seed(conn)
                conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', '1')")

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    def _seed(conn: sqlite3.Connection) -> None:
        for name, description in SYSTEM_CATEGORIES:
            conn.execute(
                "INSERT INTO categories (name, category_type, description, created_at) "
                "VALUES (?, 'system', ?, ?)",
                (name, description, SEED_TIMESTAMP),
            )
        for number, seed in enumerate(SEED_RESOURCES):
            digest = hashlib.sha256(f"{seed.category}/{seed.resource}/{number}".encode())
            conn.execute(
                "INSERT INTO resources (resource_id, category, resource, units, "
                "max_input_units, max_output_units, creation_timestamp, start_timestamp, "
                "resource_scope, aliases) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "sys_" + digest.hexdigest()[:24],
                    seed.category,
                    seed.resource,
                    json.dumps({"text": {"input_price": seed.input, "output_price": seed.output}}),
                    seed.max_input_units,
                    seed.max_output_units,
                    SEED_TIMESTAMP,
                    seed.start,
                    seed.resource_scope,
                    json.dumps(list(seed.aliases)) if seed.aliases else None,
                ),
            )

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is not open")
        return self._conn

    # ------------------------------------------------------------ generic runners

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the SQLite thread inside one read transaction."""

        def work() -> T:
            conn = self._connection()
            with _transaction(conn, "BEGIN"):
                return fn(conn)

        return await self._call(work)

    async def write(
        self,
        fn: Callable[[sqlite3.Connection], tuple[int, Any]],
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        """Run ``fn(conn) -> (status, body)`` in one write transaction.

        With an idempotency key, a key seen before answers its stored status and body
        without running ``fn`` (a different request under the same key is a 422); a
        new key stores the answer in the same transaction as the write. An ``ApiError``
        from ``fn`` rolls everything back and is not remembered.
        """

        def work() -> Outcome:
            conn = self._connection()
            with _transaction(conn, "BEGIN IMMEDIATE"):
                if idempotency is not None:
                    found = conn.execute(
                        "SELECT fingerprint, status, body FROM idempotency "
                        "WHERE scope = ? AND key = ?",
                        (idempotency.scope, idempotency.key),
                    ).fetchone()
                    if found is not None:
                        if found[0] != idempotency.fingerprint:
                            raise ApiError(
                                422,
                                "Idempotency-Key was already used for a different request",
                                code="idempotency_key_reused",
                            )
                        return Outcome(found[1], json.loads(found[2]), replayed=True)
                status, body = fn(conn)
                if idempotency is not None:
                    conn.execute(
                        "INSERT INTO idempotency (scope, key, fingerprint, status, body, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            idempotency.scope,
                            idempotency.key,
                            idempotency.fingerprint,
                            status,
                            json.dumps(body),
                            format_timestamp(self.clock()),
                        ),
                    )
                return Outcome(status, body)

        return await self._call(work)

    # ------------------------------------------------------------ queries (SQLite thread)

    def categories_page(
        self, conn: sqlite3.Connection, params: ListParams
    ) -> tuple[list[CategoryRow], str | None]:
        """Live categories by name after ``params.after``; the next key or ``None``."""
        rows = _exec(
            conn,
            "SELECT name, category_type, description FROM categories "
            "WHERE deleted_at IS NULL AND (?1 IS NULL OR name {op} ?1) "
            "ORDER BY name {order} LIMIT ?2",
            (params.after, params.limit + 1),
            params.ascending,
        ).fetchall()
        items = [CategoryRow(*row) for row in rows[: params.limit]]
        more = len(rows) > params.limit
        return items, (items[-1].name if more else None)

    def category(self, conn: sqlite3.Connection, name: str) -> CategoryRow:
        """A live category, or 404."""
        row = conn.execute(
            "SELECT name, category_type, description FROM categories "
            "WHERE name = ? AND deleted_at IS NULL",
            (name,),
        ).fetchone()
        if row is None:
            raise _not_found(f"category {name!r}")
        return CategoryRow(*row)

    def resources_page(
        self, conn: sqlite3.Connection, category: str, params: ListParams
    ) -> tuple[list[ResourceRow], str | None]:
        """The latest live version of each resource of a category, by resource name."""
        self.category(conn, category)
        rows = _exec(
            conn,
            "SELECT {cols} FROM resources WHERE seq IN ("
            "SELECT MAX(seq) FROM resources WHERE category = ?1 AND deleted_at IS NULL "
            "AND (?2 IS NULL OR resource {op} ?2) GROUP BY resource "
            "ORDER BY resource {order} LIMIT ?3) ORDER BY resource {order}",
            (category, params.after, params.limit + 1),
            params.ascending,
        ).fetchall()
        items = [_row(row) for row in rows[: params.limit]]
        more = len(rows) > params.limit
        return items, (items[-1].resource if more else None)

    def versions_page(
        self, conn: sqlite3.Connection, category: str, resource: str, params: ListParams
    ) -> tuple[list[ResourceRow], int | None]:
        """The live versions of one resource in creation order; 404 if it has none."""
        self.category(conn, category)
        if not self._live_versions(conn, category, resource):
            raise _not_found(f"resource {resource!r} in category {category!r}")
        rows = _exec(
            conn,
            "SELECT {cols} FROM resources "
            "WHERE category = ?1 AND resource = ?2 AND deleted_at IS NULL "
            "AND (?3 IS NULL OR seq {op} ?3) ORDER BY seq {order} LIMIT ?4",
            (category, resource, params.after, params.limit + 1),
            params.ascending,
        ).fetchall()
        items = [_row(row) for row in rows[: params.limit]]
        more = len(rows) > params.limit
        return items, (items[-1].seq if more else None)

    def _live_versions(
        self, conn: sqlite3.Connection, category: str, resource: str
    ) -> list[ResourceRow]:
        rows = _exec(
            conn,
            "SELECT {cols} FROM resources "
            "WHERE category = ? AND resource = ? AND deleted_at IS NULL ORDER BY seq",
            (category, resource),
        ).fetchall()
        return [_row(row) for row in rows]

    def version(
        self, conn: sqlite3.Connection, category: str, resource: str, resource_id: str
    ) -> ResourceRow:
        """One live version, or 404 (deleted, unknown, or under another name)."""
        row = _exec(
            conn,
            "SELECT {cols} FROM resources WHERE resource_id = ? "
            "AND category = ? AND resource = ? AND deleted_at IS NULL",
            (resource_id, category, resource),
        ).fetchone()
        if row is None:
            raise _not_found(f"resource version {resource_id!r} of {category!r}/{resource!r}")
        return _row(row)

    # ------------------------------------------------------------ writes (SQLite thread)

    def create(
        self, conn: sqlite3.Connection, category: str, resource: str, body: CreateBody
    ) -> ResourceRow:
        """Add a version; creates (or revives) a custom category; 403 under ``system.``."""
        if is_reserved_category(category):
            if conn.execute("SELECT 1 FROM categories WHERE name = ?", (category,)).fetchone():
                raise _read_only(category)
            raise ApiError(
                403, f"category {category!r}: the 'system.' prefix is reserved", code="forbidden"
            )
        now = format_timestamp(self.clock())
        conn.execute(
            "INSERT INTO categories (name, category_type, created_at) VALUES (?, 'custom', ?) "
            "ON CONFLICT (name) DO UPDATE SET deleted_at = NULL",
            (category, now),
        )
        start = now if body.start_timestamp is None else format_timestamp(body.start_timestamp)
        cursor = conn.execute(
            "INSERT INTO resources (resource_id, category, resource, units, max_input_units, "
            "max_output_units, max_total_units, creation_timestamp, start_timestamp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _new_resource_id(),
                category,
                resource,
                json.dumps(body.units),
                body.max_input_units,
                body.max_output_units,
                body.max_total_units,
                now,
                start,
            ),
        )
        row = _exec(
            conn,
            "SELECT {cols} FROM resources WHERE seq = ?",
            (cursor.lastrowid,),
        ).fetchone()
        return _row(row)

    def _writable(self, conn: sqlite3.Connection, category: str) -> CategoryRow:
        found = self.category(conn, category)
        if found.category_type == "system":
            raise _read_only(category)
        return found

    def _mark_deleted(self, conn: sqlite3.Connection, rows: list[ResourceRow]) -> list[ResourceRow]:
        now = format_timestamp(self.clock())
        conn.executemany(
            "UPDATE resources SET deleted_at = ? WHERE seq = ?", [(now, r.seq) for r in rows]
        )
        return [dataclasses.replace(r, deleted=True) for r in rows]

    def delete_version(
        self, conn: sqlite3.Connection, category: str, resource: str, resource_id: str
    ) -> ResourceRow:
        """Soft-delete one version; 403 in system categories, 404 if not live."""
        self._writable(conn, category)
        return self._mark_deleted(conn, [self.version(conn, category, resource, resource_id)])[0]

    def delete_resource(
        self, conn: sqlite3.Connection, category: str, resource: str
    ) -> list[ResourceRow]:
        """Soft-delete every live version of a resource; 404 if it has none."""
        self._writable(conn, category)
        rows = self._live_versions(conn, category, resource)
        if not rows:
            raise _not_found(f"resource {resource!r} in category {category!r}")
        return self._mark_deleted(conn, rows)

    def delete_category(self, conn: sqlite3.Connection, category: str) -> list[ResourceRow]:
        """Soft-delete a custom category and all its live versions."""
        self._writable(conn, category)
        rows = [
            _row(row)
            for row in _exec(
                conn,
                "SELECT {cols} FROM resources "
                "WHERE category = ? AND deleted_at IS NULL ORDER BY resource, seq",
                (category,),
            ).fetchall()
        ]
        conn.execute(
            "UPDATE categories SET deleted_at = ? WHERE name = ?",
            (format_timestamp(self.clock()), category),
        )
        return self._mark_deleted(conn, rows)

    # ------------------------------------------------------------ conveniences

    async def create_resource(
        self,
        category: str,
        resource: str,
        units: dict[str, dict[str, float]],
        *,
        max_input_units: int | None = None,
        max_output_units: int | None = None,
        max_total_units: int | None = None,
        start_timestamp: datetime | None = None,
    ) -> ResourceRow:
        """Create a version directly (no HTTP), e.g. to prepare a test's data."""
        body = CreateBody(
            units, max_input_units, max_output_units, max_total_units, start_timestamp
        )
        outcome = await self.write(lambda conn: (201, self.create(conn, category, resource, body)))
        row: ResourceRow = outcome.body
        return row

    async def count_versions(self, *, include_deleted: bool = True) -> int:
        """How many resource version rows exist (soft-deleted ones too, by default)."""
        sql = "SELECT COUNT(*) FROM resources WHERE ? OR deleted_at IS NULL"

        def count(conn: sqlite3.Connection) -> int:
            value: int = conn.execute(sql, (include_deleted,)).fetchone()[0]
            return value

        return await self.read(count)

    async def all_versions(self) -> list[ResourceRow]:
        """Every version row in creation order, soft-deleted ones included."""

        def rows(conn: sqlite3.Connection) -> list[ResourceRow]:
            return [_row(r) for r in _exec(conn, "SELECT {cols} FROM resources ORDER BY seq")]

        return await self.read(rows)


class _transaction:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> None:
        self._conn = conn
        self._begin = begin

    def __enter__(self) -> None:
        self._conn.execute(self._begin)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
