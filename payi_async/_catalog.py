"""The price catalogue as desired state: ``plan`` and ``apply``.

A plan compares rows (``ResourceCreate`` items, e.g. a price file) with the live
versions on the server. A row is *unchanged* when a live version has the same units,
prices, ``max_*_units`` and ``start_timestamp`` and is the one in effect then (not
shadowed by a later-created version with the same start); a row without ``start_timestamp`` is
unchanged when the version in effect now (counting the plan's own creates) has the
same units, prices and limits. Every other row is a *create*. With ``prune``, live
resources of the named categories that no row names are *deletes* (system categories
are never touched).

``apply`` never retries a create blindly: creates go out without transport retries,
each with an ``Idempotency-Key`` derived from the row and the versions it was planned
against, and after every round the touched resources are read again and planned
anew. So an apply interrupted anywhere, followed by another, ends with every desired
version exactly once, even on a server that ignores ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._bulk import BulkCreated, BulkFailure, BulkProgress, BulkResult
from ._exceptions import (
    APIStatusError,
    APITimeoutError,
    NotFoundError,
    PayiError,
    RateLimitError,
    VersionMismatchError,
)
from ._models import CategoryResourceResponse, ResourceCreate
from ._timeline import in_effect, server_instant
from ._validation import parse_timestamp

if TYPE_CHECKING:
    from ._resources import AsyncResources

__all__ = ["CatalogPlan", "CatalogResult", "apply_catalog", "content_key", "plan_catalog"]

T = TypeVar("T")
A = TypeVar("A")

#: Page size of the listings a plan reads (the API's maximum).
PAGE = 1000
#: Listings in flight at once while planning.
READ_CONCURRENCY = 16
_SYSTEM_PREFIX = "system."
_LIMITS = ("max_input_units", "max_output_units", "max_total_units")
#: Far in the future: a planned create counts as created after every live version.
_LATER = datetime.max.replace(tzinfo=timezone.utc)

Key = tuple[str, str]


def _price(units: object, name: str) -> float | None:
    value: float | None = getattr(units, name, None)
    return value


def _body(item: ResourceCreate) -> dict[str, Any]:
    """The create's content in one canonical form (units sorted; the start as sent, so
    that one key never names two different request bodies)."""
    return {
        "units": {
            name: [_price(u, "input_price"), _price(u, "output_price")]
            for name, u in sorted(item.units.items())
        },
        "limits": [getattr(item, name) for name in _LIMITS],
        "start": item.start_timestamp,
    }


def content_key(
    item: ResourceCreate, planned_against: Iterable[str] = (), *, answered: Iterable[str] = ()
) -> str:
    """An ``Idempotency-Key`` derived from a row's content and the live versions
    (``resource_id``s) it was planned against: the same in every process.

    ``answered`` are versions a create of this row was answered with that do not
    stand (a replayed answer of a version deleted since, or one shadowed): only
    then does a re-sent row need a new key. A create whose outcome is unknown is
    re-sent with the same key, so a server that honours keys makes it once.
    """
    doc: dict[str, Any] = {
        "category": item.category,
        "resource": item.resource,
        "body": _body(item),
        "after": sorted(planned_against),
    }
    seen = sorted(answered)
    if seen:
        doc["answered"] = seen
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "payi-catalog-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:48]


def same_content(item: ResourceCreate, version: CategoryResourceResponse) -> bool:
    """Same unit types, prices and ``max_*_units`` (the start is not compared)."""
    if any(getattr(item, name) != getattr(version, name) for name in _LIMITS):
        return False
    if item.units.keys() != version.units.keys():
        return False
    for name, units in item.units.items():
        other = version.units[name]
        for price in ("input_price", "output_price"):
            if _price(units, price) != _price(other, price):
                return False
    return True


@attrs.frozen
class _Row:
    index: int
    item: ResourceCreate
    start: datetime | None


def _rows(items: Iterable[ResourceCreate | Mapping[str, Any]]) -> list[_Row]:
    """The desired rows, checked; identical rows count once; contradictions refused."""
    if isinstance(items, (str, bytes, Mapping)):
        raise TypeError("items must be an iterable of items, not a single item")
    rows: list[_Row] = []
    seen: dict[tuple[str, str, datetime | None], _Row] = {}
    for index, raw in enumerate(items):
        try:
            item = ResourceCreate.of(raw)
            start = (
                None
                if item.start_timestamp is None
                else parse_timestamp("start_timestamp", item.start_timestamp)
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"item {index}: {exc}") from None
        slot = (item.category, item.resource, start)
        earlier = seen.get(slot)
        if earlier is not None:
            if {**_body(earlier.item), "start": None} == {**_body(item), "start": None}:
                continue  # the same version, perhaps with its start written differently
            when = "in effect now (no start_timestamp)" if start is None else f"at {start}"
            raise ValueError(
                f"items {earlier.index} and {index} both describe {item.category!r}/"
                f"{item.resource!r} {when} with different prices or limits; keep one"
            )
        row = _Row(index, item, start)
        seen[slot] = row
        rows.append(row)
    return rows


@attrs.frozen
class CatalogPlan:
    """What ``apply`` would do: rows to create, rows already live, resources to delete.

    ``creates`` and ``unchanged`` are rows (``ResourceCreate``) in input order;
    ``deletes`` are the latest live versions of resources ``prune`` would delete (every
    version of each goes). ``create_keys[i]`` is the ``Idempotency-Key`` of
    ``creates[i]``. A plan is falsy when there is nothing to do; ``str(plan)`` is a
    readable diff.
    """

    creates: tuple[ResourceCreate, ...] = ()
    unchanged: tuple[ResourceCreate, ...] = ()
    deletes: tuple[CategoryResourceResponse, ...] = ()
    create_keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    #: The desired rows the plan was made from, and whether it prunes.
    items: tuple[ResourceCreate, ...] = attrs.field(default=(), repr=False)
    prune: bool = False

    def __bool__(self) -> bool:
        return bool(self.creates or self.deletes)

    def __str__(self) -> str:
        lines = [f"+ {_describe(item)}" for item in self.creates]
        lines += [
            f"- {v.category} / {v.resource} (every version; latest {v.resource_id})"
            for v in self.deletes
        ]
        lines.append(
            f"Plan: {len(self.creates)} to create, {len(self.unchanged)} unchanged, "
            f"{len(self.deletes)} to delete."
        )
        return "\n".join(lines)


def _describe(item: ResourceCreate) -> str:
    units = ", ".join(
        f"{name} {_price(u, 'input_price')!r}/{_price(u, 'output_price')!r}"
        for name, u in item.units.items()
    )
    limits = " ".join(
        f"{name}={getattr(item, name)}" for name in _LIMITS if getattr(item, name) is not None
    )
    start = f" from {item.start_timestamp}" if item.start_timestamp else " (in effect now)"
    return f"{item.category} / {item.resource}: {units}{' ' + limits if limits else ''}{start}"


@attrs.define
class CatalogResult:
    """What ``apply`` did. ``ok`` when the catalogue now matches the rows.

    ``created`` (the creates the server answered) and ``failed`` use each row's
    position in the input as ``index``; ``confirmed`` counts the planned creates now
    seen on the server (also those whose answer was lost); ``unconverged`` are rows
    still missing after the last round (a server that kept failing); ``deleted`` are
    the resources deleted (their latest versions).
    """

    plan: CatalogPlan
    confirmed: int = 0
    created: list[BulkCreated] = attrs.field(factory=list)
    failed: list[BulkFailure] = attrs.field(factory=list)
    deleted: list[CategoryResourceResponse] = attrs.field(factory=list)
    unconverged: list[ResourceCreate] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        """Whether every create and delete of the plan is done and verified."""
        return not self.failed and not self.unconverged


async def _limited(job: Callable[[A], Awaitable[T]], args: Iterable[A], limit: int) -> list[T]:
    """``job(arg)`` for every arg, at most ``limit`` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def run(arg: A) -> T:
        async with gate:
            return await job(arg)

    return list(await asyncio.gather(*(run(arg) for arg in args)))


