"""Cursor pages for blocking code (hand-written).

A ``SyncCursorPage`` holds one ``AsyncCursorPage`` and the client's ``Portal``; it
fetches through the async page's public methods, so a walk over the pages keeps the
async page's guard against a server that repeats a cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Generic, TypeVar

from payi_async import AsyncCursorPage, AsyncPager

from ._portal import Portal

__all__ = ["SyncCursorPage"]

T = TypeVar("T")


async def _next_page(pages: AsyncIterator[AsyncCursorPage[T]], start: bool) -> AsyncCursorPage[T]:
    if start:
        await anext(pages)  # the walk yields the page it starts at first
    return await anext(pages)


class SyncCursorPage(Generic[T]):
    """One page of a listing, for blocking code: ``items``, ``cursor`` and the next page.

    ``for item in page`` yields this page's items and then those of every following
    page, fetching each only when the one before is used up.
    """

    __slots__ = ("_page", "_portal")

    def __init__(self, portal: Portal, page: AsyncCursorPage[T]) -> None:
        self._portal = portal
        self._page = page

    @classmethod
    def first(cls, portal: Portal, pager: AsyncPager[T]) -> SyncCursorPage[T]:
        """Fetch the first page of a listing."""
        return cls(portal, portal.call(pager.first_page))

    def __repr__(self) -> str:
        return f"<SyncCursorPage items={len(self.items)} cursor={self.cursor!r}>"

    @property
    def items(self) -> list[T]:
        """This page's items."""
        return self._page.items

    @property
    def cursor(self) -> str | None:
        """The cursor of the following page, or None on the last page."""
        return self._page.cursor

    @property
    def request_id(self) -> str | None:
        """The request id of the answer this page came from, if the server gave one."""
        return self._page.request_id

    def has_next_page(self) -> bool:
        """Whether the server gave a cursor to a following page."""
        return self._page.has_next_page()

    def get_next_page(self) -> SyncCursorPage[T]:
        """Fetch the following page (see ``AsyncCursorPage.get_next_page``)."""
        return SyncCursorPage(self._portal, self._portal.call(self._page.get_next_page))

    def iter_pages(self) -> Iterator[SyncCursorPage[T]]:
        """This page and every following one, fetched one at a time."""
        # The async page's own walk (with its repeated-cursor guard) runs on the portal's
        # loop, one page per call; it goes on exactly while the page has a cursor.
        pages, page = self._page.iter_pages(), self
        yield page
        while page.has_next_page():
            fetched = self._portal.call(_next_page, pages, page is self)
            page = SyncCursorPage(self._portal, fetched)
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items
