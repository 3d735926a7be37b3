"""Hostile requests: every one gets a clear 4xx JSON error, never a 500.

Each case is sent to one emulator on a file database; afterwards the server's log must
hold no 5xx (the autouse ``no_internal_errors`` fixture checks that too), the database
must pass ``PRAGMA integrity_check`` and nothing may have been written.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from payi_async.emulator import LocalPayiServer
from payi_async.emulator._app import MAX_BODY_BYTES

from .conftest import UNITS, api_url, create, get_json

POST_PATH = "/api/v1/categories/custom.hostile/resources/r"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _body(**fields: Any) -> bytes:
    return json.dumps({"units": UNITS, **fields}).encode()


def _unit_body(raw_unit: str) -> bytes:
    return b'{"units": {"text": ' + raw_unit.encode() + b"}}"


@dataclass(frozen=True)
class Case:
    """One hostile request and the 4xx it must get (``word`` in the message)."""

    name: str
    status: int
    word: str
    method: str = "POST"
    path: str = POST_PATH
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


CASES: list[Case] = [
    # size and shape of the body
    Case("body over the limit", 413, "larger", body=b" " * (MAX_BODY_BYTES + 1)),
    Case("deep nesting", 400, "nested", body=b'{"units": ' + _nested(100).encode() + b"}"),
    Case("very deep nesting", 400, "nested", body=_nested(200_000).encode()),
    Case(
        "deep nesting in an unknown field",
        400,
        "nested",
        body=_body(extra=json.loads(_nested(40))),
    ),
    Case(
        "400-digit price",
        400,
        "input_price",
        body=_unit_body('{"input_price": 1' + "0" * 400 + "}"),
    ),
    Case("5000-digit price", 400, "body", body=_unit_body('{"input_price": 1' + "0" * 5000 + "}")),
    Case("1e400 price", 400, "finite", body=_unit_body('{"output_price": 1e400}')),
    Case("negative price", 400, "negative", body=_unit_body('{"input_price": -1e-9}')),
    Case("price as object", 400, "input_price", body=_unit_body('{"input_price": {}}')),
    Case("price as list", 400, "output_price", body=_unit_body('{"output_price": [1]}')),
    Case("price as string", 400, "input_price", body=_unit_body('{"input_price": "0.1"}')),
    Case("price as bool", 400, "input_price", body=_unit_body('{"input_price": true}')),
    Case("unit as list", 400, "units.text", body=_unit_body("[]")),
    Case("units as number", 400, "units", body=b'{"units": 5}'),
    Case("lone surrogate unit name", 400, "units", body=b'{"units": {"\\ud800": {}}}'),
    Case("body is null", 400, "body", body=b"null"),
    Case("body is true", 400, "body", body=b"true"),
    Case("body with BOM", 400, "body", body=b"\xef\xbb\xbf" + _body()),
    Case("body not UTF-8", 400, "body", body=b'{"units": "\xff"}'),
    Case(
        "max units 1e400",
        400,
        "max_input_units",
        body=_body()[:-1] + b', "max_input_units": 1e400}',
    ),
    Case("max units huge", 400, "max_total_units", body=_body(max_total_units=10**30)),
    Case("max units as string", 400, "max_output_units", body=_body(max_output_units="5")),
    # timestamps
    Case(
        "UTC overflow",
        400,
        "start_timestamp",
        body=_body(start_timestamp="9999-12-31T23:30:00-01:00"),
    ),
    Case(
        "UTC underflow",
        400,
        "start_timestamp",
        body=_body(start_timestamp="0001-01-01T00:30:00+01:00"),
    ),
    Case("year 0", 400, "start_timestamp", body=_body(start_timestamp="0000-06-01T00:00:00Z")),
    Case("year 10000", 400, "start_timestamp", body=_body(start_timestamp="10000-01-01T00:00:00Z")),
    Case("30 February", 400, "start_timestamp", body=_body(start_timestamp="2024-02-30")),
    Case(
        "offset 24h", 400, "start_timestamp", body=_body(start_timestamp="2024-01-01T00:00+24:00")
    ),
    Case("timestamp as list", 400, "start_timestamp", body=_body(start_timestamp=["2024"])),
    Case(
        "timestamp surrogate",
        400,
        "start_timestamp",
        body=_body()[:-1] + b', "start_timestamp": "\\udfff"}',
    ),
    # headers
    Case(
        "Idempotency-Key too long",
        400,
        "Idempotency-Key",
        body=_body(),
        headers={"Idempotency-Key": "k" * 256},
    ),
    # paths and methods
    Case("bad percent-encoding", 400, "%", method="GET", path="/api/v1/categories/%zz/resources"),
    Case("truncated percent", 400, "%", method="GET", path="/api/v1/categories/abc%4"),
    Case(
        "percent-encoded non-UTF-8",
        400,
        "UTF-8",
        method="GET",
        path="/api/v1/categories/%ff/resources",
    ),
    Case("overlong UTF-8", 400, "UTF-8", method="GET", path="/api/v1/categories/%C0%AF/resources"),
    Case(
        "encoded surrogate",
        400,
        "UTF-8",
        method="GET",
        path="/api/v1/categories/%ED%A0%80/resources",
    ),
    Case(
        "name too long",
        400,
        "category",
        method="POST",
        path="/api/v1/categories/" + "c" * 5000 + "/resources/r",
        body=_body(),
    ),
    Case(
        "dot segment",
        400,
        "resource",
        path="/api/v1/categories/custom.hostile/resources/%2E",
        body=_body(),
    ),
    Case("unknown method", 400, "method", method="FOO", path="/api/v1/categories"),
    Case("PATCH", 405, "PATCH", method="PATCH", path=POST_PATH, body=_body()),
    Case("unknown path", 404, "endpoint", method="GET", path="/api/v2/categories"),
    # list parameters
    Case(
        "limit fullwidth digit",
        400,
        "limit",
        method="GET",
        path="/api/v1/categories?limit=%EF%BC%95",
    ),
    Case("limit with underscore", 400, "limit", method="GET", path="/api/v1/categories?limit=5_0"),
    Case("limit with plus", 400, "limit", method="GET", path="/api/v1/categories?limit=%2B5"),
    Case("limit with space", 400, "limit", method="GET", path="/api/v1/categories?limit=%205"),
    Case("limit float", 400, "limit", method="GET", path="/api/v1/categories?limit=1e3"),
    Case("limit negative", 400, "limit", method="GET", path="/api/v1/categories?limit=-1"),
    Case(
        "limit 400 digits", 400, "limit", method="GET", path="/api/v1/categories?limit=" + "9" * 400
    ),
    Case("limit bad percent", 400, "limit", method="GET", path="/api/v1/categories?limit=%zz"),
    Case("limit twice", 400, "limit", method="GET", path="/api/v1/categories?limit=1&limit=2"),
    Case("Active garbage", 400, "Active", method="GET", path="/api/v1/categories?Active=yes"),
    Case(
        "Active twice",
        400,
        "Active",
        method="GET",
        path="/api/v1/categories?Active=true&Active=false",
    ),
    Case(
        "Active on versions",
        400,
        "Active",
        method="GET",
        path="/api/v1/categories/system.openai/resources/gpt-4o?Active=1",
    ),
    Case(
        "sort garbage",
        400,
        "sort_ascending",
        method="GET",
        path="/api/v1/categories?sort_ascending=maybe",
    ),
    Case("cursor not base64", 400, "cursor", method="GET", path="/api/v1/categories?cursor=%ff%fe"),
    Case(
        "cursor unsigned",
        400,
        "cursor",
        method="GET",
        path="/api/v1/categories?cursor=eyJsIjoiY2F0ZWdvcmllcyIsImEiOnRydWUsImsiOiJhIn0",
    ),
    Case(
        "cursor huge", 400, "cursor", method="GET", path="/api/v1/categories?cursor=" + "a." * 3000
    ),
]


@pytest.fixture
async def hostile(tmp_path: Path) -> AsyncIterator[tuple[LocalPayiServer, aiohttp.ClientSession]]:
    async with (
        LocalPayiServer(db=str(tmp_path / "hostile.sqlite")) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        yield server, http


def _assert_json_error(status: int, body: Any, expected: int, word: str) -> None:
    assert status == expected, body
    assert isinstance(body, dict), body
    assert body["statusCode"] == expected
    assert isinstance(body["message"], str)
    assert word in body["message"], body


async def _no_server_error_and_intact(server: LocalPayiServer, versions: int) -> None:
    assert not [r for r in server.requests if r.status is None or r.status >= 500]
    assert server.internal_errors == []
    assert await server.store.count_versions() == versions

    def check(conn: sqlite3.Connection) -> str:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return result

    assert await server.store.read(check) == "ok"


async def test_hostile_requests_get_a_clear_4xx_json_error(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hostile
    versions = await server.store.count_versions()
    for case in CASES:
        async with http.request(
            case.method,
            URL(server.base_url + case.path, encoded=True),
            data=None if case.body is None else io.BytesIO(case.body),
            headers={"Content-Type": "application/json", **case.headers},
        ) as response:
            body = await response.json(content_type=None)
        assert body.get("request_id") == response.headers["x-request-id"], case.name
        try:
            _assert_json_error(response.status, body, case.status, case.word)
        except AssertionError as exc:
            raise AssertionError(f"{case.name}: {exc}") from None
    await _no_server_error_and_intact(server, versions)


async def _raw(server: LocalPayiServer, request: bytes) -> tuple[int, dict[str, str], Any]:
    """Send bytes as they are; the status, headers and decoded JSON body of the answer."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()
    return status, headers, json.loads(body)


