"""Segue inside DaVinci Resolve: Workspace > Scripts > Edit > Segue Synthesize Transition.

The entry script (``Segue Synthesize Transition.py``, one folder up in the source tree,
copied into Resolve's Scripts/Edit folder by ``segue install resolve``) puts this
package on ``sys.path`` and calls `run` with the globals Resolve gave it.

Modules, one concept each; dependencies point downwards:

* `app`: the flow (find the cut, ask, render, place) and its refusals;
* `resolve_timeline`: the only module that talks to Resolve's timeline and media pool;
* `dialogs`: the windows (options, progress, result, messages), built with Fusion's
  UIManager (console fallback);
* `daemon`: the connection to segue-renderd through the shared client;
* `mapping`, `timecode`: pure arithmetic on plain values (no Resolve, no gRPC);
* `models`: the daemon's model names in an editor's words (pure);
* `settings`, `host`, `errors`: configuration, the Resolve/Fusion handles, `Refusal`.

It runs in Resolve's own Python (3.9 or newer, since grpcio needs it), so the code
keeps to syntax that version accepts.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run(script_globals: Mapping[str, Any], lib_dir: str | None = None) -> str:
    """Run the tool once; returns the outcome (``placed``, ``refused``, ``cancelled``, ``failed``).

    ``script_globals`` are the entry script's globals: Resolve defines ``resolve`` (and
    ``fusion``/``bmd``) there for menu scripts. ``lib_dir`` is where the installer put
    this package (its ``settings.json`` and ``site.json`` live there).
    """
    from . import app

    return app.main(script_globals, lib_dir)
