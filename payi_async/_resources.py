"""``client.categories`` and ``client.categories.resources``: the seed's eight methods.

Every method checks its arguments before sending anything and also takes, keyword
only, ``timeout`` (seconds or a ``Timeout``, for this call only), ``extra_headers``,
``extra_query`` and ``extra_body`` (merged after the method's own headers, query
parameters and body fields, for this call only).

Each method describes its request as an ``Operation`` and hands it to ``_send``, so
that ``.with_raw_response`` and ``.with_streaming_response`` (see ``_response``) can
re-bind the same methods with another response mode.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from . import _urls
from . import _validation as v
from ._bulk import BulkProgress, BulkResult, run_create_many
from ._catalog import CatalogPlan, CatalogResult, apply_catalog, plan_catalog
from ._converter import ResponseContext, create_body, structure_body, structure_page
from ._exceptions import NoVersionInEffectError
from ._models import (
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    ResourceCreate,
    Units,
)
from ._pagination import AsyncCursorPage, AsyncPager
from ._response import AsyncResponseView, Operation, ResponseMode, view_of
from ._timeline import in_effect, server_instant
from ._transport import Timeout, parse_answer, parsed_on_loop

if TYPE_CHECKING:
    from ._client import AsyncPayi
    from ._views import (
        AsyncCategoriesWithRawResponse,
        AsyncCategoriesWithStreamingResponse,
        AsyncResourcesWithRawResponse,
        AsyncResourcesWithStreamingResponse,
    )

__all__ = ["AsyncCategories", "AsyncResources"]

T = TypeVar("T")


_parsers: dict[type[Any], Callable[[Any, ResponseContext], Any]] = {}


def _parser(cls: type[T]) -> Callable[[Any, ResponseContext], T]:
    """How a single-object answer becomes ``cls`` (one function per class)."""
    parse = _parsers.get(cls)
    if parse is None:

        def parse(data: Any, context: ResponseContext) -> T:
            return structure_body(data, cls, context)

        _parsers[cls] = parse
    return parse


class _Resource:
    __slots__ = ("_client", "_mode")

    #: The methods ``.with_raw_response`` / ``.with_streaming_response`` offer.
    _response_methods: ClassVar[frozenset[str]] = frozenset()
    #: Attributes that are resources themselves (their views are views too).
    _sub_resources: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, client: AsyncPayi) -> None:
        self._client = client
        self._mode: ResponseMode | None = None

    @property
    def with_raw_response(self) -> AsyncResponseView:
        """These methods answering an ``AsyncAPIResponse`` (status, headers, body,
        ``parse()``) instead of the model: ``await x.with_raw_response.retrieve(...)``."""
        return view_of(self, "raw")

    @property
    def with_streaming_response(self) -> AsyncResponseView:
        """These methods as ``async with x.with_streaming_response.retrieve(...) as r:``,
        the body read only when asked and the connection released when the block ends."""
        return view_of(self, "stream")

    def _rebind(self, mode: ResponseMode) -> Any:
        clone = copy.copy(self)
        clone._mode = mode
        return clone

    async def _send(self, op: Operation[T]) -> T:
        if self._mode is None:
            response = await self._client._call(op)
            if parsed_on_loop(response.size):
                return op.parse(response.data, response.context)
            return await parse_answer(op.parse, response.data, response.context, response.size)
        # A re-bound copy (only reachable through an AsyncResponseView) answers the
        # mode's response object instead of the model.
        result: Any = await self._mode.send(self._client, op)
        return result  # type: ignore[no-any-return]

    def _pager(
        self,
        path: str,
        item_cls: type[T],
        cursor: object,
        limit: object,
        sort_ascending: object,
        active: object,
        timeout: float | Timeout | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, object] | None,
        extra_body: Mapping[str, object] | None,
    ) -> AsyncPager[T]:
        first = v.optional_str("cursor", cursor)
        base = _urls.page_query(
            v.page_limit(limit),
            v.optional_bool("sort_ascending", sort_ascending),
            v.optional_bool("active", active),
        )
        client = self._client

        # As in the vendor's client, an ``extra_query`` cursor starts the listing and
        # each later page is asked for at the cursor the page before gave (else every
        # page would be the same one).
        later_query = (
            None
            if extra_query is None
            else {k: val for k, val in extra_query.items() if k != "cursor"}
        )

        def operation(at: str | None) -> Operation[AsyncCursorPage[T]]:
            def parse(data: Any, context: ResponseContext) -> AsyncCursorPage[T]:
                items, next_cursor, request_id = structure_page(data, item_cls, context)
                return AsyncCursorPage(items, next_cursor, request_id, fetch, at)

            return Operation(
                "GET",
                path,
                parse,
                query=base if at is None else [*base, ("cursor", at)],
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query if at == first else later_query,
                extra_body=extra_body,
            )

        async def fetch(at: str | None) -> AsyncCursorPage[T]:
            op = operation(at)
            response = await client._call(op)
            return await parse_answer(op.parse, response.data, response.context, response.size)

        if self._mode is not None:
            # Raw and streaming: the first page's answer; parse() gives the page,
            # whose iteration goes on with plain fetches.
            pending: Any = self._mode.send(client, operation(first))
            return pending  # type: ignore[no-any-return]
        return AsyncPager(fetch, first)


class AsyncResources(_Resource):
    """Versions of resources: ``client.categories.resources``."""

    __slots__ = ()

    _response_methods = frozenset({"create", "retrieve", "list", "delete"})

    if TYPE_CHECKING:
        # What the views' methods answer, for type checkers (``_views`` is generated).
        @property
        def with_raw_response(self) -> AsyncResourcesWithRawResponse: ...

        @property
        def with_streaming_response(self) -> AsyncResourcesWithStreamingResponse: ...

    async def create(
        self,
        resource: str,
        category: str,
        units: Mapping[str, Units | Mapping[str, float | None]],
        max_input_units: int | None = None,
        max_output_units: int | None = None,
        max_total_units: int | None = None,
        start_timestamp: str | datetime | None = None,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CategoryResourceResponse:
        """Create a new version of ``resource`` in ``category`` with these unit prices.

        A category that does not exist yet is created as a custom one. ``units`` maps
        each unit type to ``{"input_price": ..., "output_price": ...}`` (or ``Units``);
        either price may be left out (or ``None``), and is then not sent.
        ``start_timestamp`` is an aware ``datetime`` or an ISO 8601 string. Each call
        carries one ``Idempotency-Key``, the same on every retry, so a retried create
        makes one version on a server that honours the header.
        """
        params = ResourceCreate(
            resource=resource,
            category=category,
            units=units,
            max_input_units=max_input_units,
            max_output_units=max_output_units,
            max_total_units=max_total_units,
            start_timestamp=start_timestamp,
        )
        return await self._create(
            params,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    def _create(
        self,
        params: ResourceCreate,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> Awaitable[CategoryResourceResponse]:
        """The create of checked ``params`` (``_send``'s coroutine itself)."""
        return self._send(
            Operation(
                "POST",
                _urls.checked_resource_path(params.category, params.resource),
                _parser(CategoryResourceResponse),
                body=create_body(params),
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                create=True,
            )
        )

    async def create_many(
        self,
        items: Iterable[ResourceCreate | Mapping[str, Any]]
        | AsyncIterable[ResourceCreate | Mapping[str, Any]],
        *,
        concurrency: int = 16,
        total: int | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
        result: BulkResult | None = None,
        idempotency_key: Callable[[ResourceCreate], str] | None = None,
    ) -> BulkResult:
        """Create many resource versions at once, ``concurrency`` requests at a time.

        ``items`` is any iterable or async iterable of ``ResourceCreate`` or mappings
        with ``create``'s parameter names; it is read lazily, so memory stays bounded
        by ``concurrency``. Every item read is accounted for once in the returned
        ``BulkResult``, as created (with its ``resource_id``) or failed (with its
        position, the input and the error); a bad item fails alone. Retries follow the
        client's policy with one idempotency key per item, and a 429 slows every
        worker. ``on_progress`` is called after each item; ``total`` (else
        ``len(items)`` where there is one) is passed to it. Pass ``result`` to keep
        the account of a run that gets interrupted. ``idempotency_key`` maps an item
        to its ``Idempotency-Key`` (stable keys let a re-run be recognised); by
        default each item gets a random one.
        """
        return await run_create_many(
            self,
            items,
            concurrency=concurrency,
            total=total,
            on_progress=on_progress,
            result=result,
            idempotency_key=idempotency_key,
        )

    async def retrieve(
        self,
        resource_id: str,
        category: str,
        resource: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CategoryResourceResponse:
        """Get one version of a resource by its ``resource_id``."""
        return await self._send(
            Operation(
                "GET",
                _urls.version_path(category, resource, resource_id),
                _parser(CategoryResourceResponse),
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
            )
        )

    def list(
        self,
        resource: str,
        category: str,
        cursor: str | None = None,
        limit: int | None = None,
        sort_ascending: bool | None = None,
        *,
        active: bool | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> AsyncPager[CategoryResourceResponse]:
        """List the versions of one resource, a page at a time.

        ``await`` the result for the first page, or ``async for`` over it for every
        version of every page. ``active=True`` lists only the version in effect now,
        ``active=False`` only the others (deleted, ended or not started yet); left
        out, the server's default applies.
        """
        path = _urls.resource_path(category, resource)
        return self._pager(
            path,
            CategoryResourceResponse,
            cursor,
            limit,
            sort_ascending,
            active,
            timeout,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def delete(
        self,
        resource_id: str,
        category: str,
        resource: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CategoryResourceResponse:
        """Soft-delete one version of a resource; answers the deleted version.

        Like a create, each call carries one ``Idempotency-Key`` on all its attempts,
        so a retry after a lost answer is answered as the first attempt was.
        """
        return await self._send(
            Operation(
                "DELETE",
                _urls.version_path(category, resource, resource_id),
                _parser(CategoryResourceResponse),
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=True,
            )
        )

    async def plan(
        self, items: Iterable[ResourceCreate | Mapping[str, Any]], *, prune: bool = False
    ) -> CatalogPlan:
        """Compare desired rows (``create``'s parameters) with the live versions.

        A row is unchanged when a live version has the same units, prices,
        ``max_*_units`` and ``start_timestamp`` and is in effect then (not shadowed by
        a later-created version with the same start; without ``start_timestamp``: when the
        version in effect now has the same units, prices and limits); otherwise it is
        a create. With ``prune``, live resources of the named categories that no row
        names are deletes (system categories never are). Only reads; the plan is
        falsy when there is nothing to do and prints as a diff.
        """
        return await plan_catalog(self, items, prune=prune)

    async def apply(
        self,
        plan_or_items: CatalogPlan | Iterable[ResourceCreate | Mapping[str, Any]],
        *,
        prune: bool = False,
        concurrency: int = 16,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> CatalogResult:
        """Make the catalogue match the rows: create what is missing, delete what is pruned.

        Plans afresh from the server's state first (for a ``CatalogPlan``: from its
        rows, deleting only what that plan listed). Creates never retry blindly: each
        round's failures are settled by reading the resources again, so an apply
        interrupted anywhere and run again ends with each desired version exactly
        once, also on a server that ignores ``Idempotency-Key``. The result's ``ok``
        says whether the catalogue now matches.
        """
        return await apply_catalog(
            self, plan_or_items, prune=prune, concurrency=concurrency, on_progress=on_progress
        )

    async def resolve(
        self, category: str, resource: str, at: str | datetime | None = None
    ) -> CategoryResourceResponse:
        """The version of a resource in effect at ``at`` (aware datetime or ISO 8601
        string with an offset; default now).

        Among live versions whose ``start_timestamp`` (else ``creation_timestamp``) is
        at or before ``at``, the latest; ties go to the latest created. Raises
        ``NoVersionInEffectError`` (a ``NotFoundError``) when none is in effect.
        """
        return await _resolve_version(self, category, resource, at)


async def _resolve_version(
    resources: AsyncResources, category: str, resource: str, at: str | datetime | None
) -> CategoryResourceResponse:
    """The engine behind ``AsyncResources.resolve`` (here: it walks ``resources.list``)."""
    path = _urls.resource_path(category, resource)
    moment = datetime.now(timezone.utc) if at is None else v.parse_timestamp("at", at)
    versions = [
        version
        async for version in resources.list(resource, category, limit=1000, sort_ascending=True)
    ]
    candidates = [
        (server_instant(x.start_timestamp), server_instant(x.creation_timestamp), x)
        for x in versions
    ]
    found = in_effect(candidates, moment)
    if found is None:
        starts = [t for start, created, _ in candidates if (t := start or created) is not None]
        url = _urls.join(resources._client.base_url, path)
        raise NoVersionInEffectError(
            category, resource, moment, earliest=min(starts, default=None), url=url
        )
    return found


class AsyncCategories(_Resource):
    """Categories of resources: ``client.categories``."""

    __slots__ = ("resources",)

    _response_methods = frozenset({"list", "delete", "delete_resource", "list_resources"})
    _sub_resources = frozenset({"resources"})

    #: The resources of categories and their versions.
    resources: AsyncResources

    if TYPE_CHECKING:
        # What the views' methods answer, for type checkers (``_views`` is generated).
        @property
        def with_raw_response(self) -> AsyncCategoriesWithRawResponse: ...

        @property
        def with_streaming_response(self) -> AsyncCategoriesWithStreamingResponse: ...

    def __init__(self, client: AsyncPayi) -> None:
        super().__init__(client)
        self.resources = AsyncResources(client)

    def list(
        self,
        cursor: str | None = None,
        limit: int | None = None,
        sort_ascending: bool | None = None,
        *,
        active: bool | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> AsyncPager[CategoryResponse]:
        """List all categories, system and custom, a page at a time.

        ``await`` the result for the first page, or ``async for`` over it for every
        category of every page. ``active=True`` lists the categories with at least one
        version in effect now, ``active=False`` those with none.
        """
        return self._pager(
            _urls.ROOT,
            CategoryResponse,
            cursor,
            limit,
            sort_ascending,
            active,
            timeout,
            extra_headers,
            extra_query,
            extra_body,
        )

    async def delete(
        self,
        category: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CategoryDeleteResponse:
        """Soft-delete a category and every resource in it.

        Like a create, each call carries one ``Idempotency-Key`` on all its attempts,
        so a retry after a lost answer is answered as the first attempt was.
        """
        return await self._send(
            Operation(
                "DELETE",
                _urls.category_path(category),
                _parser(CategoryDeleteResponse),
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=True,
            )
        )

    async def delete_resource(
        self,
        resource: str,
        category: str,
        *,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CategoryDeleteResourceResponse:
        """Soft-delete every version of one resource in a category.

        Like a create, each call carries one ``Idempotency-Key`` on all its attempts,
        so a retry after a lost answer is answered as the first attempt was.
        """
        return await self._send(
            Operation(
                "DELETE",
                _urls.resource_path(category, resource),
                _parser(CategoryDeleteResourceResponse),
                timeout=timeout,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=True,
            )
        )

    def list_resources(
        self,
        category: str,
        cursor: str | None = None,
        limit: int | None = None,
        sort_ascending: bool | None = None,
        *,
        active: bool | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> AsyncPager[CategoryResourceResponse]:
        """List the resources of a category, a page at a time.

        ``await`` the result for the first page, or ``async for`` over it for every
        resource of every page. ``active=True`` lists only versions in effect now,
        ``active=False`` only the others (deleted, ended or not started yet).
        """
        path = _urls.resources_path(category)
        return self._pager(
            path,
            CategoryResourceResponse,
            cursor,
            limit,
            sort_ascending,
            active,
            timeout,
            extra_headers,
            extra_query,
            extra_body,
        )
