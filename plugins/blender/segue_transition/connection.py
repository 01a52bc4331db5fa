"""The one connection to segue-renderd: settings, the cached client, the local daemon.

No ``bpy`` here: the preferences are turned into a `Settings` value by the operator, so
this module runs (and is tested) outside Blender too.

The client is the shared ``renderd/client.py``. `build_extension.py` vendors it, with the
stubs generated from ``render.proto``, into this package as ``_renderd`` at build time;
when this package runs from the source tree instead, the installed ``renderd`` package
(``pip install`` of the repository) provides the same module. Nothing is copied by hand.

Everything that may take time (probing, starting a daemon) is meant to run on the
job's worker thread, never on Blender's UI thread; `cached_capabilities` is the one call
the UI makes, and it only reads a cache.
"""
from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from importlib import import_module
from types import ModuleType
from typing import Any

DEFAULT_ADDRESS = "127.0.0.1:50051"
#: how long an auto-started daemon may take to answer (first start imports OpenCV, ONNX ...)
START_TIMEOUT = 60.0
#: capabilities older than this are fetched again
CAPS_TTL = 30.0
#: after a failed capabilities fetch, do not try again (from the UI) for this long
CAPS_RETRY_AFTER = 5.0


class ConnectionProblem(Exception):
    """No usable daemon: the message tells the editor what to change."""


@dataclass(frozen=True)
class Settings:
    """How to reach segue-renderd (from the add-on preferences).

    Attributes:
        address: ``host:port`` of the daemon.
        token_file: file holding the bearer token, if the daemon wants one.
        tls_ca_file: PEM file of the CA to trust; setting it turns TLS on.
        auto_start: start a local daemon when none answers on a loopback address.
        renderd_path: the ``segue-renderd`` executable (a name on PATH or a path).
        store_dir: job store of an auto-started daemon.
        online_access: Blender's ``bpy.app.online_access``; without it only loopback
            addresses are contacted.
        timeout: deadline of each call, seconds.
    """

    address: str = DEFAULT_ADDRESS
    token_file: str = ""
    tls_ca_file: str = ""
    auto_start: bool = True
    renderd_path: str = "segue-renderd"
    store_dir: str = ""
    online_access: bool = False
    timeout: float = 30.0

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies one channel (the rest only matters for starting a daemon)."""
        return (self.address.strip(), self.token_file, self.tls_ca_file)


def client_module() -> ModuleType:
    """The shared client module: the vendored copy in a built extension, else the installed one."""
    try:
        return import_module(f"{__package__}._renderd.client")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}._renderd":
            raise  # the vendored client is there but grpcio/protobuf are not: say so
    try:
        return import_module("segue.renderd.client")
    except ModuleNotFoundError as exc:
        raise ConnectionProblem(
            "the add-on cannot talk to Segue's render daemon: install the Segue extension zip (made by "
            "plugins/blender/build_extension.py, it brings its own connection modules) rather than the source "
            f"folder (details: the Segue gRPC client is missing: {exc})") from None


def proto_module() -> ModuleType:
    """The generated ``render_pb2`` next to the client in use."""
    return import_module(client_module().__name__.rsplit(".", 1)[0] + "._proto.render_pb2")


def host_of(address: str) -> str:
    """The host part of ``host:port`` (``[::1]:50051`` → ``::1``)."""
    address = address.strip()
    for prefix in ("dns:///", "ipv4:", "ipv6:"):
        address = address.removeprefix(prefix)
    if address.startswith("["):
        return address[1:].partition("]")[0]
    return address.rpartition(":")[0] if address.count(":") == 1 else address


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: this machine only, no network involved."""
    host = host_of(address).lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_online_access(settings: Settings) -> None:
    """Refuse a non-loopback daemon while Blender's "Allow Online Access" is off."""
    if not settings.online_access and not is_loopback(settings.address):
        raise ConnectionProblem(
            f"Segue's render daemon at {settings.address} is on another computer, and Blender's online access "
            "is off: enable Preferences > System > Network > Allow Online Access, or use a daemon on this "
            "computer (127.0.0.1)")


