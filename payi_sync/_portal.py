"""The event loop thread every blocking client runs its coroutines on (hand-written).

Why a long-lived loop: an aiohttp session belongs to the event loop that made it,
and plain ``async_to_sync`` runs every call in ``asyncio.run`` on a new loop, which
would open a new connection (and TLS handshake) per call. So each blocking client owns
a ``Portal``: one event loop in one daemon thread, alive as long as the client, and its
connection pool with it. Calls still go through asgiref's ``AsyncToSync``: the calling
thread is given the thread-locals a ``SyncToAsync`` worker of that loop would have
(``main_event_loop``, ``main_event_loop_pid``), and ``AsyncToSync`` then schedules the
coroutine on the portal's loop and waits, instead of starting a loop of its own.

From a thread whose own loop is running (a notebook cell), ``AsyncToSync`` refuses to
run; the wait then happens in a helper thread, so the call still completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync

__all__ = ["Portal"]

P = ParamSpec("P")
R = TypeVar("R")

_LOCALS = ("main_event_loop", "main_event_loop_pid")
_MISSING = object()
#: Seconds an interrupted call gets to unwind before control returns to the caller.
ABANDON_WAIT = 5.0


class _Call:
    """One coroutine call on the portal's loop that the caller may abandon."""

    __slots__ = ("abandoned", "running", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.abandoned = False
        # Held until run() ends; a lock is much cheaper to make than an Event.
        self.running = threading.Lock()
        self.running.acquire()

    def wait_finished(self, timeout: float) -> None:
        """Wait until run() has ended (or ``timeout`` seconds)."""
        if self.running.acquire(timeout=timeout):
            self.running.release()

    def abandon(self) -> None:
        # Runs on the loop thread, so it cannot race with run() below.
        self.abandoned = True
        if self.task is not None:
            self.task.cancel()

    async def run(
        self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        self.task = asyncio.current_task()
        try:
            if self.abandoned:
                raise asyncio.CancelledError
            return await fn(*args, **kwargs)
        finally:
            self.running.release()


class Portal:
    """An event loop in a daemon thread that blocking callers hand coroutines to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._helpers: ThreadPoolExecutor | None = None
        self.closed = False

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and not self.closed:
            return loop
        with self._lock:
            if self.closed:
                raise RuntimeError("this client is closed; make a new one")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_serve, args=(loop, ready), name="payi-sync-loop", daemon=True
                )
                thread.start()
                ready.wait()
                self._thread, self._loop = thread, loop
            return self._loop

    def call(self, fn: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` on the portal's loop and wait for its result.

        Ctrl-C (or any exception) while waiting cancels the coroutine.
        """
        loop = self._ensure_loop()
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "a blocking payi_sync call was made from inside its own event loop; "
                "use payi_async.AsyncPayi there"
            )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            in_loop = False
        else:
            in_loop = True
        if not in_loop:
            # Called outside the handler, so an error the call raises does not carry
            # "RuntimeError: no running event loop" as its context in every traceback.
            return self._call_here(loop, fn, args, kwargs)
        # This thread runs a loop of its own (a notebook): wait in a helper thread.
        with self._lock:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(4, thread_name_prefix="payi-sync-call")
            helpers = self._helpers
        return helpers.submit(self._call_here, loop, fn, args, kwargs).result()

    @staticmethod
    def _call_here(
        loop: asyncio.AbstractEventLoop,
        fn: Callable[..., Awaitable[R]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> R:
        local = SyncToAsync.threadlocal
        saved = [getattr(local, name, _MISSING) for name in _LOCALS]
        local.main_event_loop = loop
        local.main_event_loop_pid = os.getpid()
        call = _Call()
        try:
            result: R = AsyncToSync(call.run)(fn, args, kwargs)
            return result
        except BaseException:
            if not loop.is_closed():
                loop.call_soon_threadsafe(call.abandon)
                # Let the cancelled call unwind (release its connection, record what it
                # did) before the caller goes on; a second Ctrl-C stops the wait.
                with contextlib.suppress(KeyboardInterrupt):
                    call.wait_finished(ABANDON_WAIT)
            raise
        finally:
            for name, value in zip(_LOCALS, saved, strict=True):
                if value is _MISSING:
                    delattr(local, name)
                else:
                    setattr(local, name, value)

    def shutdown(self, last: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """Run ``last()`` on the loop (closing the pool), then stop the loop. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            loop, thread, helpers = self._loop, self._thread, self._helpers
            self._loop = None
        if loop is None or thread is None:
            return
        try:
            if last is not None and thread.is_alive():
                asyncio.run_coroutine_threadsafe(last(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
            if helpers is not None:
                helpers.shutdown(wait=True)

    def shutdown_unclosed(self, last: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        """What a blocking client collected without ``close()`` does: warn, then shut down."""
        if self.closed:
            return
        warnings.warn(
            f"{name} was not closed; call close() or use 'with'", ResourceWarning, stacklevel=1
        )
        self.shutdown(last)


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        # Let cancelled calls unwind before the loop is closed by its owner.
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
