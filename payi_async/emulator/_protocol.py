"""Errors found by aiohttp's HTTP parser, answered in the emulator's JSON shape."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ._app import Context, RequestRecord, logged_headers, new_request_id
from ._errors import ApiError

__all__ = ["JsonErrorHandler"]


class JsonErrorHandler(web.RequestHandler):
    """aiohttp's connection handler, answering the errors aiohttp finds itself before
    any application code runs (a malformed request line, headers too large, a bad
    ``Content-Length``...) with the emulator's JSON error body instead of plain text,
    and logging them like every other answer. ``ctx`` is set on a per-server subclass.
    """

    __slots__ = ()
    ctx: Context

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; a framing error inside the body being read fails that body.

        aiohttp queues such an error (a bad chunk size, say) as if it were the *next*
        request and leaves the body being read waiting for bytes that never come.
        """
        messages = getattr(self, "_messages", None)
        if messages is None:  # aiohttp's internals moved: keep its own behaviour
            super().data_received(data)
            return
        queued = len(messages)
        super().data_received(data)
        request = getattr(self, "_current_request", None)
        if request is None or len(messages) <= queued or request.content.is_eof():
            return
        message, _ = messages[-1]
        error = getattr(message, "exc", None)
        if isinstance(error, HttpProcessingError):
            messages.pop()
            request.content.set_exception(error)
            request.content.feed_eof()  # nothing more is coming: no lingering for it

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A JSON ``{"message", "statusCode"}`` answer; the connection is closed."""
        super().handle_error(request, status, exc, message)  # logs; refuses if too late
        request_id = new_request_id()
        if status >= 500:
            text = "internal emulator error"
        else:
            text = message or (str(exc) if exc is not None else "") or "bad request"
        response = web.json_response(ApiError(status, text).body(request_id), status=status)
        response.headers["x-request-id"] = request_id
        response.force_close()
        record = RequestRecord(
            request.method, request.raw_path, status, request_id, None, logged_headers(request)
        )
        self.ctx.log.append(record)
        if status >= 500:
            self.ctx.internal_errors.append(record)
        return response
