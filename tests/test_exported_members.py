"""The public names of ``payi_async`` and ``payi_sync``, pinned; each reports its home.

Adding or removing a public name means changing this list on purpose (and CHANGELOG).
"""

from __future__ import annotations

import pickle
import pickletools
import types
from datetime import datetime, timezone
from typing import Any

import pytest

import payi_async
import payi_sync

SHARED = [
    "__version__",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AwsBedrockResource",
    "AzureResource",
    "BadRequestError",
    "BulkCreated",
    "BulkFailure",
    "BulkProgress",
    "BulkResult",
    "CatalogPlan",
    "CatalogResult",
    "CategoryDeleteResourceResponse",
    "CategoryDeleteResponse",
    "CategoryResourceResponse",
    "CategoryResponse",
    "CauseSummary",
    "Clock",
    "ConflictError",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "GoogleVertexResource",
    "InternalServerError",
    "MappedResource",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "NoVersionInEffectError",
    "PayiError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepeatedCursorError",
    "RequestInfo",
    "ResourceCreate",
    "ResponseContext",
    "RetryNotice",
    "RetryPolicy",
    "Timeout",
    "UnexpectedRedirectError",
    "Units",
    "UnprocessableEntityError",
]
ASYNC_ONLY = [
    "AsyncAPIResponse",
    "AsyncCategories",
    "AsyncCursorPage",
    "AsyncPager",
    "AsyncPayi",
    "AsyncResources",
    "AsyncResponseContextManager",
    "AsyncResponseView",
]
SYNC_ONLY = [
    "APIResponse",
    "Categories",
    "Payi",
    "Resources",
    "ResponseContextManager",
    "ResponseView",
    "SyncCursorPage",
]

PACKAGES = [(payi_async, SHARED + ASYNC_ONLY), (payi_sync, SHARED + SYNC_ONLY)]


def _public_namespace(module: types.ModuleType) -> set[str]:
    # Subpackages (payi_async.cli, .emulator) appear once imported; they are not names.
    return {
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
    }


@pytest.mark.parametrize(("module", "expected"), PACKAGES, ids=["payi_async", "payi_sync"])
def test_all_is_exactly_the_public_names(module: types.ModuleType, expected: list[str]) -> None:
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"
    assert sorted(module.__all__) == sorted(expected)
    assert _public_namespace(module) == set(expected)


@pytest.mark.parametrize(("module", "expected"), PACKAGES, ids=["payi_async", "payi_sync"])
def test_each_public_class_reports_its_public_home(
    module: types.ModuleType, expected: list[str]
) -> None:
    for name in expected:
        value = getattr(module, name)
        if not isinstance(value, type):
            continue
        home = "payi_sync" if name in SYNC_ONLY else "payi_async"
        assert value.__module__ == home, name
        assert value.__qualname__ == name
        assert getattr(__import__(home), name) is value


def test_payi_sync_shares_the_very_objects_of_payi_async() -> None:
    for name in SHARED:
        assert getattr(payi_sync, name) is getattr(payi_async, name), name


def test_a_traceback_names_the_public_path() -> None:
    error = payi_async.NotFoundError(
        "gone", method="GET", url="u", status_code=404, body=None, headers={}, request_id=None
    )
    assert repr(type(error)) == "<class 'payi_async.NotFoundError'>"
    assert repr(payi_sync.Payi) == "<class 'payi_sync.Payi'>"


def _status(cls: type[Any]) -> Any:
    return cls(
        "nope",
        method="GET",
        url="http://h/api/v1/categories",
        status_code=400,
        body={"message": "nope"},
        headers={"x-request-id": "r1"},
        request_id="r1",
        retry_after=1.5,
    )


def _errors() -> list[BaseException]:
    status = [
        cls
        for name in SHARED
        if isinstance(cls := getattr(payi_async, name), type)
        and issubclass(cls, payi_async.APIStatusError)
        and cls is not payi_async.NoVersionInEffectError
    ]
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [
        payi_async.PayiError("plain"),
        payi_async.RepeatedCursorError("c1"),
        payi_async.APIError("m", method="GET", url="u"),
        payi_async.APIConnectionError("m", method="GET", url="u"),
        payi_async.APITimeoutError("m", method="GET", url="u"),
        payi_async.CauseSummary(OSError, "refused"),
        payi_async.APIResponseValidationError(
            "bad", method="GET", url="u", status_code=200, body=[1], request_id="r"
        ),
        payi_async.NoVersionInEffectError("c", "r", at, earliest=at, url="u"),
        *(_status(cls) for cls in status),
    ]


def test_every_exception_pickles_to_an_equal_one_of_the_same_class() -> None:
    errors = _errors()
    assert len(errors) >= 18
    for error in errors:
        data = pickle.dumps(error)
        assert f"{type(error).__name__}".encode() in data
        clone = pickle.loads(data)
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)


def test_models_pickle_to_equal_models() -> None:
    version = payi_async.CategoryResourceResponse(
        resource_id="id",
        category="c",
        resource="r",
        units={"text": payi_async.Units(1.0, 2.0)},
        mapped_resource=payi_async.MappedResource(host_name="h"),
    )
    create = payi_async.ResourceCreate(
        resource="r", category="c", units={"text": {"input_price": 1.0}}
    )
    for model in (version, create, payi_async.CategoryResponse(category="c")):
        clone = pickle.loads(pickle.dumps(model))
        assert type(clone) is type(model)
        assert clone == model
    kept = payi_async.CategoryResponse(category="c", extra={"new": [1]})
    clone = pickle.loads(pickle.dumps(kept))
    assert dict(clone.extra) == {"new": [1]}
    assert clone.to_dict() == kept.to_dict()
    with pytest.raises(TypeError):
        clone.extra["new"] = 2  # type: ignore[index]


@pytest.mark.parametrize("name", [n for n in SHARED + ASYNC_ONLY if n[0].isupper()])
def test_a_public_class_pickles_by_its_public_path(name: str) -> None:
    cls = getattr(payi_async, name)
    if not isinstance(cls, type):
        return
    data = pickle.dumps(cls)
    strings = [arg for _op, arg, _pos in pickletools.genops(data) if isinstance(arg, str)]
    assert strings == ["payi_async", name]
    assert pickle.loads(data) is cls
