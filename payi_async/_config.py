"""Client options that do not depend on the HTTP library: time limits, sizes, a sentinel.

``Timeout`` is per attempt, like httpx's: ``Timeout(5)`` and ``timeout=5`` both mean five
seconds for each of connect, read and pool, keywords override one phase, and ``total``
(five minutes by default) bounds a whole attempt whatever the server does: a body sent a
byte at a time, or ``1xx`` interim answers without end. ``_transport`` turns these into
aiohttp's terms.
"""

from __future__ import annotations

from typing import Any, Final, final

import attrs

__all__ = [
    "DEFAULT_CONNECTION_LIMIT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "Limits",
    "NotGiven",
    "Timeout",
]

#: Answers larger than this (decoded) are refused rather than read into memory.
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
#: Connections one client keeps open at most.
DEFAULT_CONNECTION_LIMIT: Final = 100
#: The default bound of one whole attempt, in seconds.
DEFAULT_TOTAL: Final = 300.0


@final
class NotGiven:
    """The type of ``NOT_GIVEN``: an option left out, as opposed to one set to ``None``."""

    __slots__ = ()
    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


#: Stands for "not given" where ``None`` is a meaningful value (``with_options``).
NOT_GIVEN: Final = NotGiven()


def _phase(name: str, value: Any) -> float | None:
    what = f"timeout {name}" if name else "timeout"
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None, not {type(value).__name__}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


@attrs.frozen(init=False)
class Timeout:
    """Per-attempt limits in seconds; ``None`` means no limit for that phase.

    ``Timeout(5)`` sets connect, read and pool to 5 s (as ``timeout=5`` does); a keyword
    overrides one phase: ``Timeout(10, connect=2)``. ``Timeout()`` is the default:
    connect 5 s, read 60 s, pool 60 s; ``Timeout(None)`` has no limit at all. ``total``
    bounds a whole attempt (pool wait, connect, sending, every read) and is 300 s unless
    given.
    """

    connect: float | None
    read: float | None
    pool: float | None
    total: float | None

    def __init__(
        self,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        *,
        connect: float | NotGiven | None = NOT_GIVEN,
        read: float | NotGiven | None = NOT_GIVEN,
        pool: float | NotGiven | None = NOT_GIVEN,
        total: float | NotGiven | None = NOT_GIVEN,
    ) -> None:
        if isinstance(timeout, Timeout):
            base: tuple[float | None, ...] = (
                timeout.connect,
                timeout.read,
                timeout.pool,
                timeout.total,
            )
        elif isinstance(timeout, NotGiven):
            base = (5.0, 60.0, 60.0, DEFAULT_TOTAL)
        elif timeout is None:
            base = (None, None, None, None)  # no limit at all, as httpx's Timeout(None)
        else:
            every = _phase("", timeout)
            base = (every, every, every, DEFAULT_TOTAL)
        given = (connect, read, pool, total)
        names = ("connect", "read", "pool", "total")
        values = [
            b if isinstance(g, NotGiven) else _phase(n, g)
            for b, g, n in zip(base, given, names, strict=True)
        ]
        self.__attrs_init__(*values)

    @classmethod
    def of(cls, value: float | Timeout) -> Timeout:
        """A ``Timeout`` from a number (every phase but ``total`` that long) or a ``Timeout``."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"timeout must be a number or a Timeout, not {type(value).__name__}")
        return cls(value)


DEFAULT_TIMEOUT: Final = Timeout()


@attrs.frozen
class Limits:
    """How much one client holds: open connections, and bytes of one decoded answer."""

    max_connections: int = DEFAULT_CONNECTION_LIMIT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
