"""A hostile client against the emulator: raw HTTP over sockets, one attack per row.

Each row is a request the emulator once got wrong (a 500, a plain-text error, or a
2xx for input the README refuses); every answer must be a 4xx JSON error and no
request may count as an internal error. The database must stay consistent.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from payi_async.emulator import (
    MAX_BODY_BYTES,
    MAX_NAME_LENGTH,
    MAX_UNITS,
    Faults,
    LocalPayiServer,
    ThreadedPayiServer,
)
from payi_async.emulator.__main__ import main as emulator_main

CATEGORIES = "/api/v1/categories"
UNITS = b'{"units":{"text":{"input_price":1}}}'


def _address(server: ThreadedPayiServer) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _exchange(server: ThreadedPayiServer, data: bytes) -> tuple[int, bytes, bytes]:
    """Send raw bytes on a fresh connection; the status, header block and body."""
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


def _request(
    server: ThreadedPayiServer,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, bytes]:
    lines = [f"{method} {target} HTTP/1.1", "Host: emulator", "Connection: close"]
    lines.append(f"xProxy-api-key: {server.api_key}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return _exchange(server, ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))


def _json_error(status: int, head: bytes, body: bytes) -> dict[str, Any]:
    assert b"application/json" in head.lower(), (status, head, body)
    parsed: dict[str, Any] = json.loads(body)
    assert parsed["statusCode"] == status
    assert isinstance(parsed["message"], str) and parsed["message"]
    return parsed


def _create_body(start: str | None = None, price: str = "1") -> bytes:
    extra = "" if start is None else f',"start_timestamp":{json.dumps(start)}'
    return f'{{"units":{{"text":{{"input_price":{price}}}}}{extra}}}'.encode()


_RESOURCE = f"{CATEGORIES}/attack/resources/model"

# (id, method, target, body, headers, status)
HOSTILE: list[tuple[str, str, str, bytes | None, dict[str, str], int]] = [
    # Targets aiohttp's router cannot match used to get its plain-text 404.
    ("options-asterisk", "OPTIONS", "*", None, {}, 404),
    ("connect-authority", "CONNECT", "emulator:443", None, {}, 404),
    # A body whose Content-Encoding does not decode was a 500.
    ("bad-gzip", "POST", _RESOURCE, b"not gzip at all", {"Content-Encoding": "gzip"}, 400),
    ("bad-deflate", "POST", _RESOURCE, b"\x00\x01garbage", {"Content-Encoding": "deflate"}, 400),
    # A coding aiohttp does not decode (or a list of them) was read as plain JSON.
    ("coding-twice", "POST", _RESOURCE, UNITS, {"Content-Encoding": "gzip, gzip"}, 415),
    ("coding-unknown", "POST", _RESOURCE, UNITS, {"Content-Encoding": "x-custom"}, 415),
    ("coding-x-gzip", "POST", _RESOURCE, UNITS, {"Content-Encoding": "x-gzip"}, 415),
    # README: Active is true or false, "any other value: 400"; empty was ignored.
    ("active-empty", "GET", f"{CATEGORIES}?Active=", None, {}, 400),
    ("active-empty-resources", "GET", f"{CATEGORIES}/attack/resources?Active=", None, {}, 400),
]


@pytest.mark.parametrize(
    ("method", "target", "body", "headers", "status"),
    [row[1:] for row in HOSTILE],
    ids=[row[0] for row in HOSTILE],
)
def test_hostile_request_gets_a_json_4xx(
    payi_emulator: ThreadedPayiServer,
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    got, head, answer = _request(payi_emulator, method, target, body, headers)
    assert got == status, answer
    _json_error(status, head, answer)
    assert payi_emulator.internal_errors == []
    assert _integrity(payi_emulator) == "ok"


# (id, refused create body, a neighbour that must still be accepted, its stored value)
NEAR_MISSES: list[tuple[str, bytes, bytes, tuple[str, object]]] = [
    # Unicode digits matched ``\d`` and were read as a date.
    (
        "ts-arabic-digits",
        _create_body("\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661"),
        _create_body("2025-01-01"),
        ("start_timestamp", "2025-01-01T00:00:00.000000Z"),
    ),
    (
        "ts-devanagari-hour",
        _create_body("2025-01-01T\u0967\u0968:00:00Z"),
        _create_body("2025-01-01T12:00:00Z"),
        ("start_timestamp", "2025-01-01T12:00:00.000000Z"),
    ),
    # Offset minutes over 59 were added as they came (+05:99 = +06:39).
    (
        "ts-offset-minutes-99",
        _create_body("2025-01-01T00:00:00+05:99"),
        _create_body("2025-01-01T00:00:00+05:59"),
        ("start_timestamp", "2024-12-31T18:01:00.000000Z"),
    ),
    (
        "ts-offset-minutes-60",
        _create_body("0999-06-01T00:00:00-0060"),
        _create_body("0999-06-01T00:00:00-0059"),
        ("start_timestamp", "0999-06-01T00:59:00.000000Z"),
    ),
    # A number that underflows to zero is not the number sent (it was stored as 0.0).
    ("price-underflow", _create_body(price="1e-400"), _create_body(price="5e-324"), ("p", 5e-324)),
    (
        "price-underflow-negative",
        _create_body(price="-2.5E-999"),
        _create_body(price="-0.0e-999"),
        ("p", -0.0),
    ),
    ("price-underflow-zero", _create_body(price="0.1e-330"), _create_body(price="0e5"), ("p", 0.0)),
]


@pytest.mark.parametrize(
    ("refused", "accepted", "stored"),
    [row[1:] for row in NEAR_MISSES],
    ids=[row[0] for row in NEAR_MISSES],
)
def test_near_misses_are_refused_and_their_neighbours_kept(
    payi_emulator: ThreadedPayiServer,
    refused: bytes,
    accepted: bytes,
    stored: tuple[str, object],
) -> None:
    status, head, answer = _request(payi_emulator, "POST", _RESOURCE, refused)
    assert status == 400, answer
    _json_error(400, head, answer)
    status, _, answer = _request(payi_emulator, "POST", _RESOURCE, accepted)
    assert status == 201, answer
    field, value = stored
    created = json.loads(answer)
    got = created["units"]["text"]["input_price"] if field == "p" else created[field]
    assert got == value and str(got) == str(value)


def _integrity(server: ThreadedPayiServer) -> str:
    async def check() -> str:
        return str(
            await server.store.read(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0])
        )

    return server.run(check)


def _wait_for_record(server: ThreadedPayiServer, count: int) -> None:
    deadline = time.monotonic() + 10  # a loose "does not hang" bound
    while len(server.requests) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.requests) >= count


PARTIAL_BODIES = [
    ("content-length", b"Content-Length: 100\r\n\r\n" + UNITS[:10], socket.SHUT_RDWR),
    ("chunked", b"Transfer-Encoding: chunked\r\n\r\n5\r\n" + UNITS[:5], socket.SHUT_RDWR),
    ("half-close", b"Content-Length: 100\r\n\r\n" + UNITS[:10], socket.SHUT_WR),
]


@pytest.mark.parametrize(
    ("rest", "how"), [row[1:] for row in PARTIAL_BODIES], ids=[r[0] for r in PARTIAL_BODIES]
)
def test_client_leaving_mid_body_is_not_an_internal_error(
    payi_emulator: ThreadedPayiServer, rest: bytes, how: int
) -> None:
    """A client that goes away (or half-closes) before its body is complete used to be
    logged as a 500, which fails every test using the fixture."""
    seeded = payi_emulator.run(lambda: payi_emulator.store.count_versions())
    head = f"POST {_RESOURCE} HTTP/1.1\r\nHost: e\r\nxProxy-api-key: {payi_emulator.api_key}\r\n"
    sock = socket.create_connection(_address(payi_emulator), timeout=10)
    try:
        sock.sendall(head.encode() + rest)
        time.sleep(0.1)
        sock.shutdown(how)
        if how == socket.SHUT_WR:
            sock.recv(65536)  # whatever comes (nothing or an error) before the close
    finally:
        sock.close()
    _wait_for_record(payi_emulator, 1)
    assert payi_emulator.internal_errors == []
    assert [r.status for r in payi_emulator.requests] == [400]
    assert payi_emulator.run(lambda: payi_emulator.store.count_versions()) == seeded


def _create(server: ThreadedPayiServer, category: str, resource: str) -> None:
    status, _, answer = _request(
        server, "POST", f"{CATEGORIES}/{category}/resources/{resource}", UNITS
    )
    assert status == 201, answer


def test_idempotency_key_on_another_endpoint_even_with_nul_in_names(
    payi_emulator: ThreadedPayiServer,
) -> None:
    """Names may hold NUL: deleting category ``a\\0b`` and resource ``a``/``b`` are two
    endpoints, so one key on both is a 422, not a replay of the other's answer."""
    _create(payi_emulator, "a%00b", "r")
    _create(payi_emulator, "a", "b")
    key = {"Idempotency-Key": "nul-collision"}
    status, _, _ = _request(payi_emulator, "DELETE", f"{CATEGORIES}/a%00b", headers=key)
    assert status == 200
    status, head, answer = _request(
        payi_emulator, "DELETE", f"{CATEGORIES}/a/resources/b", headers=key
    )
    assert status == 422, answer
    assert b"Idempotent-Replayed" not in head
    _json_error(422, head, answer)
    status, _, answer = _request(payi_emulator, "GET", f"{CATEGORIES}/a/resources/b")
    assert status == 200 and len(json.loads(answer)["items"]) == 1


