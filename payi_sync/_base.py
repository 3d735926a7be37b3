"""What every generated blocking client shares: its lifecycle around one ``Portal``
(hand-written; the generator writes the subclasses)."""

from __future__ import annotations

import weakref
from types import TracebackType
from typing import Any, TypeVar

from ._portal import Portal

__all__ = ["SyncClientBase"]

S = TypeVar("S", bound="SyncClientBase")


class SyncClientBase:
    """What every generated blocking client shares: lifecycle around one ``Portal``."""

    _async: Any
    _portal: Portal
    _root: SyncClientBase | None

    def _attach(self, client: Any, portal: Portal, root: SyncClientBase | None = None) -> None:
        self._async = client
        self._portal = portal
        # A copy from with_options keeps its root alive: the root's collection shuts the
        # shared portal down, which must not happen while a copy is still in use.
        self._root = root
        if root is None:
            weakref.finalize(self, portal.shutdown_unclosed, client.close, type(self).__name__)

    def __repr__(self) -> str:
        text = repr(self._async)
        return type(self).__name__ + text[text.index("(") :]

    def close(self) -> None:
        """Close the connection pool and stop the client's event loop thread. Idempotent."""
        self._portal.shutdown(self._async.close)

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
