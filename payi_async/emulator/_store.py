"""SQLite storage: the database's life cycle, its thread, writes and idempotency.

All SQLite work runs on a single worker thread that owns the only connection, so the
event loop never waits on the database and writes are serialised (SQLite allows one
writer anyway). Each request is one short transaction (``BEGIN IMMEDIATE`` for
writes). Rows are never removed: deletes set ``deleted_at`` (soft delete). The schema
and row types are in ``_rows``, the list queries in ``_listing``.
"""

from __future__ import annotations

import asyncio
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

from . import _listing
from ._cursor import CursorKey
from ._errors import ApiError
from ._listing import not_found
from ._rows import SCHEMA, CategoryRow, ResourceRow, Transaction, execute, resource_row
from ._seed_data import SEED_RESOURCES, SEED_TIMESTAMP, SYSTEM_CATEGORIES
from ._validation import CreateBody, ListParams, format_timestamp, is_reserved_category

__all__ = ["CategoryRow", "IdempotencyKey", "Outcome", "ResourceRow", "Store"]

T = TypeVar("T")


@dataclass(frozen=True)
class IdempotencyKey:
    """Where a write's first answer is remembered: ``scope`` (the API key) and key;
    ``endpoint`` and ``body`` are digests of the method and path, and of the body."""

    scope: str
    key: str
    endpoint: str
    body: str

    @property
    def fingerprint(self) -> str:
        """What is stored to recognise the same request: ``<endpoint>:<body>``."""
        return f"{self.endpoint}:{self.body}"


@dataclass(frozen=True)
class Outcome:
    """A write's answer; ``replayed`` when it came from the idempotency table."""

    status: int
    body: Any
    replayed: bool = False


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
        #: The secret list cursors are signed with (kept in the database; set by ``open``).
        self.cursor_secret = b""

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
        conn.executescript(SCHEMA)
        with Transaction(conn):
            seeded = conn.execute("SELECT value FROM meta WHERE key = 'seeded'").fetchone()
            if seeded is None:
                self._seed(conn)
                conn.execute("INSERT INTO meta (key, value) VALUES ('seeded', '1')")
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('cursor_secret', ?)",
                (secrets.token_hex(32),),
            )
            secret = conn.execute("SELECT value FROM meta WHERE key = 'cursor_secret'")
            self.cursor_secret = bytes.fromhex(secret.fetchone()[0])

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
            with Transaction(conn, "BEGIN"):
                return fn(conn)

        return await self._call(work)

    async def write(
        self,
        fn: Callable[[sqlite3.Connection], tuple[int, Any]],
        idempotency: IdempotencyKey | None = None,
    ) -> Outcome:
        """Run ``fn(conn) -> (status, body)`` in one write transaction.

        With an idempotency key, a key seen before answers its stored status and body
        without running ``fn`` (the same key with another body, or on another method or
        path, is a 422); a new key stores the answer in the same transaction as the
        write. An ``ApiError`` from ``fn`` rolls everything back and is not remembered.
        """

        def work() -> Outcome:
            conn = self._connection()
            with Transaction(conn, "BEGIN IMMEDIATE"):
                if idempotency is not None:
                    found = conn.execute(
                        "SELECT fingerprint, status, body FROM idempotency "
                        "WHERE scope = ? AND key = ?",
                        (idempotency.scope, idempotency.key),
                    ).fetchone()
                    if found is not None:
                        _check_reuse(found[0], idempotency)
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

    def now(self) -> str:
        """The current time from ``clock``, formatted as stored."""
        return format_timestamp(self.clock())

    def categories_page(
        self, conn: sqlite3.Connection, params: ListParams
    ) -> tuple[list[CategoryRow], CursorKey | None]:
        """Categories by name after ``params.after`` (see ``_listing``); the next key."""
        return _listing.categories_page(conn, params, self.now())

    def category(self, conn: sqlite3.Connection, name: str) -> CategoryRow:
        """A live category, or 404."""
        return _listing.category(conn, name)

    def resources_page(
        self, conn: sqlite3.Connection, category: str, params: ListParams
    ) -> tuple[list[ResourceRow], CursorKey | None]:
        """A category's resources by name (see ``_listing``); the next key or ``None``."""
        return _listing.resources_page(conn, category, params, self.now())

    def versions_page(
        self, conn: sqlite3.Connection, category: str, resource: str, params: ListParams
    ) -> tuple[list[ResourceRow], CursorKey | None]:
        """One resource's versions in creation order (see ``_listing``); the next key."""
        return _listing.versions_page(conn, category, resource, params, self.now())

    def _rows(
        self, conn: sqlite3.Connection, where: str, args: tuple[Any, ...], now: str
    ) -> list[ResourceRow]:
        rows = execute(conn, "SELECT {cols} FROM resources WHERE {where}", args, where=where)
        return [resource_row(row, now) for row in rows.fetchall()]

    def _live_versions(
        self, conn: sqlite3.Connection, category: str, resource: str
    ) -> list[ResourceRow]:
        return self._rows(
            conn,
            "category = ? AND resource = ? AND deleted_at IS NULL ORDER BY seq",
            (category, resource),
            self.now(),
        )

    def version(
        self, conn: sqlite3.Connection, category: str, resource: str, resource_id: str
    ) -> ResourceRow:
        """One live version, or 404 (deleted, unknown, or under another name)."""
        rows = self._rows(
            conn,
            "resource_id = ? AND category = ? AND resource = ? AND deleted_at IS NULL",
            (resource_id, category, resource),
            self.now(),
        )
        if not rows:
            raise not_found(f"resource version {resource_id!r} of {category!r}/{resource!r}")
        return rows[0]

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
        return self._rows(conn, "seq = ?", (cursor.lastrowid,), now)[0]

    def _writable(self, conn: sqlite3.Connection, category: str) -> CategoryRow:
        found = self.category(conn, category)
        if found.category_type == "system":
            raise _read_only(category)
        return found

    def _mark_deleted(self, conn: sqlite3.Connection, rows: list[ResourceRow]) -> list[ResourceRow]:
        now = self.now()
        conn.executemany(
            "UPDATE resources SET deleted_at = ? WHERE seq = ?", [(now, r.seq) for r in rows]
        )
        # Read back: deleting a version moves the end of the ones around it.
        return [self._rows(conn, "seq = ?", (r.seq,), now)[0] for r in rows]

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
            raise not_found(f"resource {resource!r} in category {category!r}")
        return self._mark_deleted(conn, rows)

    def delete_category(self, conn: sqlite3.Connection, category: str) -> list[ResourceRow]:
        """Soft-delete a custom category and all its live versions."""
        self._writable(conn, category)
        now = self.now()
        rows = self._rows(
            conn, "category = ? AND deleted_at IS NULL ORDER BY resource, seq", (category,), now
        )
        conn.execute("UPDATE categories SET deleted_at = ? WHERE name = ?", (now, category))
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
            return self._rows(conn, "1 ORDER BY seq", (), self.now())

        return await self.read(rows)


def _check_reuse(stored: str, idempotency: IdempotencyKey) -> None:
    """422 unless a stored fingerprint is the same request (rows from before the
    endpoint was part of it hold only the body digest)."""
    endpoint, _, body = stored.rpartition(":")
    if endpoint and endpoint != idempotency.endpoint:
        raise ApiError(
            422,
            "Idempotency-Key was already used on another endpoint (method and path)",
            code="idempotency_key_reused",
        )
    if body != idempotency.body:
        raise ApiError(
            422,
            "Idempotency-Key was already used for a different request body",
            code="idempotency_key_reused",
        )
