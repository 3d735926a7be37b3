"""The shortcuts ``create_many``'s hot path takes decide exactly as the full checks do."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aioresponses import aioresponses
from multidict import CIMultiDict

from payi_async import ResourceCreate
from payi_async import _validation as v
from payi_async._config import Limits, Timeout
from payi_async._request import _random_key, build_request
from payi_async._retry import RetryPolicy
from payi_async._transport import Transport


def test_random_keys_are_distinct_version_4_uuids() -> None:
    keys = {_random_key() for _ in range(2000)}
    assert len(keys) == 2000
    for key in keys:
        assert key.startswith("payi-async-")
        parsed = uuid.UUID(key.removeprefix("payi-async-"))
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == key.removeprefix("payi-async-")


def test_a_create_request_carries_a_random_uuid4_key() -> None:
    request = build_request("POST", "http://x", "/p", headers=CIMultiDict(), body={}, create=True)
    assert request.idempotency_key is not None
    assert uuid.UUID(request.idempotency_key.removeprefix("payi-async-")).version == 4


@pytest.mark.parametrize(
    "price",
    [0.0, -0.0, 1e-06, 5.0, 1.7976931348623157e308, None, 3, True, -1e-06, math.inf, math.nan],
)
def test_units_fast_path_agrees_with_the_checked_price(price: object) -> None:
    try:
        expected: Any = v.optional_price("u['text'].input_price", price)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc), match=r"units\['text'\]\.input_price"):
            v.units("units", {"text": {"input_price": price, "output_price": 1.0}})
        return
    got = v.units("units", {"text": {"input_price": price, "output_price": 1.0}})
    assert got == {"text": (expected, 1.0)}
    assert type(got["text"][0]) is type(expected)


def test_units_fast_path_leaves_odd_keys_and_text_to_the_full_checks() -> None:
    with pytest.raises(ValueError, match="unknown key"):
        v.units("units", {"text": {"input_price": 1.0, "colour": 2.0}})
    with pytest.raises(ValueError, match="lone surrogate"):
        v.units("units", {"te\udc80xt": {"input_price": 1.0}})
    assert v.units("units", {"tëxt": {"output_price": 2.0}}) == {"tëxt": (None, 2.0)}


class _Item(Mapping[str, Any]):
    """A mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_resource_create_of_checks_field_names_of_dicts_and_other_mappings() -> None:
    base = {"resource": "r", "category": "c", "units": {"text": {"input_price": 1.0}}}
    assert ResourceCreate.of(base) == ResourceCreate.of(_Item(base))
    for item in ({**base, "colour": 1}, _Item({**base, "colour": 1})):
        with pytest.raises(ValueError, match="colour"):
            ResourceCreate.of(item)


async def test_fetch_returns_the_decoded_answer(api: aioresponses) -> None:
    transport = Transport(Limits())
    request = build_request("GET", "http://api.test", "/x", headers=CIMultiDict())
    api.get("http://api.test/x", status=200, body=b'{"a": 1}')
    try:
        answer = await transport.fetch(request, RetryPolicy(), Timeout())
        assert answer.data == {"a": 1}
        assert answer.size == len(b'{"a": 1}')
        assert (answer.context.method, answer.context.status) == ("GET", 200)
    finally:
        await transport.close()
