"""Request errors of the job service, each tied to one gRPC status code.

The job service raises these without importing grpc; the servicer turns them into
status codes (`code` is the `grpc.StatusCode` name) and, for INVALID_ARGUMENT, a
``google.rpc.BadRequest`` detail naming `field`. Messages are written for the person
at the editor: they say what is wrong and, where it helps, what to do.

`StoreError` and its subclass `StoreFull` are the machine's problem rather than the
request's (the job store's disk is full or failing); `from_os_error` turns the
operating system's answers about a client's paths (a name too long, a full disk, no
permission) into the error naming the field, so none of them reads as a daemon bug.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Mapping


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


class StoreError(Unavailable):
    """The job store cannot be read or written (I/O error, read-only, gone); the message names it.

    UNAVAILABLE: clients retry, and health reports NOT_SERVING until the store answers again.
    """


class StoreFull(StoreError):
    """The job store's disk (or quota) is full: nothing can be recorded until space is freed."""

    code = "RESOURCE_EXHAUSTED"


#: errno -> (error class, what it means for the path); anything else stays an internal error
_OS_ERRORS: dict[int, tuple[type[RequestError], str]] = {
    errno.ENAMETOOLONG: (InvalidArgument, "a name in it is longer than its file system allows"),
    errno.ENOTDIR: (InvalidArgument, "a part of it is a file, not a folder"),
    errno.ELOOP: (InvalidArgument, "it has too many levels of symbolic links"),
    errno.ENOSPC: (ResourceExhausted, "no space left on its device; free space and submit again"),
    errno.EDQUOT: (ResourceExhausted, "the disk quota is exhausted; free space and submit again"),
    errno.EFBIG: (ResourceExhausted, "a file grew larger than its file system allows"),
    errno.EROFS: (PermissionDenied, "it is on a read-only file system"),
    errno.EACCES: (PermissionDenied, "the daemon's user may not use it"),
    errno.EPERM: (PermissionDenied, "the daemon's user may not use it"),
}


def from_os_error(exc: OSError, paths: Mapping[str, str | None], output: str) -> RequestError | None:
    """The request error an `OSError` about a client's path stands for, or None if it is a daemon bug.

    ``paths`` maps field names (``"spec.out_dir"``) to the paths the request gave; the
    field named is the one whose path holds ``exc.filename`` (the deepest), else
    ``output``: writes such as a full disk often come without a file name, and the
    output is what a job writes to.
    """
    filename = os.fsdecode(exc.filename) if isinstance(exc.filename, (str, bytes)) else None
    holders = [(name, value) for name, value in paths.items() if filename and value
               and (filename == value or filename.startswith(value.rstrip(os.sep) + os.sep))]
    known = _OS_ERRORS.get(exc.errno or 0)
    if known is None and exc.errno == errno.ENOENT and holders:
        # a file of the request's went away while the job ran (a folder deleted, a drive unmounted)
        known = (NotFound, "it no longer exists (removed while the job ran?)")
    if known is None:
        return None
    cls, meaning = known
    field, path = output, paths.get(output) or ""
    if filename:
        field = max(holders, key=lambda item: len(item[1]), default=(output, ""))[0]
        path = filename
    shown = path if len(path) <= 200 else f"{path[:120]}...{path[-60:]}"
    return cls(f"{shown}: {meaning} ({exc.strerror or errno.errorcode.get(exc.errno, exc.errno)})", field)
