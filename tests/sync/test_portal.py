"""The Portal: asgiref's AsyncToSync handing calls to one long-lived loop."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
import time
import warnings

import pytest
from asgiref.sync import AsyncToSync

from payi_sync import _portal
from payi_sync._portal import Portal


async def _where() -> tuple[int, int]:
    return threading.get_ident(), id(asyncio.get_running_loop())


def test_every_call_runs_on_one_long_lived_loop_thread() -> None:
    # Pins the asgiref behaviour payi_sync relies on (see pyproject's asgiref range):
    # AsyncToSync schedules onto SyncToAsync.threadlocal.main_event_loop instead of
    # starting a fresh loop per call. If asgiref changes that, the loops differ here.
    portal = Portal()
    try:
        seen = {portal.call(_where) for _ in range(5)}
        assert len(seen) == 1
        thread_id, _ = seen.pop()
        assert thread_id != threading.get_ident()
    finally:
        portal.shutdown()


def test_calls_go_through_asgiref_async_to_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []

    class Spy(AsyncToSync):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append(args[0])
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_portal, "AsyncToSync", Spy)
    portal = Portal()
    try:
        portal.call(_where)
        portal.call(_where)
    finally:
        portal.shutdown()
    assert len(made) == 2


def test_thread_locals_of_the_caller_are_restored() -> None:
    from asgiref.sync import SyncToAsync

    portal = Portal()
    try:
        portal.call(_where)
        assert not hasattr(SyncToAsync.threadlocal, "main_event_loop")
    finally:
        portal.shutdown()


def test_works_from_a_thread_whose_loop_is_running() -> None:
    portal = Portal()

    async def notebook_cell() -> tuple[int, int]:
        return portal.call(_where)

    try:
        plain = portal.call(_where)
        from_loop = asyncio.run(asyncio.wait_for(notebook_cell(), timeout=10))
        assert from_loop == plain
    finally:
        portal.shutdown()


def test_exceptions_propagate_with_their_class() -> None:
    async def boom() -> None:
        raise LookupError("nope")

    portal = Portal()
    try:
        with pytest.raises(LookupError, match="nope"):
            portal.call(boom)
        assert portal.call(_where)  # still usable
    finally:
        portal.shutdown()


def test_ctrl_c_cancels_the_call_promptly_and_leaves_the_portal_usable() -> None:
    portal = Portal()
    state: dict[str, bool] = {}

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            portal.call(slow)
        assert time.monotonic() - started < 10  # not the 30 s of the call
        assert state == {"cancelled": True}
        assert portal.call(_where)
    finally:
        timer.cancel()
        portal.shutdown()


def test_calling_from_the_portal_thread_is_refused_not_deadlocked() -> None:
    portal = Portal()

    async def reenter() -> object:
        return portal.call(_where)

    try:
        with pytest.raises(RuntimeError, match="own event loop"):
            portal.call(reenter)
    finally:
        portal.shutdown()


def test_shutdown_is_idempotent_stops_the_thread_and_refuses_new_calls() -> None:
    portal = Portal()
    portal.call(_where)
    thread = portal._thread
    assert thread is not None and thread.is_alive()
    portal.shutdown()
    portal.shutdown()
    assert not thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        portal.call(_where)


def test_unclosed_owner_warns_and_stops_its_thread() -> None:
    portal = Portal()
    portal.call(_where)
    thread = portal._thread
    assert thread is not None

    async def last() -> None:
        return None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        portal.shutdown_unclosed(last, "Payi")
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    assert not thread.is_alive()