def test_cursor_of_one_listing_is_refused_by_another_even_with_nul_in_names(
    payi_emulator: ThreadedPayiServer,
) -> None:
    """The versions of ``a\\0b``/``c`` and of ``a``/``b\\0c`` are two listings."""
    for _ in range(3):
        _create(payi_emulator, "a%00b", "c")
        _create(payi_emulator, "a", "b%00c")
    status, _, answer = _request(payi_emulator, "GET", f"{CATEGORIES}/a%00b/resources/c?limit=1")
    assert status == 200
    cursor = json.loads(answer)["cursor"]
    assert cursor
    status, head, answer = _request(
        payi_emulator, "GET", f"{CATEGORIES}/a/resources/b%00c?limit=1&cursor={cursor}"
    )
    assert status == 400, answer
    _json_error(400, head, answer)


@pytest.mark.parametrize(
    "target",
    [
        "http://emulator/api/v1/categories?limit=1",
        "HTTPS://user@emulator:8080/api/v1/categories?limit=1",
    ],
)
def test_absolute_form_target_is_served(payi_emulator: ThreadedPayiServer, target: str) -> None:
    """RFC 9112 makes servers accept ``GET http://host/path``; it was a 404."""
    status, _, answer = _request(payi_emulator, "GET", target)
    assert status == 200, answer
    assert len(json.loads(answer)["items"]) == 1


