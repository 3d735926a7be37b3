"""Async-first SDK for Pay-i's categories and resources API.

async with AsyncPayi() as client:
    async for category in client.categories.list():
        print(category.category)
"""

from ._bulk import BulkCreated, BulkFailure, BulkProgress, BulkResult
from ._catalog import CatalogPlan, CatalogResult

# The client and its options
from ._client import DEFAULT_BASE_URL, AsyncPayi
from ._config import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven, Timeout
from ._converter import ResponseContext
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
    NoVersionInEffectError,
    PayiError,
    PermissionDeniedError,
    RateLimitError,
    RepeatedCursorError,
    UnexpectedRedirectError,
    UnprocessableEntityError,
)
from ._models import (
    AwsBedrockResource,
    AzureResource,
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    GoogleVertexResource,
    MappedResource,
    ResourceCreate,
    Units,
)
from ._pagination import AsyncCursorPage, AsyncPager
from ._resources import AsyncCategories, AsyncResources
from ._response import AsyncAPIResponse, AsyncResponseContextManager, AsyncResponseView, RequestInfo
from ._retry import RetryNotice, RetryPolicy
from ._version import __version__

__all__ = [
    # client
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
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
    # raw and streaming responses
    "AsyncAPIResponse",
    "AsyncResponseContextManager",
    "AsyncResponseView",
    "RequestInfo",
    "ResponseContext",
    # bulk creates
    "BulkCreated",
    "BulkFailure",
    "BulkProgress",
    "BulkResult",
    # catalogue as code
    "CatalogPlan",
    "CatalogResult",
    # models
    "AwsBedrockResource",
    "AzureResource",
    "CategoryDeleteResourceResponse",
    "CategoryDeleteResponse",
    "CategoryResourceResponse",
    "CategoryResponse",
    "GoogleVertexResource",
    "MappedResource",
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
    "NoVersionInEffectError",
    "NotFoundError",
    "PayiError",
    "PermissionDeniedError",
    "RateLimitError",
    "RepeatedCursorError",
    "UnexpectedRedirectError",
    "UnprocessableEntityError",
]