# -- the cached client ---------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[tuple[str, str, str], Any] = {}
_caps: dict[tuple[str, str, str], tuple[float, Any]] = {}
_caps_failed: dict[tuple[str, str, str], float] = {}


def client(settings: Settings) -> Any:
    """The `RenderClient` for these settings, created on first use and then reused."""
    check_online_access(settings)
    with _lock:
        existing = _clients.get(settings.key)
        if existing is not None:
            return existing
    new = _make_client(settings, settings.timeout, None)
    with _lock:
        return _clients.setdefault(settings.key, new)


def _make_client(settings: Settings, timeout: float, attempts: int | None) -> Any:
    mod = client_module()
    try:
        # no token file set: this user's own token, if the daemon is on this machine
        token = mod.read_token(settings.token_file) if settings.token_file else mod.local_token(settings.address)
        roots = None
        if settings.tls_ca_file:
            with open(os.path.expanduser(settings.tls_ca_file), "rb") as f:
                roots = f.read()
    except OSError as exc:
        raise ConnectionProblem(f"cannot read {exc.filename} ({exc.strerror}): check the Token File and TLS CA "
                                f"File in the add-on preferences") from None
    retry = mod.Retry() if attempts is None else mod.Retry(attempts=attempts)
    return mod.RenderClient(settings.address.strip(), token=token, root_certificates=roots, timeout=timeout,
                            retry=retry)


def connect(settings: Settings, should_stop: Any = None) -> Any:
    """A client whose daemon answers, starting a local one if allowed; blocking.

    Raises:
        ConnectionProblem: nothing answers (and none could be started), or the settings
            are unusable.
        RenderError: the daemon answered with a refusal (e.g. a wrong token).
    """
    check_online_access(settings)
    found, unreachable = _answering_client(settings)
    if found is not None:
        return found
    if not (settings.auto_start and is_loopback(settings.address)):
        raise ConnectionProblem(unreachable_message(settings.address, unreachable))
    daemon = start_local_daemon(settings)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if should_stop is not None and should_stop():
            raise ConnectionProblem("cancelled while Segue's render daemon was starting")
        found, _ = _answering_client(settings)
        if found is not None:
            return found
        if daemon.poll() is not None:
            raise ConnectionProblem(
                f"Segue's render daemon stopped right after starting (often: another program uses "
                f"{settings.address}; change the Daemon Address in the add-on preferences). Its log is "
                f"{_daemon_log} (details: segue-renderd exited with code {daemon.returncode} on start: "
                f"{_log_tail()})")
        if time.monotonic() > deadline:
            raise ConnectionProblem(
                f"Segue's render daemon started but did not answer at {settings.address} within "
                f"{START_TIMEOUT:.0f} s; try again, and see its log {_daemon_log} if it keeps happening "
                f"(details: {_log_tail()})")
        time.sleep(0.2)


def unreachable_message(address: str, details: str) -> str:
    """Nothing answers at ``address``: in words, with what to do; gRPC's own text last."""
    if is_loopback(address):
        what = (f"Segue's render daemon is not running at {address}: start it with `segue-renderd serve`, or "
                "turn on Start a Local Daemon in the add-on preferences")
    else:
        what = (f"Segue's render daemon at {address} does not answer: check that it runs there and that the "
                "Daemon Address in the add-on preferences is right")
    return f"{what} (details: no segue-renderd answers at {address}: {details})"


def _answering_client(settings: Settings) -> tuple[Any | None, str]:
    """``(client, "")`` if the daemon answers now, else ``(None, why not)``; refusals raise."""
    try:
        _fetch_capabilities(settings, probe=True)
        return client(settings), ""
    except client_module().RenderError as exc:
        if exc.code not in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            raise
        return None, exc.message


def capabilities(settings: Settings) -> Any:
    """`GetCapabilitiesResponse` of the daemon, fetched now (blocking) and cached."""
    return _fetch_capabilities(settings, probe=False)