@pytest.mark.parametrize("field", ["latency", "retry_after"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_faults_refuse_non_finite_seconds(field: str, value: float) -> None:
    """A nan ``retry_after`` made every injected 429/503 a crash; inf latency a hang."""
    with pytest.raises(ValueError, match=field):
        Faults(**{field: value})


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something else already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "status"),
    [("port-too-large", 2), ("port-negative", 2), ("port-in-use", 1), ("db-unopenable", 1)],
)
def test_cli_start_up_failure_is_an_error_line_not_a_traceback(
    tmp_path: Path, taken_port: int, capsys: pytest.CaptureFixture[str], case: str, status: int
) -> None:
    args = {
        "port-too-large": ["--port", "70000"],
        "port-negative": ["--port", "-1"],
        "port-in-use": ["--port", str(taken_port)],
        "db-unopenable": ["--db", str(tmp_path / "missing" / "emulator.sqlite")],
    }[case]
    assert emulator_main(args) == status
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def _units_body(count: int, name_length: int) -> bytes:
    units = {f"{i:03d}".ljust(name_length, "\0"): {} for i in range(count)}
    return json.dumps({"units": units}, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "body",
    [
        # 100k empty units fit in one 1 MiB body and were answered ~5 MiB per version,
        # so one page of such versions took gigabytes: the count is bounded now...
        json.dumps({"units": {f"{i:x}": {} for i in range(100_000)}}, separators=(",", ":")),
        _units_body(MAX_UNITS + 1, 1),
        # ...and so is a unit name, like every other name.
        _units_body(1, MAX_NAME_LENGTH + 1),
        json.dumps({"units": {"x" * 900_000: {"input_price": 1}}}),
    ],
    ids=["100k-units", "101-units", "257-char-unit", "900k-char-unit"],
)
def test_one_version_has_bounded_units(
    payi_emulator: ThreadedPayiServer, body: bytes | str
) -> None:
    raw = body.encode() if isinstance(body, str) else body
    assert len(raw) < MAX_BODY_BYTES
    status, head, answer = _request(payi_emulator, "POST", _RESOURCE, raw)
    assert status == 400, answer[:300]
    assert "unit" in _json_error(400, head, answer)["message"]
    # The largest version allowed still goes through.
    status, _, answer = _request(
        payi_emulator, "POST", _RESOURCE, _units_body(MAX_UNITS, MAX_NAME_LENGTH)
    )
    assert status == 201, answer[:300]
    assert len(json.loads(answer)["units"]) == MAX_UNITS


