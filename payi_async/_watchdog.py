"""Read timeouts for every request of a pool, kept with one loop timer.

aiohttp's own ``sock_read`` re-arms a timer at every chunk received: two timer handles
made, pushed on the loop's heap and cancelled per request, and with 64 requests in
flight the heap fills with cancelled handles that the loop keeps sorting. A small JSON
answer pays more for that than for the rest of its bookkeeping (see the README's
Performance section). Here each request reading its answer carries a deadline that a
read moves on by storing a float; one timer, armed for the earliest deadline, wakes
only when some deadline may have passed, and fails that request as aiohttp's read
timeout would: the connection's protocol (and the body stream) get a
``SocketTimeoutError``, so the waiting read raises it and the connection is closed.

The clock starts when the request has its connection (``Connector.connect``), as
aiohttp's does once it sends the request: the wait for a pooled connection is the
``pool`` limit's, not the read limit's.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Watch", "Watchdog", "connector"]

_NEVER = math.inf


class Watch:
    """One request reading its answer: its read limit and the deadline it moves."""

    __slots__ = ("deadline", "protocol", "read", "response", "task")

    def __init__(self, read: float, task: asyncio.Task[Any] | None) -> None:
        self.read = read
        self.task = task
        #: When this request times out; never until it has its connection.
        self.deadline = _NEVER
        self.protocol: Any = None
        self.response: aiohttp.ClientResponse | None = None


class Watchdog:
    """The read deadlines of one pool's requests in flight, and the timer behind them."""

    __slots__ = ("_due", "_handle", "_loop", "_watches")

    def __init__(self) -> None:
        self._watches: dict[asyncio.Task[Any] | None, Watch] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._due = _NEVER
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<Watchdog watching={len(self._watches)}>"

    def start(self, read: float) -> Watch:
        """Watch the current task's request, ``read`` seconds of silence allowed."""
        task = asyncio.current_task()
        watch = self._watches[task] = Watch(read, task)
        return watch

    def stop(self, watch: Watch) -> None:
        """The request is done (its timer is left armed: it finds nothing and stops)."""
        if self._watches.get(watch.task) is watch:
            del self._watches[watch.task]
        watch.deadline = _NEVER

    def connected(self, protocol: Any) -> None:
        """The current task's request has its connection: its clock starts."""
        watch = self._watches.get(asyncio.current_task())
        if watch is None:
            return
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        watch.protocol = protocol
        watch.deadline = deadline = loop.time() + watch.read
        if deadline < self._due:
            self._arm(deadline)

    def touch(self, watch: Watch) -> None:
        """``watch``'s request read something: its silence starts again."""
        if watch.deadline is not _NEVER and self._loop is not None:
            watch.deadline = self._loop.time() + watch.read

    def close(self) -> None:
        """Disarm the timer (the pool is closing)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._due = _NEVER

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        if self._handle is not None:
            self._handle.cancel()
        self._due = when
        self._handle = self._loop.call_at(when, self._wake)

    def _wake(self) -> None:
        self._handle = None
        self._due = _NEVER
        assert self._loop is not None
        now = self._loop.time()
        earliest = _NEVER
        for watch in list(self._watches.values()):
            if watch.deadline <= now:
                watch.deadline = _NEVER
                _time_out(watch)
            elif watch.deadline < earliest:
                earliest = watch.deadline
        if earliest is not _NEVER:
            self._arm(earliest)


def _time_out(watch: Watch) -> None:
    import aiohttp

    error = aiohttp.SocketTimeoutError("Timeout on reading data from socket")
    if watch.protocol is not None:
        watch.protocol.set_exception(error)
    if watch.response is not None:
        watch.response.content.set_exception(error)


_connector_class: Any = None


def connector(watchdog: Watchdog, **options: Any) -> aiohttp.TCPConnector:
    """An ``aiohttp.TCPConnector`` that tells ``watchdog`` when a request has its
    connection (aiohttp is imported here, when the first session opens)."""
    global _connector_class
    if _connector_class is None:
        _connector_class = _make_connector_class()
    made: aiohttp.TCPConnector = _connector_class(watchdog, **options)
    return made


def _make_connector_class() -> Any:
    import aiohttp

    class _WatchedConnector(aiohttp.TCPConnector):
        def __init__(self, watchdog: Watchdog, **options: Any) -> None:
            super().__init__(**options)
            self._payi_watchdog = watchdog

        async def connect(
            self, req: Any, traces: Any, timeout: aiohttp.ClientTimeout
        ) -> aiohttp.connector.Connection:
            conn = await super().connect(req, traces, timeout)
            self._payi_watchdog.connected(conn.protocol)
            return conn

    return _WatchedConnector
