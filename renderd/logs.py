"""Structured logs: one JSON object per line on stderr.

Every line has ``ts`` (UTC, ISO 8601), ``level``, ``logger`` and ``event`` (a short
dotted name such as ``job.succeeded``) plus the event's own fields. Tracebacks appear
only for internal failures (a ``traceback`` field); a client mistake is logged as one
plain line at ``info``, because it is the client's problem, not the operator's.
Records from libraries (grpc, asyncio) go through the same formatter, and so does
what native code writes straight to file descriptor 2 (OpenCV's warnings, gRPC's C
core): `capture_native_stderr` turns each such line into a ``native.stderr`` event.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

LOGGER = "renderd"


class JsonFormatter(logging.Formatter):
    """Format a `logging.LogRecord` as one JSON line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup(level: str = "info", stream=None) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON lines at ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def capture_native_stderr() -> Callable[[], None]:
    """Route file descriptor 2 through a pipe whose lines are logged as ``native.stderr``.

    The JSON handler keeps writing to the original stderr (a duplicate of it), so the
    daemon's stderr stays one JSON object per line whoever writes to it. Returns a
    function that puts fd 2 back and waits until every captured line is logged.
    """
    saved = os.dup(2)
    original = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    for handler in handlers:
        handler.setStream(original)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    python_stderr, sys.stderr = sys.stderr, os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace",
                                                      closefd=False)
    native = get("native")

    def pump() -> None:
        with os.fdopen(read_end, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.strip():
                    event(native, logging.WARNING, "native.stderr", text=line.rstrip("\n"))

    thread = threading.Thread(target=pump, name="renderd-stderr", daemon=True)
    thread.start()

    def restore() -> None:
        sys.stderr.flush()
        sys.stderr = python_stderr
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump sees the end and drains
        os.close(saved)
        thread.join(5)

    return restore


def get(name: str = "") -> logging.Logger:
    """The daemon's logger, or a child of it (``get("jobs")`` -> ``renderd.jobs``)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


def event(logger: logging.Logger, level: int, name: str, exc_info: bool = False, **fields: Any) -> None:
    """Log event ``name`` with ``fields`` as top-level JSON keys."""
    logger.log(level, name, extra={"fields": fields}, exc_info=exc_info)