async def _all(pager: AsyncIterable[T]) -> list[T]:
    try:
        return [x async for x in pager]
    except NotFoundError:
        return []


class _Survey:
    """What the server holds for some resources: latest per resource, versions as read."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, CategoryResourceResponse]] = {}
        self.versions: dict[Key, list[CategoryResourceResponse]] = {}


def _shortcut(rows: list[_Row], latest: CategoryResourceResponse | None) -> bool:
    """One dated row that the latest version already is: no need to list versions."""
    if latest is None:
        return True  # no live version: nothing to list
    if len(rows) != 1 or rows[0].start is None:
        return False
    return rows[0].start == server_instant(latest.start_timestamp) and same_content(
        rows[0].item, latest
    )


async def _survey(
    resources: AsyncResources, groups: Mapping[Key, list[_Row]], categories: Iterable[str]
) -> _Survey:
    survey = _Survey()
    names = sorted(set(categories))
    categories_api = resources._client.categories

    def listing(category: str) -> Awaitable[list[CategoryResourceResponse]]:
        return _all(categories_api.list_resources(category, limit=PAGE))

    def versions(key: Key) -> Awaitable[list[CategoryResourceResponse]]:
        return _all(resources.list(key[1], key[0], limit=PAGE, sort_ascending=True))

    listings = await _limited(listing, names, READ_CONCURRENCY)
    for category, found in zip(names, listings, strict=True):
        survey.latest[category] = {v.resource: v for v in found}
    wanted = [
        key
        for key, rows in groups.items()
        if not _shortcut(rows, survey.latest.get(key[0], {}).get(key[1]))
    ]
    fetched = await _limited(versions, wanted, READ_CONCURRENCY)
    survey.versions.update(zip(wanted, fetched, strict=True))
    return survey


def _standing(
    start: datetime, versions: list[CategoryResourceResponse]
) -> tuple[CategoryResourceResponse | None, list[str]]:
    """Of the versions starting exactly at ``start``, the one in effect then (the
    latest created: an older one with the same start is shadowed), and all their ids."""
    same = [v for v in versions if server_instant(v.start_timestamp) == start]
    current = in_effect([(start, server_instant(v.creation_timestamp), v) for v in same], start)
    return current, [v.resource_id for v in same]


def _decide(
    key: Key, rows: list[_Row], survey: _Survey, now: datetime
) -> tuple[list[tuple[_Row, list[str]]], list[_Row]]:
    """(creates with the resource_ids each was planned against, unchanged) for one
    resource."""
    latest = survey.latest.get(key[0], {}).get(key[1])
    versions = survey.versions.get(key)
    if versions is None:  # not listed: no live version, or the shortcut applies
        if latest is not None:
            return [], list(rows)
        versions = []
    creates: list[tuple[_Row, list[str]]] = []
    unchanged: list[_Row] = []
    undated: _Row | None = None
    for row in rows:
        if row.start is None:
            undated = row
            continue
        # Matched only by the version in effect at the row's start: a reverted price
        # must not count as live because an older, shadowed version has it.
        current, against = _standing(row.start, versions)
        if current is not None and same_content(row.item, current):
            unchanged.append(row)
        else:
            creates.append((row, against))
    if undated is not None:
        # In effect now once this plan's dated creates are made (created "last").
        candidates: list[tuple[datetime | None, datetime | None, Any]] = [
            (server_instant(v.start_timestamp), server_instant(v.creation_timestamp), v)
            for v in versions
        ]
        # The server's clock may run ahead of ours: its newest creation time is "now"
        # at the latest, or a version made a moment ago would not count as started.
        made = [created for _, created, _ in candidates if created is not None]
        now = max([now, *made])
        candidates += [(row.start, _LATER, row.item) for row, _ in creates]
        current = in_effect(candidates, now)
        if isinstance(current, CategoryResourceResponse) and same_content(undated.item, current):
            unchanged.append(undated)
        else:
            # Planned against the versions the file's dated rows do not account for,
            # so that its key does not change as those rows get created.
            dated = [row for row in rows if row.start is not None]
            creates.append((undated, [v.resource_id for v in versions if not _owned(v, dated)]))
    return creates, unchanged


def _owned(version: CategoryResourceResponse, dated: list[_Row]) -> bool:
    start = server_instant(version.start_timestamp)
    return any(row.start == start and same_content(row.item, version) for row in dated)


async def _plan_rows(
    resources: AsyncResources,
    rows: list[_Row],
    *,
    prune: bool,
    answered: Mapping[int, list[str]] | None = None,
) -> tuple[CatalogPlan, dict[int, _Row], list[tuple[_Row, str]]]:
    groups: dict[Key, list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.item.category, row.item.resource), []).append(row)
    categories = {category for category, _ in groups}
    survey = await _survey(resources, groups, categories)
    now = datetime.now(timezone.utc)
    creates: list[tuple[_Row, str]] = []
    unchanged: list[_Row] = []
    for key, group in groups.items():
        new, same = _decide(key, group, survey, now)
        creates += [
            (row, content_key(row.item, against, answered=(answered or {}).get(row.index, ())))
            for row, against in new
        ]
        unchanged += same
    creates.sort(key=lambda pair: pair[0].index)
    unchanged.sort(key=lambda row: row.index)
    deletes: list[CategoryResourceResponse] = []
    if prune:
        system = await _system_categories(resources, categories)
        for category in sorted(categories - system):
            named = {resource for c, resource in groups if c == category}
            latest = survey.latest.get(category, {})
            deletes += [latest[r] for r in sorted(latest) if r not in named]
    plan = CatalogPlan(
        creates=tuple(row.item for row, _ in creates),
        unchanged=tuple(row.item for row in unchanged),
        deletes=tuple(deletes),
        create_keys=tuple(k for _, k in creates),
        items=tuple(row.item for row in rows),
        prune=prune,
    )
    return plan, {row.index: row for row in rows}, creates


async def _system_categories(resources: AsyncResources, names: set[str]) -> set[str]:
    system = {name for name in names if name.startswith(_SYSTEM_PREFIX)}
    async for category in resources._client.categories.list(limit=PAGE):
        if category.category in names and category.category_type == "system":
            system.add(category.category)
    return system


async def plan_catalog(
    resources: AsyncResources, items: Iterable[ResourceCreate | Mapping[str, Any]], *, prune: bool
) -> CatalogPlan:
    """The engine behind ``AsyncResources.plan``."""
    if not isinstance(prune, bool):
        raise TypeError(f"prune must be a bool, not {type(prune).__name__}")
    plan, _, _ = await _plan_rows(resources, _rows(items), prune=prune)
    return plan


def _lookup(keys: dict[int, str]) -> Callable[[ResourceCreate], str]:
    return lambda item: keys[id(item)]


def _mismatch(row: _Row, stored: CategoryResourceResponse | None) -> VersionMismatchError | None:
    """An error when the server answered a create with another version than the row
    (it ignored the start, or rounded a price): re-sending would only add more."""
    if stored is None:
        return None
    if row.start is not None and server_instant(stored.start_timestamp) != row.start:
        what = f"start {stored.start_timestamp!r} rather than {row.item.start_timestamp!r}"
    elif not same_content(row.item, stored):
        what = "other prices or limits"
    else:
        return None
    return VersionMismatchError(row.item, stored, f"a version with {what}")


def _grace(client: Any, batch: BulkResult) -> float:
    """How long to wait before reading the server again after a round: a create that
    timed out may still be running there, so it gets as long again as it was given."""
    if not any(isinstance(f.error, APITimeoutError) for f in batch.failed):
        return 0.0
    timeout = client.timeout
    return float(timeout.read or timeout.total or timeout.connect or 0.0)


def _retryable(error: BaseException) -> bool:
    """Whether a create may be tried again (after reading the server anew)."""
    if isinstance(error, APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return isinstance(error, PayiError)


async def apply_catalog(
    resources: AsyncResources,
    plan_or_items: CatalogPlan | Iterable[ResourceCreate | Mapping[str, Any]],
    *,
    prune: bool,
    concurrency: int,
    on_progress: Callable[[BulkProgress], None] | None,
) -> CatalogResult:
    """The engine behind ``AsyncResources.apply``."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise TypeError(f"concurrency must be an int, not {type(concurrency).__name__}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    given = plan_or_items if isinstance(plan_or_items, CatalogPlan) else None
    rows = _rows(given.items if given is not None else plan_or_items)  # type: ignore[arg-type]
    prune = given.prune if given is not None else prune
    plan, by_index, todo = await _plan_rows(resources, rows, prune=prune)
    deletes = list(plan.deletes)
    if given is not None:
        # Only deletes the caller saw (and perhaps confirmed) in the plan they passed.
        allowed = {(v.category, v.resource) for v in given.deletes}
        deletes = [v for v in deletes if (v.category, v.resource) in allowed]
    result = CatalogResult(plan=plan)
    client = resources._client
    total = len(todo) + len(deletes)
    started = asyncio.get_running_loop().time()

    planned = len(todo)

    def report(extra: int = 0) -> None:
        if on_progress is not None:
            done = result.confirmed + len(result.deleted) + extra
            elapsed = asyncio.get_running_loop().time() - started
            on_progress(BulkProgress(done, len(result.failed), total, elapsed))

    # No blind retries of creates: a failed one is settled by reading the server again.
    once = client.with_options(max_retries=0).categories.resources
    policy = client._policy
    rounds = max(client.max_retries, 1) + 1
    answered: dict[int, list[str]] = {}
    for attempt in range(rounds):
        if not todo:
            break
        keys = {id(row.item): key for row, key in todo}
        batch = BulkResult()
        positions = [row.index for row, _ in todo]
        await once.create_many(
            [row.item for row, _ in todo],
            concurrency=concurrency,
            on_progress=lambda p: report(p.done),
            result=batch,
            idempotency_key=_lookup(keys),
        )
        result.created += [
            BulkCreated(positions[c.index], c.category, c.resource, c.resource_id, c.version)
            for c in batch.created
        ]
        for c in batch.created:
            answered.setdefault(positions[c.index], []).append(c.resource_id)
            mismatch = _mismatch(by_index[positions[c.index]], c.version)
            if mismatch is not None:
                result.failed.append(BulkFailure(positions[c.index], mismatch.sent, mismatch))
        retry_after = 0.0
        for failure in batch.failed:
            if _retryable(failure.error):
                if isinstance(failure.error, RateLimitError) and failure.error.retry_after:
                    retry_after = max(retry_after, failure.error.retry_after)
                continue
            result.failed.append(BulkFailure(positions[failure.index], failure.item, failure.error))
        if batch.failed and attempt + 1 < rounds:
            await asyncio.sleep(max(retry_after, policy.backoff(attempt)) + _grace(client, batch))
        # Read the touched resources again: what is still missing is the next round.
        given_up = {f.index for f in result.failed}
        touched = {(row.item.category, row.item.resource) for row, _ in todo}
        again = [
            by_index[i]
            for i in sorted(by_index)
            if (by_index[i].item.category, by_index[i].item.resource) in touched
        ]
        _, _, fresh = await _plan_rows(resources, again, prune=False, answered=answered)
        todo = [(row, key) for row, key in fresh if row.index not in given_up]
        refused = sum(f.index >= 0 for f in result.failed)
        result.confirmed = max(0, planned - len(todo) - refused)
        report()
    result.unconverged = [row.item for row, _ in todo]
    await _delete(resources, deletes, concurrency, result, report)
    return result


async def _delete(
    resources: AsyncResources,
    deletes: list[CategoryResourceResponse],
    concurrency: int,
    result: CatalogResult,
    report: Callable[[], None],
) -> None:
    categories = resources._client.categories

    async def delete(version: CategoryResourceResponse) -> None:
        try:
            await categories.delete_resource(version.resource, version.category)
        except NotFoundError:
            pass  # already gone (an earlier attempt's answer was lost)
        except PayiError as exc:
            result.failed.append(BulkFailure(-1, version, exc))
            report()
            return
        result.deleted.append(version)
        report()

    await _limited(delete, deletes, concurrency)
