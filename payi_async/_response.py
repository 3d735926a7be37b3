"""Raw and streaming responses: ``.with_raw_response`` and ``.with_streaming_response``.

One mechanism serves every method: a resource (or the client) hands out an
``AsyncResponseView``, which re-binds the resource's methods with a *response mode*.
Each method describes its request as an ``Operation`` and gives it to
``_Resource._send``; in the plain mode that is ``client._request`` plus the model,
in the raw mode the whole answer is read (through ``client._stream``) into an
``AsyncAPIResponse``, and in the streaming mode the answer's body is left unread until
asked, inside an ``async with`` that releases the connection when it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import attrs

from ._converter import ResponseContext
from ._exceptions import APIResponseValidationError
from ._transport import Timeout, parse_answer
from ._urls import flatten_query

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

    from ._client import AsyncPayi

__all__ = [
    "AsyncAPIResponse",
    "AsyncResponseContextManager",
    "AsyncResponseView",
    "Operation",
    "RequestInfo",
]

T = TypeVar("T")

Mode = Literal["raw", "stream"]


@attrs.frozen
class RequestInfo:
    """The request a raw or streamed response answers (``response.http_request``)."""

    method: str
    url: str


def _names(headers: Mapping[str, str] | None) -> str:
    return "None" if headers is None else repr({name: "***" for name in headers})


@attrs.define
class Operation(Generic[T]):
    """One call of a method, described: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[Any, ResponseContext], T]
    query: Sequence[tuple[str, str]] = ()
    body: Mapping[str, Any] | None = None
    timeout: float | Timeout | None = None
    #: Shown by name only: the caller may pass a key here, and the repr of a frame's
    #: locals (Sentry, ``--showlocals``) must not show it.
    extra_headers: Mapping[str, str] | None = attrs.field(default=None, repr=_names)
    extra_query: Mapping[str, object] | None = None
    extra_body: Mapping[str, object] | None = None
    create: bool = False
    idempotency_key: bool = False

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``client._request`` / ``client._stream``."""
        return {
            "query": self.query,
            "body": self.body,
            "timeout": self.timeout,
            "extra_headers": self.extra_headers,
            "extra_query": flatten_query(self.extra_query),
            "extra_body": self.extra_body,
            "create": self.create,
            "idempotency_key": self.idempotency_key,
        }


class _Streamed(Protocol):
    """What ``client._stream`` yields (contract C1), as far as this module uses it."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> CIMultiDictProxy[str]: ...

    @property
    def context(self) -> ResponseContext: ...

    async def read(self) -> bytes: ...

    async def data(self) -> Any: ...


_UNREAD: Any = object()


