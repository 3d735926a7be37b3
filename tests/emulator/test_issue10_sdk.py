"""Issue 10 against the emulator (pytest plugin fixture): typed hosted fields in every
call that returns a resource, the ``Active`` filter reaching the server, and blocking
streamed responses giving their connection back."""

from __future__ import annotations

import pytest

from payi_async import AsyncPayi, CategoryResourceResponse
from payi_async.emulator import ThreadedPayiServer
from payi_sync import Payi

UNITS = {"text": {"input_price": 2e-06, "output_price": 8e-06}}
CATEGORY, RESOURCE = "custom.issue10", "model/one"
TYPED = {
    "active",
    "proxy_allowed",
    "end_timestamp",
    "deprecated_timestamp",
    "description",
    "cost_per_hour",
    "character_billing",
    "large_context_threshold",
    "aliased_resource",
    "reservation_id",
    "mapped_resource",
    "azure_resource",
    "aws_bedrock_resource",
    "google_vertex_resource",
}


def _typed(resource: CategoryResourceResponse, *, active: bool | None) -> None:
    if active is None:
        assert isinstance(resource.active, bool)
    else:
        assert resource.active is active
    assert isinstance(resource.proxy_allowed, bool)
    assert not TYPED & set(resource.extra)  # typed fields, not left in extra
    scope = resource.mapped_resource.scope if resource.mapped_resource else None
    assert scope in (None, "global", "datazone", "region")


@pytest.mark.payi_emulator(shapes="hosted")
async def test_every_call_returning_a_resource_types_the_hosted_fields(
    payi_emulator: ThreadedPayiServer,
) -> None:
    async with AsyncPayi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as c:
        resources = c.categories.resources
        made = await resources.create(resource=RESOURCE, category=CATEGORY, units=UNITS)
        _typed(made, active=True)
        assert made.proxy_allowed is False
        _typed(await resources.retrieve(made.resource_id, CATEGORY, RESOURCE), active=True)
        for version in (await resources.list(RESOURCE, CATEGORY)).items:
            _typed(version, active=True)
        for head in (await c.categories.list_resources(CATEGORY)).items:
            _typed(head, active=True)
        raw = await resources.with_raw_response.retrieve(made.resource_id, CATEGORY, RESOURCE)
        _typed(await raw.parse(), active=True)
        system = [r async for r in c.categories.list_resources("system.azureopenai")]
        assert system
        for resource in system:
            _typed(resource, active=None)  # system versions may have ended or not started
            assert resource.proxy_allowed is True
        deleted = await resources.delete(made.resource_id, CATEGORY, RESOURCE)
        _typed(deleted, active=False)


@pytest.mark.payi_emulator(shapes="hosted")
def test_the_blocking_client_types_the_hosted_fields_too(
    payi_emulator: ThreadedPayiServer,
) -> None:
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        made = client.categories.resources.create(RESOURCE, CATEGORY, UNITS)
        _typed(made, active=True)
        with client.categories.with_streaming_response.list_resources(CATEGORY) as response:
            (head,) = response.parse().items
        _typed(head, active=True)


@pytest.mark.parametrize("active", [True, False])
def test_the_active_filter_reaches_the_server_on_all_three_lists(
    payi_emulator: ThreadedPayiServer, active: bool
) -> None:
    with Payi(api_key=payi_emulator.api_key, base_url=payi_emulator.base_url) as client:
        made = client.categories.resources.create(RESOURCE, CATEGORY, UNITS)
        before = len(payi_emulator.requests)
        every = {c.category for c in client.categories.list()}
        some = {c.category for c in client.categories.list(active=active)}
        assert some <= every
        heads = [r.resource_id for r in client.categories.list_resources(CATEGORY, active=active)]
        versions = client.categories.resources.list(RESOURCE, CATEGORY, active=active)
        assert set(heads) <= {made.resource_id}
        assert {v.resource_id for v in versions} <= {made.resource_id}
    wire = "true" if active else "false"
    seen = payi_emulator.requests[before:]
    queries = [r.path.partition("?")[2] for r in seen]
    assert queries[0] == ""
    assert all(f"Active={wire}" in q.split("&") for q in queries[1:])
    assert len(queries) == 4
    assert all(r.status == 200 for r in seen)


@pytest.mark.payi_emulator(shapes="hosted")
def test_blocking_streamed_responses_give_their_connection_back(
    payi_emulator: ThreadedPayiServer,
) -> None:
    with Payi(
        api_key=payi_emulator.api_key, base_url=payi_emulator.base_url, connection_limit=1
    ) as client:
        for _ in range(3):  # left unread: the connection is closed, not leaked
            with client.categories.with_streaming_response.list_resources("system.openai") as r:
                assert r.status_code == 200
            assert r.is_closed
            with pytest.raises(RuntimeError, match="closed"):
                r.read()
        with client.with_streaming_response.categories.list() as read:
            assert read.json()["items"]
        # Would wait for the pool's only connection forever had any block kept it.
        assert client.categories.list_resources("system.openai", timeout=10).items
