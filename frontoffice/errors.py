"""The one error family services raise; the API maps it to a JSON 400/409 with field messages."""

from __future__ import annotations


class ApplicationError(Exception):
    """A request the domain refuses: a message, and field errors where a field is at fault."""

    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ConflictError(ApplicationError):
    """The record changed under us (a compare-and-set lost) or the move collides with its state."""

    status_code = 409


class PermissionDeniedError(ApplicationError):
    """The user may use this record but not make this particular move (e.g. reopen a deal)."""

    status_code = 403
