"""The JSON backends (``orjson`` from the ``speedups`` extra, and ``json``) agree.

Every case runs against both backends and must give the same value or the same error
with the same message; a subprocess runs the unit tests with ``orjson`` unimportable.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from payi_async import APIResponseValidationError, CategoryResourceResponse, ResourceCreate, _json
from payi_async._converter import (
    NonFiniteNumber,
    ResponseContext,
    create_body,
    decode_json,
    structure_body,
    structure_page,
)
from payi_async._request import _encode_body
from tests.support import resource_json

try:
    import orjson  # noqa: F401

    HAS_ORJSON = True
except ImportError:
    HAS_ORJSON = False
CTX = ResponseContext("GET", "https://api.test/x", 200, "req-1")


@pytest.fixture(params=["json", "orjson"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test runs with the standard library, then with orjson (where installed)."""
    before = _json.BACKEND
    chosen = _json.use(request.param)
    assert chosen == (request.param if HAS_ORJSON else "json")
    try:
        yield chosen
    finally:
        _json.use(before)


def _outcome(raw: bytes) -> tuple[str, Any]:
    try:
        return "value", decode_json(raw)
    except ValueError as exc:
        return type(exc).__name__, str(exc)


def _both(raw: bytes) -> tuple[tuple[str, Any], tuple[str, Any]]:
    before = _json.BACKEND
    try:
        _json.use("json")
        plain = _outcome(raw)
        _json.use("orjson")
        fast = _outcome(raw)
    finally:
        _json.use(before)
    return plain, fast


ACCEPTED: list[tuple[bytes, Any]] = [
    (b'{"a": 1, "b": [true, false, null], "c": "x"}', {"a": 1, "b": [True, False, None], "c": "x"}),
    (
        b"[0.1, 5e-324, 1e-400, 1.7976931348623157e308, 3.0009999999999998e-06]",
        [0.1, 5e-324, 0.0, 1.7976931348623157e308, 3.0009999999999998e-06],
    ),
    (b"[18446744073709551615, -9223372036854775808, 1e5, -0]", [2**64 - 1, -(2**63), 100000.0, 0]),
    (b'{"a": 1, "b": 2, "a": 3}', {"a": 3, "b": 2}),
    (b'\xef\xbb\xbf{"bom": true}', {"bom": True}),
    ('{"utf16": "\u00e9"}'.encode("utf-16"), {"utf16": "\u00e9"}),
    ('{"utf16le": 1}'.encode("utf-16-le"), {"utf16le": 1}),
    (b'"\\ud800"', "\ud800"),
    (b'"\\ud83d\\ude00"', "\U0001f600"),
    (b"  [1]  \n", [1]),
    (b"[" * 200 + b"]" * 200, None),  # checked by shape below
]

REFUSED: list[tuple[bytes, str, str]] = [
    (b'{"a": NaN}', "NonFiniteNumber", "NaN is not a finite number @ $.a"),
    (b'{"a": [1, Infinity]}', "NonFiniteNumber", "Infinity is not a finite number @ $.a[1]"),
    (b"-Infinity", "NonFiniteNumber", "-Infinity is not a finite number @ $"),
    (b'{"p": 1e999}', "NonFiniteNumber", "1e999 is not a finite number @ $.p"),
    (b"[" * 100_000, "ValueError", "nested too deeply"),
    (b"[1, 2", "JSONDecodeError", "Expecting"),
    (b'"\xff"', "UnicodeDecodeError", "utf-8"),
    (b'"a\x01"', "JSONDecodeError", "Invalid control character"),
    (b"{} x", "JSONDecodeError", "Extra data"),
    (b"01", "JSONDecodeError", "Extra data"),
    (b"   ", "JSONDecodeError", "Expecting value"),
]


@pytest.mark.parametrize(("raw", "want"), ACCEPTED)
def test_both_backends_accept_the_same_bodies_with_the_same_values(raw: bytes, want: Any) -> None:
    plain, fast = _both(raw)
    assert plain == fast
    kind, value = plain
    assert kind == "value"
    if want is None:  # deep nesting: 200 arrays, one inside the other
        depth = 0
        while value:
            value, depth = value[0], depth + 1
        assert (depth, value) == (199, [])
    else:
        assert value == want
        assert repr(value) == repr(want)  # same types (int stays int, -0 stays 0)


@pytest.mark.parametrize(("raw", "kind", "text"), REFUSED)
def test_both_backends_refuse_the_same_bodies_with_the_same_message(
    raw: bytes, kind: str, text: str
) -> None:
    plain, fast = _both(raw)
    assert plain == fast
    assert plain[0] == kind
    assert text in plain[1]


