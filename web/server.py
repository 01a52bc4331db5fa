"""``segue web``: the page and its JSON API over HTTP, one more client of segue-renderd.

Routes (all answers JSON but the page, its static files and the downloads):

* ``GET /``, ``GET /static/NAME``: the page (plain HTML, CSS and JS in ``static/``);
* ``GET /api/capabilities``: the daemon's models, formats and limits, and the page's;
* ``POST /api/uploads?name=NAME``: the body is one file (`uploads.UploadStore.receive`);
  ``DELETE /api/uploads/ID``; ``GET /api/uploads/ID/frames/K.png``: frame K, small (the scrubber);
* ``POST /api/jobs``: ``{"a": ID, "b": ID, "frames": N, "placement": ..., "model": ...}``;
  ``GET /api/jobs`` (the history), ``GET /api/jobs/ID``, ``POST /api/jobs/ID/cancel``,
  ``DELETE /api/jobs/ID``; ``GET /api/jobs/ID/events``: Server-Sent Events of its progress;
  ``POST /api/jobs/ID/truth``: ``{"truth": ID, "first": N}``, PSNR/SSIM against true frames;
  ``GET /api/jobs/ID/files/NAME`` (frames, previews; byte ranges for the video elements),
  ``GET /api/jobs/ID/frames.zip``.

Security, as renderd's: loopback by default; on any other address a token is required
(``--token-file``, else one is made and printed in the page's address): the browser sends
it once in the address, gets it back as an HttpOnly cookie, and every API call needs it.
Every request must name this server in its ``Host`` header (no DNS rebinding) and every
change (POST, DELETE) must carry the page's ``X-Segue`` header, which another site's page
cannot send without a preflight this server never grants. Refusals are
``{"error": message}`` with a 4xx status, in words; a bug answers 500 without a traceback
(the console gets it).
"""
from __future__ import annotations

import hmac
import json
import mimetypes
import re
import secrets
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from segue.renderd.client import RenderClient, RenderError
from segue.web.jobs import DEFAULT_FRAMES, MAX_FRAMES, Jobs
from segue.web.uploads import IMAGES, MOVIES, Refused, UploadStore

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"index.html", "app.js", "style.css"}
COOKIE = "segue_token"
#: what the page may load: only this server's own files, no inline script
POLICY = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self'; style-src 'self'; script-src 'self'; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
MAX_JSON = 64 << 10


class WebServer(ThreadingHTTPServer):
    """The HTTP server with what its handlers share: uploads, jobs, the daemon, the token."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], client: RenderClient, root: Path, max_upload_bytes: int,
                 token: str | None) -> None:
        super().__init__(address, Handler)
        self.client = client
        self.uploads = UploadStore(root, max_upload_bytes)
        self.jobs = Jobs(root, client, self.uploads)
        self.token = token
        host, port = self.server_address[:2]
        self.hosts = {f"{h}:{port}" for h in (host, "localhost", "127.0.0.1", "[::1]")}

    @property
    def url(self) -> str:
        """The page's address (with the token, when one is needed)."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")


