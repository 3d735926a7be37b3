"""Each status as its exception class, what errors carry and say, and pickling."""

from __future__ import annotations

import json
import pickle
import re
from typing import Any

import pytest
from aioresponses import aioresponses

import payi_async
from payi_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncPayi,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayiError,
    PermissionDeniedError,
    RateLimitError,
    RepeatedCursorError,
    UnexpectedRedirectError,
    UnprocessableEntityError,
)
from tests.support import BASE, KEY, calls

ANY = re.compile(r"^https://api\.test/.*$")
URL_ = f"{BASE}/api/v1/categories/custom.c/resources/m/v1"

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (418, APIStatusError),
    (451, APIStatusError),
    (301, UnexpectedRedirectError),
    (302, UnexpectedRedirectError),
    (307, UnexpectedRedirectError),
    (308, UnexpectedRedirectError),
]


def test_the_hierarchy_matches_the_vendor_names() -> None:
    assert issubclass(APIError, PayiError)
    assert issubclass(APIStatusError, APIError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(RepeatedCursorError, PayiError)
    for _, cls in STATUS_CLASSES:
        assert issubclass(cls, APIStatusError)
    for name in (
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
    ):
        assert name in payi_async.__all__


async def _retrieve(payi: AsyncPayi) -> Any:
    return await payi.categories.resources.retrieve("v1", "custom.c", "m")


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_each_status_raises_its_class_with_everything_it_knows(
    api: aioresponses, client: AsyncPayi, status: int, cls: type[APIStatusError]
) -> None:
    body = {"message": f"went wrong {status}", "statusCode": status, "request_id": "body-rid"}
    headers = {"x-request-id": "header-rid", "x-custom": "yes"}
    if 300 <= status < 400:
        headers["Location"] = "https://elsewhere.example/api"
    api.get(ANY, status=status, payload=body, headers=headers)
    with pytest.raises(APIStatusError) as caught:
        await _retrieve(client.with_options(max_retries=0))
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.body == body
    assert error.headers["x-custom"] == "yes"
    assert error.request_id == "body-rid"
    assert error.method == "GET"
    assert error.url == URL_
    text = str(error)
    assert "\n" not in text
    assert text.startswith(f"{status} ")
    assert f"went wrong {status}" in text
    assert "request_id=body-rid" in text
    assert f"GET {URL_}" in text
    if cls is UnexpectedRedirectError:
        assert error.location == "https://elsewhere.example/api"
        assert "https://elsewhere.example/api" in error.message
        assert "redirect" in error.message
    else:
        assert error.message == f"went wrong {status}"
    assert len(calls(api)) == 1


async def test_request_id_from_the_header_when_the_body_has_none(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(
        ANY,
        status=404,
        payload={"message": "no such resource", "statusCode": 404},
        headers={"x-request-id": "hdr-1"},
    )
    with pytest.raises(NotFoundError) as caught:
        await _retrieve(client)
    assert caught.value.request_id == "hdr-1"
    assert "(request_id=hdr-1)" in str(caught.value)
    assert caught.value.message == "no such resource"


async def test_message_from_xproxy_error(api: aioresponses, client: AsyncPayi) -> None:
    body = {"statusCode": 403, "xproxy_error": {"code": "denied", "message": "system is read-only"}}
    api.get(ANY, status=403, payload=body)
    with pytest.raises(PermissionDeniedError) as caught:
        await _retrieve(client)
    assert caught.value.message == "system is read-only"
    assert caught.value.request_id is None
    assert "request_id" not in str(caught.value)


async def test_a_non_json_error_body_is_kept_as_text(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, status=401, body=b"Unauthorized: bad key", content_type="text/plain")
    with pytest.raises(AuthenticationError) as caught:
        await _retrieve(client)
    assert caught.value.body == "Unauthorized: bad key"
    assert "Unauthorized: bad key" in caught.value.message
    assert KEY not in str(caught.value)


async def test_an_empty_error_body_says_the_reason_phrase(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, status=422, body=b"")
    with pytest.raises(UnprocessableEntityError) as caught:
        await _retrieve(client)
    assert caught.value.body is None
    assert caught.value.message == "Unprocessable Entity"


async def test_a_multi_line_server_message_still_prints_on_one_line(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, status=400, payload={"message": "bad units:\n  text\r\n  image"})
    with pytest.raises(BadRequestError) as caught:
        await _retrieve(client)
    assert caught.value.message == "bad units:\n  text\r\n  image"
    text = str(caught.value)
    assert "\n" not in text
    assert "\r" not in text
    assert "bad units: text image" in text


async def test_a_multi_line_text_body_still_prints_on_one_line(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, status=400, body=b"line one\nline two", content_type="text/plain")
    with pytest.raises(BadRequestError) as caught:
        await _retrieve(client)
    assert "\n" not in str(caught.value)
    assert "line one line two" in str(caught.value)


async def test_the_request_url_in_errors_never_holds_the_key(
    api: aioresponses, client: AsyncPayi
) -> None:
    api.get(ANY, status=500, payload={"message": "boom"}, repeat=True)
    with pytest.raises(InternalServerError) as caught:
        await _retrieve(client.with_options(max_retries=0))
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert KEY not in json.dumps(caught.value.headers)


# ---------------------------------------------------------------- pickling


def _status_error(cls: type[APIStatusError], status: int) -> APIStatusError:
    return cls(
        "server said no",
        method="POST",
        url=URL_,
        status_code=status,
        body={"message": "server said no", "statusCode": status},
        headers={"x-request-id": "rid", "retry-after": "2"},
        request_id="rid",
        retry_after=2.0,
    )


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_errors_pickle_with_their_attributes(status: int, cls: type[APIStatusError]) -> None:
    error = _status_error(cls, status)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    for name in (
        "message",
        "method",
        "url",
        "status_code",
        "body",
        "headers",
        "request_id",
        "retry_after",
    ):
        assert getattr(copy, name) == getattr(error, name), name
    assert str(copy) == str(error)
    assert copy.args == error.args


def test_connection_and_timeout_errors_pickle() -> None:
    for cls in (APIConnectionError, APITimeoutError):
        error = cls("connection failed: refused", method="GET", url=URL_)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls
        assert (copy.message, copy.method, copy.url) == (error.message, "GET", URL_)
        assert str(copy) == str(error) == f"connection failed: refused [GET {URL_}]"


def test_validation_errors_pickle() -> None:
    error = APIResponseValidationError(
        "the body is not valid", method="GET", url=URL_, status_code=200, body=[1], request_id="r"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is APIResponseValidationError
    assert (copy.status_code, copy.body, copy.request_id) == (200, [1], "r")
    assert str(copy) == str(error)
    assert str(copy).startswith("200 answer did not fit: the body is not valid (request_id=r)")


def test_repeated_cursor_error_pickles() -> None:
    error = RepeatedCursorError("cur-1")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RepeatedCursorError
    assert copy.cursor == "cur-1"
    assert str(copy) == str(error)
    assert "'cur-1'" in str(copy)


async def test_a_raised_error_pickles(api: aioresponses, client: AsyncPayi) -> None:
    api.get(ANY, status=404, payload={"message": "missing"}, headers={"x-request-id": "abc"})
    with pytest.raises(NotFoundError) as caught:
        await _retrieve(client)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is NotFoundError
    assert copy.headers["x-request-id"] == "abc"
    assert copy.body == {"message": "missing"}
    assert str(copy) == str(caught.value)
