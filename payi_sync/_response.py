"""Raw and streaming responses for blocking code (hand-written).

``ResponseView`` wraps an ``AsyncResponseView`` and runs each of its methods through
the client's ``Portal``; ``APIResponse`` wraps an ``AsyncAPIResponse`` with blocking
``read``/``text``/``json``/``parse``. Nothing here is specific to one resource: the
generator gives every blocking resource ``with_raw_response`` and
``with_streaming_response`` properties returning a ``ResponseView``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from payi_async import (
    AsyncAPIResponse,
    AsyncCursorPage,
    AsyncResponseContextManager,
    AsyncResponseView,
    RequestInfo,
    ResponseContext,
)

from ._pages import SyncCursorPage
from ._portal import Portal

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

__all__ = ["APIResponse", "ResponseContextManager", "ResponseView"]

T = TypeVar("T")
R = TypeVar("R")


class APIResponse(Generic[T]):
    """The HTTP answer of one blocking call, with the model (or page) it parses to.

    From ``.with_raw_response`` the body has been read already; from
    ``.with_streaming_response`` it is read only when asked, inside the ``with`` block.
    """

    __slots__ = ("_portal", "_response")

    def __init__(self, portal: Portal, response: AsyncAPIResponse[T]) -> None:
        self._portal = portal
        self._response = response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.method} {self.url}>"

    @property
    def status_code(self) -> int:
        """The HTTP status (2xx: other statuses raise ``APIStatusError`` as usual)."""
        return self._response.status_code

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The answer's headers (case-insensitive; an echoed API key is masked)."""
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` the server gave, if any."""
        return self._response.request_id

    @property
    def method(self) -> str:
        """The request's HTTP method."""
        return self._response.method

    @property
    def url(self) -> str:
        """The request's URL, query included."""
        return self._response.url

    @property
    def http_request(self) -> RequestInfo:
        """The request this answers: ``.method`` and ``.url``."""
        return self._response.http_request

    @property
    def context(self) -> ResponseContext:
        """Method, URL, status and request id, as errors report them."""
        return self._response.context

    @property
    def is_closed(self) -> bool:
        """Whether the connection has been released (the body can no longer be read)."""
        return self._response.is_closed

    def _call(self, method: Callable[[], Coroutine[Any, Any, R]]) -> R:
        # A body already read (or a response closed before it was) needs no I/O:
        # answer here, so that it stays readable after the client (and its event
        # loop) is closed, as the vendor's does.
        if self._response.body_read or self._response.is_closed:
            step = method()
            try:
                step.send(None)
            except StopIteration as done:
                result: R = done.value
                return result
            step.close()
        return self._portal.call(method)

    def read(self) -> bytes:
        """The body as bytes (read once, then kept)."""
        return self._call(self._response.read)

    def text(self) -> str:
        """The body as text."""
        return self._call(self._response.text)

    def json(self) -> Any:
        """The body decoded as JSON (``APIResponseValidationError`` when it is not)."""
        return self._call(self._response.json)

    def close(self) -> None:
        """Release the connection now (see ``AsyncAPIResponse.close``)."""
        self._portal.call(self._response.close)

    def parse(self) -> T:
        """What the plain call returns: the model, or the first page of a listing
        (whose iteration goes on to the following pages)."""
        result: Any = self._call(self._response.parse)
        if isinstance(result, AsyncCursorPage):
            result = SyncCursorPage(self._portal, result)
        parsed: T = result
        return parsed


class ResponseContextManager(Generic[T]):
    """What a blocking ``.with_streaming_response`` method returns: ``with`` it for
    the ``APIResponse``; the connection is released when the block ends."""

    __slots__ = ("_manager", "_portal")

    def __init__(self, portal: Portal, manager: AsyncResponseContextManager[T]) -> None:
        self._portal = portal
        self._manager = manager

    def __enter__(self) -> APIResponse[T]:
        return APIResponse(self._portal, self._portal.call(self._manager.__aenter__))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._portal.call(self._manager.__aexit__, exc_type, exc, tb)


class ResponseView:
    """``.with_raw_response`` / ``.with_streaming_response`` of a blocking resource
    or client: the same methods (``create_many`` aside) and sub-resources, answering
    an ``APIResponse`` (raw) or a ``ResponseContextManager`` to ``with`` (streaming)."""

    __slots__ = ("_portal", "_view")

    def __init__(self, view: AsyncResponseView, portal: Portal) -> None:
        self._view = view
        self._portal = portal

    @property
    def mode(self) -> Literal["raw", "stream"]:
        """``"raw"`` or ``"stream"``."""
        return self._view.mode

    def __repr__(self) -> str:
        return repr(self._view).replace("AsyncResponseView", "ResponseView", 1)

    def __dir__(self) -> list[str]:
        return dir(self._view)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._view, name)
        if isinstance(attr, AsyncResponseView):
            return blocking_view_of(attr, self._portal)
        portal = self._portal
        method: Callable[..., Any]
        if self._view.mode == "raw":

            def method(*args: Any, **kwargs: Any) -> APIResponse[Any]:
                return APIResponse(portal, portal.call(attr, *args, **kwargs))

        else:

            def method(*args: Any, **kwargs: Any) -> ResponseContextManager[Any]:
                return ResponseContextManager(portal, attr(*args, **kwargs))

        method.__name__ = name
        method.__doc__ = attr.__doc__
        return method


def blocking_view_of(view: AsyncResponseView, portal: Portal) -> ResponseView:
    """The blocking view wrapping ``view``: the typed subclass generated for its
    resource's class (``_views``), else the generic one."""
    from ._views import BLOCKING_VIEWS

    key = (type(view._target).__name__, view.mode)
    return BLOCKING_VIEWS.get(key, ResponseView)(view, portal)
