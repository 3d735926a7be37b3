"""Item 7: hostile names. Each either reaches the server as exactly one path segment
(checked on the emulator's raw request path) or is refused before anything is sent.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from _rel_support import CANARY, PATH_PREFIX, UNITS

from payi_async import AsyncPayi, BadRequestError, ResourceCreate
from payi_async._validation import MAX_SEGMENT_BYTES
from payi_async.emulator import LocalPayiServer

pytestmark = pytest.mark.timeout(60)

ONE_SEGMENT = [
    "a/b",
    "x:y",
    "50%",
    "%2F",
    "%2e%2e",
    "../admin",
    "..%2Fadmin",
    "q?x#y",
    "é",
    "日本語",
    "emoji-🙂",
    "a b\tc",
    "nul\x00byte",
    "line\nbreak",
    "cr\rlf",
    "del\x7f",
    "bell\x07",
    "...",
    ". ",
    "back\\slash",
    "semi;colon=1&x",
    "+plus+",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "system.aws.bedrock",
    "x" * 256,
]

REFUSED = [
    ("", "Expected a non-empty value for"),
    (".", "must not be '.'"),
    ("..", "must not be '..'"),
    ("x" * 10_000, "too long"),
    ("é" * 400, "too long"),  # 800 bytes, 2400 once percent-encoded
    ("lone\ud800surrogate", "lone surrogate"),
]


def _raw_names(server: LocalPayiServer) -> list[list[str]]:
    """Each request's path after ``/api/v1/categories``, split on the raw ``/``."""
    out = []
    for record in server.requests:
        raw = record.path.split("?", 1)[0]
        assert raw.startswith(PATH_PREFIX + "/"), raw
        out.append(raw[len(PATH_PREFIX) + 1 :].split("/"))
    return out


@pytest.mark.parametrize("name", ONE_SEGMENT)
async def test_hostile_name_is_exactly_one_segment(emulator: LocalPayiServer, name: str) -> None:
    category = "custom.long" if len(name) > 200 else f"custom.{name}"
    async with AsyncPayi(api_key=CANARY, base_url=emulator.base_url, max_retries=0) as client:
        res = client.categories.resources
        created = await res.create(name, category, UNITS)
        assert (created.category, created.resource) == (category, name)
        got = await res.retrieve(created.resource_id, category, name)
        assert got == created
        listed = [v async for v in res.list(name, category)]
        assert [v.resource_id for v in listed] == [created.resource_id]
        in_category = [r async for r in client.categories.list_resources(category)]
        assert [r.resource for r in in_category] == [name]
        deleted = await res.delete(created.resource_id, category, name)
        assert deleted.resource_id == created.resource_id
        await res.create(name, category, UNITS)
        await client.categories.delete_resource(name, category)
        await client.categories.delete(category)
    expected = [
        [category, "resources", name],  # create
        [category, "resources", name, created.resource_id],  # retrieve
        [category, "resources", name],  # list versions
        [category, "resources"],  # list_resources
        [category, "resources", name, created.resource_id],  # delete version
        [category, "resources", name],  # create again
        [category, "resources", name],  # delete_resource
        [category],  # delete category
    ]
    raw = _raw_names(emulator)
    assert [[unquote(s) for s in r] for r in raw] == expected
    assert all(r.status is not None and r.status < 300 for r in emulator.requests)


@pytest.mark.parametrize(("name", "why"), REFUSED)
async def test_unsendable_name_is_refused_before_sending(
    emulator: LocalPayiServer, name: str, why: str
) -> None:
    async with AsyncPayi(api_key=CANARY, base_url=emulator.base_url) as client:
        res = client.categories.resources

        async def create() -> object:
            return await res.create(name, "custom.c", UNITS)

        async def retrieve() -> object:
            return await res.retrieve("rid", "custom.c", name)

        async def versions() -> object:
            return await res.list(name, "custom.c")

        async def delete() -> object:
            return await res.delete("rid", "custom.c", name)

        async def delete_resource() -> object:
            return await client.categories.delete_resource(name, "custom.c")

        async def list_resources() -> object:
            return await client.categories.list_resources(name)

        async def delete_category() -> object:
            return await client.categories.delete(name)

        calls = [
            create,
            retrieve,
            versions,
            delete,
            delete_resource,
            list_resources,
            delete_category,
        ]
        for call in calls:
            with pytest.raises(ValueError, match=r"resource|category") as caught:
                await call()
            assert why in str(caught.value)
            assert not isinstance(caught.value, UnicodeError), "a bare codec error"
        with pytest.raises(ValueError, match=why):
            ResourceCreate(name, "custom.c", UNITS)
    assert emulator.requests == []


async def test_segment_cap_boundary(emulator: LocalPayiServer) -> None:
    """A name of exactly ``MAX_SEGMENT_BYTES`` once encoded is sent (as one segment; this
    server then refuses it as longer than 256 characters); one byte more is not sent."""
    fits = "%" * (MAX_SEGMENT_BYTES // 3) + "a" * (MAX_SEGMENT_BYTES % 3)
    assert len(fits.replace("%", "%25")) == MAX_SEGMENT_BYTES
    async with AsyncPayi(api_key=CANARY, base_url=emulator.base_url) as client:
        with pytest.raises(BadRequestError, match="256 characters"):
            await client.categories.resources.create(fits, "custom.c", UNITS)
        assert [unquote(s) for s in _raw_names(emulator)[0]] == ["custom.c", "resources", fits]
        with pytest.raises(ValueError, match="too long"):
            await client.categories.resources.create(fits + "a", "custom.c", UNITS)
    assert len(emulator.requests) == 1
