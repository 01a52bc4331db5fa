"""Where the daemon is and where results go: defaults, then a file, then the environment.

* defaults: the daemon on ``127.0.0.1:50051`` without token or TLS; results in a
  ``Segue`` folder beside clip A's media;
* ``settings.json`` in the install folder, written by ``segue install resolve``
  (``--server``, ``--token-file``, ``--tls-ca``, ``--output-root``); keys ``address``,
  ``token_file``, ``tls_ca``, ``output_root``;
* the environment, for a Resolve started from a shell: ``SEGUE_RENDERD_ADDRESS``,
  ``SEGUE_RENDERD_TOKEN_FILE`` and ``SEGUE_RENDERD_TLS_CA`` (the names
  ``segue transition --server`` reads too) and ``SEGUE_RESOLVE_OUTPUT_ROOT``.

Nothing is read at import time: `load` is called once per run.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

SETTINGS_FILE = "settings.json"
DEFAULT_ADDRESS = "127.0.0.1:50051"
ENVIRONMENT = {"address": "SEGUE_RENDERD_ADDRESS", "token_file": "SEGUE_RENDERD_TOKEN_FILE",
               "tls_ca": "SEGUE_RENDERD_TLS_CA", "output_root": "SEGUE_RESOLVE_OUTPUT_ROOT"}


@dataclass(frozen=True)
class Settings:
    """How to reach segue-renderd and where it writes (paths on the daemon's machine)."""

    address: str = DEFAULT_ADDRESS
    token_file: str | None = None
    tls_ca: str | None = None
    output_root: str | None = None


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
    return replace(settings, **overrides)