class AsyncAPIResponse(Generic[T]):
    """The HTTP answer of one call, with the model (or page) it parses to.

    From ``.with_raw_response`` the body has been read already; from
    ``.with_streaming_response`` it is read only when ``read()``, ``text()``,
    ``json()`` or ``parse()`` asks for it, and only inside the ``async with`` block.
    """

    __slots__ = (
        "_body",
        "_closed",
        "_closer",
        "_data",
        "_error",
        "_parse",
        "_parsed",
        "_read_source",
        "_source",
        "context",
        "headers",
        "http_request",
        "status_code",
    )

    def __init__(self, source: _Streamed, parse: Callable[[Any, ResponseContext], T]) -> None:
        self._source: _Streamed | None = source
        # Kept after the block ends, to decode a body that was read inside it.
        self._read_source: _Streamed = source
        #: Releases a streamed response's connection early (``close()``).
        self._closer: Callable[[], Awaitable[Any]] | None = None
        self._parse = parse
        self._body: bytes | None = None
        self._data: Any = _UNREAD
        self._error: APIResponseValidationError | None = None
        self._parsed: Any = _UNREAD
        self._closed = False
        #: The HTTP status (2xx: other statuses raise ``APIStatusError`` as usual).
        self.status_code: int = source.status
        #: The answer's headers (case-insensitive; an echoed API key is masked).
        self.headers: CIMultiDictProxy[str] = source.headers
        #: Method, URL, status and request id, as errors report them.
        self.context: ResponseContext = source.context
        #: The request this answers: ``.method`` and ``.url``.
        self.http_request = RequestInfo(source.context.method, source.context.url)

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` the server gave, if any."""
        return self.context.request_id

    @property
    def method(self) -> str:
        """The request's HTTP method."""
        return self.context.method

    @property
    def url(self) -> str:
        """The request's URL, query included."""
        return self.context.url

    @property
    def body_read(self) -> bool:
        """Whether the body has been read (it then stays readable after the block)."""
        return self._body is not None

    @property
    def is_closed(self) -> bool:
        """Whether the connection has been released (the body can no longer be read)."""
        return self._closed

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.method} {self.url}>"

    async def _load(self) -> None:
        # The raw mode: read everything while the connection is held.
        await self.read()
        with contextlib.suppress(APIResponseValidationError):
            await self.json()

    def _close(self) -> None:
        self._closed = True
        self._source = None

    async def close(self) -> None:
        """Release the connection now (a streamed response's is otherwise released
        when its block ends; a raw response's already is). A body read before stays
        readable; one not read can no longer be."""
        closer, self._closer = self._closer, None
        if closer is not None:
            await closer()
        self._close()

    def _live(self) -> _Streamed:
        if self._source is None:
            if self._body is not None:
                # Read before the connection was released: decoding needs no I/O.
                return self._read_source
            raise RuntimeError(
                "the response was closed (its block ended, or close() was called) "
                "before its body was read; read it inside the block"
            )
        return self._source

    async def read(self) -> bytes:
        """The body as bytes (read once, then kept)."""
        if self._body is None:
            self._body = await self._live().read()
        return self._body

    async def text(self) -> str:
        """The body as text."""
        return (await self.read()).decode("utf-8", "replace")

    async def json(self) -> Any:
        """The body decoded as JSON (``APIResponseValidationError`` when it is not)."""
        if self._error is not None:
            raise self._error
        if self._data is _UNREAD:
            try:
                await self.read()  # kept, so that parse() still works after close()
                self._data = await self._live().data()
            except APIResponseValidationError as exc:
                self._error = exc
                raise
        return self._data

    async def parse(self) -> T:
        """What the plain call returns: the model, or the first page of a listing
        (whose iteration goes on to the following pages)."""
        if self._parsed is _UNREAD:
            data = await self.json()
            size = len(await self.read())
            self._parsed = await parse_answer(self._parse, data, self.context, size)
        result: T = self._parsed
        return result


class _Raw:
    """The raw mode: the answer read whole, the connection released at once."""

    __slots__ = ()

    async def send(self, client: AsyncPayi, op: Operation[T]) -> AsyncAPIResponse[T]:
        async with client._stream(op.method, op.path, **op.options()) as streamed:
            response = AsyncAPIResponse(streamed, op.parse)
            await response._load()
        response._close()
        return response


class _Streaming:
    """The streaming mode of one call: the answer stays open until its block ends."""

    __slots__ = ("stack",)

    def __init__(self) -> None:
        self.stack = contextlib.AsyncExitStack()

    async def send(self, client: AsyncPayi, op: Operation[T]) -> AsyncAPIResponse[T]:
        streamed = await self.stack.enter_async_context(
            client._stream(op.method, op.path, **op.options())
        )
        response = AsyncAPIResponse(streamed, op.parse)
        self.stack.callback(response._close)
        response._closer = self.stack.aclose
        return response


_RAW = _Raw()

#: A response mode, as held by a re-bound resource (``None``: the plain calls).
ResponseMode = _Raw | _Streaming


class AsyncResponseContextManager(Generic[T]):
    """What a ``.with_streaming_response`` method returns: ``async with`` it for the
    ``AsyncAPIResponse``; the connection is released when the block ends."""

    __slots__ = ("_mode", "_start")

    def __init__(self, start: Callable[[_Streaming], Awaitable[AsyncAPIResponse[T]]]) -> None:
        self._start = start
        self._mode: _Streaming | None = None

    async def __aenter__(self) -> AsyncAPIResponse[T]:
        if self._mode is not None:
            raise RuntimeError("a streaming response can be entered only once")
        mode = self._mode = _Streaming()
        try:
            return await self._start(mode)
        except BaseException:
            await mode.stack.aclose()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._mode is not None:
            await self._mode.stack.__aexit__(exc_type, exc, tb)


class AsyncResponseView:
    """``.with_raw_response`` / ``.with_streaming_response`` of a resource or client.

    It has the same methods as the resource (``create_many`` aside) and the same
    sub-resources. A raw method returns an awaitable ``AsyncAPIResponse``; a
    streaming one an ``AsyncResponseContextManager`` to ``async with``.
    """

    __slots__ = ("_mode", "_target")

    def __init__(self, target: Any, mode: Mode) -> None:
        self._target = target
        self._mode = mode

    @property
    def mode(self) -> Mode:
        """``"raw"`` or ``"stream"``."""
        return self._mode

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._mode} of {type(self._target).__name__}>"

    def __dir__(self) -> list[str]:
        target = type(self._target)
        return sorted({*target._response_methods, *target._sub_resources, "mode"})

    def __getattr__(self, name: str) -> Any:
        target = self._target
        if name in type(target)._sub_resources:
            return view_of(getattr(target, name), self._mode)
        if name not in type(target)._response_methods:
            raise AttributeError(
                f"{type(self).__name__} of {type(target).__name__} has no method {name!r}"
            )
        if self._mode == "raw":
            return getattr(target._rebind(_RAW), name)

        def streaming(*args: Any, **kwargs: Any) -> AsyncResponseContextManager[Any]:
            def start(mode: _Streaming) -> Awaitable[AsyncAPIResponse[Any]]:
                result: Awaitable[AsyncAPIResponse[Any]] = getattr(target._rebind(mode), name)(
                    *args, **kwargs
                )
                return result

            return AsyncResponseContextManager(start)

        streaming.__name__ = name
        streaming.__doc__ = getattr(type(target), name).__doc__
        return streaming


#: The typed view subclasses by (class name of the target, mode). The generated
#: ``_views`` module registers them when the package is imported; it imports this
#: module, never the reverse.
_TYPED_VIEWS: dict[tuple[str, str], type[AsyncResponseView]] = {}


def register_views(views: Mapping[tuple[str, str], type[AsyncResponseView]]) -> None:
    """Record the typed view subclasses (called by ``_views``)."""
    _TYPED_VIEWS.update(views)


def view_of(target: Any, mode: Mode) -> AsyncResponseView:
    """The view of ``target`` (a resource or the client) in ``mode``: the typed
    subclass generated for its class (``_views``), else the generic view."""
    return _TYPED_VIEWS.get((type(target).__name__, mode), AsyncResponseView)(target, mode)
