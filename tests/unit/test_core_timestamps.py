"""One timestamp rule (contract C4) for ``create()``, ``ResourceCreate`` and the CLI's
files, and the retry log records (contract C2)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _unit_support import BASE, FakeClock, body_of, calls, only_call, resource_json
from aioresponses import aioresponses

from payi_async import AsyncPayi, ResourceCreate
from payi_async._retry import RetryNotice
from payi_async._validation import parse_timestamp, timestamp

UNITS = {"text": {"input_price": 1.0, "output_price": 2.0}}
ROOT = f"{BASE}/api/v1/categories"
UTC = timezone.utc
CREATE_URL = f"{ROOT}/custom.c/resources/r"


async def create(client: AsyncPayi, start: Any) -> None:
    await client.categories.resources.create("r", "custom.c", UNITS, start_timestamp=start)


def refusal(start: Any) -> str:
    with pytest.raises(ValueError, match="start_timestamp") as caught:
        ResourceCreate(resource="r", category="custom.c", units=UNITS, start_timestamp=start)
    return str(caught.value)


def test_an_iso_string_without_an_offset_is_refused_like_a_naive_datetime() -> None:
    naive = refusal(datetime(2025, 1, 1))
    assert refusal("2025-01-01T00:00:00") == naive
    assert "timezone-aware" in naive and "2025-01-01T00:00:00" in naive
    assert "no UTC offset" in refusal("2025-01-01 09:30")
    assert "no UTC offset" in refusal("2025-01-01")


@pytest.mark.parametrize(
    "text", ["next tuesday", "2025-13-01T00:00:00Z", "2025-02-30T00:00Z", "01/02/2025", "2025"]
)
async def test_text_that_is_no_iso_date_time_is_refused_before_sending(
    api: aioresponses, client: AsyncPayi, text: str
) -> None:
    with pytest.raises(ValueError, match="start_timestamp") as caught:
        await create(client, text)
    assert repr(text) in str(caught.value)
    assert calls(api) == []


async def test_an_offset_less_string_is_refused_by_create_before_sending(
    api: aioresponses, client: AsyncPayi
) -> None:
    with pytest.raises(ValueError, match="no UTC offset") as caught:
        await create(client, "2025-01-01T00:00:00")
    assert str(caught.value) == refusal(datetime(2025, 1, 1))
    assert calls(api) == []


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        ("2025-01-01t00:00:00.5z", datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)),
        ("2025-01-01T02:00:00+02:00", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        ("2025-01-01 02:00+0200", datetime(2025, 1, 1, tzinfo=timezone.utc)),
        ("2024-12-31T19:00:00.123456789-05:00", datetime(2025, 1, 1, 0, 0, 0, 123456, UTC)),
    ],
)
async def test_iso_strings_with_an_offset_are_sent_as_given(
    api: aioresponses, client: AsyncPayi, text: str, instant: datetime
) -> None:
    # Parsed by hand, so "Z" works the same on Python 3.10 as on 3.11+.
    assert parse_timestamp("start_timestamp", text) == instant
    api.post(CREATE_URL, payload=resource_json())
    await create(client, text)
    _, _, call = only_call(api)
    assert body_of(call)["start_timestamp"] == text


def test_assume_utc_reads_an_offset_less_time_as_utc() -> None:
    utc = timezone.utc
    assert timestamp("s", "2025-01-01T10:00:00", assume_utc=True) == "2025-01-01T10:00:00+00:00"
    assert timestamp("s", "2025-01-01", assume_utc=True) == "2025-01-01T00:00:00+00:00"
    assert timestamp("s", "2025-01-01T10:00:00+02:00", assume_utc=True) == (
        "2025-01-01T10:00:00+02:00"
    )
    assert parse_timestamp("s", datetime(2025, 1, 1), assume_utc=True) == datetime(
        2025, 1, 1, tzinfo=utc
    )
    with pytest.raises(ValueError, match="not an ISO 8601"):
        timestamp("s", "soon", assume_utc=True)


def test_impossible_offsets_and_other_types() -> None:
    with pytest.raises(ValueError, match="impossible UTC offset"):
        parse_timestamp("at", "2025-01-01T00:00:00+24:00")
    with pytest.raises(TypeError, match="at must be a datetime or an ISO 8601 str"):
        parse_timestamp("at", 1700000000)
    aware = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-3)))
    assert parse_timestamp("at", aware) is aware


async def test_each_retry_is_logged_with_a_retry_notice(
    api: aioresponses, client: AsyncPayi, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="payi_async")
    url = f"{ROOT}/custom.c/resources/r/rid-1"
    api.get(url, status=503, payload={"message": "busy"})
    api.get(url, status=503, payload={"message": "busy"})
    api.get(url, payload=resource_json())
    await client.categories.resources.retrieve("rid-1", "custom.c", "r")
    notices = [r.payi_retry for r in caplog.records if hasattr(r, "payi_retry")]
    assert [(n.attempt, n.max_attempts, n.reason) for n in notices] == [
        (2, 3, "status 503"),
        (3, 3, "status 503"),
    ]
    assert all(isinstance(n, RetryNotice) and n.wait > 0 for n in notices)
    records = [r for r in caplog.records if hasattr(r, "payi_retry")]
    assert all(r.levelno == logging.INFO for r in records)
    assert records[0].getMessage().startswith(f"retrying GET {url} (2/3) after status 503 in ")
