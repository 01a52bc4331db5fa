"""Segue: an AI frame-transition synthesizer for video editors.

    from segue import Engine
    frames = Engine(model="auto").interpolate(im0, im1, [0.25, 0.5, 0.75])

Every installed name is under this package: the engine (`segue.core`), the render
daemon and its client (`segue.renderd`), training (`segue.training`), and the front
door here: the public Python API (`Engine` and the errors), the ``segue`` command line
(`segue.cli`, with its ``--server`` adapter to a segue-renderd daemon) and the editor
installers (`segue.install_resolve`). The layers point one way: the front door and the
plugins -> renderd -> core -> the native kernel (docs/architecture.md).

This module imports nothing itself, because importing any ``segue.*`` module runs it:
an editor plugin that loads only the daemon's client must not load the engine.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segue.core.engine import Engine
    from segue.core.errors import CancelledError, InputError, SegueError

__all__ = ["CancelledError", "Engine", "InputError", "SegueError", "__version__"]
_ERRORS = {"CancelledError", "InputError", "SegueError"}


def __getattr__(name: str) -> Any:
    if name == "Engine":  # as in core: media and colour users skip the flow stack
        from segue.core.engine import Engine

        return Engine
    if name in _ERRORS:
        from segue.core import errors

        return getattr(errors, name)
    if name == "__version__":
        from segue.core import __version__

        return __version__
    raise AttributeError(f"module 'segue' has no attribute {name!r}")
