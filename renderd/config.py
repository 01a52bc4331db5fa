"""The daemon's configuration: defaults, then a TOML file, then command-line flags.

`ServeConfig` holds every setting; `load_config` layers the sources and `check`
enforces the safety rules before anything listens:

* loopback (127.0.0.0/8, ::1, ``localhost``) is the default address; any other
  address needs ``token_file`` (a bearer token every call must carry) and at least
  one ``allow_root`` (so a network client can only reach the folders it was given);
* ``tls_cert`` and ``tls_key`` go together.

The config file uses the flag names with underscores, e.g.::

    listen = "0.0.0.0:50051"
    store = "/var/lib/segue-renderd"
    workers = 2
    token_file = "/etc/segue-renderd/token"
    allow_root = ["/mnt/projects"]

Relative paths in the file are relative to the file's folder. Nothing here is read
at import time: `cli.main` loads the config and passes it down.
"""
from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_PORT = 50051
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
#: path-valued settings, resolved against the config file's folder
_PATH_KEYS = ("store", "token_file", "tls_cert", "tls_key")


class ConfigError(Exception):
    """A setting is invalid or unsafe; the message names it."""


def default_store() -> str:
    """``$XDG_STATE_HOME/segue-renderd``, else ``~/.local/state/segue-renderd``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "segue-renderd")


@dataclass(frozen=True)
class ServeConfig:
    """Settings of ``segue-renderd serve`` (see `cli` for what each one means)."""

    listen: str = DEFAULT_LISTEN
    store: str = field(default_factory=default_store)
    workers: int = 1
    token_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    allow_root: tuple[str, ...] = ()
    queue_limit: int = 64
    max_watchers: int = 32
    max_message_bytes: int = 1 << 20
    grace: float = 10.0
    log_level: str = "info"


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` -> ``(host, port)``; `ConfigError` if malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"listen: {address!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = int(port_text)
    if port > 65535:
        raise ConfigError(f"listen: port {port} is out of range (0..65535; 0 picks a free port)")
    return host, port


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs. Other names are not resolved: a name
    that happens to point at 127.0.0.1 today may not tomorrow, so it counts as network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings from a TOML file, paths made absolute; `ConfigError` on unknown keys."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    known = {f.name for f in fields(ServeConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    base = path.resolve().parent
    for key in _PATH_KEYS:
        if isinstance(data.get(key), str):
            data[key] = str(base / data[key])
    if "allow_root" in data:
        roots = data["allow_root"]
        if isinstance(roots, str):
            roots = [roots]
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise ConfigError(f"config file {path}: allow_root must be a list of folders")
        data["allow_root"] = tuple(str(base / r) for r in roots)
    return data


def load_config(file: str | None, flags: dict[str, Any]) -> ServeConfig:
    """Defaults, overridden by ``file`` (if given), overridden by ``flags`` that are not None."""
    config = ServeConfig()
    layers = [read_file(file)] if file else []
    layers.append({k: v for k, v in flags.items() if v is not None})
    for layer in layers:
        try:
            config = replace(config, **layer)
        except TypeError as exc:  # a wrongly typed value surfaces in check(); this is a bad key
            raise ConfigError(str(exc)) from None
    if isinstance(config.allow_root, list):
        config = replace(config, allow_root=tuple(config.allow_root))
    check(config)
    return config


def check(config: ServeConfig) -> None:
    """Enforce types, ranges and the safety rules (module docstring); `ConfigError` names the setting."""
    ints = {"workers": (1, 64), "queue_limit": (1, 100_000), "max_watchers": (1, 1000),
            "max_message_bytes": (4096, 64 << 20)}
    for name, (low, high) in ints.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number in {low}..{high}, got {value!r}")
    if not isinstance(config.grace, (int, float)) or not 0 <= config.grace <= 3600:
        raise ConfigError(f"grace must be 0..3600 seconds, got {config.grace!r}")
    if config.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log_level must be debug, info, warning or error, got {config.log_level!r}")
    host, _ = split_address(config.listen)
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("tls_cert and tls_key go together: give both or neither")
    for name in ("token_file", "tls_cert", "tls_key"):
        value = getattr(config, name)
        if value is not None and not os.path.isfile(value):
            raise ConfigError(f"{name}: {value} is not a file")
    for root in config.allow_root:
        if not os.path.isdir(root):
            raise ConfigError(f"allow_root: {root} is not a folder")
    if not is_loopback(host):
        if config.token_file is None:
            raise ConfigError(f"listen: {config.listen} is reachable from other machines; "
                              "refusing to start without --token-file (and consider --tls-cert/--tls-key)")
        if not config.allow_root:
            raise ConfigError(f"listen: {config.listen} is reachable from other machines; "
                              "refusing to start without --allow-root (the folders clients may use)")
