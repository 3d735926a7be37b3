"""Item 12: property-based tests (hypothesis).

* Any valid model survives ``to_dict`` -> JSON -> structure unchanged, unknown fields
  (``extra``) included.
* Any name (not empty, ``.``, ``..`` or longer than the segment cap) round-trips as a
  path segment through the emulator: what is created is what is read and listed back.
* Any sequence of creates and deletes leaves the listings equal to an in-memory model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import payi_sync
from payi_async import (
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    NotFoundError,
    Units,
)
from payi_async._converter import ResponseContext, converter, structure_body
from payi_async._urls import MAX_SEGMENT_BYTES
from payi_async.emulator import MAX_NAME_LENGTH, ThreadedPayiServer
from tests.support import CANARY, UNITS

pytestmark = pytest.mark.timeout(120)

PROPS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CTX = ResponseContext("GET", "http://test/api/v1/categories", 200, "req-prop")

# ---------------------------------------------------------------- models

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
prices = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
counts = st.none() | st.integers(0, 2**63 - 1)
texts = st.text(max_size=40)


def _extra(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    known = {a.name for a in attrs.fields(cls)}
    keys = st.text(min_size=1, max_size=12).filter(lambda k: k not in known)
    return st.dictionaries(keys, json_values, max_size=3)


def _with_extra(cls: type, base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(base, _extra(cls)).map(
        lambda pair: converter.structure({**pair[1], **pair[0].to_dict()}, cls)
    )


units = _with_extra(Units, st.builds(Units, input_price=prices, output_price=prices))
models = st.one_of(
    units,
    _with_extra(
        CategoryResponse,
        st.builds(
            CategoryResponse,
            category=texts,
            category_type=st.none() | st.sampled_from(["system", "custom", "partner"]),
            category_description=st.none() | texts,
        ),
    ),
    _with_extra(
        CategoryDeleteResponse,
        st.builds(CategoryDeleteResponse, request_id=texts, message=st.none() | texts),
    ),
    _with_extra(
        CategoryDeleteResourceResponse,
        st.builds(CategoryDeleteResourceResponse, request_id=texts, message=st.none() | texts),
    ),
    _with_extra(
        CategoryResourceResponse,
        st.builds(
            CategoryResourceResponse,
            resource_id=texts,
            category=texts,
            resource=texts,
            units=st.dictionaries(st.text(min_size=1, max_size=10), units, max_size=3),
            max_input_units=counts,
            max_output_units=counts,
            max_total_units=counts,
            creation_timestamp=st.none() | texts,
            start_timestamp=st.none() | texts,
            resource_scope=st.none() | st.sampled_from(["global", "datazone", "region", "x"]),
            aliases=st.none() | st.lists(texts, max_size=3),
        ),
    ),
)


@PROPS
@given(models)
def test_models_round_trip_through_json(model: Any) -> None:
    cls = type(model)
    wire = json.loads(model.to_json())
    again = structure_body(wire, cls, CTX)
    assert again == model
    assert again.to_dict() == model.to_dict()
    assert dict(again.extra) == dict(model.extra)


# ---------------------------------------------------------------- through the emulator


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[ThreadedPayiServer, payi_sync.Payi]]:
    with (
        ThreadedPayiServer(api_key=CANARY) as server,
        payi_sync.Payi(api_key=CANARY, base_url=server.base_url, max_retries=0) as client,
    ):
        yield server, client


def _sendable(name: str) -> bool:
    return (
        name not in (".", "..")
        and len(name) <= MAX_NAME_LENGTH
        and len(quote(name, safe="")) <= MAX_SEGMENT_BYTES
    )


names = st.text(min_size=1, max_size=MAX_NAME_LENGTH).filter(_sendable)


@PROPS
@given(resource=names, suffix=st.text(max_size=40).filter(lambda s: _sendable("custom." + s)))
def test_any_name_round_trips_as_one_segment(
    live: tuple[ThreadedPayiServer, payi_sync.Payi], resource: str, suffix: str
) -> None:
    _, client = live
    category = "custom." + suffix
    res = client.categories.resources
    created = res.create(resource, category, UNITS)
    assert (created.category, created.resource) == (category, resource)
    got = res.retrieve(created.resource_id, category, resource)
    assert (got.category, got.resource, got.resource_id) == (
        category,
        resource,
        created.resource_id,
    )
    assert created.resource_id in [v.resource_id for v in res.list(resource, category)]
    assert resource in {r.resource for r in client.categories.list_resources(category)}
    res.delete(created.resource_id, category, resource)


NAMES = ["a", "b/c", "d:e"]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(NAMES), st.just(0)),
        st.tuples(st.just("delete_version"), st.sampled_from(NAMES), st.integers(0, 5)),
        st.tuples(st.just("delete_resource"), st.sampled_from(NAMES), st.just(0)),
    ),
    max_size=14,
)


@PROPS
@given(ops)
def test_creates_and_deletes_match_a_model(
    live: tuple[ThreadedPayiServer, payi_sync.Payi], ops: list[tuple[str, str, int]]
) -> None:
    _, client = live
    category = f"custom.seq-{uuid.uuid4().hex[:8]}"
    res = client.categories.resources
    model: dict[str, list[str]] = {name: [] for name in NAMES}
    category_exists = False
    for op, name, pick in ops:
        if op == "create":
            model[name].append(res.create(name, category, UNITS).resource_id)
            category_exists = True
        elif op == "delete_version":
            if model[name]:
                rid = model[name].pop(pick % len(model[name]))
                assert res.delete(rid, category, name).resource_id == rid
            else:
                with pytest.raises(NotFoundError):
                    res.delete("rsrc_missing", category, name)
        elif model[name]:
            client.categories.delete_resource(name, category)
            model[name] = []
        else:
            with pytest.raises(NotFoundError):
                client.categories.delete_resource(name, category)

    if not category_exists:
        with pytest.raises(NotFoundError):
            client.categories.list_resources(category)
        return
    latest = {
        r.resource: r.resource_id for r in client.categories.list_resources(category, limit=2)
    }
    assert latest == {name: ids[-1] for name, ids in model.items() if ids}
    for name, ids in model.items():
        if ids:
            listed = [v.resource_id for v in res.list(name, category, limit=2)]
            assert listed == ids
        else:
            with pytest.raises(NotFoundError):
                res.list(name, category)
