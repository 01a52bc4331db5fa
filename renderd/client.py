"""The one client of segue-renderd: channel, token, deadlines, retry with backoff.

Used by ``segue transition --server``, ``segue retime --server`` and by the Blender and
Resolve plugins. It needs only grpcio, protobuf and the generated stubs next to it
(``_proto``, imported relatively), so the plugins can vendor this file with that folder;
``grpc_status`` and ``grpc_health`` are optional extras it uses when present.

    with RenderClient("127.0.0.1:50051", token=local_token("127.0.0.1:50051")) as client:
        job = client.submit({"clip_a": "/abs/a.mov", "clip_b": "/abs/b.mov", "frames": 8,
                             "out_dir": "/abs/out"}).job
        for event in client.watch(job.job_id):
            print(event.job.frames_done, "/", event.job.frames_total)

Every failure is a `RenderError` carrying the gRPC status code name, the daemon's
message and, for INVALID_ARGUMENT, the field at fault. Unary calls have a deadline
(``timeout``) and are retried with exponential backoff and jitter on UNAVAILABLE and
DEADLINE_EXCEEDED: that is safe because every call is idempotent, a submit thanks to
its idempotency key (generated once per `submit`, reused by its retries). `watch`
reconnects the same way and asks only for frames it has not yielded yet, so a daemon
restart mid-job is invisible to the caller beyond a pause.

Events carry progress, not the job's report: `get_job` fetches it (and the frames,
page by page, merged into one answer), `report` just the report.
"""
from __future__ import annotations

import ipaddress
import os
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from ._proto import render_pb2 as pb
from ._proto import render_pb2_grpc

FINAL_STATES = frozenset({pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED})
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
#: extra deadline a WriteFarmBundle call gets per cut (the daemon probes each cut's clips)
FARM_SECONDS_PER_CUT = 2.0
#: WatchJob is long-lived: a lost daemon shows up as failed pings, not a deadline
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 << 20),
                    ("grpc.keepalive_time_ms", 30_000), ("grpc.keepalive_timeout_ms", 10_000),
                    ("grpc.http2.max_pings_without_data", 0)]


