"""Error types shared by the engine, the CLI and the daemon.

`InputError` is a user mistake (bad file, bad option): the CLI prints its message on
one line and exits with code 2. Anything else escaping the engine is an internal
failure (exit code 1).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SegueError(Exception):
    """Base class of every error Segue raises on purpose."""


class InputError(SegueError):
    """Bad input or usage. The message names the file, frame, clip or field.

    ``field``: the spec field at fault, where a check knows it (e.g. ``"output"``), so a
    service can report it as its own field name; None otherwise.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CancelledError(SegueError):
    """A job was cancelled by its caller before it completed."""


def with_field(field: str, check: Callable[[], T]) -> T:
    """``check()``, its `InputError` tagged with ``field`` (for parsers that do not know which field they read)."""
    try:
        return check()
    except InputError as exc:
        raise InputError(str(exc).strip(), field=field) from None
