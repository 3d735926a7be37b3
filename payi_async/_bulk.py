"""Many creates at once: ``resources.create_many`` streams items through N workers.

Memory holds at most ``concurrency`` items in flight; the input is read only as
workers free up, so a generator of a million rows works. Every item read ends up in
the result exactly once, created or failed. Each create carries its own
``Idempotency-Key``, reused by its retries, and a 429 seen by one worker holds back
all of them (the client's shared backoff).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Mapping,
)
from typing import Any, Protocol

import attrs

from ._exceptions import PayiError
from ._models import CategoryResourceResponse, ResourceCreate

__all__ = ["BulkCreated", "BulkFailure", "BulkProgress", "BulkResult", "run_create_many"]

CreateItem = ResourceCreate | Mapping[str, Any]


class _Creates(Protocol):
    """What ``run_create_many`` calls: ``AsyncResources`` (which imports this module)."""

    def _create(
        self, params: ResourceCreate, *, extra_headers: Mapping[str, str] | None = None
    ) -> Awaitable[CategoryResourceResponse]: ...


@attrs.frozen
class BulkCreated:
    """An item that was created: its position in the input and the new version's id."""

    index: int
    category: str
    resource: str
    resource_id: str
    #: The version as the server answered it (``None`` when not kept).
    version: CategoryResourceResponse | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class BulkFailure:
    """An item that was not created: its position, the input as given, and why."""

    index: int
    item: Any
    error: BaseException

    @property
    def message(self) -> str:
        """The error as one line of text."""
        return f"{type(self.error).__name__}: {self.error}"


@attrs.frozen
class BulkProgress:
    """A snapshot for progress reports: items done, failed, expected, and the rate."""

    done: int
    failed: int
    total: int | None
    elapsed: float

    @property
    def rate(self) -> float:
        """Items finished per second so far."""
        return (self.done + self.failed) / self.elapsed if self.elapsed > 0 else 0.0


@attrs.define
class BulkResult:
    """What a ``create_many`` run did with every item it read.

    Pass your own (``result=BulkResult()``) to keep the account of an interrupted
    run: on cancellation or Ctrl-C the items in flight are recorded as failed (they
    may or may not have been created; their idempotency keys died with the run) and
    ``interrupted`` is set before the interruption propagates.
    """

    created: list[BulkCreated] = attrs.field(factory=list)
    failed: list[BulkFailure] = attrs.field(factory=list)
    read: int = 0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Whether every item read was created and the run was not interrupted."""
        return not self.failed and not self.interrupted


_END = object()


async def _aiter(items: AsyncIterable[CreateItem]) -> AsyncGenerator[Any, None]:
    async for item in items:
        yield item


def _iter(items: Iterable[CreateItem]) -> Generator[Any, None, None]:
    # Not ``yield from``: closing this must not close the caller's own iterator.
    for item in items:  # noqa: UP028
        yield item


async def run_create_many(
    resources: _Creates,
    items: Iterable[CreateItem] | AsyncIterable[CreateItem],
    *,
    concurrency: int,
    total: int | None,
    on_progress: Callable[[BulkProgress], None] | None,
    result: BulkResult | None,
    idempotency_key: Callable[[ResourceCreate], str] | None = None,
) -> BulkResult:
    """The engine behind ``AsyncResources.create_many``.

    ``idempotency_key``, when given, names each item's ``Idempotency-Key`` (else each
    create gets a random one).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise TypeError(f"concurrency must be an int, not {type(concurrency).__name__}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    if isinstance(items, (str, bytes, Mapping)):
        raise TypeError("items must be an iterable of items, not a single item")
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    account = BulkResult() if result is None else result
    # A plain iterable is read with next(), which no other worker can interleave with:
    # no lock and no async generator step per item. An async one needs both.
    plain: Generator[Any, None, None] | None = None
    source: AsyncGenerator[Any, None] | None = None
    if isinstance(items, AsyncIterable):
        source = _aiter(items)
    else:
        plain = _iter(items)
    reading = asyncio.Lock()
    started = time.monotonic()
    in_flight: dict[int, Any] = {}

    def report() -> None:
        if on_progress is not None:
            elapsed = time.monotonic() - started
            on_progress(BulkProgress(len(account.created), len(account.failed), total, elapsed))

    async def worker() -> None:
        while True:
            if plain is not None:
                item: Any = next(plain, _END)
                if item is _END:
                    return
            else:
                assert source is not None
                async with reading:
                    try:
                        item = await source.__anext__()
                    except StopAsyncIteration:
                        return
            # No await between reading an item and recording it.
            index = account.read
            account.read += 1
            in_flight[index] = item
            if len(workers) < concurrency:
                spawn()  # the next item finds a worker free to read it
            try:
                params = ResourceCreate.of(item)
                headers = None
                if idempotency_key is not None:
                    headers = {"Idempotency-Key": idempotency_key(params)}
                created = await resources._create(params, extra_headers=headers)
            except (PayiError, ValueError, TypeError) as exc:
                account.failed.append(BulkFailure(index, item, exc))
            else:
                account.created.append(_created(index, created))
            del in_flight[index]
            if on_progress is not None:
                report()

    # Workers start as items arrive, one more per item read up to ``concurrency``: a
    # huge ``concurrency`` (or a short input) costs no more tasks than there are items.
    workers: list[asyncio.Future[None]] = []

    def spawn() -> None:
        workers.append(asyncio.ensure_future(worker()))

    spawn()
    try:
        waited = 0
        while waited < len(workers):
            batch = workers[waited:]
            waited = len(workers)
            await asyncio.gather(*batch)
    except BaseException as exc:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        account.interrupted = True
        for index, item in sorted(in_flight.items()):
            account.failed.append(BulkFailure(index, item, exc))
        in_flight.clear()
        report()
        raise
    finally:
        if source is not None:
            await source.aclose()
        if plain is not None:
            plain.close()
    return account


def _created(index: int, response: CategoryResourceResponse) -> BulkCreated:
    return BulkCreated(index, response.category, response.resource, response.resource_id, response)
