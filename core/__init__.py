"""Segue's engine: frame interpolation and jump-cut transitions.

    from segue.core import Engine
    frames = Engine(model="auto").interpolate(im0, im1, [0.25, 0.5, 0.75])

`Engine` is imported lazily so that light users (media, colour) do not pay for
OpenCV flow and the native kernel at import time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segue.core.errors import CancelledError, InputError, SegueError

if TYPE_CHECKING:
    from segue.core.engine import Engine

__all__ = ["CancelledError", "Engine", "InputError", "SegueError"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from segue.core.engine import Engine

        return Engine
    raise AttributeError(f"module 'core' has no attribute {name!r}")