class Handler(BaseHTTPRequestHandler):
    """One request. Routing is a table of (method, pattern) -> method name."""

    server: WebServer
    protocol_version = "HTTP/1.1"
    ROUTES = [
        ("GET", r"/", "page"), ("GET", r"/static/([a-z]+\.(?:html|js|css))", "static"),
        ("GET", r"/api/capabilities", "capabilities"),
        ("POST", r"/api/uploads", "upload"), ("DELETE", r"/api/uploads/(\w+)", "delete_upload"),
        ("GET", r"/api/uploads/(\w+)/frames/(\d{1,7})\.png", "thumbnail"),
        ("GET", r"/api/jobs", "history"), ("POST", r"/api/jobs", "create"),
        ("GET", r"/api/jobs/(\w+)", "job"), ("DELETE", r"/api/jobs/(\w+)", "delete_job"),
        ("POST", r"/api/jobs/(\w+)/cancel", "cancel"), ("GET", r"/api/jobs/(\w+)/events", "events"),
        ("POST", r"/api/jobs/(\w+)/truth", "truth"),
        ("GET", r"/api/jobs/(\w+)/files/([\w.]+)", "job_file"), ("GET", r"/api/jobs/(\w+)/frames\.zip", "download"),
    ]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the page says what happens; errors go to stderr below

    def do_GET(self) -> None:  # noqa: N802 - the base class's names
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = parse_qs(url.query)
        try:
            self._check_request(method, url.path)
            for verb, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, url.path)
                if verb == method and match:
                    getattr(self, name)(*match.groups())
                    return
            raise Refused("no such page", 404)
        except Refused as exc:
            self._json({"error": exc.message}, exc.status)
        except RenderError as exc:
            self._json({"error": f"Segue's render daemon did not answer as expected: {exc.message}"}, 503)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception:  # noqa: BLE001 - a bug: the browser gets a plain answer, the console the traceback
            traceback.print_exc(file=sys.stderr)
            self._json({"error": "something went wrong inside segue web; its console has the details"}, 500)

    def _check_request(self, method: str, path: str) -> None:
        if self.headers.get("Host", "") not in self.server.hosts:
            raise Refused("this server answers only to its own address", 421)
        if method != "GET" and self.headers.get("X-Segue") != "1":
            raise Refused("requests that change something must come from Segue's page", 403)
        token = self.server.token
        if token is None:
            return
        given = self.query.get("token", [""])[0] if path == "/" else self._cookie()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Refused("open the address segue web printed (it carries the page's token)", 401)

    def _cookie(self) -> str:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return ""

    # -- answers ---------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_JSON:
            raise Refused("the request is too large", 413)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise Refused("the request is not JSON") from None

    def _file(self, path: Path, download_name: str | None = None) -> None:
        """A file, whole or the one byte range asked for (video elements seek with ranges)."""
        size = path.stat().st_size
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Accept-Ranges": "bytes"}
        if download_name:
            headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
        start, end, status = 0, size - 1, 200
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if wanted and size and (wanted.group(1) or wanted.group(2)):
            if wanted.group(1):
                start, end = int(wanted.group(1)), min(int(wanted.group(2) or size - 1), size - 1)
            else:
                start = max(0, size - int(wanted.group(2)))
            if start > end:
                self._send(416, b"", content_type, {"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                data = f.read(min(1 << 20, left))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)

    # -- routes ------------------------------------------------------------------------

    def page(self) -> None:
        extra = {"Content-Security-Policy": POLICY, "Referrer-Policy": "no-referrer"}
        if self.server.token:
            extra["Set-Cookie"] = f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
        self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8", extra)

    def static(self, name: str) -> None:
        if name not in STATIC_FILES:
            raise Refused("no such file", 404)
        kind = {"js": "text/javascript", "css": "text/css", "html": "text/html"}[name.rsplit(".", 1)[1]]
        self._send(200, (STATIC / name).read_bytes(), f"{kind}; charset=utf-8")

    def capabilities(self) -> None:
        caps = self.server.client.capabilities()
        self._json({"version": caps.version, "models": ["auto", *(m for m in caps.models if m != "auto")],
                    "max_frames": min(MAX_FRAMES, caps.max_frames or MAX_FRAMES), "default_frames": DEFAULT_FRAMES,
                    "max_upload_bytes": self.server.uploads.max_bytes, "max_pixels": caps.max_pixels,
                    "types": [*MOVIES, *IMAGES]})

    def upload(self) -> None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            length = None
        name = self.query.get("name", [""])[0]
        try:
            upload = self.server.uploads.receive(name, int(length) if length and length.isdigit() else None,
                                                 self.rfile)
        except Refused:
            self.close_connection = True  # the rest of a refused body is not read
            raise
        self._json(upload.public, 201)

    def thumbnail(self, upload_id: str, index: str) -> None:
        self._file(self.server.uploads.thumbnail(upload_id, int(index)))

    def delete_upload(self, upload_id: str) -> None:
        self.server.uploads.delete(upload_id)
        self._json({"deleted": upload_id})

    def history(self) -> None:
        self._json({"jobs": self.server.jobs.history()})

    def create(self) -> None:
        caps = self.server.client.capabilities()
        self._json(self.server.jobs.create(self._read_json(), caps.max_frames), 201)

    def job(self, job_id: str) -> None:
        self._json(self.server.jobs.describe(job_id))

    def truth(self, job_id: str) -> None:
        self._json(self.server.jobs.truth(job_id, self._read_json()))

    def cancel(self, job_id: str) -> None:
        self._json(self.server.jobs.cancel(job_id))

    def delete_job(self, job_id: str) -> None:
        self.server.jobs.delete(job_id)
        self._json({"deleted": job_id})

    def events(self, job_id: str) -> None:
        events = self.server.jobs.events(job_id)  # refuses an unknown id before the stream starts
        first = next(events, None)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for message in ([first] if first else []):
                self._event(message)
            for message in events:
                self._event(message)
            self._event({"done": True})
        except RenderError as exc:  # the stream has begun: the page hears it as an event, not an answer
            self._event({"done": True, "error": f"Segue's render daemon stopped answering: {exc.message}"})
        finally:
            events.close()  # a browser that left: stop watching the daemon

    def _event(self, message: dict) -> None:
        self.wfile.write(f"data: {json.dumps(message)}\n\n".encode())
        self.wfile.flush()

    def job_file(self, job_id: str, name: str) -> None:
        self._file(self.server.jobs.file(job_id, name))

    def download(self, job_id: str) -> None:
        self._file(self.server.jobs.zip(job_id), f"segue_{job_id[:8]}_frames.zip")


def new_token() -> str:
    """A token for a page served beyond loopback."""
    return secrets.token_urlsafe(24)
