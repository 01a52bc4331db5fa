"""The connection to segue-renderd, through the project's one shared client.

The client is ``renderd/client.py`` with its generated stubs: ``segue install resolve``
vendors both into ``segue_resolve/_client``; in a development checkout (or wherever the
``segue`` package is importable) ``segue.renderd.client`` is used directly. Either way this
module owns the channel for one run and turns the daemon's status codes into refusals a
Resolve user can act on.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from .errors import Refusal
from .settings import Settings

#: connection check before any dialog: fail fast when nothing listens
PROBE_ATTEMPTS = 2
START_HINT = "Start one with `segue-renderd serve` (in the environment where Segue is installed)"


def client_module() -> ModuleType:
    """The shared client module: the vendored copy if installed, else ``segue.renderd.client``."""
    try:
        from ._client import client as module  # written by `segue install resolve`
    except ImportError as exc:
        if exc.name != f"{__package__}._client":
            raise Refusal("Segue client", f"The installed Segue client does not load: {exc}. "
                          "Run `segue install resolve` again.") from None
    except Exception as exc:  # noqa: BLE001 - e.g. protobuf older than the generated stubs need
        raise Refusal("Segue client", f"The installed Segue client does not load: {exc}") from None
    else:
        return module
    try:  # a source checkout, or an environment with segue installed
        from segue.renderd import client as module
    except ImportError as exc:
        raise Refusal("Segue client", f"Segue's client is not installed for this Python ({exc}): run "
                      "`segue install resolve`.") from None
    return module


class Daemon:
    """One segue-renderd for one run of the script; `close` when done."""

    def __init__(self, settings: Settings) -> None:
        self.module = client_module()
        self.address = settings.address
        self.pb = self.module.pb
        try:
            token = (self.module.read_token(settings.token_file) if settings.token_file
                     else self.module.local_token(self.address))  # this user's own, for a local daemon
            roots = _read_bytes(settings.tls_ca) if settings.tls_ca else None
        except OSError as exc:
            raise Refusal("Segue settings", f"Cannot read {exc.filename}: {exc.strerror}.") from None
        self._options = {"token": token, "root_certificates": roots}
        self.client = self.module.RenderClient(self.address, **self._options)

    def close(self) -> None:
        self.client.close()

    def capabilities(self) -> Any:
        """The daemon's models, formats and limits; refuses if it does not answer."""
        probe = self.module.RenderClient(self.address, timeout=10.0,
                                         retry=self.module.Retry(attempts=PROBE_ATTEMPTS, initial=0.2), **self._options)
        try:
            return probe.capabilities()
        except self.module.RenderError as exc:
            raise self.refusal(exc) from None
        finally:
            probe.close()

    def submit(self, spec: Mapping[str, object]) -> Any:
        """Queue the transition; returns the daemon's Job (refusals for bad requests)."""
        try:
            return self.client.submit(dict(spec)).job
        except self.module.RenderError as exc:
            raise self.refusal(exc, spec) from None

    def watch(self, job_id: str, on_job: Callable[[Any], None]) -> Any:
        """Follow the job to its final state, calling ``on_job`` with every update; returns it."""
        job = None
        try:
            for event in self.client.watch(job_id):
                job = event.job
                on_job(job)
        except self.module.RenderError as exc:  # the daemon went away for longer than the retries
            raise self.refusal(exc) from None
        return job

    def cancel(self, job_id: str) -> None:
        """Ask the daemon to stop the job (a job already finished is left as it is)."""
        try:
            self.client.cancel_job(job_id)
        except self.module.RenderError:
            pass  # finished meanwhile, or the daemon is gone: the watch tells which

    def frame_paths(self, job_id: str) -> list[str]:
        """The finished frames' paths, in frame order."""
        try:
            # every page of frames, without the report (which this script does not use)
            return [frame.path for frame in self.client.get_job(job_id, view=self.pb.JOB_VIEW_FRAMES).frames]
        except self.module.RenderError as exc:
            raise self.refusal(exc) from None

    def is_succeeded(self, job: Any) -> bool:
        return job is not None and job.state == self.pb.JOB_STATE_SUCCEEDED

    def is_cancelled(self, job: Any) -> bool:
        return job is not None and job.state == self.pb.JOB_STATE_CANCELLED

    def refusal(self, error: Any, spec: Mapping[str, object] | None = None) -> Refusal:
        """What a status code means for the user, with what to do about it."""
        code, message = error.code, error.message
        if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            return Refusal("Segue render daemon unreachable",
                           f"No Segue render daemon answers at {self.address}. {START_HINT}, then run this "
                           "script again. Another address: `segue install resolve --server HOST:PORT` or the "
                           f"SEGUE_RENDERD_ADDRESS variable. ({message})")
        if code == "UNAUTHENTICATED":
            return Refusal("Segue render daemon", f"The daemon at {self.address} wants another token: it was "
                           "started by another user, or with --token-file. Pass its token file with `segue install "
                           f"resolve --token-file FILE`. ({message})")
        if code == "PERMISSION_DENIED":
            where = f" and the output folder {spec['out_dir']}" if spec and spec.get("out_dir") else ""
            return Refusal("Segue render daemon", f"The daemon may not use these paths: {message}. Start it with "
                           f"--allow-root folders that hold the clips{where}.")
        if code == "NOT_FOUND":
            return Refusal("Segue render daemon", f"{message}. Paths are read on the daemon's machine: the media "
                           "must be reachable there under the same path.")
        return Refusal("Segue render daemon", f"The daemon refused the request ({code}): {message}")

    def failure_message(self, job: Any) -> str:
        """A failed job's error for a dialog."""
        if job is None:
            return "The daemon ended the job without a final state."
        return f"The render failed on the daemon ({job.error.code}): {job.error.message}"


def job_progress(job: Any) -> dict[str, Any]:
    """The numbers the progress dialog shows."""
    eta = job.eta_seconds if job.HasField("eta_seconds") else None
    return {"done": job.frames_done, "total": job.frames_total, "eta": eta,
            "cancel_requested": job.cancel_requested}


def _read_bytes(path: str) -> bytes:
    import os

    with open(os.path.expanduser(path), "rb") as f:
        return f.read()
