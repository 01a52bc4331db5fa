"""Request errors of the job service, each tied to one gRPC status code.

The job service raises these without importing grpc; the servicer turns them into
status codes (`code` is the `grpc.StatusCode` name) and, for INVALID_ARGUMENT, a
``google.rpc.BadRequest`` detail naming `field`. Messages are written for the person
at the editor: they say what is wrong and, where it helps, what to do.
"""
from __future__ import annotations


class RequestError(Exception):
    """A request the daemon refuses. Subclasses fix the status code."""

    code = "UNKNOWN"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.description = message


class InvalidArgument(RequestError):
    """A field is malformed or names unusable media (its path is in `field`)."""

    code = "INVALID_ARGUMENT"


class NotFound(RequestError):
    """A named file, folder or job does not exist."""

    code = "NOT_FOUND"


class PermissionDenied(RequestError):
    """A path lies outside the daemon's allowed roots."""

    code = "PERMISSION_DENIED"


class AlreadyExists(RequestError):
    """An idempotency key was reused for a different request."""

    code = "ALREADY_EXISTS"


class FailedPrecondition(RequestError):
    """The job's state does not allow the call, or its output folder is taken."""

    code = "FAILED_PRECONDITION"


class ResourceExhausted(RequestError):
    """The queue (or another bounded resource) is full; retry later."""

    code = "RESOURCE_EXHAUSTED"


class Unavailable(RequestError):
    """The daemon is shutting down; retry against its next start."""

    code = "UNAVAILABLE"
