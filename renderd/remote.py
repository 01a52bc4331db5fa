"""``segue transition --server HOST:PORT``: the same job, rendered by a segue-renderd.

`render_on_server` submits a `core.transition.TransitionSpec` through the shared
`RenderClient`, relays progress as the engine's own `FrameEvent` (so the CLI draws the
same progress bar as for a local render) and returns the job's ``transition.json``,
raising the engine's error types so the CLI keeps its exit codes:

* a refused request (bad field, missing or unreadable media, path not allowed, busy
  output folder, full queue) or an unreachable daemon: `InputError` (exit 2);
* a job cancelled on the daemon: `CancelledError`; an internal failure: `RuntimeError`.

Ctrl-C cancels the job on the daemon before it propagates; finished frames stay, and
running the same command again resumes them.

Connection settings come from the environment, since the CLI has one flag for this:
``SEGUE_RENDERD_TOKEN_FILE`` (bearer token) and ``SEGUE_RENDERD_TLS_CA`` (PEM file of
the CA to trust; setting it turns TLS on).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from core.errors import CancelledError, InputError
from core.transition import FrameEvent, FrameRecord, TransitionSpec
from renderd._proto import render_pb2 as pb
from renderd.client import RenderClient, RenderError, read_token

TOKEN_ENV = "SEGUE_RENDERD_TOKEN_FILE"
CA_ENV = "SEGUE_RENDERD_TLS_CA"
#: status codes that mean "fix your request or your setup", not "segue is broken"
USER_CODES = {"INVALID_ARGUMENT", "NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED", "ALREADY_EXISTS",
              "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED"}


def client_from_env(address: str) -> RenderClient:
    """A `RenderClient` for ``address`` with the token and CA named in the environment."""
    token_file, ca_file = os.environ.get(TOKEN_ENV), os.environ.get(CA_ENV)
    try:
        token = read_token(token_file) if token_file else None
        roots = Path(ca_file).read_bytes() if ca_file else None
    except OSError as exc:
        name = TOKEN_ENV if token_file and exc.filename == os.path.expanduser(token_file) else CA_ENV
        raise InputError(f"{name}: cannot read {exc.filename} ({exc.strerror})") from None
    return RenderClient(address, token=token, root_certificates=roots)


def request_spec(spec: TransitionSpec) -> dict:
    """The spec as request fields, local paths made absolute (the daemon has no working directory)."""
    fields = asdict(spec)
    for name in ("clip_a", "clip_b", "out_dir"):
        fields[name] = os.path.abspath(fields[name])
    if spec.ocio_config and not spec.ocio_config.startswith("ocio://"):
        fields["ocio_config"] = os.path.abspath(spec.ocio_config)
    if spec.model.lower().endswith(".onnx"):
        fields["model"] = os.path.abspath(spec.model)
    return fields


def render_on_server(address: str, spec: TransitionSpec,
                     on_frame: Callable[[FrameEvent], None] | None = None) -> dict:
    """Render ``spec`` on the daemon at ``address``; returns the ``transition.json`` content."""
    spec.validate()  # the cheap checks locally, before any network
    with client_from_env(address) as client:
        try:
            job = client.submit(request_spec(spec)).job
            try:
                for event in client.watch(job.job_id):
                    job = event.job
                    if on_frame and event.HasField("frame"):
                        f = event.frame
                        record = FrameRecord(f.index, os.path.basename(f.path), f.t, f.confidence, f.seconds)
                        on_frame(FrameEvent(job.frames_total, record, f.resumed))
            except KeyboardInterrupt:
                _cancel_quietly(client, job.job_id)
                raise
        except RenderError as exc:
            if exc.code == "UNAVAILABLE":
                raise InputError(f"--server {address}: no segue-renderd answers there ({exc.message}); "
                                 "start one with `segue-renderd serve`") from None
            if exc.code in USER_CODES:
                raise InputError(f"--server {address}: {exc.message}") from None
            raise RuntimeError(f"segue-renderd at {address}: {exc}") from None
    if job.state == pb.JOB_STATE_SUCCEEDED:
        return json.loads(job.report_json)
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
