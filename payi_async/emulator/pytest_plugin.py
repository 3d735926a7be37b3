"""pytest plugin (entry point ``payi_emulator``): a running emulator per test.

Fixtures:

* ``payi_emulator``: a fresh ``ThreadedPayiServer`` (in-memory database, its own
  thread and event loop), usable from sync and async tests alike; stopped after the
  test. Configure it per test with the marker
  ``@pytest.mark.payi_emulator(shapes="hosted", faults=Faults(...), api_key=...)``
  (any ``LocalPayiServer`` argument). A test fails if the server answered any 5xx
  that was not an injected fault: that is an emulator bug, never the test's input.
* ``payi_emulator_env``: the same server, with ``PAYI_BASE_URL`` and ``PAYI_API_KEY``
  set to it for the test, so code that reads the environment talks to it.

The server module is imported only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._server import ThreadedPayiServer

__all__ = ["payi_emulator", "payi_emulator_env"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``payi_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "payi_emulator(**options): LocalPayiServer options of the payi_emulator fixture",
    )


def _check_marker(marker: pytest.Mark) -> None:
    """Refuse positional or unknown marker options, naming the valid ones."""
    import difflib
    import inspect

    from ._server import LocalPayiServer

    valid = sorted(
        name
        for name, param in inspect.signature(LocalPayiServer).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    )
    unknown = sorted(set(marker.kwargs) - set(valid))
    if marker.args:
        what = f"takes keyword options only, not {len(marker.args)} positional"
    elif unknown:
        what = "unknown option " + ", ".join(map(repr, unknown))
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        if close:
            what += f" (did you mean {close[0]!r}?)"
    else:
        return
    pytest.fail(
        f"@pytest.mark.payi_emulator: {what}; valid options: {', '.join(valid)}",
        pytrace=False,
    )


@pytest.fixture
def payi_emulator(request: pytest.FixtureRequest) -> Iterator[ThreadedPayiServer]:
    """A running Pay-i emulator; ``.base_url`` and ``.api_key`` say how to reach it."""
    from ._server import ThreadedPayiServer

    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("payi_emulator")
    if marker is not None:
        _check_marker(marker)
        options.update(marker.kwargs)
    with ThreadedPayiServer(**options) as server:
        yield server
        _assert_no_internal_errors(server)


def _assert_no_internal_errors(server: ThreadedPayiServer) -> None:
    errors = server.internal_errors
    if errors:
        listed = "; ".join(f"{e.method} {e.path} -> {e.status}" for e in errors[:5])
        pytest.fail(f"the Pay-i emulator answered {len(errors)} internal error(s): {listed}")


@pytest.fixture
def payi_emulator_env(
    payi_emulator: ThreadedPayiServer, monkeypatch: pytest.MonkeyPatch
) -> ThreadedPayiServer:
    """``payi_emulator`` with ``PAYI_BASE_URL``/``PAYI_API_KEY`` pointing at it."""
    monkeypatch.setenv("PAYI_BASE_URL", payi_emulator.base_url)
    monkeypatch.setenv("PAYI_API_KEY", payi_emulator.api_key)
    return payi_emulator
