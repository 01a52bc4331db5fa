"""A real ``segue web`` in a subprocess on a free 127.0.0.1 port, and a plain HTTP client for it.

`WebProcess` starts ``python -m segue web --listen 127.0.0.1:0 --own-daemon --root ROOT``
and reads the page's address from the line the command prints. `call` makes one HTTP
request with the page's headers (or others, to test the refusals).
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "core" / "assets" / "demo"
TAKE_A, TAKE_B = DEMO / "take_a.mp4", DEMO / "take_b.mp4"
SAFETY = 120  # seconds: a net for waits, never an expectation


class WebProcess:
    """One ``segue web``. ``args``: more flags."""

    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.proc = subprocess.Popen([sys.executable, "-m", "segue", "web", "--listen", "127.0.0.1:0", "--own-daemon",
                                      "--root", str(root), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found = threading.Event()
        self.url = ""

        def read() -> None:
            for line in self.proc.stdout:
                self.lines.append(line)
                if line.startswith("Segue's web page: "):
                    self.url = line.split(": ", 1)[1].strip()
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(SAFETY) or not self.url:
            self.stop()
            raise AssertionError("segue web did not start:\n" + "".join(self.lines) + self.proc.stderr.read())
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             page: bool = True) -> tuple[int, dict, bytes]:
        """One request: ``(status, headers, body)``; ``page``: with the page's own X-Segue header."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=SAFETY)
        try:
            sent = {"X-Segue": "1"} if page else {}
            sent.update(headers or {})
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, data: object = None) -> tuple[int, dict]:
        body = None if data is None else json.dumps(data).encode()
        status, _, raw = self.call(method, path, body, {"Content-Type": "application/json"})
        return status, json.loads(raw or b"{}")

    def upload(self, path: Path, name: str | None = None) -> tuple[int, dict]:
        status, _, raw = self.call("POST", f"/api/uploads?name={name or path.name}", path.read_bytes(),
                                   {"Content-Type": "application/octet-stream"})
        return status, json.loads(raw)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(SAFETY)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()


def leftovers(root: Path) -> list[str]:
    """Upload folders and partial files under the page's root (what a refusal must not leave)."""
    uploads = root / "uploads"
    return sorted(os.path.relpath(p, root) for p in uploads.rglob("*")) if uploads.exists() else []
