"""Segue for DaVinci Resolve: Workspace > Scripts > Edit > Segue ...

This one file is every Segue menu item; SEGUE_ACTION says which (`segue install resolve`
writes one copy per item):

* "transition", Segue Synthesize Transition: park the playhead on a jump cut and run it;
  Segue asks for the number of frames, its render daemon (segue-renderd) synthesizes them,
  and they land on the track above the cut.
* "farm", Segue Send Cuts to Render Farm: put a marker on each cut to send; the daemon
  writes one render-farm job for all of them (docs/farm.md).
* "import", Segue Import Farm Transitions: once the farm has rendered the job, its frames
  land on the track above each cut.

`segue install resolve` copies this file into Resolve's per-user Scripts/Edit folder and
sets SEGUE_LIB below to the folder holding the ``segue_resolve`` package. Resolve runs
the file with ``resolve`` (and ``fusion``, ``bmd``) defined; run from a terminal it finds
Resolve through DaVinciResolveScript (RESOLVE_SCRIPT_API / RESOLVE_SCRIPT_LIB, as
Resolve's scripting README describes). See docs/resolve.md.
"""
# segue-resolve-entry: this marker tells `segue install resolve` that the file is Segue's own
import os
import sys

SEGUE_LIB = None  # set by `segue install resolve`; None: the folder of this file (a source checkout)
SEGUE_ACTION = "transition"  # set by `segue install resolve`: which menu item this file is


def _segue_lib():
    """The folder that holds the segue_resolve package."""
    if SEGUE_LIB:
        return SEGUE_LIB
    try:
        return os.path.dirname(os.path.abspath(__file__))
    except NameError:  # a host that runs scripts without __file__
        return None


def _load_package(lib):
    """Import segue_resolve from ``lib``, dropping a copy an earlier run loaded from elsewhere.

    Resolve keeps one Python alive between script runs: without this, a reinstall would
    only take effect after restarting Resolve.
    """
    if lib:
        while lib in sys.path:
            sys.path.remove(lib)
        sys.path.insert(0, lib)  # first: an older install elsewhere on sys.path must not win
    loaded = sys.modules.get("segue_resolve")
    if loaded is not None and lib:
        here = os.path.dirname(os.path.dirname(os.path.abspath(getattr(loaded, "__file__", "") or ".")))
        if os.path.normcase(here) != os.path.normcase(os.path.abspath(lib)):
            for name in [n for n in sys.modules if n == "segue_resolve" or n.startswith("segue_resolve.")]:
                del sys.modules[name]
    import segue_resolve

    return segue_resolve


def _main():
    lib = _segue_lib()
    try:
        package = _load_package(lib)
    except ImportError as exc:
        print(f"Segue: cannot load the segue_resolve package from {lib}: {exc}. "
              "Run `segue install resolve` again.")
        return None
    return package.run(globals(), lib, SEGUE_ACTION)


SEGUE_OUTCOME = _main()
