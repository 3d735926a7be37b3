"""The one exception the emulator's layers raise to answer with a JSON error."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """An error answer: HTTP ``status`` and a ``message`` that names the culprit.

    ``code`` fills the optional ``xproxy_error.code`` of the error body; ``headers``
    are added to the answer (``Allow`` on 405, ``Retry-After`` on 429, ...).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})

    def body(self, request_id: str) -> dict[str, object]:
        """The JSON error body: ``{"message", "statusCode"}`` plus the request id."""
        body: dict[str, object] = {"message": self.message, "statusCode": self.status}
        if self.code is not None:
            body["xproxy_error"] = {"code": self.code, "message": self.message}
        body["request_id"] = request_id
        return body