class RenderError(Exception):
    """A call failed. ``code`` is the gRPC status code name (e.g. ``"NOT_FOUND"``)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field

    @property
    def cut(self) -> int | None:
        """The 0-based cut a `RenderClient.write_farm_bundle` refusal names (its field ``cuts[K]...``), or None."""
        found = re.match(r"cuts\[(\d+)\]", self.field or "")
        return int(found.group(1)) if found else None

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> RenderError:
        """Wrap a `grpc.RpcError`, reading the BadRequest field if grpc_status is installed."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        return cls(code.name, message or code.name, _bad_request_field(error))


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: ``initial * multiplier**n`` capped at ``maximum``, +-``jitter`` share."""

    attempts: int = 6
    initial: float = 0.2
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, failure: int) -> float:
        """Seconds to wait after the ``failure``-th consecutive failure (0-based)."""
        base = min(self.maximum, self.initial * self.multiplier ** failure)
        return base * (1 + self.jitter * (2 * random.random() - 1))


def read_token(path: str | os.PathLike[str]) -> str:
    """The bearer token in a file (``~`` expanded, surrounding whitespace dropped)."""
    with open(os.path.expanduser(os.fspath(path)), encoding="utf-8") as f:
        return f.read().strip()


#: name of this user's daemon token in `user_config_dir` (`segue-renderd serve` writes it)
LOCAL_TOKEN_NAME = "renderd.token"


def user_config_dir() -> str:
    """Where Segue keeps this user's settings: ``$XDG_CONFIG_HOME/segue`` (``~/.config/segue``),
    ``~/Library/Application Support/Segue`` on macOS, ``%APPDATA%\\Segue`` on Windows."""
    if sys.platform == "win32":
        return os.path.join(os.environ.get("APPDATA") or os.path.expanduser(r"~\AppData\Roaming"), "Segue")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Application Support", "Segue")
    return os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"),
                        "segue")


def local_token_file() -> str:
    """The file in which a ``segue-renderd serve`` started by this user keeps its token."""
    return os.path.join(user_config_dir(), LOCAL_TOKEN_NAME)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IPs. Other names are not resolved: a name
    that happens to point at 127.0.0.1 today may not tomorrow, so it counts as network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_address(address: str) -> bool:
    """True if ``host:port`` (``[v6]:port``) names this machine by a loopback IP or ``localhost``."""
    return is_loopback_host(address.strip().rpartition(":")[0].strip("[]"))


def local_token(address: str) -> str | None:
    """This user's daemon token for a daemon on this machine, or None.

    A daemon started with ``segue-renderd serve`` and no ``--token-file`` creates the token
    in `local_token_file` (readable by this user only) and requires it from every call;
    clients of the same user send it without being told. It is never sent to a daemon on
    another machine (``address`` not loopback), nor read if the file is missing.
    """
    if not is_loopback_address(address):
        return None
    try:
        return read_token(local_token_file()) or None
    except OSError:
        return None


class RenderClient:
    """A connection to one segue-renderd. Thread-safe; the channel opens on first use.

    Args:
        address: ``host:port`` of the daemon.
        token: bearer token, if the daemon has ``--token-file``.
        tls: use TLS (implied by ``root_certificates``); without root certificates the
            system's trust store verifies the daemon.
        root_certificates: PEM bytes of the CA (or self-signed certificate) to trust.
        tls_server_name: the name the certificate was issued for, if not ``address``'s host.
        timeout: deadline of each unary call attempt, in seconds.
        retry: backoff policy for unreachable daemons and deadlines.
    """

    def __init__(self, address: str, *, token: str | None = None, tls: bool = False,
                 root_certificates: bytes | None = None, tls_server_name: str | None = None,
                 timeout: float = 30.0, retry: Retry = Retry()) -> None:
        self.address = address
        self.timeout = timeout
        self.retry = retry
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._tls = tls or root_certificates is not None
        self._roots = root_certificates
        self._server_name = tls_server_name
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: render_pb2_grpc.RenderStub | None = None

    # -- channel --------------------------------------------------------------------

    @property
    def channel(self) -> grpc.Channel:
        """The gRPC channel, created on first use."""
        with self._lock:
            if self._channel is None:
                options = list(_CHANNEL_OPTIONS)
                if self._server_name:
                    options.append(("grpc.ssl_target_name_override", self._server_name))
                if self._tls:
                    credentials = grpc.ssl_channel_credentials(root_certificates=self._roots)
                    self._channel = grpc.secure_channel(self.address, credentials, options=options)
                else:
                    self._channel = grpc.insecure_channel(self.address, options=options)
                self._stub = render_pb2_grpc.RenderStub(self._channel)
            return self._channel

    @property
    def stub(self) -> render_pb2_grpc.RenderStub:
        """The generated stub on `channel`, for calls this class does not wrap."""
        self.channel  # noqa: B018 - creates the stub
        return self._stub

    def close(self) -> None:
        """Close the channel (a later call opens a new one)."""
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = None

    def __enter__(self) -> RenderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ----------------------------------------------------------------------

    def capabilities(self) -> pb.GetCapabilitiesResponse:
        """Models, formats and limits of the daemon."""
        return self._call("GetCapabilities", pb.GetCapabilitiesRequest())

    def submit(self, spec: pb.TransitionSpec | Mapping[str, Any], idempotency_key: str | None = None,
               farm_chunk: tuple[int, int] | None = None) -> pb.SubmitTransitionResponse:
        """Queue a transition. ``spec``: a message or a dict of its fields (paths absolute).

        A key is generated if none is given; retries reuse it, so a submit whose answer
        was lost is not rendered twice. ``farm_chunk``: ``(chunks, chunk)`` to render only
        that chunk of the transition's planned farm job.
        """
        request = pb.SubmitTransitionRequest(idempotency_key=idempotency_key or uuid.uuid4().hex,
                                             spec=_transition_spec(spec))
        if farm_chunk:
            request.farm_chunk.chunks, request.farm_chunk.chunk = farm_chunk
        return self._call("SubmitTransition", request)

    def submit_retime(self, spec: pb.RetimeSpec | Mapping[str, Any], idempotency_key: str | None = None,
                      farm_chunk: tuple[int, int] | None = None) -> pb.SubmitRetimeResponse:
        """Queue a whole-clip retime. ``spec``: a message or a dict of its fields (paths
        absolute; ``fps``/``factor``/``slowmo`` as strings). Keys, retries and ``farm_chunk``
        as for `submit`.
        """
        message = spec if isinstance(spec, pb.RetimeSpec) else pb.RetimeSpec(
            **{k: v for k, v in spec.items() if v is not None})
        request = pb.SubmitRetimeRequest(idempotency_key=idempotency_key or uuid.uuid4().hex, spec=message)
        if farm_chunk:
            request.farm_chunk.chunks, request.farm_chunk.chunk = farm_chunk
        return self._call("SubmitRetime", request)

    def write_farm_bundle(self, cuts: list[pb.TransitionSpec | Mapping[str, Any]], chunks: int, bundle_dir: str,
                          name: str = "") -> pb.WriteFarmBundleResponse:
        """Write the job bundle that renders ``cuts`` on a render farm (docs/farm.md) into
        ``bundle_dir`` (absolute, on the daemon's machine). The answer lists the files and,
        per cut, the frame files the farm will write (placeholders until then).

        The daemon opens every cut's clips to check them: the call's deadline grows with
        the number of cuts.
        """
        request = pb.WriteFarmBundleRequest(chunks=chunks, bundle_dir=bundle_dir, name=name,
                                            cuts=[_transition_spec(c) for c in cuts])
        return self._call("WriteFarmBundle", request, timeout=self.timeout + FARM_SECONDS_PER_CUT * len(cuts))

    def get_job(self, job_id: str, view: int = pb.JOB_VIEW_FULL) -> pb.GetJobResponse:
        """A job and, by ``view`` (a `pb.JobView`), its report and every finished frame.

        The daemon sends frames in pages of bounded size; this follows them and returns
        one answer holding all of them.
        """
        answer = self._call("GetJob", pb.GetJobRequest(job_id=job_id, view=view))
        token = answer.next_frames_page_token
        while token:
            page = self._call("GetJob", pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_FRAMES,
                                                         frames_page_token=token))
            answer.frames.extend(page.frames)
            token = page.next_frames_page_token
        answer.next_frames_page_token = ""
        return answer

    def report(self, job_id: str) -> str:
        """The job's report (``report_json``; empty until it has succeeded)."""
        return self._call("GetJob", pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_REPORT)).job.report_json

    def cancel_job(self, job_id: str) -> pb.Job:
        """Ask the daemon to cancel a job; returns the job after the request."""
        return self._call("CancelJob", pb.CancelJobRequest(job_id=job_id)).job

    def list_jobs(self, states: tuple[int, ...] = (), page_size: int = 0, page_token: str = "") -> pb.ListJobsResponse:
        """One page of jobs, newest first (``states``: `pb.JobState` values)."""
        return self._call("ListJobs", pb.ListJobsRequest(states=states, page_size=page_size, page_token=page_token))

    def watch(self, job_id: str) -> Iterator[pb.WatchJobResponse]:
        """Progress events of a job until it is final, reconnecting when the daemon drops.

        Each finished frame is yielded once: a reconnect asks the daemon only for frames
        after the last one yielded (and skips any repeat a daemon older than that option
        sends). Events carry no report: use `report` or `get_job` once the job is final.
        Raises `RenderError` when the daemon stays unreachable for the whole retry budget
        or refuses the watch.
        """
        seen: set[int] = set()
        failures = 0
        final = False
        while True:
            request = pb.WatchJobRequest(job_id=job_id, after_frame=max(seen, default=0))
            call = self.stub.WatchJob(request, metadata=self._metadata)
            try:
                for event in call:
                    failures = 0
                    if event.HasField("frame"):
                        if event.frame.index in seen:
                            continue
                        seen.add(event.frame.index)
                    yield event
                    # A finished job's stream replays its frames, each with the final state;
                    # it ends by itself after the last, so read on until then.
                    final = event.job.state in FINAL_STATES
                if final:
                    return
                error: grpc.RpcError | None = None  # ended early: treat like a dropped connection
            except grpc.RpcError as exc:
                if final:
                    return  # dropped during the replay of a finished job: its state is known
                if exc.code() not in RETRYABLE:
                    raise RenderError.from_rpc(exc) from None
                error = exc
            finally:
                call.cancel()
            if failures >= self.retry.attempts - 1:
                if error is None:
                    raise RenderError("UNAVAILABLE", f"the watch of job {job_id} kept ending early")
                raise RenderError.from_rpc(error) from None
            time.sleep(self.retry.delay(failures))
            failures += 1

    def wait(self, job_id: str, on_event: Callable[[pb.WatchJobResponse], None] | None = None) -> pb.Job:
        """Block until the job is final; returns it. ``on_event`` sees every event of `watch`."""
        job = None
        for event in self.watch(job_id):
            if on_event:
                on_event(event)
            job = event.job
        return job

    def health(self, service: str = "") -> str:
        """The daemon's health status name (``"SERVING"``); needs grpcio-health-checking."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        response = self._retrying(lambda: stub.Check(health_pb2.HealthCheckRequest(service=service),
                                                     timeout=self.timeout, metadata=self._metadata))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        rpc = getattr(self.stub, method)
        return self._retrying(lambda: rpc(request, timeout=timeout or self.timeout, metadata=self._metadata))

    def _retrying(self, attempt: Callable[[], Any]) -> Any:
        for failure in range(self.retry.attempts):
            try:
                return attempt()
            except grpc.RpcError as exc:
                if exc.code() not in RETRYABLE or failure == self.retry.attempts - 1:
                    raise RenderError.from_rpc(exc) from None
            time.sleep(self.retry.delay(failure))
        raise AssertionError("unreachable")  # pragma: no cover


def _transition_spec(spec: pb.TransitionSpec | Mapping[str, Any]) -> pb.TransitionSpec:
    """A message, or a dict of its fields (None: unset) as one."""
    if isinstance(spec, pb.TransitionSpec):
        return spec
    return pb.TransitionSpec(**{k: v for k, v in spec.items() if v is not None})


def _bad_request_field(error: grpc.RpcError) -> str | None:
    """The first field of a google.rpc.BadRequest detail, if any and if grpc_status is available."""
    try:
        from google.rpc import error_details_pb2
        from grpc_status import rpc_status
    except ImportError:
        return None
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError):
        return None
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            info = error_details_pb2.BadRequest()
            detail.Unpack(info)
            if info.field_violations:
                return info.field_violations[0].field
    return None


# -- model names in an editor's words ----------------------------------------------------
# GetCapabilities lists technical names ("auto", "classic", a learned model's name); the
# editor plugins show these labels and keep the technical name in a tooltip. For a
# transition "auto" runs "classic" (docs/renderd.md), so the capabilities' default_model,
# which is what "auto" runs for retimes, is deliberately not what they show.

AUTO_MODEL = "auto"
CLASSIC_MODEL = "classic"


def model_label(name: str) -> str:
    """``Automatic``, ``Fast (classic)`` or ``Best quality (learned)``."""
    if name == AUTO_MODEL:
        return "Automatic"
    if name == CLASSIC_MODEL:
        return "Fast (classic)"
    return "Best quality (learned)"


def model_labels(names: list[str]) -> list[str]:
    """`model_label` of each name; names that would share a label get their technical name added."""
    plain = [model_label(n) for n in names]
    return [f"{text} - {name}" if plain.count(text) > 1 else text for text, name in zip(plain, names)]


def model_description(name: str) -> str:
    """What the model does, then its technical name (a model menu's tooltip)."""
    if name == AUTO_MODEL:
        what = ("Segue chooses: for a transition it runs the classic model (the learned one adds nothing on a "
                "jump cut and is slower).")
    elif name == CLASSIC_MODEL:
        what = "Optical flow and warping, no learning: fast, and what Automatic runs for a transition."
    else:
        what = "A learned model: slower than the classic one."
    return f"{what} Technical name: {name}"


def low_confidence_warning(report: dict[str, Any]) -> str:
    """An editor's warning for a transition report's low-confidence frames, or ``""`` if none.

    The frames named are likely to ghost or tear (transition.json's ``low_confidence``).
    """
    frames = (report.get("low_confidence") or {}).get("frames") or []
    if not frames:
        return ""
    shown = ", ".join(str(k) for k in frames[:12]) + (" ..." if len(frames) > 12 else "")
    return (f"Check frame{'s' if len(frames) > 1 else ''} {shown} before using {'them' if len(frames) > 1 else 'it'}: "
            "Segue is not confident in them (they may ghost or tear). Fewer frames, the other placement or a "
            "plain dissolve may look better.")
