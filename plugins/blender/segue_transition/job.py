"""One transition render on segue-renderd, from submit to finished frames or to nothing.

No ``bpy`` here. The operator runs a `TransitionJob` either in its own thread
(`TransitionJob.run`, for scripts: blocking) or on a worker thread
(`TransitionJob.start`, for the UI: Blender's timer polls `TransitionJob.progress` and
never waits on the network). Only plain values cross between the threads, under a lock.

Outcomes:

* ``SUCCEEDED``: `JobResult.frames` are the daemon's frame files, in order, and
  `JobResult.colorspace` is the colourspace the daemon wrote them in (from its
  ``transition.json``), so the strip can declare exactly that; `JobResult.previews`
  are the preview files the report lists (``preview.mp4``, ``preview_dissolve.mp4``,
  ``contact_sheet.png``) that exist, and `JobResult.handles` how many frames of A and
  of B the preview movies show around the synthesized ones.
* ``CANCELLED`` / ``FAILED``: the output folder this job created is removed, so a
  cancelled or failed render leaves no files behind.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import connection

SUCCEEDED, CANCELLED, FAILED = "SUCCEEDED", "CANCELLED", "FAILED"
FINAL = (SUCCEEDED, CANCELLED, FAILED)


def state_name(job: Any) -> str:
    """A `Job`'s state without the enum prefix (``JOB_STATE_RUNNING`` → ``RUNNING``)."""
    try:
        return connection.proto_module().JobState.Name(job.state).removeprefix("JOB_STATE_")
    except ValueError:  # a state newer than these stubs: still running, as far as we know
        return "RUNNING"


@dataclass(frozen=True)
class Progress:
    """What the operator shows while the job runs."""

    state: str = "CONNECTING"  # CONNECTING, QUEUED, RUNNING, CANCELLING, or a final state
    frames_done: int = 0
    frames_total: int = 0
    eta_seconds: float | None = None

    def text(self) -> str:
        """One status-bar line, e.g. ``Segue: frame 3/8, about 2 s left (Esc to cancel)``."""
        if self.state == "CONNECTING":
            return "Segue: connecting to segue-renderd… (Esc to cancel)"
        if self.state == "QUEUED":
            return "Segue: waiting for a free worker… (Esc to cancel)"
        if self.state == "CANCELLING":
            return "Segue: cancelling…"
        eta = "" if self.eta_seconds is None else f", about {math.ceil(self.eta_seconds)} s left"
        return f"Segue: frame {self.frames_done}/{self.frames_total}{eta} (Esc to cancel)"

    @property
    def fraction(self) -> float:
        """Share of frames done, 0..1."""
        return self.frames_done / self.frames_total if self.frames_total else 0.0


#: transition.json's "previews" keys of the files beside the frames
PREVIEW_FILES = ("movie", "dissolve", "contact_sheet")


@dataclass(frozen=True)
class JobResult:
    """How a job ended. ``message`` is for the editor (empty on success).

    ``previews`` maps `PREVIEW_FILES` keys to absolute paths (only files that exist);
    ``handles`` is ``(frames of A, frames of B)`` around the synthesized frames in the
    preview movies, A's ending with the frame the transition starts from.
    """

    state: str
    frames: tuple[str, ...] = ()
    colorspace: str = ""
    message: str = ""
    job_id: str = ""
    previews: dict[str, str] = field(default_factory=dict)
    handles: tuple[int, int] = (0, 0)
    #: the editor's warning about low-confidence frames (transition.json), empty if none
    caution: str = ""


