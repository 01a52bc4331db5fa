"""Segue inside DaVinci Resolve: Workspace > Scripts > Edit > Segue ...

The entry script (``Segue Synthesize Transition.py``, one folder up in the source tree)
puts this package on ``sys.path`` and calls `run` with the globals Resolve gave it and
its ``SEGUE_ACTION``. ``segue install resolve`` copies it into Resolve's Scripts/Edit
folder once per menu item: Segue Synthesize Transition (``transition``), Segue Send
Cuts to Render Farm (``farm``), Segue Import Farm Transitions (``import``).

Modules, one concept each; dependencies point downwards:

* `app`: the flow of one transition (find the cut, ask, render, place) and its refusals;
* `farm`: the render-farm flows (send the marked cuts as one job; import what it rendered);
* `resolve_timeline`: the only module that talks to Resolve's timeline and media pool;
* `dialogs`: the windows (options, progress, result, messages), built with Fusion's
  UIManager (console fallback);
* `daemon`: the connection to segue-renderd through the shared client;
* `mapping`, `farm_marks`, `timecode`: pure arithmetic on plain values (no Resolve, no gRPC);
* `settings`, `host`, `errors`: configuration, the Resolve/Fusion handles, `Refusal`.

It runs in Resolve's own Python (3.9 or newer, since grpcio needs it), so the code
keeps to syntax that version accepts.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run(script_globals: Mapping[str, Any], lib_dir: str | None = None, action: str = "transition") -> str:
    """Run one menu item once; returns the outcome (``placed``, ``sent``, ``refused``,
    ``cancelled``, ``failed``).

    ``script_globals`` are the entry script's globals: Resolve defines ``resolve`` (and
    ``fusion``/``bmd``) there for menu scripts. ``lib_dir`` is where the installer put
    this package (its ``settings.json`` and ``site.json`` live there). ``action``: which
    menu item the entry is: ``transition``, ``farm`` or ``import``.
    """
    from . import app, farm

    flows = {"transition": app.Flow, "farm": farm.FarmSend, "import": farm.FarmImport}
    return app.main(script_globals, lib_dir, flows[action])
