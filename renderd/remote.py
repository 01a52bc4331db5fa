"""``segue transition|retime --server HOST:PORT``: the same job, rendered by a segue-renderd.

`render_on_server` submits a `core.transition.TransitionSpec` through the shared
`RenderClient`, relays progress as the engine's own `FrameEvent` (so the CLI draws the
same progress bar as for a local render) and returns the job's ``transition.json``;
`retime_on_server` does the same for a `core.retime.RetimeSpec`, relaying progress as
`core.retime.Progress` and returning the retime's report. Both raise the
engine's error types so the CLI keeps its exit codes:

* a refused request (bad field, missing or unreadable media, path not allowed, busy
  output folder, full queue) or an unreachable daemon: `InputError` (exit 2);
* a job cancelled on the daemon: `CancelledError`; an internal failure: `RuntimeError`.

Ctrl-C cancels the job on the daemon before it propagates; finished frames stay, and
running the same command again resumes them (a retime: with ``--resume``).

Connection settings come from the environment, since the CLI has one flag for this:
``SEGUE_RENDERD_TOKEN_FILE`` (bearer token) and ``SEGUE_RENDERD_TLS_CA`` (PEM file of
the CA to trust; setting it turns TLS on).
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from segue.core.errors import CancelledError, InputError
from segue.core.retime import Progress, RetimeSpec
from segue.core.transition import FrameEvent, FrameRecord, TransitionSpec
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import RenderClient, RenderError, Retry, local_token, read_token

TOKEN_ENV = "SEGUE_RENDERD_TOKEN_FILE"
CA_ENV = "SEGUE_RENDERD_TLS_CA"
#: status codes that mean "fix your request or your setup", not "segue is broken"
USER_CODES = {"INVALID_ARGUMENT", "NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED", "ALREADY_EXISTS",
              "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED"}


def client_from_env(address: str, **options) -> RenderClient:
    """A `RenderClient` for ``address`` with the token and CA named in the environment.

    Without ``$SEGUE_RENDERD_TOKEN_FILE`` a daemon on this machine gets this user's own
    token (`renderd.client.local_token`), the one ``segue-renderd serve`` created.
    ``options``: more `RenderClient` settings (``timeout``, ``retry``).
    """
    token_file, ca_file = os.environ.get(TOKEN_ENV), os.environ.get(CA_ENV)
    try:
        token = read_token(token_file) if token_file else local_token(address)
        roots = Path(ca_file).read_bytes() if ca_file else None
    except OSError as exc:
        name = TOKEN_ENV if token_file and exc.filename == os.path.expanduser(token_file) else CA_ENV
        raise InputError(f"{name}: cannot read {exc.filename} ({exc.strerror})") from None
    return RenderClient(address, token=token, root_certificates=roots, **options)


def unanswered(address: str) -> str | None:
    """Why no daemon at ``address`` takes jobs from this user (in words), or None if one does.

    One quick try, no retries: for choosing between a daemon and rendering in-process.
    """
    try:
        with client_from_env(address, timeout=5.0, retry=Retry(attempts=1)) as client:
            client.capabilities()
    except RenderError as exc:
        return {"UNAVAILABLE": "no segue-renderd answers there", "DEADLINE_EXCEEDED": "the daemon did not answer",
                "UNAUTHENTICATED": "its daemon does not take this user's token"}.get(exc.code, exc.message)
    return None


def request_spec(spec: TransitionSpec) -> dict:
    """The spec as request fields, local paths made absolute (the daemon has no working directory)."""
    return _absolute(asdict(spec), "clip_a", "clip_b", "out_dir")


def request_retime_spec(spec: RetimeSpec) -> dict:
    """A retime spec as request fields, local paths made absolute."""
    return _absolute(asdict(spec), "input", "output")


def _absolute(fields: dict, *paths: str) -> dict:
    for name in paths:
        fields[name] = os.path.abspath(fields[name])
    ocio = fields["ocio_config"]
    if ocio and not ocio.startswith("ocio://"):
        fields["ocio_config"] = os.path.abspath(ocio)
    if fields["model"].lower().endswith(".onnx"):
        fields["model"] = os.path.abspath(fields["model"])
    return fields


def render_on_server(address: str, spec: TransitionSpec,
                     on_frame: Callable[[FrameEvent], None] | None = None,
                     farm_chunk: tuple[int, int] | None = None) -> dict:
    """Render ``spec`` on the daemon at ``address``; returns the ``transition.json`` content
    (with ``farm_chunk`` ``(chunks, chunk)``: that chunk of its planned farm job, and its record)."""
    spec.validate()  # the cheap checks locally, before any network

    def relay(event: pb.WatchJobResponse) -> None:
        if on_frame and event.HasField("frame"):
            f = event.frame
            record = FrameRecord(f.index, os.path.basename(f.path), f.t, f.confidence, f.seconds)
            on_frame(FrameEvent(event.job.frames_total, record, f.resumed))

    return _run_on_server(address, lambda client: client.submit(request_spec(spec), farm_chunk=farm_chunk).job,
                          relay)


def retime_on_server(address: str, spec: RetimeSpec,
                     on_progress: Callable[[Progress], None] | None = None,
                     farm_chunk: tuple[int, int] | None = None) -> dict:
    """Retime on the daemon at ``address``; returns the retime's JSON report (with
    ``farm_chunk``: that chunk of its planned farm job, and its record).

    ``on_progress`` gets a `Progress` whenever the job's frame count moves (``frame`` is
    None: the daemon reports counts, not frames), so ``segue retime``'s bar works unchanged.
    """
    spec.validate()  # the cheap checks locally, before any network
    started = time.perf_counter()
    shown = -1

    def relay(event: pb.WatchJobResponse) -> None:
        nonlocal shown
        job = event.job
        if on_progress and job.frames_total and job.frames_done != shown:
            shown = job.frames_done
            on_progress(Progress(job.frames_done, job.frames_total, None, False, time.perf_counter() - started,
                                 job.frames_done))

    return _run_on_server(address, lambda client: client.submit_retime(request_retime_spec(spec),
                                                                       farm_chunk=farm_chunk).job, relay)


def _run_on_server(address: str, submit: Callable[[RenderClient], pb.Job],
                   relay: Callable[[pb.WatchJobResponse], None]) -> dict:
    """Submit, follow the job to its end (Ctrl-C cancels it), map the outcome to the CLI's errors."""
    with client_from_env(address) as client:
        try:
            job = submit(client)
            try:
                for event in client.watch(job.job_id):
                    job = event.job
                    relay(event)
            except KeyboardInterrupt:
                _cancel_quietly(client, job.job_id)
                raise
        except RenderError as exc:
            if exc.code == "UNAVAILABLE":
                raise InputError(f"--server {address}: no segue-renderd answers there ({exc.message}); "
                                 "start one with `segue-renderd serve`") from None
            if exc.code == "UNAUTHENTICATED":
                raise InputError(f"--server {address}: the daemon refused the token ({exc.message}); it was started "
                                 f"by another user or with --token-file: set {TOKEN_ENV} to its token file") from None
            if exc.code in USER_CODES:
                raise InputError(f"--server {address}: {exc.message}") from None
            raise RuntimeError(f"segue-renderd at {address}: {exc}") from None
        if job.state == pb.JOB_STATE_SUCCEEDED:
            try:  # events carry progress only: the report is fetched once, at the end
                return json.loads(client.report(job.job_id))
            except RenderError as exc:
                raise RuntimeError(f"segue-renderd at {address}: job {job.job_id} succeeded, but its report "
                                   f"could not be fetched: {exc}") from None
    if job.state == pb.JOB_STATE_CANCELLED:
        raise CancelledError(f"job {job.job_id} was cancelled on the daemon after "
                             f"{job.frames_done} of {job.frames_total} frames")
    if job.error.code in USER_CODES:
        raise InputError(job.error.message)
    raise RuntimeError(f"job {job.job_id} failed on the daemon: {job.error.message}")


def _cancel_quietly(client: RenderClient, job_id: str) -> None:
    try:
        client.cancel_job(job_id)
    except RenderError:
        pass  # the daemon is gone or the job ended: nothing left to stop
