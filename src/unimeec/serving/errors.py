"""The one error type of the service: an HTTP status, a one-line message and the field."""

from __future__ import annotations


class RequestError(Exception):
    """A request the service refuses; rendered as ``{"error": ..., "field": ...}``.

    ``field`` is a dotted path into the request (``conversations.0.utterances``) or a path
    parameter (``session_id``); ``None`` when no single field is at fault.
    """

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        self.status = status
        self.message = message
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
