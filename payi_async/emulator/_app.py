"""The aiohttp application: routing from the raw path, auth, faults, handlers, errors.

Routing reads ``request.raw_path`` itself and percent-decodes each segment exactly
once, so a name holding ``/`` (sent as ``%2F``), ``%``, ``?``, ``#``, spaces, non-ASCII
or control characters stays one segment whatever the router would have done.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import sqlite3
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import HttpVersion11, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ._cursor import CursorKey, encode_cursor
from ._errors import ApiError
from ._faults import Decision, FaultInjector
from ._listing import key_kind
from ._shapes import Renderer
from ._store import IdempotencyKey, Outcome, Store
from ._validation import (
    ListParams,
    check_name,
    parse_active,
    parse_create_body,
    parse_json,
    parse_list_params,
)

__all__ = [
    "API_KEY_HEADER",
    "CONTEXT",
    "MAX_BODY_BYTES",
    "Context",
    "RequestRecord",
    "logged_headers",
    "make_app",
    "new_request_id",
]

API_KEY_HEADER = "xProxy-api-key"
#: The largest request body accepted; a larger one is a 413.
MAX_BODY_BYTES = 1024 * 1024
_IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_IDEMPOTENCY_KEY = 255
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MALFORMED = "malformed_body"
_DECODED_CODINGS = frozenset({"identity", "gzip", "deflate", "br", "zstd"})
_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_log = logging.getLogger("payi_async.emulator")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (the API key header is left out)."""

    method: str
    path: str
    status: int | None
    request_id: str
    fault: str | None
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header, if sent."""
        for name, value in self.headers.items():
            if name.lower() == "idempotency-key":
                return value
        return None


@dataclass
class Context:
    """The state one running emulator shares between its handlers and its owner."""

    store: Store
    api_key: str
    renderer: Renderer
    injector: FaultInjector
    log: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=10_000))
    #: Every 5xx the emulator answered that was not an injected fault: its own bugs.
    internal_errors: list[RequestRecord] = field(default_factory=list)
    request_count: int = 0
    connections_accepted: int = 0
    #: Act as a server that does not honour ``Idempotency-Key``.
    ignore_idempotency: bool = False
    #: Seconds a request body may take to arrive in full; then a 408 (no slowloris).
    body_timeout: float = 75.0


CONTEXT = web.AppKey("payi_emulator_context", Context)

Handler = Callable[["_Call"], Awaitable[tuple[int, Any]]]


@dataclass
class _Call:
    request: web.Request
    ctx: Context
    request_id: str
    names: list[str]
    replayed: bool = False


def new_request_id() -> str:
    """A fresh request id (a UUID4 string)."""
    return str(uuid.uuid4())


def _short_hash(*parts: str) -> str:
    # JSON keeps the parts apart: names may hold any character, NUL included.
    joined = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(joined.encode("ascii")).hexdigest()[:16]


# ---------------------------------------------------------------- routing


def _segments(request: web.Request) -> tuple[int, list[str]]:
    """The number of raw segments after ``categories`` and the decoded names."""
    # An absolute-form target (``GET http://host/api/v1/...``) is as valid as a path.
    raw = _ABSOLUTE_FORM.sub("", request.raw_path, count=1).split("?", 1)[0].split("#", 1)[0]
    parts = raw.split("/")
    if parts[:4] != ["", "api", "v1", "categories"]:
        raise ApiError(404, f"no such endpoint: {raw}", code="not_found")
    names = parts[4:]
    if len(names) >= 2 and names[1] != "resources":
        raise ApiError(404, f"no such endpoint: {raw}", code="not_found")
    if len(names) > 4:
        raise ApiError(404, f"no such endpoint: {raw}", code="not_found")
    decoded: list[str] = []
    for index, segment in enumerate(names):
        if index == 1:
            continue
        if _BAD_PERCENT.search(segment):
            raise ApiError(
                400, f"path segment {segment!r} has a '%' not followed by two hex digits"
            )
        try:
            name = unquote(segment, encoding="utf-8", errors="strict")
            name.encode("utf-8")  # raw non-UTF-8 bytes arrive as lone surrogates
        except UnicodeError:
            raise ApiError(400, f"path segment {segment!r} is not UTF-8 once decoded") from None
        decoded.append(name)
    return len(names), decoded


def _route(request: web.Request) -> tuple[Handler, list[str]]:
    shape, names = _segments(request)
    table = _ROUTES[shape]
    handler = table.get(request.method)
    if handler is None:
        allow = ", ".join(sorted(table))
        raise ApiError(405, f"{request.method} is not allowed here", headers={"Allow": allow})
    return handler, names


# ---------------------------------------------------------------- handlers


def _listing_id(kind: str, active: bool | None, *names: str) -> str:
    """Which listing a cursor belongs to: the endpoint, its names and the filter."""
    mode = {None: "", True: "+", False: "-"}[active]
    return kind + mode + (_short_hash(*names) if names else "")


def _params(call: _Call, kind: str) -> tuple[ListParams, str]:
    active = parse_active(call.request.query)
    listing = _listing_id(kind, active, *call.names)
    secret = call.ctx.store.cursor_secret
    params = parse_list_params(call.request.query, listing, key_kind(kind, active), secret)
    return params, listing


def _cursor(call: _Call, listing: str, params: ListParams, after: CursorKey | None) -> str | None:
    if after is None:
        return None
    return encode_cursor(call.ctx.store.cursor_secret, listing, params.ascending, after)


async def _list_categories(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    params, listing = _params(call, "categories")
    rows, after = await store.read(lambda conn: store.categories_page(conn, params))
    cursor = _cursor(call, listing, params, after)
    return 200, render.page([render.category(r) for r in rows], cursor, call.request_id)


async def _list_resources(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    (category,) = call.names
    params, listing = _params(call, "resources")
    rows, after = await store.read(lambda conn: store.resources_page(conn, category, params))
    cursor = _cursor(call, listing, params, after)
    return 200, render.page([render.resource(r) for r in rows], cursor, call.request_id)


async def _list_versions(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    category, resource = call.names
    params, listing = _params(call, "versions")
    rows, after = await store.read(
        lambda conn: store.versions_page(conn, category, resource, params)
    )
    cursor = _cursor(call, listing, params, after)
    return 200, render.page([render.resource(r) for r in rows], cursor, call.request_id)


async def _retrieve(call: _Call) -> tuple[int, Any]:
    store = call.ctx.store
    category, resource, resource_id = call.names
    row = await store.read(lambda conn: store.version(conn, category, resource, resource_id))
    return 200, call.ctx.renderer.resource(row, call.request_id)


def _idempotency(call: _Call, payload: object) -> IdempotencyKey | None:
    keys = call.request.headers.getall(_IDEMPOTENCY_HEADER, ())
    if not keys or call.ctx.ignore_idempotency:
        return None
    if len(keys) > 1:
        raise ApiError(400, f"{_IDEMPOTENCY_HEADER} must be sent at most once")
    key = keys[0]
    if not key or len(key) > _MAX_IDEMPOTENCY_KEY:
        raise ApiError(400, f"{_IDEMPOTENCY_HEADER} must be 1 to 255 characters")
    try:
        key.encode("utf-8")  # aiohttp hands non-UTF-8 bytes over as lone surrogates
    except UnicodeEncodeError:
        raise ApiError(400, f"{_IDEMPOTENCY_HEADER} must be valid UTF-8") from None
    # One namespace per API key, as Stripe has it: the same key on another method or
    # path, or with another body, is a 422 rather than a second, unrelated write.
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return IdempotencyKey(
        scope=_short_hash(call.ctx.api_key),
        key=key,
        endpoint=_short_hash(call.request.method, *call.names),
        body=hashlib.sha256(body.encode()).hexdigest(),
    )


async def _write(
    call: _Call, fn: Callable[[sqlite3.Connection], tuple[int, Any]], payload: object = None
) -> tuple[int, Any]:
    outcome: Outcome = await call.ctx.store.write(fn, _idempotency(call, payload))
    if outcome.replayed:
        call.replayed = True
    return outcome.status, outcome.body


async def _create(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    category, resource = call.names
    check_name("category", category)
    check_name("resource", resource)
    payload = parse_json(await _read_body(call.request))
    body = parse_create_body(payload)
    status = render.create_status
    return await _write(
        call,
        lambda conn: (
            status,
            render.resource(store.create(conn, category, resource, body), call.request_id),
        ),
        payload,
    )


def _too_large() -> ApiError:
    return ApiError(413, f"body is larger than {MAX_BODY_BYTES} bytes", code="request_too_large")


def _check_content_encoding(request: web.Request) -> None:
    """415 unless the body is in one coding aiohttp decodes (or none): it passes any
    other value, and all but the first of several, through undecoded."""
    codings = request.headers.getall("Content-Encoding", ())
    if not codings or (len(codings) == 1 and codings[0].lower() in _DECODED_CODINGS):
        return
    raise ApiError(
        415,
        f"Content-Encoding {', '.join(codings)!r} is not supported: send the body "
        "as is, or in one of gzip, deflate",
        code="unsupported_media_type",
    )


async def _read_body(request: web.Request) -> bytes:
    """The whole body, or 413 past ``MAX_BODY_BYTES`` (announced or actually sent), or
    408 if it has not all come within the context's ``body_timeout``."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _too_large()
    _check_content_encoding(request)
    timeout = request.app[CONTEXT].body_timeout
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        raise ApiError(
            408, f"the body did not arrive within {timeout:g} seconds", code="request_timeout"
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None
    except RequestPayloadError as exc:  # e.g. a Content-Encoding that does not decode
        request.content.feed_eof()  # no lingering over the rest (aiohttp logs its error)
        raise ApiError(
            400, f"body could not be read: {exc.__cause__ or exc}", code=_MALFORMED
        ) from None
    except HttpProcessingError as exc:  # framing broken mid-body (see _protocol)
        raise ApiError(400, f"body is malformed: {exc.message}", code=_MALFORMED) from None
    except ConnectionResetError:  # the client left (or half-closed) mid-body
        raise ApiError(400, "the connection closed before the whole body arrived") from None


async def _delete_version(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    category, resource, resource_id = call.names
    return await _write(
        call,
        lambda conn: (
            200,
            render.resource(
                store.delete_version(conn, category, resource, resource_id), call.request_id
            ),
        ),
    )


async def _delete_resource(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    category, resource = call.names
    return await _write(
        call,
        lambda conn: (
            200,
            render.deleted(
                store.delete_resource(conn, category, resource),
                f"resource {resource!r}",
                call.request_id,
            ),
        ),
    )


async def _delete_category(call: _Call) -> tuple[int, Any]:
    store, render = call.ctx.store, call.ctx.renderer
    (category,) = call.names
    return await _write(
        call,
        lambda conn: (
            200,
            render.deleted(
                store.delete_category(conn, category), f"category {category!r}", call.request_id
            ),
        ),
    )


_ROUTES: dict[int, dict[str, Handler]] = {
    0: {"GET": _list_categories},
    1: {"DELETE": _delete_category},
    2: {"GET": _list_resources},
    3: {"GET": _list_versions, "POST": _create, "DELETE": _delete_resource},
    4: {"GET": _retrieve, "DELETE": _delete_version},
}


# ---------------------------------------------------------------- the request cycle


def _authenticate(request: web.Request, ctx: Context) -> None:
    sent = request.headers.get(API_KEY_HEADER)
    if not sent:
        raise ApiError(401, f"missing API key: send it in the {API_KEY_HEADER} header")
    if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), ctx.api_key.encode()):
        raise ApiError(401, "invalid API key")


def _retry_headers(seconds: float) -> dict[str, str]:
    whole = int(seconds) if seconds == int(seconds) else int(seconds) + 1
    return {"Retry-After": str(whole), "retry-after-ms": str(round(seconds * 1000))}


async def _drop(request: web.Request, stage: str) -> web.StreamResponse:
    """Close the connection after part of an answer (status line and headers, or body)."""
    transport = request.transport
    if stage == "headers" or transport is None:
        if transport is not None:
            transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
            transport.close()
        return web.Response(status=200)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = 4096
    await response.prepare(request)
    await response.write(b'{"items": [{"resource_id": "')
    transport.close()
    return response


def _pre_handle(decision: Decision, ctx: Context) -> None:
    faults = ctx.injector.faults
    if decision.kind in ("budget", "rate_limit"):
        why = "request budget exhausted" if decision.kind == "budget" else "rate limited"
        raise ApiError(
            429,
            f"{why} (injected)",
            code="rate_limited",
            headers=_retry_headers(faults.retry_after),
        )
    if decision.kind == "error":
        status = decision.status or 500
        headers = _retry_headers(faults.retry_after) if status == 503 else None
        raise ApiError(
            status, f"injected server error {status}", code="injected_fault", headers=headers
        )


async def _handle(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    ctx.request_count += 1
    request_id = new_request_id()
    decision = ctx.injector.decide(request.method)
    fault: str | None = decision.kind
    response: web.StreamResponse | None = None
    status: int | None = None
    try:
        if decision.kind == "drop":
            response = await _drop(request, ctx.injector.faults.drop_stage)
            return response
        _pre_handle(decision, ctx)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        _authenticate(request, ctx)
        expect = request.headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            raise ApiError(417, f"Expect {expect!r} is not supported (only 100-continue)")
        handler, names = _route(request)
        call = _Call(request, ctx, request_id, names)
        status, body = await handler(call)
        if decision.fail_after_commit and status < 300:
            fault = "after_commit"
            if ctx.injector.faults.fail_after_commit_mode == "drop":
                status = None
                response = await _drop(request, "body")
                return response
            raise ApiError(
                503,
                "injected failure after the write was committed",
                code="injected_fault",
                headers=_retry_headers(ctx.injector.faults.retry_after),
            )
        response = web.json_response(body, status=status)
        if call.replayed:
            response.headers["Idempotent-Replayed"] = "true"
    except ApiError as error:
        status = error.status
        response = web.json_response(error.body(request_id), status=status, headers=error.headers)
        if error.code == _MALFORMED:  # the parser is lost: end the connection after this
            response.force_close()
    except web.HTTPException as http_error:  # raised by aiohttp itself, e.g. while reading
        status = http_error.status
        body = ApiError(status, http_error.reason).body(request_id)
        response = web.json_response(body, status=status)
    except Exception:
        _log.exception("unexpected error handling %s %s", request.method, request.raw_path)
        status = 500
        response = web.json_response(
            ApiError(500, "internal emulator error").body(request_id), status=500
        )
    finally:
        record = RequestRecord(
            request.method, request.raw_path, status, request_id, fault, logged_headers(request)
        )
        ctx.log.append(record)
        if status is not None and status >= 500 and fault is None:
            ctx.internal_errors.append(record)
    response.headers["x-request-id"] = request_id
    if status == 408 or request.method == "CONNECT":
        # Answer, then close at once: aiohttp would otherwise linger up to 10 s for
        # the rest of a body that is not coming, or (pure-Python parser) keep a
        # refused CONNECT open as a tunnel.
        await response.prepare(request)
        await response.write_eof()
        request.protocol.force_close()
    return response


def logged_headers(request: web.BaseRequest) -> dict[str, str]:
    """The request's headers as the log keeps them (without the API key)."""
    return {k: v for k, v in request.headers.items() if k.lower() != "xproxy-api-key"}


async def _expect(request: web.Request) -> None:
    """``100 Continue`` for ``Expect: 100-continue``; any other expectation is left to
    ``_handle`` (a JSON 417) instead of aiohttp's plain-text one."""
    expect = request.headers.get("Expect", "")
    if expect.lower() == "100-continue" and request.version == HttpVersion11:
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


@web.middleware
async def _every_request(request: web.Request, handler: Any) -> web.StreamResponse:
    # Even targets the router cannot match (``OPTIONS *``, ``CONNECT host:port``) get
    # the emulator's JSON answers instead of aiohttp's plain-text 404.
    return await _handle(request)


def make_app(ctx: Context) -> web.Application:
    """An ``aiohttp.web.Application`` serving the emulator's API from ``ctx``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_every_request])
    app[CONTEXT] = ctx
    app.router.add_route("*", r"/{path:[\s\S]*}", _handle, expect_handler=_expect)
    return app
