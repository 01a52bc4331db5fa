"""Segue: an AI frame-transition synthesizer for video editors.

    from segue import Engine
    frames = Engine(model="auto").interpolate(im0, im1, [0.25, 0.5, 0.75])

This package is the front door: the public Python API (`Engine` and the errors, from the
engine in `core`), the ``segue`` command line (`segue.cli`, with its ``--server`` adapter
to a segue-renderd daemon) and the editor installers (`segue.install_resolve`). The
layers point one way: ``segue`` and the plugins -> ``renderd`` -> ``core`` -> the native
kernel; ``core`` never imports this package, the daemon, the plugins, grpc or torch
(docs/architecture.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import __version__
from core.errors import CancelledError, InputError, SegueError

if TYPE_CHECKING:
    from core.engine import Engine

__all__ = ["CancelledError", "Engine", "InputError", "SegueError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Engine":  # lazily, as in core: media and colour users skip the flow stack
        from core.engine import Engine

        return Engine
    raise AttributeError(f"module 'segue' has no attribute {name!r}")