def test_non_finite_messages_say_json_has_none(backend: str) -> None:
    with pytest.raises(NonFiniteNumber, match=r"JSON has no NaN or Infinity"):
        decode_json(b'{"items": [{"units": {"t": {"input_price": NaN}}}]}')


def _resource(**fields: Any) -> bytes:
    body = resource_json()
    body.update(fields)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("literal", "accepted"),
    [
        ("1000000000000000000000000000000", False),  # 10**30
        ("18446744073709551616", False),  # 2**64
        ("-9223372036854775809", False),  # -2**63 - 1: orjson rounds it to -2**63 as a float
        ("-92233720368547758090", False),
        ("1e30", False),
        ("9.3e18", False),
        ("18446744073709551615", True),  # 2**64 - 1
        ("-9223372036854775808", True),  # -2**63
        ("9007199254740993", True),
        ("4096.0", True),
    ],
)
def test_integers_beyond_64_bits_are_refused_by_both_backends(
    backend: str, literal: str, accepted: bool
) -> None:
    raw = _resource(max_total_units="@").replace(b'"@"', literal.encode())
    if accepted:
        got = structure_body(decode_json(raw), CategoryResourceResponse, CTX).max_total_units
        assert got == int(float(literal)) if "." in literal else got == int(literal)
        assert type(got) is int
    else:
        with pytest.raises(APIResponseValidationError) as caught:
            structure_body(decode_json(raw), CategoryResourceResponse, CTX)
        assert "$.max_total_units" in str(caught.value)
        assert "expected an integer within 64 bits" in str(caught.value)


def test_a_huge_integer_where_a_float_is_expected_is_the_same_float(backend: str) -> None:
    raw = _resource(cost_per_hour="@").replace(b'"@"', b"1" + b"0" * 30)
    got = structure_body(decode_json(raw), CategoryResourceResponse, CTX).cost_per_hour
    assert got == 1e30
    too_big = _resource(cost_per_hour="@").replace(b'"@"', b"1" + b"0" * 400)
    with pytest.raises(APIResponseValidationError, match="a float can hold"):
        structure_body(decode_json(too_big), CategoryResourceResponse, CTX)


def test_a_page_structures_alike_with_both_backends(backend: str) -> None:
    items = [resource_json() for _ in range(3)]
    items[1]["resource_id"] = "rv-2"
    items[2]["novel"] = {"k": [1, 2.5, None]}
    raw = json.dumps({"items": items, "cursor": "c1", "request_id": "r"}).encode()
    got, cursor, request_id = structure_page(decode_json(raw), CategoryResourceResponse, CTX)
    assert (cursor, request_id) == ("c1", "r")
    assert [m.resource_id for m in got] == [i["resource_id"] for i in items]
    assert dict(got[2].extra) == {"novel": {"k": [1, 2.5, None]}}
    for model, item in zip(got, items, strict=True):
        written = {k: v for k, v in model.to_dict().items() if v is not None}
        assert written == {k: v for k, v in item.items() if v is not None}


def test_create_bodies_encode_to_the_same_json(backend: str) -> None:
    params = ResourceCreate(
        resource="gpt-x",
        category="cat",
        units={"text": {"input_price": 3e-06, "output_price": 1.5e-05}, "img": {}},
        max_input_units=2**63 - 1,
        start_timestamp="2024-06-20T12:00:00Z",
    )
    body = create_body(params)
    wire = _encode_body(body, None)
    assert json.loads(wire) == body
    assert b" " not in wire  # compact with either backend
    assert math.isclose(json.loads(wire)["units"]["text"]["input_price"], 3e-06)


def test_encode_falls_back_for_what_orjson_refuses(backend: str) -> None:
    assert _json.encode({"n": 10**30}) == b'{"n":1000000000000000000000000000000}'
    with pytest.raises(ValueError, match="not JSON compliant"):
        _json.encode({"n": math.nan})


def test_use_refuses_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match="'orjson' or 'json'"):
        _json.use("ujson")


def test_orjson_is_chosen_when_importable() -> None:
    assert ("orjson" if HAS_ORJSON else "json") == _json.BACKEND


def test_everything_works_with_orjson_unimportable() -> None:
    """The unit tests pass in a process where ``import orjson`` fails."""
    here = Path(__file__).resolve().parent
    code = (
        "import sys; sys.modules['orjson'] = None\n"  # makes `import orjson` raise ImportError
        "import pytest\n"
        "from payi_async import _json\n"
        "assert _json.BACKEND == 'json', _json.BACKEND\n"
        "sys.exit(pytest.main(["
        f"{str(here)!r}, '-q', '-x', '-p', 'no:cacheprovider', "
        "'-k', 'not unimportable']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        cwd=here.parent.parent,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
    assert " failed" not in proc.stdout
