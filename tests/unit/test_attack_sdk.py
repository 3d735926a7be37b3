"""Where raw/streaming responses, `extra_query` and price checks broke under attack,
checked on a mocked wire: what each later page asks for, what a response read inside
its block answers after it, what `close()` does, and a price beyond a float."""

from __future__ import annotations

import re
from pathlib import Path

import mypy.api
import pytest
from _unit_support import calls
from aioresponses import aioresponses

from payi_async import APIResponseValidationError, AsyncPayi

PAGES = re.compile(r"^https://api\.test/api/v1/categories(\?.*)?$")


def _page(names: list[str], cursor: str | None) -> dict[str, object]:
    return {"items": [{"category": n} for n in names], "cursor": cursor}


async def test_an_extra_query_cursor_is_sent_for_the_first_page_only(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page(["a"], "c2"))
    api.get(PAGES, payload=_page(["b"], "c3"))
    api.get(PAGES, payload=_page(["c"], None))
    listed = [
        c.category
        async for c in client.categories.list(
            limit=1, extra_query={"cursor": "c1", "limit": 5, "flag": True}
        )
    ]
    assert listed == ["a", "b", "c"]
    queries = [dict(url.query) for _, url, _ in calls(api)]
    assert queries == [
        {"limit": "5", "cursor": "c1", "flag": "true"},
        {"limit": "5", "cursor": "c2", "flag": "true"},
        {"limit": "5", "cursor": "c3", "flag": "true"},
    ]
    assert [url.query.getall("cursor") for _, url, _ in calls(api)] == [["c1"], ["c2"], ["c3"]]


async def test_a_raw_first_page_with_an_extra_query_cursor_walks_on(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page(["a"], "c2"))
    api.get(PAGES, payload=_page(["b"], None))
    raw = await client.with_raw_response.categories.list(extra_query={"cursor": "c1"})
    page = await raw.parse()
    assert [c.category async for c in page] == ["a", "b"]
    assert [url.query.getall("cursor") for _, url, _ in calls(api)] == [["c1"], ["c2"]]


async def test_json_of_a_non_json_body_read_in_the_block_fails_as_validation_after_it(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, body=b"<html>oops</html>", content_type="text/html")
    async with client.categories.with_streaming_response.list() as response:
        assert await response.text() == "<html>oops</html>"
    # The body was read: after the block it is still the body's own error, not "closed".
    for _ in range(2):
        with pytest.raises(APIResponseValidationError, match="not JSON"):
            await response.json()
        with pytest.raises(APIResponseValidationError, match="not JSON"):
            await response.parse()
    assert await response.read() == b"<html>oops</html>"


async def test_close_before_reading_refuses_the_body_and_is_idempotent(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page(["a"], None))
    async with client.categories.with_streaming_response.list() as response:
        await response.close()
        await response.close()
        assert response.is_closed
        with pytest.raises(RuntimeError, match="before its body was read"):
            await response.parse()
    with pytest.raises(RuntimeError, match="before its body was read"):
        await response.text()


async def test_close_after_reading_keeps_what_was_read(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page(["a"], None))
    async with client.categories.with_streaming_response.list() as response:
        data = await response.json()
        await response.close()
        assert (await response.parse()).items[0].category == "a"
    assert data == _page(["a"], None)


async def test_an_exception_after_close_inside_the_block_propagates_unchanged(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page(["a"], None))

    async def close_then_fail() -> None:
        async with client.categories.with_streaming_response.list() as response:
            await response.close()
            raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        await close_then_fail()


@pytest.mark.parametrize("price", [10**400, -(10**400)], ids=["huge", "huge-negative"])
async def test_an_int_price_beyond_a_float_is_a_value_error_naming_the_unit(
    api: aioresponses, client: AsyncPayi, price: int
) -> None:
    with pytest.raises(ValueError, match=r"units\['text'\]\.input_price must be a finite"):
        await client.categories.resources.create(
            resource="m", category="c", units={"text": {"input_price": price}}
        )
    with pytest.raises(ValueError, match=r"units\['text'\]\.output_price must be a finite"):
        await client.categories.resources.with_raw_response.create(
            resource="m", category="c", units={"text": {"output_price": price}}
        )
    assert calls(api) == []


USER_CODE = """
from payi_async import AsyncCursorPage, AsyncPayi, CategoryResourceResponse, CategoryResponse
from payi_sync import Payi, SyncCursorPage


async def amain(client: AsyncPayi) -> None:
    raw = await client.categories.resources.with_raw_response.retrieve(
        resource_id="r", category="c", resource="m"
    )
    model: CategoryResourceResponse = await raw.parse()
    wrong: int = await raw.parse()  # error 1
    async with client.categories.with_streaming_response.list_resources(category="c") as s:
        page: AsyncCursorPage[CategoryResourceResponse] = await s.parse()
    cats: AsyncCursorPage[CategoryResponse] = await (
        await client.categories.with_raw_response.list(active=True)
    ).parse()
    await client.categories.resources.with_raw_response.delete(1, "c", "m")  # error 2


def main(client: Payi) -> None:
    raw = client.with_raw_response.categories.list_resources(category="c")
    page: SyncCursorPage[CategoryResourceResponse] = raw.parse()
    wrong: str = raw.parse()  # error 3
    with client.categories.resources.with_streaming_response.delete(
        resource_id="r", category="c", resource="m"
    ) as s:
        deleted: CategoryResourceResponse = s.parse()
        status: int = s.status_code
    client.categories.with_streaming_response.delete(category=None)  # error 4
    client.categories.resources.with_raw_response.retreive("r", "c", "m")  # error 5
"""


def test_raw_and_streaming_views_are_typed_for_mypy_strict(tmp_path: Path) -> None:
    # Vendor users expect these types to be checked; a view answering Any hides errors.
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE)
    out, err, status = mypy.api.run(["--strict", "--no-error-summary", str(user)])
    assert status == 1, (out, err)
    flagged = sorted({int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line})
    expected = [n for n, line in enumerate(USER_CODE.splitlines(), 1) if "# error" in line]
    assert flagged == expected, out


async def test_extra_query_lists_and_mappings_are_sent_as_the_vendors_client_sends_them(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(PAGES, payload=_page([], None))
    await client.categories.list(
        extra_query={
            "ids": ["a", "b", None, True],
            "pair": ("x", 2),
            "filter": {"name": "gpt", "live": False, "deep": {"n": 1}, "gone": None},
            "empty": [],
        }
    )
    (_, url, _) = calls(api)[0]
    # Lists comma-joined, mappings as bracketed keys (never a Python repr like "['a', 'b']").
    assert sorted(url.query.items()) == sorted(
        [
            ("ids", "a,b,true"),
            ("pair", "x,2"),
            ("filter[name]", "gpt"),
            ("filter[live]", "false"),
            ("filter[deep][n]", "1"),
            ("empty", ""),
        ]
    )


async def test_an_answer_with_an_integer_price_beyond_a_float_names_the_field(
    api: aioresponses, client: AsyncPayi
) -> None:
    body = (
        b'{"resource_id": "r", "category": "c", "resource": "m", "creation_timestamp": "t",'
        b' "units": {"text": {"input_price": 1' + b"0" * 400 + b"}}}"
    )
    api.get(re.compile(r".*/resources/m/r$"), body=body, content_type="application/json")
    with pytest.raises(APIResponseValidationError) as caught:
        await client.categories.resources.retrieve(resource_id="r", category="c", resource="m")
    message = str(caught.value)
    assert "a float can hold, got a larger one @ $.units['text'].input_price" in message
    assert "unknown error" not in message