class TransitionJob:
    """Render ``spec`` into ``spec["out_dir"]`` (a folder that must not exist yet).

    Args:
        settings: how to reach the daemon (see `connection.Settings`).
        spec: `TransitionSpec` fields, paths absolute (see `mapping.TransitionPlan.spec`).
        on_event: called on the job's thread after each progress change (tests use it).
    """

    def __init__(self, settings: connection.Settings, spec: dict[str, Any],
                 on_event: Callable[[Progress], None] | None = None) -> None:
        self.settings = settings
        self.spec = dict(spec)
        self.out_dir = os.path.abspath(spec["out_dir"])
        self._on_event = on_event
        self._lock = threading.Lock()
        self._progress = Progress(frames_total=int(spec["frames"]))
        self._result: JobResult | None = None
        self._job_id = ""
        self._client: Any = None
        self._cancel = threading.Event()
        self._cancel_sent = False
        self._thread: threading.Thread | None = None

    # -- what the UI thread reads ------------------------------------------------------

    @property
    def progress(self) -> Progress:
        with self._lock:
            return self._progress

    @property
    def result(self) -> JobResult | None:
        """The outcome, once the job is over (None while it runs)."""
        with self._lock:
            return self._result

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def job_id(self) -> str:
        with self._lock:
            return self._job_id

    # -- control -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the job on a daemon thread; poll `progress` / `result`."""
        self._thread = threading.Thread(target=self.run, name="segue-transition-job", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> JobResult | None:
        """Join the thread started by `start`; returns the result (None on timeout)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def cancel(self) -> None:
        """Ask for the job to stop; returns at once (the request travels on another thread).

        The job ends ``CANCELLED`` unless it already finished. Safe to call repeatedly,
        from any thread, before or after submit.
        """
        if self._cancel.is_set():
            return
        self._cancel.set()
        self._set_progress(state="CANCELLING")
        threading.Thread(target=self._send_cancel, name="segue-transition-cancel", daemon=True).start()

    def run(self) -> JobResult:
        """Connect, submit, follow progress to the end; blocking. Never raises for job outcomes."""
        if os.path.exists(self.out_dir):
            return self._finish(JobResult(FAILED, message=f"output folder {self.out_dir} already exists"),
                                cleanup=False)
        mod = None
        try:
            mod = connection.client_module()
            client = connection.connect(self.settings, should_stop=self._cancel.is_set)
            with self._lock:
                self._client = client
            if self._cancel.is_set():
                return self._finish(JobResult(CANCELLED, message="cancelled before the render started"))
            job = client.submit(self.spec).job
            with self._lock:
                self._job_id = job.job_id
            if self._cancel.is_set():
                self._send_cancel()
            for event in client.watch(job.job_id):
                job = event.job
                self._on_job(job)
            return self._finish(self._outcome(client, job))
        except connection.ConnectionProblem as exc:
            if self._cancel.is_set():
                return self._finish(JobResult(CANCELLED, message="cancelled before the render started"))
            return self._finish(JobResult(FAILED, message=str(exc)))
        except KeyboardInterrupt:
            # Ctrl-C in a script: stop the daemon's job and let it reach its final state
            # before removing the folder, so no frame lands in it afterwards.
            self._cancel.set()
            self._send_cancel()
            self._await_final()
            self._finish(JobResult(CANCELLED, message="interrupted", job_id=self.job_id))
            raise
        except Exception as exc:  # noqa: BLE001 - every failure must reach the editor as a message
            if mod is not None and isinstance(exc, mod.RenderError):
                return self._finish(JobResult(FAILED, message=describe_error(exc, self.settings.address),
                                              job_id=self.job_id))
            return self._finish(JobResult(FAILED, message=f"{type(exc).__name__}: {exc}", job_id=self.job_id))

    # -- internals ---------------------------------------------------------------------

    def _on_job(self, job: Any) -> None:
        state = state_name(job)
        if self._cancel.is_set() and state in ("QUEUED", "RUNNING"):
            state = "CANCELLING"
        eta = job.eta_seconds if job.HasField("eta_seconds") else None
        self._set_progress(state=state, frames_done=job.frames_done,
                           frames_total=job.frames_total or self._progress.frames_total, eta_seconds=eta)

    def _outcome(self, client: Any, job: Any) -> JobResult:
        state = state_name(job)
        if state == SUCCEEDED:
            # Events carry progress only; the report and the frames come once, from GetJob.
            answer = client.get_job(job.job_id)
            frames = tuple(f.path for f in sorted(answer.frames, key=lambda f: f.index))
            missing = [p for p in frames if not os.path.isfile(p)]
            if len(frames) != int(self.spec["frames"]) or missing:
                return JobResult(FAILED, job_id=job.job_id, message=(
                    f"the daemon reports {len(frames)} frames, but {len(missing)} of them are not visible from "
                    f"here (e.g. {missing[:1]}): Blender and segue-renderd must see the same folders"))
            report = json.loads(answer.job.report_json or "{}")
            colorspace = report.get("output", {}).get("colorspace", "")
            previews, handles = preview_files(report, os.path.dirname(frames[0]))
            caution = connection.client_module().low_confidence_warning(report)
            return JobResult(SUCCEEDED, frames=frames, colorspace=colorspace, job_id=job.job_id,
                             previews=previews, handles=handles, caution=caution)
        if state == CANCELLED:
            return JobResult(CANCELLED, job_id=job.job_id,
                             message=f"cancelled after {job.frames_done} of {job.frames_total} frames")
        return JobResult(FAILED, job_id=job.job_id,
                         message=f"the render failed on the daemon: {job.error.message or 'no reason given'}")

    def _send_cancel(self) -> None:
        with self._lock:
            client, job_id = self._client, self._job_id
            if not job_id or client is None or self._cancel_sent:
                return  # `run` sends it right after the submit answers
            self._cancel_sent = True
        # Finished already, or the daemon is gone: either way the watch tells `run`.
        with contextlib.suppress(Exception):
            client.cancel_job(job_id)

    def _await_final(self, timeout: float = 30.0) -> None:
        with self._lock:
            client, job_id = self._client, self._job_id
        if client is None or not job_id:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                basic = connection.proto_module().JOB_VIEW_BASIC  # the state only: no report, no frames
                if state_name(client.get_job(job_id, view=basic).job) in FINAL:
                    return
            except Exception:  # noqa: BLE001 - the daemon is gone: nothing more will be written
                return
            time.sleep(0.1)

    def _set_progress(self, **changes: Any) -> None:
        with self._lock:
            if self._result is not None:
                return
            self._progress = replace(self._progress, **changes)
            progress = self._progress
        if self._on_event is not None:
            self._on_event(progress)

    def _finish(self, result: JobResult, cleanup: bool = True) -> JobResult:
        if result.state != SUCCEEDED and cleanup:
            # The folder did not exist before this job (checked in `run`): all of it is ours.
            shutil.rmtree(self.out_dir, ignore_errors=True)
        with self._lock:
            self._progress = replace(self._progress, state=result.state)
            self._result = result
        return result


def preview_files(report: dict[str, Any], folder: str) -> tuple[dict[str, str], tuple[int, int]]:
    """The previews a transition report lists that exist in ``folder``, and their handles.

    ``report["previews"]`` names files relative to the frames' folder, or is null when
    the job was asked for none (an older daemon has no such key).
    """
    listed = report.get("previews")
    if not isinstance(listed, dict):
        return {}, (0, 0)
    found = {key: os.path.join(folder, str(listed[key])) for key in PREVIEW_FILES if listed.get(key)}
    handles = listed.get("handles") or (0, 0)
    try:
        before, after = (int(h) for h in handles)
    except (TypeError, ValueError):
        before = after = 0
    return {k: p for k, p in found.items() if os.path.isfile(p)}, (before, after)


def describe_error(error: Any, address: str, what: str = "the transition") -> str:
    """A `RenderError` as one sentence for the editor: what happened, what to do, details last.

    ``what``: what the daemon was asked for, as the refusal names it."""
    if error.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return (f"Segue's render daemon at {address} stopped answering: check that it is still running, then "
                f"try again (details: {error.code}: {error.message})")
    if error.code == "UNAUTHENTICATED":
        return (f"Segue's render daemon at {address} does not accept this user (it was started by another user "
                "or with --token-file): set its token file in the add-on preferences (Token File)")
    if error.code == "PERMISSION_DENIED":
        return (f"Segue's render daemon may not use these files: {error.message}. Add their folders to its "
                "--allow-root, or choose an Output Folder inside them")
    return f"Segue's render daemon refused {what}: {error.message}"
