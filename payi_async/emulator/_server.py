"""``LocalPayiServer`` (async context manager) and ``ThreadedPayiServer`` (sync one)."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from ._app import API_KEY_HEADER, Context, RequestRecord, make_app
from ._faults import FaultInjector, Faults
from ._protocol import JsonErrorHandler
from ._shapes import Renderer, Shapes
from ._store import Store

__all__ = ["DEFAULT_API_KEY", "LocalPayiServer", "ThreadedPayiServer", "is_loopback"]

T = TypeVar("T")

#: The API key a server accepts when none is given (printed in the README: it guards
#: nothing, so a server listening beyond loopback refuses to use it).
DEFAULT_API_KEY = "payi-emulator-key"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to anything


def _check_exposure(host: str, api_key: str) -> None:
    if api_key == DEFAULT_API_KEY and not is_loopback(host):
        raise ValueError(
            f"host {host!r} is not loopback: pass an api_key of your own (the default "
            "key is published, so it would let anyone on the network in)"
        )


class LocalPayiServer:
    """A running Pay-i emulator on a real socket, for ``async with``.

    ``host``/``port``: where to listen (port 0 picks a free one; ``base_url`` says
    which). ``db``: ``":memory:"`` or a SQLite file that survives restarts. ``api_key``:
    the only key accepted in the ``xProxy-api-key`` header. ``shapes``: "seed" or
    "hosted" (see ``payi_async.emulator``). ``faults``: what to inject (nothing by
    default; change it any time with ``server.faults = ...`` or ``set_faults``).
    ``keepalive_timeout``: seconds an idle keep-alive connection is kept open, and the
    longest a request body may take to arrive (then 408).
    ``shutdown_timeout``: seconds in-flight requests get to finish when stopping.
    ``clock``: "now" in UTC, for tests that need fixed timestamps.

    A ``host`` other than loopback needs an ``api_key`` of your own: with the default
    key it raises ``ValueError``. ``ignore_idempotency``: accept ``Idempotency-Key`` and
    ignore it (a retried write is done again), as a server that does not honour the
    header would.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        api_key: str = DEFAULT_API_KEY,
        shapes: Shapes = "seed",
        faults: Faults | None = None,
        keepalive_timeout: float = 75.0,
        shutdown_timeout: float = 2.0,
        clock: Callable[[], datetime] | None = None,
        ignore_idempotency: bool = False,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        _check_exposure(host, api_key)
        self.host = host
        self.port = port
        self.api_key = api_key
        self.keepalive_timeout = keepalive_timeout
        self.shutdown_timeout = shutdown_timeout
        #: The database; its coroutine methods run on this server's event loop.
        self.store = Store(db, clock=clock)
        self._ctx = Context(
            store=self.store,
            api_key=api_key,
            renderer=Renderer(shapes),
            injector=FaultInjector(faults),
            ignore_idempotency=ignore_idempotency,
            body_timeout=keepalive_timeout,
        )
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None
        self._base_url: str | None = None

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Open the database and start listening."""
        if self._runner is not None:
            raise RuntimeError("server is already running")
        # Again here: ``host`` is a plain attribute and may have changed since __init__.
        _check_exposure(self.host, self._ctx.api_key)
        await self.store.open()
        runner = web.AppRunner(
            make_app(self._ctx),
            handle_signals=False,
            access_log=None,
            keepalive_timeout=self.keepalive_timeout,
            shutdown_timeout=self.shutdown_timeout,
        )
        try:
            await runner.setup()
            handler_factory = runner.server
            assert handler_factory is not None
            json_errors = type("_Handler", (JsonErrorHandler,), {"__slots__": (), "ctx": self._ctx})

            def accept() -> asyncio.BaseProtocol:
                self._ctx.connections_accepted += 1
                handler = handler_factory()
                handler.__class__ = json_errors  # only handle_error differs
                return handler

            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(accept, self.host, self.port)
        except BaseException:
            await runner.cleanup()
            await self.store.aclose()
            raise
        self._runner = runner
        port = self._server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._base_url = f"http://{host}:{port}"

    async def aclose(self) -> None:
        """Stop listening, close open connections, close the database."""
        runner, self._runner = self._runner, None
        server, self._server = self._server, None
        if runner is None:
            return
        try:
            if server is not None:
                server.close()
            await runner.cleanup()
            if server is not None:
                await server.wait_closed()
        finally:
            await self.store.aclose()

    async def __aenter__(self) -> LocalPayiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------ what tests look at

    @property
    def base_url(self) -> str:
        """``http://host:port`` (the API lives under ``/api/v1``); kept after stopping."""
        if self._base_url is None:
            raise RuntimeError("server is not running")
        return self._base_url

    @property
    def headers(self) -> dict[str, str]:
        """The auth header to send: ``{"xProxy-api-key": api_key}``."""
        return {API_KEY_HEADER: self.api_key}

    @property
    def shapes(self) -> Shapes:
        """``"seed"`` or ``"hosted"``."""
        return self._ctx.renderer.shapes

    @property
    def faults(self) -> Faults:
        """The faults being injected."""
        return self._ctx.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._ctx.injector = FaultInjector(faults)

    def set_faults(self, faults: Faults | None = None, **fields: Any) -> Faults:
        """Inject ``faults`` (or ``Faults(**fields)``) from now on; counters restart."""
        if faults is None:
            faults = Faults(**fields)
        elif fields:
            faults = faults.replace(**fields)
        self.faults = faults
        return faults

    def clear_faults(self) -> None:
        """Inject nothing from now on."""
        self.faults = Faults()

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected since the faults were last set, by kind: ``error``,
        ``rate_limit``, ``budget``, ``drop``, ``after_commit``."""
        return dict(self._ctx.injector.counts)

    @property
    def request_count(self) -> int:
        """Requests received since start-up (faulted ones included)."""
        return self._ctx.request_count

    @property
    def requests(self) -> list[RequestRecord]:
        """The last 10,000 requests, oldest first."""
        return list(self._ctx.log)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start-up."""
        return self._ctx.connections_accepted

    @property
    def internal_errors(self) -> list[RequestRecord]:
        """Every 5xx answered since start-up that was not an injected fault: the
        emulator's own bugs (bad input is always a 4xx). Not cleared by ``clear_log``."""
        return list(self._ctx.internal_errors)

    def clear_log(self) -> None:
        """Forget the recorded requests (counters are kept)."""
        self._ctx.log.clear()


