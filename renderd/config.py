"""The daemon's configuration: defaults, then a TOML file, then command-line flags.

`ServeConfig` holds every setting; `load_config` layers the sources and `check`
enforces the safety rules before anything listens:

* loopback (127.0.0.0/8, ::1, ``localhost``) is the default address; any other
  address needs ``token_file`` (a bearer token every call must carry) and at least
  one ``allow_root`` (so a network client can only reach the folders it was given);
* ``tls_cert`` and ``tls_key`` go together;
* ``no_token`` (any local user may then use the daemon with its user's rights) is for
  loopback only and excludes ``token_file``. Without either, ``serve`` guards the daemon
  with this user's own token (`renderd.auth.local_token`);
* ``run_as_root`` must be set for the daemon to start as root (`check_user`).

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

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from segue.core.limits import DEFAULT_MAX_PIXELS, MAX_PIXELS_CEILING
from segue.renderd.client import is_loopback_host

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
    max_pixels: int = DEFAULT_MAX_PIXELS  # largest source frame (width x height), see core.limits
    grace: float = 10.0
    log_level: str = "info"
    keep_days: float = 30.0  # retention of finished jobs (0: no limit); see renderd.upkeep
    keep_jobs: int = 10_000
    no_token: bool = False  # loopback only: no token at all (any local user may connect)
    run_as_root: bool = False  # start even as root (refused otherwise, see check_user)


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


def load_config(file: str | None, flags: dict[str, Any], euid: int | None = None) -> ServeConfig:
    """Defaults, overridden by ``file`` (if given), overridden by ``flags`` that are not None.

    ``euid``: the user the daemon will run as, for `check`'s root rule (None: not checked).
    """
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
    check(config, euid)
    return config


def check_retention(config: ServeConfig) -> None:
    """``keep_days`` and ``keep_jobs`` in range (0 turns a limit off); `ConfigError` names the setting."""
    days, jobs = config.keep_days, config.keep_jobs
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 <= days <= 36_500:
        raise ConfigError(f"keep_days must be 0..36500 days (0: no limit), got {days!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 0 <= jobs <= 100_000_000:
        raise ConfigError(f"keep_jobs must be a whole number in 0..100000000 (0: no limit), got {jobs!r}")


def check(config: ServeConfig, euid: int | None = None) -> None:
    """Enforce types, ranges and the safety rules (module docstring); `ConfigError` names the setting.

    The safety rules (who may connect, from where, as which user) are reported all at once:
    someone opening a daemon to the network learns everything it needs in one go.
    ``euid``: as for `check_user` (None: the user is not checked).
    """
    _check_values(config)
    host, _ = split_address(config.listen)
    _check_files(config)
    problems = _access_problems(config, host)
    root = _root_problem(config, euid)
    if root:
        problems.append(root)
    if problems:
        raise ConfigError("; also ".join(problems))


def _check_values(config: ServeConfig) -> None:
    """The numbers in range and the log level known."""
    ints = {"workers": (1, 64), "queue_limit": (1, 100_000), "max_watchers": (1, 1000),
            "max_message_bytes": (4096, 64 << 20), "max_pixels": (1, MAX_PIXELS_CEILING)}
    for name, (low, high) in ints.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number in {low}..{high}, got {value!r}")
    if not isinstance(config.grace, (int, float)) or not 0 <= config.grace <= 3600:
        raise ConfigError(f"grace must be 0..3600 seconds, got {config.grace!r}")
    check_retention(config)
    if config.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log_level must be debug, info, warning or error, got {config.log_level!r}")


def _check_files(config: ServeConfig) -> None:
    """TLS files in pairs, and every named file and allowed root present."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("tls_cert and tls_key go together: give both or neither")
    for name in ("token_file", "tls_cert", "tls_key"):
        value = getattr(config, name)
        if value is not None and not os.path.isfile(value):
            raise ConfigError(f"{name}: {value} is not a file")
    for root in config.allow_root:
        if not os.path.isdir(root):
            raise ConfigError(f"allow_root: {root} is not a folder")


def _access_problems(config: ServeConfig, host: str) -> list[str]:
    """What the access settings get wrong: switches that are not true or false, a missing token
    or allowed root on an address other machines reach, no token where it is not allowed."""
    switches = [f"{name} must be true or false, got {getattr(config, name)!r}" for name in ("no_token", "run_as_root")
                if not isinstance(getattr(config, name), bool)]
    if switches:
        return switches
    problems = []
    if config.no_token and (config.token_file is not None or not is_loopback_host(host)):
        problems.append("no_token: a daemon without a token is for loopback only, and excludes --token-file")
    if not is_loopback_host(host):
        missing = []
        if config.token_file is None:
            missing.append("--token-file FILE (the token every call must carry)")
        if not config.allow_root:
            missing.append("--allow-root DIR (the folders clients may use)")
        if missing:
            tls = "" if config.tls_cert else " (and consider --tls-cert/--tls-key: without TLS the token crosses " \
                                               "the network in clear text)"
            problems.append(f"listen: {config.listen} is reachable from other machines; refusing to start without "
                            f"{' and '.join(missing)}{tls}")
    return problems


def check_user(config: ServeConfig, euid: int | None) -> None:
    """Refuse to serve as root (``euid`` 0) unless ``run_as_root`` says it is meant.

    A daemon reads and writes files for its clients with its own rights: as root, a client
    (or a mistake in a path) reaches every file of the machine. Run it as an ordinary or a
    dedicated render user; the flag is for containers and machines where that is wanted.
    """
    problem = _root_problem(config, euid)
    if problem:
        raise ConfigError(problem)


def _root_problem(config: ServeConfig, euid: int | None) -> str | None:
    if euid == 0 and not config.run_as_root:
        return ("refusing to run as root: every client could then read and write any file on this machine through "
                "the daemon. Run it as an ordinary user (or a dedicated render account with --allow-root folders); "
                "if root is really meant, pass --run-as-root")
    return None
