"""The handles Resolve gives a script, and the Python path the Segue client needs.

Resolve runs a Workspace > Scripts entry with ``resolve`` (and Fusion's ``fusion`` and
``bmd``) already defined. Run from outside (a terminal, with external scripting enabled in
Preferences > System > General), the script gets them the way Resolve's scripting README
("Using a script") describes: ``import DaVinciResolveScript`` from
``$RESOLVE_SCRIPT_API/Modules`` (which loads ``$RESOLVE_SCRIPT_LIB``), then
``scriptapp("Resolve")``.

The daemon client needs grpcio and protobuf in *Resolve's* Python. The installer records
where the Segue environment keeps them (``site.json``); they are added to ``sys.path``
only when that environment's Python has the same version as Resolve's, since grpcio is
a compiled extension.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SITE_FILE = "site.json"


@dataclass
class Host:
    """Resolve's scripting objects (None where unavailable)."""

    resolve: Any
    fusion: Any
    bmd: Any


def optional(obj: Any, name: str, *args: Any) -> Any:
    """``obj.name(*args)``, or None if ``obj`` has no such method.

    For methods newer than some Resolve versions (e.g. ``GetSourceStartFrame``, 19.0.2):
    an older Resolve may lack the attribute or hand back a non-callable for it.
    """
    method = getattr(obj, name, None) if obj is not None else None
    if not callable(method):
        return None
    try:
        return method(*args)
    except (TypeError, AttributeError):
        return None


def _scripting_module() -> Any:
    """``DaVinciResolveScript`` (Resolve's ``bmd``) for a script run outside Resolve, or None."""
    api = os.environ.get("RESOLVE_SCRIPT_API")
    if api:
        modules = os.path.join(api, "Modules")
        if modules not in sys.path:
            sys.path.append(modules)
    try:
        import DaVinciResolveScript  # type: ignore[import-not-found]
    except ImportError:
        return None
    return DaVinciResolveScript


def find_host(script_globals: Mapping[str, Any]) -> Host:
    """The handles from the script's globals, falling back to ``DaVinciResolveScript``."""
    resolve = script_globals.get("resolve")
    bmd = script_globals.get("bmd")
    if resolve is None or bmd is None:
        bmd = bmd or _scripting_module()
        if resolve is None and bmd is not None:
            resolve = optional(bmd, "scriptapp", "Resolve")
    fusion = script_globals.get("fusion") or script_globals.get("fu")
    if fusion is None and resolve is not None:
        fusion = optional(resolve, "Fusion")
    return Host(resolve, fusion, bmd)


def prepare_client_imports(lib_dir: str | None) -> str | None:
    """Make grpcio and protobuf importable; returns what to tell the user if they are not."""
    if _client_importable():
        return None
    site = _read_site(lib_dir)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if site and site.get("python") == version:
        for path in site.get("paths", []):
            if os.path.isdir(path) and path not in sys.path:
                sys.path.append(path)  # appended: never shadow Resolve's own modules
        if _client_importable():
            return None
    where = f" (Segue's environment has Python {site['python']})" if site and site.get("python") != version else ""
    return (f"Resolve's Python {version} cannot import grpcio and protobuf, which Segue's client needs{where}. "
            f"Install them for the Python 3 that Resolve uses: python{version} -m pip install --user "
            "'grpcio>=1.85.1' 'protobuf>=7.35.1,<8', then run the script again.")


def _client_importable() -> bool:
    try:
        import google.protobuf  # noqa: F401
        import grpc  # noqa: F401
    except ImportError:
        return False
    return True


def _read_site(lib_dir: str | None) -> dict | None:
    if not lib_dir:
        return None
    try:
        with open(os.path.join(lib_dir, SITE_FILE), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