class ThreadedPayiServer:
    """``LocalPayiServer`` on its own event loop in a background thread, for sync code.

    Takes the same arguments. Use it with ``with ThreadedPayiServer() as server:``;
    ``base_url``, ``api_key``, ``faults``/``set_faults``, counters and ``requests`` work
    from any thread; ``run(coro_fn)`` runs a coroutine function on the server's loop,
    e.g. ``server.run(lambda: server.store.count_versions())``.
    """

    def __init__(self, **options: Any) -> None:
        self.server = LocalPayiServer(**options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        """Start the thread and wait until the server listens (or failed to)."""
        if self._thread is not None:
            raise RuntimeError("server is already running")
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name="payi-emulator", daemon=True
        )
        self._thread.start()
        try:
            ready.result()
        except BaseException:
            self._thread.join()
            self._thread = None
            raise

    def _main(self, ready: Future[None]) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            await self.server.aclose()

    def stop(self) -> None:
        """Stop the server and join its thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join()

    def __enter__(self) -> ThreadedPayiServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run(self, coro_fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30.0) -> T:
        """Run ``coro_fn()`` on the server's loop and return its result."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("server is not running")
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout)

    # Thin delegation to the ``LocalPayiServer`` (plain attribute reads and writes are
    # safe from another thread).

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return self.server.base_url

    @property
    def api_key(self) -> str:
        """The accepted API key."""
        return self.server.api_key

    @property
    def headers(self) -> dict[str, str]:
        """The auth header to send."""
        return self.server.headers

    @property
    def store(self) -> Store:
        """The database (its coroutines must run on the server's loop: see ``run``)."""
        return self.server.store

    @property
    def faults(self) -> Faults:
        """The faults being injected."""
        return self.server.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.server.faults = faults

    def set_faults(self, faults: Faults | None = None, **fields: Any) -> Faults:
        """See ``LocalPayiServer.set_faults``."""
        return self.server.set_faults(faults, **fields)

    def clear_faults(self) -> None:
        """Inject nothing from now on."""
        self.server.clear_faults()

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected since the faults were last set, by kind."""
        return self.server.fault_counts

    @property
    def request_count(self) -> int:
        """Requests received since start-up."""
        return self.server.request_count

    @property
    def requests(self) -> list[RequestRecord]:
        """The last 10,000 requests, oldest first."""
        return self.server.requests

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start-up."""
        return self.server.connections_accepted

    @property
    def internal_errors(self) -> list[RequestRecord]:
        """Every 5xx answered that was not an injected fault (see ``LocalPayiServer``)."""
        return self.server.internal_errors
