"""Start ``segue web``: pick the daemon, open the page's folder, serve until Ctrl-C.

The daemon is the one ``--server`` names, else one already serving at segue-renderd's
default address (unless ``--own-daemon``), else an embedded one: a segue-renderd started inside this process on a
free loopback port, its job store in the page's folder and its only allowed root that
folder. Uploads and results live in the page's folder (``--root``; default
``$XDG_DATA_HOME/segue/web``), which the daemon must be allowed to read and write.
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from segue.core.errors import InputError
from segue.renderd.client import RenderClient, is_loopback_host, local_token, read_token
from segue.renderd.config import ConfigError, ServeConfig, split_address
from segue.renderd.remote import client_from_env, unanswered
from segue.renderd.server import Daemon, StartError
from segue.web.server import WebServer, new_token

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_DAEMON = "127.0.0.1:50051"
DEFAULT_MAX_UPLOAD_MB = 1024


def default_root() -> Path:
    """``$XDG_DATA_HOME/segue/web`` (``~/.local/share/segue/web``)."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "segue" / "web"


class Web:
    """A started page and its daemon; `stop` ends both (the embedded daemon's jobs stay resumable)."""

    def __init__(self, listen: str = DEFAULT_LISTEN, server: str | None = None, root: Path | None = None,
                 max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, token_file: str | None = None,
                 own_daemon: bool = False, say: Callable[[str], None] = print) -> None:
        try:
            host, port = split_address(listen)
        except ConfigError as exc:
            raise InputError(f"--listen: {exc}".replace("listen: ", "")) from None
        if max_upload_mb < 1:
            raise InputError(f"--max-upload-mb must be at least 1, got {max_upload_mb}")
        token = None
        if not is_loopback_host(host):  # beyond this machine: a token, as renderd asks
            try:
                token = read_token(token_file) if token_file else new_token()
            except OSError as exc:
                raise InputError(f"--token-file {token_file}: {exc.strerror or exc}") from None
        self.root = Path(root or default_root()).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.daemon: Daemon | None = None
        self.client = self._daemon(server, own_daemon, say)
        try:
            self.http = WebServer((host, port), self.client, self.root, max_upload_mb << 20, token)
        except OSError as exc:
            self._stop_daemon()
            raise InputError(f"--listen {listen}: cannot listen there ({exc.strerror or exc})") from None

    def _daemon(self, server: str | None, own: bool, say: Callable[[str], None]) -> RenderClient:
        address = server or DEFAULT_DAEMON
        why = "its own daemon was asked for" if own else unanswered(address)
        if why is None:
            client = client_from_env(address)
            roots = list(client.capabilities().allow_roots)
            if roots and not any(self.root == Path(r) or Path(r) in self.root.parents for r in roots):
                raise InputError(f"the segue-renderd at {address} may not use {self.root} (its --allow-root: "
                                 f"{', '.join(roots)}); give segue web --root inside them, or start the daemon "
                                 f"with --allow-root {self.root}")
            say(f"segue web: rendering on segue-renderd at {address}")
            return client
        if server:
            raise InputError(f"--server {server}: {why}; start one with `segue-renderd serve`, or drop --server")
        self.daemon = Daemon(ServeConfig(listen="127.0.0.1:0", store=str(self.root / "renderd"),
                                         allow_root=(str(self.root),), workers=1))
        try:
            self.daemon.start()
        except StartError as exc:
            raise InputError(f"cannot start the page's own segue-renderd: {exc}") from None
        say(f"segue web: rendering on its own segue-renderd (at {self.daemon.address}; jobs in {self.root})")
        return RenderClient(self.daemon.address, token=local_token(self.daemon.address))

    @property
    def url(self) -> str:
        """The page's address."""
        return self.http.url

    def serve_forever(self) -> None:
        """Answer requests until `stop` is called from another thread."""
        self._serving = True
        self.http.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop answering, close the daemon connection, stop the embedded daemon."""
        if getattr(self, "_serving", False):
            self.http.shutdown()  # returns once serve_forever has (at once if it already has)
        self.http.server_close()
        self.client.close()
        self._stop_daemon()

    def _stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None


def run(listen: str, server: str | None, root: str | None, max_upload_mb: int, token_file: str | None,
        own_daemon: bool = False) -> int:
    """``segue web``: start, print the address, serve until Ctrl-C or SIGTERM."""
    web = Web(listen, server, Path(root) if root else None, max_upload_mb, token_file, own_daemon)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=web.http.shutdown, daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    print(f"Segue's web page: {web.url}", flush=True)
    print("Open it in a browser; Ctrl-C stops it.", flush=True)
    try:
        web.serve_forever()
    finally:
        web.stop()
    return 0
