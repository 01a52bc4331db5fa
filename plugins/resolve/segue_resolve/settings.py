"""Where the daemon is and where results go: defaults, then a file, then the environment.

* defaults: the daemon on ``127.0.0.1:50051`` without token or TLS; rendered frames in
  the user's Segue render folder (`default_render_root`), one subfolder per Resolve
  project, never beside the source media unless asked for;
* ``settings.json`` in the install folder, written by ``segue install resolve``
  (``--server``, ``--token-file``, ``--tls-ca``, ``--output-root``) and editable by hand;
  keys ``address``, ``token_file``, ``tls_ca``, ``output_root`` (the render folder that
  holds the per-project folders) and ``output_beside_media`` (true: a ``Segue`` folder
  beside clip A's media instead);
* the environment, for a Resolve started from a shell: ``SEGUE_RENDERD_ADDRESS``,
  ``SEGUE_RENDERD_TOKEN_FILE`` and ``SEGUE_RENDERD_TLS_CA`` (the names
  ``segue transition --server`` reads too), ``SEGUE_RESOLVE_OUTPUT_ROOT`` and
  ``SEGUE_RESOLVE_OUTPUT_BESIDE_MEDIA`` (``1``).

Nothing is read at import time: `load` is called once per run.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

SETTINGS_FILE = "settings.json"
DEFAULT_ADDRESS = "127.0.0.1:50051"
ENVIRONMENT = {"address": "SEGUE_RENDERD_ADDRESS", "token_file": "SEGUE_RENDERD_TOKEN_FILE",
               "tls_ca": "SEGUE_RENDERD_TLS_CA", "output_root": "SEGUE_RESOLVE_OUTPUT_ROOT",
               "output_beside_media": "SEGUE_RESOLVE_OUTPUT_BESIDE_MEDIA"}
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """How to reach segue-renderd and where it writes (paths on the daemon's machine)."""

    address: str = DEFAULT_ADDRESS
    token_file: str | None = None
    tls_ca: str | None = None
    #: the render folder (one subfolder per project); None: `default_render_root`
    output_root: str | None = None
    #: write into a ``Segue`` folder beside clip A's media instead (camera media is often read-only)
    output_beside_media: bool = False


def default_render_root(platform: str = sys.platform, home: str | None = None) -> str:
    """The user's Segue render folder: ``~/Movies/Segue`` (macOS), ``~/Videos/Segue`` elsewhere.

    The frames become media of the Resolve project, so they live where media lives, not
    in a cache folder the system may empty (which would leave the clips offline).
    """
    home = home or os.path.expanduser("~")
    return os.path.join(home, "Movies" if platform == "darwin" else "Videos", "Segue")


def load(lib_dir: str | None, environ: Mapping[str, str] = os.environ) -> Settings:
    """The layered settings; a broken settings file is an error that names the file."""
    settings = Settings()
    if lib_dir:
        path = os.path.join(lib_dir, SETTINGS_FILE)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{path}: cannot read the Segue settings ({exc})") from None
            known = {f.name for f in fields(Settings)}
            settings = replace(settings, **{k: v for k, v in data.items() if k in known and v})
    overrides = {name: environ[var] for name, var in ENVIRONMENT.items() if environ.get(var)}
    settings = replace(settings, **overrides)
    # JSON may hold true or "true", the environment "1": one boolean either way
    beside = settings.output_beside_media
    return replace(settings, output_beside_media=beside is True or str(beside).strip().lower() in _TRUE)