def _request(head: str, body: bytes = b"", key: str = "payi-emulator-key") -> bytes:
    lines = [head, "Host: localhost", f"xProxy-api-key: {key}", "Connection: close"]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


RAW_CASES: list[tuple[str, bytes, int, str]] = [
    (
        "non-UTF-8 Idempotency-Key",
        _request(f"POST {POST_PATH} HTTP/1.1", _body()).replace(
            b"Connection: close", b"Connection: close\r\nIdempotency-Key: \xff\xfe\xfd"
        ),
        400,
        "Idempotency-Key",
    ),
    (
        "Idempotency-Key twice",
        _request(f"POST {POST_PATH} HTTP/1.1", _body()).replace(
            b"Connection: close", b"Connection: close\r\nIdempotency-Key: a\r\nIdempotency-Key: b"
        ),
        400,
        "Idempotency-Key",
    ),
    (
        "raw non-UTF-8 byte in the path",
        _request("GET /api/v1/categories/x\xff/resources HTTP/1.1"),
        400,
        "",
    ),
    (
        "huge header",
        _request("GET /api/v1/categories HTTP/1.1").replace(
            b"Connection: close", b"Connection: close\r\nX-Big: " + b"a" * 20_000
        ),
        400,
        "",
    ),
    (
        "too many headers",
        _request("GET /api/v1/categories HTTP/1.1").replace(
            b"Connection: close",
            b"Connection: close" + b"".join(b"\r\nX-%d: 1" % i for i in range(500)),
        ),
        400,
        "",
    ),
    (
        "request line too long",
        _request("GET /api/v1/categories?x=" + "a" * 20_000 + " HTTP/1.1"),
        400,
        "",
    ),
    ("method with bad characters", _request("G(T /api/v1/categories HTTP/1.1"), 400, ""),
    (
        "not HTTP at all",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
        400,
        "",
    ),
    (
        "bad Content-Length",
        _request(f"POST {POST_PATH} HTTP/1.1").replace(
            b"Connection: close", b"Connection: close\r\nContent-Length: abc"
        ),
        400,
        "",
    ),
    (
        "negative Content-Length",
        _request(f"POST {POST_PATH} HTTP/1.1").replace(
            b"Connection: close", b"Connection: close\r\nContent-Length: -5"
        ),
        400,
        "",
    ),
    (
        "announced body over the limit",
        _request(f"POST {POST_PATH} HTTP/1.1").replace(
            b"Connection: close", b"Connection: close\r\nContent-Length: %d" % (MAX_BODY_BYTES * 50)
        ),
        413,
        "larger",
    ),
    ("unknown HTTP version", _request("GET /api/v1/categories HTTP/9.9"), 400, ""),
    (
        "absolute-form target elsewhere",
        _request("GET http://other.example/api/v2 HTTP/1.1"),
        404,
        "endpoint",
    ),
    (
        "non-UTF-8 API key",
        _request("GET /api/v1/categories HTTP/1.1").replace(b"payi-emulator-key", b"\xff\xfe"),
        401,
        "API key",
    ),
]


