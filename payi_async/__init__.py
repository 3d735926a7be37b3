"""Async-first SDK for Pay-i's categories and resources API.

async with AsyncPayi() as client:
    async for category in client.categories.list():
        print(category.category)
"""

from ._bulk import BulkCreated, BulkFailure, BulkProgress, BulkResult

# The client and its options
from ._client import DEFAULT_BASE_URL, AsyncPayi
from ._config import NOT_GIVEN, NotGiven, Timeout
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CauseSummary,
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
from ._models import (
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    ResourceCreate,
    Units,
)
from ._pagination import AsyncCursorPage, AsyncPager
from ._resources import AsyncCategories, AsyncResources
from ._retry import RetryNotice, RetryPolicy
from ._version import __version__

__all__ = [
    # client
    "DEFAULT_BASE_URL",
    "AsyncPayi",
    "NOT_GIVEN",
    "NotGiven",
    "RetryNotice",
    "RetryPolicy",
    "Timeout",
    "__version__",
    # resources and pages
    "AsyncCategories",
    "AsyncCursorPage",
    "AsyncPager",
    "AsyncResources",
    # bulk creates
    "BulkCreated",
    "BulkFailure",
    "BulkProgress",
    "BulkResult",
    # models
    "CategoryDeleteResourceResponse",
    "CategoryDeleteResponse",
    "CategoryResourceResponse",
    "CategoryResponse",
    "ResourceCreate",
    "Units",
    # errors
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CauseSummary",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PayiError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepeatedCursorError",
    "UnexpectedRedirectError",
    "UnprocessableEntityError",
]
