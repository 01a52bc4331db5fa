"""Error types shared by the engine, the CLI and the daemon.

`InputError` is a user mistake (bad file, bad option): the CLI prints its message on
one line and exits with code 2. Anything else escaping the engine is an internal
failure (exit code 1).
"""
from __future__ import annotations


class SegueError(Exception):
    """Base class of every error Segue raises on purpose."""


class InputError(SegueError):
    """Bad input or usage. The message names the file, frame, clip or field."""


class CancelledError(SegueError):
    """A job was cancelled by its caller before it completed."""
