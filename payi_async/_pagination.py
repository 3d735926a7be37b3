"""Cursor pages that stream: one page in memory at a time, fetched when needed.

A list method returns an ``AsyncPager``: ``await`` it for the first
``AsyncCursorPage``, or ``async for`` over it for every item of every page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from ._exceptions import RepeatedCursorError

__all__ = ["AsyncCursorPage", "AsyncPager"]

T = TypeVar("T")

#: Fetches the page at a cursor (None: the first page) of one listing.
Fetch = Callable[[str | None], Awaitable["AsyncCursorPage[T]"]]


class AsyncCursorPage(Generic[T]):
    """One page of a listing: its ``items`` and the ``cursor`` of the next page.

    ``async for item in page`` yields this page's items and then those of every
    following page, fetching each only when the one before is used up.
    """

    __slots__ = ("_fetch", "_requested", "cursor", "items", "request_id")

    def __init__(
        self,
        items: list[T],
        cursor: str | None,
        request_id: str | None,
        fetch: Fetch[T],
        requested: str | None,
    ) -> None:
        self.items = items
        self.cursor = cursor
        self.request_id = request_id
        self._fetch = fetch
        self._requested = requested

    def __repr__(self) -> str:
        return f"<{type(self).__name__} items={len(self.items)} cursor={self.cursor!r}>"

    def has_next_page(self) -> bool:
        """Whether the server gave a cursor to a following page."""
        return self.cursor is not None

    def _walked(self) -> set[str]:
        """The cursors a walk starting at this page has already followed."""
        return set() if self._requested is None else {self._requested}

    async def _follow(self, walked: set[str]) -> AsyncCursorPage[T]:
        """The following page of a walk that has followed the cursors in ``walked``.

        Raises ``RuntimeError`` on the last page and ``RepeatedCursorError`` when the
        server hands back a cursor the walk already followed (it would loop forever).
        """
        cursor = self.cursor
        if cursor is None:
            raise RuntimeError("this is the last page; check has_next_page() first")
        if cursor in walked:
            raise RepeatedCursorError(cursor)
        walked.add(cursor)
        return await self._fetch(cursor)

    async def get_next_page(self) -> AsyncCursorPage[T]:
        """Fetch the following page (``RuntimeError`` on the last one)."""
        return await self._follow(self._walked())

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        """This page and every following one, fetched one at a time.

        A page with no items that still carries a cursor is not the end.
        """
        page, walked = self, self._walked()
        yield page
        while page.cursor is not None:
            page = await page._follow(walked)
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item


class AsyncPager(Generic[T]):
    """What a list method returns: awaitable for its first page, async-iterable for items."""

    __slots__ = ("_cursor", "_fetch")

    def __init__(self, fetch: Fetch[T], cursor: str | None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    async def first_page(self) -> AsyncCursorPage[T]:
        """Fetch the page this listing starts at."""
        return await self._fetch(self._cursor)

    def __await__(self) -> Generator[Any, None, AsyncCursorPage[T]]:
        return self.first_page().__await__()

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        """Every page of the listing, fetched one at a time."""
        page = await self.first_page()
        async for each in page.iter_pages():
            yield each

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item