def cached_capabilities(settings: Settings, fetch_if_missing: bool = False) -> Any | None:
    """The cached capabilities, or None. Never blocks unless ``fetch_if_missing``.

    With ``fetch_if_missing`` (used when a script passes ``model=...``), a missing or
    stale entry is fetched with a short deadline, at most every `CAPS_RETRY_AFTER` s.
    """
    now = time.monotonic()
    with _lock:
        entry = _caps.get(settings.key)
        failed = _caps_failed.get(settings.key, -1e9)
    if entry is not None and now - entry[0] < CAPS_TTL:
        return entry[1]
    if not fetch_if_missing or now - failed < CAPS_RETRY_AFTER:
        return entry[1] if entry else None
    try:
        check_online_access(settings)
        return _fetch_capabilities(replace(settings, timeout=2.0), probe=True)
    except Exception:  # noqa: BLE001 - a UI list must never raise; the operator reports the real error
        with _lock:
            _caps_failed[settings.key] = now
        return entry[1] if entry else None


def _fetch_capabilities(settings: Settings, probe: bool) -> Any:
    # A probe is one quick attempt (is anyone there?); otherwise the client's own retries apply.
    if probe:
        quick = _make_client(settings, min(settings.timeout, 5.0), attempts=1)
        try:
            caps = quick.capabilities()
        finally:
            quick.close()
    else:
        caps = client(settings).capabilities()
    with _lock:
        _caps[settings.key] = (time.monotonic(), caps)
        _caps_failed.pop(settings.key, None)
    return caps


# -- the local daemon ----------------------------------------------------------------

_daemon: subprocess.Popen | None = None
_daemon_log: str = ""


def find_renderd(path: str) -> str:
    """The daemon executable: ``path`` itself if it is a file, else looked up on PATH."""
    candidate = os.path.expanduser(path.strip() or "segue-renderd")
    if os.path.isfile(candidate):
        return candidate
    found = shutil.which(candidate)
    if found:
        return found
    raise ConnectionProblem(f"cannot find Segue's render daemon, segue-renderd ({candidate!r}): install Segue "
                            "(pip install segue) and set the segue-renderd path in the add-on preferences")


def start_local_daemon(settings: Settings) -> subprocess.Popen:
    """Start ``segue-renderd serve`` on the settings' (loopback) address; returns the process.

    The daemon's log goes to ``renderd.log`` in its store folder. It is stopped by
    `close` (add-on disabled) or when Blender exits; its jobs survive in the store.
    """
    global _daemon, _daemon_log
    if not is_loopback(settings.address):
        raise ConnectionProblem(f"only a daemon on this machine can be started, not at {settings.address}")
    with _lock:
        if _daemon is not None and _daemon.poll() is None:
            return _daemon
    executable = find_renderd(settings.renderd_path)
    store = settings.store_dir or os.path.join(os.path.expanduser("~"), ".segue-renderd-blender")
    os.makedirs(store, exist_ok=True)
    command = [executable, "serve", "--listen", settings.address.strip(), "--store", store]
    if settings.token_file:
        command += ["--token-file", os.path.expanduser(settings.token_file)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Blender itself runs as root: the daemon it starts serves that same user alone (its
        # token is root's own), so the daemon's refusal of root does not apply
        command.append("--run-as-root")
    log_path = os.path.join(store, "renderd.log")
    kwargs: dict[str, Any] = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
    else:
        kwargs["start_new_session"] = True  # Ctrl-C in Blender's terminal must not kill it mid-frame
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                   **kwargs)
    with _lock:
        _daemon, _daemon_log = process, log_path
    return process


def local_daemon() -> subprocess.Popen | None:
    """The daemon this add-on started, if it is still running."""
    with _lock:
        return _daemon if _daemon is not None and _daemon.poll() is None else None


def stop_local_daemon(timeout: float = 15.0) -> None:
    """SIGTERM the daemon this add-on started (running jobs resume on its next start)."""
    global _daemon
    with _lock:
        process, _daemon = _daemon, None
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def close() -> None:
    """Close every channel, forget the caches and stop the daemon this add-on started."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
        _caps.clear()
        _caps_failed.clear()
    for c in clients:
        c.close()
    stop_local_daemon()


def _log_tail(lines: int = 3) -> str:
    try:
        with open(_daemon_log, encoding="utf-8", errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(tail) or f"(empty log {_daemon_log})"


atexit.register(stop_local_daemon)