@pytest.mark.payi_emulator(keepalive_timeout=0.5)
def test_a_stalled_body_is_a_408_and_the_connection_closes(
    payi_emulator: ThreadedPayiServer,
) -> None:
    """Slowloris: headers promising a body that never comes held a handler forever
    (idle and half-sent headers were already closed after ``keepalive_timeout``)."""
    head = (
        f"POST {_RESOURCE} HTTP/1.1\r\nHost: e\r\n"
        f"xProxy-api-key: {payi_emulator.api_key}\r\nContent-Length: 100\r\n\r\n"
    )
    status, answer_head, answer = _exchange(payi_emulator, head.encode() + UNITS[:10])
    assert status == 408
    assert "did not arrive" in _json_error(408, answer_head, answer)["message"]
    assert payi_emulator.internal_errors == []


def test_expectations_other_than_100_continue_get_a_json_417(
    payi_emulator: ThreadedPayiServer,
) -> None:
    """aiohttp answered ``Expect: 200-ok`` with a plain-text 417."""
    status, head, answer = _request(payi_emulator, "POST", _RESOURCE, UNITS, {"Expect": "200-ok"})
    assert status == 417
    assert "Expect" in _json_error(417, head, answer)["message"]
    status, head, answer = _request(
        payi_emulator, "POST", _RESOURCE, UNITS, {"Expect": "100-Continue"}
    )
    assert head.startswith(b"HTTP/1.1 100 Continue")
    assert b"HTTP/1.1 201 Created" in head + answer


async def test_host_changed_after_construction_still_needs_a_key_of_ones_own() -> None:
    """The loopback rule was checked in ``__init__`` only: setting ``server.host`` to
    ``0.0.0.0`` afterwards listened on every interface with the published key."""
    server = LocalPayiServer()
    server.host = "0.0.0.0"
    with pytest.raises(ValueError, match="not loopback"):
        await server.start()
    with pytest.raises(RuntimeError):
        server.base_url  # noqa: B018 - never started
    await server.aclose()


def test_refused_connect_closes_also_with_the_pure_python_http_parser() -> None:
    """With aiohttp's pure-Python parser (PyPy, ``AIOHTTP_NO_EXTENSIONS``) a CONNECT
    was answered but its connection kept open as a tunnel."""
    env = {**os.environ, "AIOHTTP_NO_EXTENSIONS": "1"}
    command = [sys.executable, "-m", "payi_async.emulator"]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            host, port = base_url.removeprefix("http://").rsplit(":", 1)
            request = "CONNECT emulator:443 HTTP/1.1\r\nHost: e\r\n\r\n"
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request.encode())
                received = b""
                while chunk := sock.recv(65536):  # times out if never closed
                    received += chunk
            assert received.startswith(b"HTTP/1.1 40")
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    "late",
    [b"zz\r\n\r\n", b'5\r\nts":{XX', b"-1\r\n\r\n"],
    ids=["bad-chunk-size", "no-crlf-after-chunk", "negative-chunk-size"],
)
def test_chunked_body_broken_after_it_started_is_a_400_at_once(
    payi_emulator: ThreadedPayiServer, late: bytes
) -> None:
    """A framing error in a body already being read left the request waiting for the
    rest until the body timeout (aiohttp queued the error as the next request)."""
    head = (
        f"POST {_RESOURCE} HTTP/1.1\r\nHost: e\r\nxProxy-api-key: {payi_emulator.api_key}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\n"
    )
    with socket.create_connection(_address(payi_emulator), timeout=10) as sock:
        sock.sendall(head.encode() + UNITS[:5] + b"\r\n")
        _wait_for_body_read(payi_emulator)
        sock.sendall(late)
        received = b""
        while chunk := sock.recv(65536):  # times out (fails) if nothing answers
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1, received
    head_block, _, body = received.partition(b"\r\n\r\n")
    assert head_block.startswith(b"HTTP/1.1 400 ")
    assert "malformed" in _json_error(400, head_block, body)["message"]
    assert payi_emulator.internal_errors == []


def _wait_for_body_read(server: ThreadedPayiServer) -> None:
    """Give the handler time to start reading the body (no answer can come before)."""
    time.sleep(0.3)
