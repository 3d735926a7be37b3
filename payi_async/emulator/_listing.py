"""The three list queries, with keyset paging and the ``Active`` filter.

Without ``Active`` a listing shows what is live (not soft-deleted), as before.
``Active=true`` keeps what is in effect at ``now``: a live version that has started
and whose ``end_timestamp`` (the next live version's start) has not come. At most one
version of a resource is active. ``Active=false`` shows the rest, so history stays
reachable: soft-deleted versions, ended ones and ones not yet started, in deleted
categories too. For categories, ``true`` keeps those with an active version (system
categories always) and ``false`` the others, deleted ones included.
"""

from __future__ import annotations

import sqlite3

from ._cursor import CursorKey, KeyKind
from ._errors import ApiError
from ._rows import ACTIVE, CategoryRow, ResourceRow, execute, resource_row
from ._validation import ListParams

__all__ = [
    "categories_page",
    "category",
    "key_kind",
    "not_found",
    "resources_page",
    "versions_page",
]

_HAS_STARTED_VERSION = (
    "EXISTS (SELECT 1 FROM resources r WHERE r.category = c.name "
    "AND r.deleted_at IS NULL AND r.start_timestamp <= :now)"
)


def not_found(what: str) -> ApiError:
    """A 404 naming ``what``."""
    return ApiError(404, f"{what} not found", code="not_found")


def key_kind(listing: str, active: bool | None) -> KeyKind:
    """The cursor key of a listing ("categories", "resources" or "versions")."""
    if listing == "versions":
        return "seq"
    if listing == "resources" and active is False:
        return "name_seq"
    return "name"


def category(conn: sqlite3.Connection, name: str, *, deleted_too: bool = False) -> CategoryRow:
    """A live category (or any that ever existed, with ``deleted_too``), or 404."""
    row = execute(
        conn,
        "SELECT name, category_type, description FROM categories WHERE name = ?{live}",
        (name,),
        live="" if deleted_too else " AND deleted_at IS NULL",
    ).fetchone()
    if row is None:
        raise not_found(f"category {name!r}")
    return CategoryRow(*row)


def _page_end(items: list[ResourceRow], more: bool, kind: KeyKind) -> CursorKey | None:
    if not more:
        return None
    last = items[-1]
    if kind == "seq":
        return last.seq
    if kind == "name_seq":
        return (last.resource, last.seq)
    return last.resource


def categories_page(
    conn: sqlite3.Connection, params: ListParams, now: str
) -> tuple[list[CategoryRow], CursorKey | None]:
    """Categories by name after ``params.after``; the next key or ``None``."""
    if params.active is None:
        where = "c.deleted_at IS NULL"
    elif params.active:
        where = "c.deleted_at IS NULL AND (c.category_type = 'system' OR {started})"
    else:
        where = "c.category_type <> 'system' AND NOT {started}"
    rows = execute(
        conn,
        "SELECT c.name, c.category_type, c.description FROM categories c WHERE {where} "
        "AND (:after IS NULL OR c.name {op} :after) ORDER BY c.name {order} LIMIT :n",
        {"after": params.after, "n": params.limit + 1, "now": now},
        params.ascending,
        where=where,
        started=_HAS_STARTED_VERSION,
    ).fetchall()
    items = [CategoryRow(*row) for row in rows[: params.limit]]
    more = len(rows) > params.limit
    return items, (items[-1].name if more else None)


def resources_page(
    conn: sqlite3.Connection, name: str, params: ListParams, now: str
) -> tuple[list[ResourceRow], CursorKey | None]:
    """Without a filter, the latest live version of each resource, by resource name;
    with ``Active``, the (in)active versions by resource name and creation."""
    category(conn, name, deleted_too=params.active is False)
    args = {"c": name, "after": params.after, "n": params.limit + 1, "now": now}
    kind = key_kind("resources", params.active)
    where = after = ""
    if params.active is None:
        sql = (
            "SELECT {cols} FROM resources WHERE seq IN ("
            "SELECT MAX(seq) FROM resources WHERE category = :c AND deleted_at IS NULL "
            "AND (:after IS NULL OR resource {op} :after) GROUP BY resource "
            "ORDER BY resource {order} LIMIT :n) ORDER BY resource {order}"
        )
    else:
        where = ACTIVE if params.active else "NOT " + ACTIVE
        after = "v.resource {op} :after"
        if kind == "name_seq":
            assert params.after is None or isinstance(params.after, tuple)
            resource, seq = params.after or (None, None)
            args.update(after=resource, seq=seq)
            after = "(v.resource, v.seq) {op} (:after, :seq)"
        sql = (
            "SELECT * FROM (SELECT {cols} FROM resources WHERE category = :c) AS v "
            "WHERE {where} AND (:after IS NULL OR {after}) "
            "ORDER BY v.resource {order}, v.seq {order} LIMIT :n"
        )
    rows = execute(conn, sql, args, params.ascending, where=where, after=after).fetchall()
    items = [resource_row(row, now) for row in rows[: params.limit]]
    return items, _page_end(items, len(rows) > params.limit, kind)


def versions_page(
    conn: sqlite3.Connection, name: str, resource: str, params: ListParams, now: str
) -> tuple[list[ResourceRow], CursorKey | None]:
    """The versions of one resource in creation order: the live ones, or with
    ``Active`` the (in)active ones; 404 if there is nothing of it to list from."""
    history = params.active is False
    category(conn, name, deleted_too=history)
    exists = execute(
        conn,
        "SELECT 1 FROM resources WHERE category = ? AND resource = ?{live} LIMIT 1",
        (name, resource),
        live="" if history else " AND deleted_at IS NULL",
    ).fetchone()
    if exists is None:
        raise not_found(f"resource {resource!r} in category {name!r}")
    if params.active is None:
        where = "v.deleted_at IS NULL"
    else:
        where = ACTIVE if params.active else "NOT " + ACTIVE
    rows = execute(
        conn,
        "SELECT * FROM (SELECT {cols} FROM resources WHERE category = :c AND resource = :r) "
        "AS v WHERE {where} AND (:after IS NULL OR v.seq {op} :after) "
        "ORDER BY v.seq {order} LIMIT :n",
        {"c": name, "r": resource, "after": params.after, "n": params.limit + 1, "now": now},
        params.ascending,
        where=where,
    ).fetchall()
    items = [resource_row(row, now) for row in rows[: params.limit]]
    return items, _page_end(items, len(rows) > params.limit, "seq")
