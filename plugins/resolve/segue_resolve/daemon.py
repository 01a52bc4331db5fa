"""The connection to segue-renderd, through the project's one shared client.

The client is ``renderd/client.py`` with its generated stubs: ``segue install resolve``
vendors both into ``segue_resolve/_client``; in a development checkout (or wherever the
``segue`` package is importable) ``segue.renderd.client`` is used directly. Either way this
module owns the channel for one run and turns the daemon's status codes into refusals a
Resolve user can act on.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from .errors import Refusal
from .host import prepare_client_imports
from .settings import Settings, load

#: connection check before any dialog: fail fast when nothing listens
PROBE_ATTEMPTS = 2
START_HINT = ("Start it in a terminal with `segue-renderd serve` (in the environment where Segue is installed), "
              "then run Segue Synthesize Transition again.")
OTHER_ADDRESS_HINT = ("If your daemon runs at another address, give it to the script with "
                      "`segue install resolve --server HOST:PORT`.")


def client_module() -> ModuleType:
    """The shared client module: the vendored copy if installed, else ``segue.renderd.client``."""
    try:
        from ._client import client as module  # written by `segue install resolve`
    except ImportError as exc:
        if exc.name != f"{__package__}._client":
            raise Refusal("Segue client", "The installed Segue client does not load. Run `segue install resolve` "
                          "again.", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - e.g. protobuf older than the generated stubs need
        raise Refusal("Segue client", "The installed Segue client does not load: Resolve's Python may have "
                      "an older protobuf than it needs. Run `segue install resolve` again, or install "
                      "'protobuf>=7.35.1,<8' for Resolve's Python (docs/resolve.md).",
                      f"{type(exc).__name__}: {exc}") from None
    else:
        return module
    try:  # a source checkout, or an environment with segue installed
        from segue.renderd import client as module
    except ImportError as exc:
        raise Refusal("Segue client", "Segue's client is not installed for Resolve's Python: run "
                      "`segue install resolve`.", str(exc)) from None
    return module


def open_daemon(lib_dir: str | None) -> tuple[Settings, Daemon]:
    """The settings and a `Daemon` for one run (close it when done); refuses what is not usable."""
    try:
        settings = load(lib_dir)
    except ValueError as exc:
        raise Refusal("Segue settings", str(exc)) from None
    problem = prepare_client_imports(lib_dir)
    if problem:
        raise Refusal("Segue client", problem)
    return settings, Daemon(settings)


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
        """Close the channel (the daemon and its jobs carry on)."""
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

    def write_farm_bundle(self, specs: list[Mapping[str, object]], chunks: int, bundle_dir: str, name: str,
                          labels: list[str]) -> Any:
        """Have the daemon write the render-farm job of these transitions into ``bundle_dir``.

        Returns its answer (the files, and per cut the frame files the farm will write). A
        refusal about one cut names it by its ``labels`` entry (the cut's timecode and clips).
        """
        try:
            return self.client.write_farm_bundle([dict(s) for s in specs], chunks, bundle_dir, name)
        except self.module.RenderError as exc:
            refusal = self.refusal(exc, {"out_dir": bundle_dir})
            if exc.cut is not None and exc.cut < len(labels):
                refusal = Refusal(refusal.title, f"{labels[exc.cut]}: {refusal.message}", refusal.detail)
            raise refusal from None

    def watch(self, job_id: str, on_job: Callable[[Any], None]) -> Any:
        """Follow the job to its final state, calling ``on_job`` with every update; returns it."""
        job = None
        try:
            for event in self.client.watch(job_id):
                job = event.job
                on_job(job)
        except self.module.RenderError as exc:  # the daemon went away for longer than the retries
            raise self.refusal(exc, during_render=True) from None
        return job

    def cancel(self, job_id: str) -> None:
        """Ask the daemon to stop the job (a job already finished is left as it is)."""
        try:
            self.client.cancel_job(job_id)
        except self.module.RenderError:
            pass  # finished meanwhile, or the daemon is gone: the watch tells which

    def result(self, job_id: str) -> tuple[list[str], dict[str, Any]]:
        """A finished job's frame paths, in frame order, and its report (``transition.json``)."""
        try:
            # the report names the previews; every page of frames comes with it
            answer = self.client.get_job(job_id, view=self.pb.JOB_VIEW_FULL)
        except self.module.RenderError as exc:
            raise self.refusal(exc) from None
        try:
            report = json.loads(answer.job.report_json or "{}")
        except ValueError:
            report = {}
        frames = sorted(answer.frames, key=lambda frame: frame.index)
        return [frame.path for frame in frames], report if isinstance(report, dict) else {}

    def is_succeeded(self, job: Any) -> bool:
        """True if ``job`` (a final Job or None) succeeded."""
        return job is not None and job.state == self.pb.JOB_STATE_SUCCEEDED

    def is_cancelled(self, job: Any) -> bool:
        """True if ``job`` (a final Job or None) was cancelled on the daemon."""
        return job is not None and job.state == self.pb.JOB_STATE_CANCELLED

    def refusal(self, error: Any, spec: Mapping[str, object] | None = None, during_render: bool = False) -> Refusal:
        """What a status code means for the user, in words, with what to do; the raw status as detail."""
        code, message = error.code, error.message
        detail = f"{code}: {message}"
        if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            if during_render:
                return Refusal("Segue render daemon stopped answering",
                               f"The Segue render daemon at {self.address} stopped answering during the render. "
                               "Check that it is still running (it may have been stopped or crashed); running "
                               "the script again resumes the frames it finished.", detail)
            return Refusal("Segue render daemon unreachable",
                           f"Segue cannot reach its render daemon at {self.address}. Is it running? "
                           f"{START_HINT} {OTHER_ADDRESS_HINT}", detail)
        if code == "UNAUTHENTICATED":
            return Refusal("Segue render daemon",
                           f"The render daemon at {self.address} does not accept this user: it was started by "
                           "another user, or with its own token file (--token-file). Give the script that file "
                           "with `segue install resolve --token-file FILE`.", detail)
        if code == "PERMISSION_DENIED":
            where = f" and the render folder {spec['out_dir']}" if spec and spec.get("out_dir") else ""
            return Refusal("Segue render daemon",
                           f"The render daemon is not allowed to use the clips{where}. Start it with --allow-root "
                           "folders that hold them, or set a render folder inside its allowed folders "
                           "(`segue install resolve --output-root DIR`).", detail)
        if code == "NOT_FOUND":
            return Refusal("Segue render daemon",
                           f"The render daemon cannot find a file: {message}. It reads the media on its own "
                           "machine: the clips must be reachable there under the same path.", detail)
        return Refusal("Segue render daemon", f"The render daemon refused the request: {message}", detail)

    def failure_message(self, job: Any) -> tuple[str, str]:
        """A failed job's error for a dialog: ``(message, technical detail)``."""
        if job is None:
            return "The render daemon ended the job without saying how it ended. Run the script again.", ""
        return (f"The render failed on the daemon: {job.error.message or 'no reason given'}",
                f"{job.error.code}: {job.error.message}")


def job_progress(job: Any) -> dict[str, Any]:
    """The numbers the progress dialog shows."""
    eta = job.eta_seconds if job.HasField("eta_seconds") else None
    return {"done": job.frames_done, "total": job.frames_total, "eta": eta,
            "cancel_requested": job.cancel_requested}


def _read_bytes(path: str) -> bytes:
    import os

    with open(os.path.expanduser(path), "rb") as f:
        return f.read()