@pytest.mark.parametrize(
    ("name", "request_bytes", "status", "word"), RAW_CASES, ids=[c[0] for c in RAW_CASES]
)
async def test_malformed_http_gets_a_json_4xx(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
    name: str,
    request_bytes: bytes,
    status: int,
    word: str,
) -> None:
    server, _ = hostile
    versions = await server.store.count_versions()
    got, headers, body = await _raw(server, request_bytes)
    _assert_json_error(got, body, status, word)
    assert headers["content-type"].startswith("application/json")
    assert body["request_id"] == headers["x-request-id"]
    assert any(r.request_id == body["request_id"] for r in server.requests)
    await _no_server_error_and_intact(server, versions)


async def test_chunked_body_over_the_limit_is_413(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hostile

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    async with http.post(
        api_url(server, "custom.hostile", "resources", "r"), data=chunks()
    ) as response:
        body = await response.json()
    _assert_json_error(response.status, body, 413, "larger")
    await _no_server_error_and_intact(server, await server.store.count_versions())


def _forge(cursor: str, change: Callable[[dict[str, Any]], None]) -> str:
    payload, signature = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(data)
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature


async def test_forged_or_altered_cursors_are_400(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hostile
    page = await get_json(http, api_url(server, "system.openai", "resources", limit="1"))
    cursor = str(page["cursor"])
    forged = [
        _forge(cursor, lambda d: d.update(k="zzz")),  # another position
        _forge(cursor, lambda d: d.update(a=not d["a"])),  # another direction
        _forge(cursor, lambda d: d.update(k=10**30)),  # a key of the wrong type and range
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),  # signature altered
        cursor.split(".")[0],  # signature dropped
        cursor + "." + cursor,
    ]
    for bad in forged:
        error = await get_json(
            http, api_url(server, "system.openai", "resources", cursor=bad), status=400
        )
        assert "cursor" in str(error["message"])
    # The real one still works, on its own listing only.
    await get_json(http, api_url(server, "system.openai", "resources", cursor=cursor))
    await get_json(
        http, api_url(server, "system.openai", "resources", cursor=cursor, Active="true"), 400
    )
    await _no_server_error_and_intact(server, await server.store.count_versions())


async def test_cursors_of_a_file_database_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "cursors.sqlite")
    async with (
        LocalPayiServer(db=db) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        first = await get_json(http, api_url(server, limit="2"))
    async with (
        LocalPayiServer(db=db) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        again = await get_json(http, api_url(server, cursor=str(first["cursor"])))
    assert again["items"]
    async with LocalPayiServer() as other, aiohttp.ClientSession(headers=other.headers) as http:
        await get_json(http, api_url(other, cursor=str(first["cursor"])), status=400)


async def test_idempotency_key_reuse_is_422_on_body_and_endpoint(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hostile
    key = {"Idempotency-Key": "reused"}
    await create(http, server, "custom.hostile", "r", None, **key)
    versions = await server.store.count_versions()
    attempts = [
        (
            "POST",
            api_url(server, "custom.hostile", "resources", "r"),
            {"units": UNITS, "max_input_units": 1},
            "body",
        ),
        (
            "POST",
            api_url(server, "custom.hostile", "resources", "other"),
            {"units": UNITS},
            "endpoint",
        ),
        (
            "POST",
            api_url(server, "custom.elsewhere", "resources", "r"),
            {"units": UNITS},
            "endpoint",
        ),
        ("DELETE", api_url(server, "custom.hostile", "resources", "r"), None, "endpoint"),
        ("DELETE", api_url(server, "custom.hostile"), None, "endpoint"),
    ]
    for method, url, body, word in attempts:
        async with http.request(method, url, json=body, headers=key) as response:
            error = await response.json()
        _assert_json_error(response.status, error, 422, word)
    await _no_server_error_and_intact(server, versions)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0999-06-01T00:00:00Z", "0999-06-01T00:00:00.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("0100-01-01T01:00:00+01:00", "0100-01-01T00:00:00.000000Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
    ],
)
async def test_extreme_years_are_stored_zero_padded_and_read_back(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession], sent: str, stored: str
) -> None:
    server, http = hostile
    created = await create(
        http, server, "custom.years", "r", {"units": UNITS, "start_timestamp": sent}
    )
    assert created["start_timestamp"] == stored
    url = api_url(server, "custom.years", "resources", "r", str(created["resource_id"]))
    assert (await get_json(http, url))["start_timestamp"] == stored
    listed = await get_json(http, api_url(server, "custom.years", "resources", "r"))
    assert [v["start_timestamp"] for v in listed["items"]] == [stored]  # type: ignore[union-attr]
    # What was answered can be sent back as it is.
    again = await create(
        http, server, "custom.years", "r", {"units": UNITS, "start_timestamp": stored}
    )
    assert again["start_timestamp"] == stored
    await _no_server_error_and_intact(server, await server.store.count_versions())


_SEGMENTS = [
    "",
    "a",
    "%",
    "%zz",
    "%00",
    "%ff",
    "%2F",
    ".",
    "..",
    "system.openai",
    "gpt-4o",
    "x" * 300,
]
_QUERY = ["", "1", "0", "-1", "1001", "true", "FALSE", "yes", "%ff", "%zz", "a.b", "9" * 40]
_VALUES: list[object] = [None, True, 0, -1, 1.5, 1e308, "x", "", [], {}, 10**20, "0999-01-01Z"]


def _random_request(rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
    segments = [rng.choice(_SEGMENTS) for _ in range(rng.randint(0, 5))]
    if len(segments) >= 2 and rng.random() < 0.8:
        segments[1] = "resources"
    query = "&".join(
        f"{rng.choice(['limit', 'cursor', 'sort_ascending', 'Active'])}={rng.choice(_QUERY)}"
        for _ in range(rng.randint(0, 3))
    )
    path = "/api/v1/categories" + "".join("/" + s for s in segments) + ("?" + query) * bool(query)
    method = rng.choice(["GET", "POST", "DELETE", "PUT"])
    body = None
    if method == "POST":
        unit = {
            k: rng.choice(_VALUES) for k in ("input_price", "output_price") if rng.random() < 0.7
        }
        fields = {k: rng.choice(_VALUES) for k in ("max_input_units", "start_timestamp")}
        body = json.dumps({"units": {rng.choice(["text", ""]): unit}, **fields}).encode()
    headers = {"Idempotency-Key": rng.choice(["k1", "k2"])} if rng.random() < 0.3 else {}
    return method, path, body, headers


async def test_random_requests_never_get_a_5xx(
    hostile: tuple[LocalPayiServer, aiohttp.ClientSession],
) -> None:
    server, http = hostile
    rng = random.Random(10)
    statuses: set[int] = set()
    for _ in range(400):
        method, path, body, headers = _random_request(rng)
        url = URL(server.base_url + path, encoded=True)
        async with http.request(method, url, data=body, headers=headers) as response:
            answer = await response.json(content_type=None)
        assert response.status < 500, (method, path, body, answer)
        assert isinstance(answer, (dict, list)), (method, path, answer)
        statuses.add(response.status)
    assert {200, 400, 404, 405} <= statuses  # the requests reached every layer
    await _no_server_error_and_intact(server, await server.store.count_versions())
