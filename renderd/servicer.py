"""The `Render` service: protobuf in, job service call, protobuf out, errors to status codes.

Thin on purpose. It converts messages (`spec_from_proto`, `retime_spec_from_proto`,
`job_to_proto`) and maps `renderd.errors.RequestError` to its status code;
INVALID_ARGUMENT also carries a ``google.rpc.BadRequest`` detail naming the field (read
it with ``grpc_status.rpc_status.from_call``). A client mistake is logged as one line;
any other exception is an internal error: logged with its traceback, answered INTERNAL.

Answers have bounded sizes: a job's report travels only in GetJob (views FULL and
REPORT), and GetJob's frames and ListJobs' jobs are cut into pages of at most
`MAX_PAGE_BYTES` (at least one item each), so no answer nears gRPC's default 4 MiB
receive limit however many frames or jobs there are.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from segue.core.farm import MAX_CHUNKS
from segue.core.retime import RetimeSpec
from segue.core.transition import TransitionSpec
from segue.renderd import logs
from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc
from segue.renderd.errors import InvalidArgument, RequestError
from segue.renderd.farm_bundle import write_farm_bundle
from segue.renderd.jobs import Event, JobService, frames_page_token_after, page_token_after
from segue.renderd.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RETIME,
    RUNNING,
    SUCCEEDED,
    TRANSITION,
    FrameRow,
    JobRow,
)
from segue.renderd.validation import MAX_NAME

STATE_TO_PROTO = {QUEUED: pb.JOB_STATE_QUEUED, RUNNING: pb.JOB_STATE_RUNNING, SUCCEEDED: pb.JOB_STATE_SUCCEEDED,
                  FAILED: pb.JOB_STATE_FAILED, CANCELLED: pb.JOB_STATE_CANCELLED}
STATE_FROM_PROTO = {v: k for k, v in STATE_TO_PROTO.items()}
KIND_TO_PROTO = {TRANSITION: pb.JOB_KIND_TRANSITION, RETIME: pb.JOB_KIND_RETIME}
_RETIME_DEFAULTS = RetimeSpec(input="", output="")
#: serialized size a page of frames or jobs stays under (with one item over it alone)
MAX_PAGE_BYTES = 1 << 20
#: GetJob views: (with the report, with frames)
_VIEWS = {pb.JOB_VIEW_UNSPECIFIED: (True, True), pb.JOB_VIEW_FULL: (True, True), pb.JOB_VIEW_BASIC: (False, False),
          pb.JOB_VIEW_REPORT: (True, False), pb.JOB_VIEW_FRAMES: (False, True)}
_log = logs.get("rpc")


def spec_from_proto(m: pb.TransitionSpec) -> TransitionSpec:
    """A request's spec with the documented defaults filled in (see render.proto)."""
    return TransitionSpec(
        clip_a=m.clip_a, clip_b=m.clip_b, frames=m.frames, out_dir=m.out_dir,
        a_out=m.a_out if m.HasField("a_out") else -1, b_in=m.b_in if m.HasField("b_in") else 0,
        model=m.model or "auto", format=m.format or "png", colorspace_a=m.colorspace_a or None,
        colorspace_b=m.colorspace_b or None, colorspace_out=m.colorspace_out or None,
        ocio_config=m.ocio_config or None, conform=m.conform or "fit",
        preview=m.preview if m.HasField("preview") else True, maps=m.HasField("maps") and m.maps,
        movie=m.movie or None)


def spec_to_proto(spec: dict[str, Any]) -> pb.TransitionSpec:
    """A stored spec (`TransitionSpec` as a dict) as a message; None fields stay empty."""
    return pb.TransitionSpec(**{k: v for k, v in spec.items() if v is not None})


def retime_spec_from_proto(m: pb.RetimeSpec) -> RetimeSpec:
    """A retime request's spec with the documented defaults filled in (see render.proto)."""
    d = _RETIME_DEFAULTS
    return RetimeSpec(
        input=m.input, output=m.output, fps=m.fps or None, factor=m.factor or None, slowmo=m.slowmo or None,
        codec=m.codec or None, model=m.model or d.model,
        scene_threshold=m.scene_threshold if m.HasField("scene_threshold") else d.scene_threshold,
        dedup=m.dedup if m.HasField("dedup") else d.dedup,
        dup_threshold=m.dup_threshold if m.HasField("dup_threshold") else d.dup_threshold,
        audio=m.audio or d.audio, input_fps=m.input_fps or None, colorspace_in=m.colorspace_in or None,
        colorspace_out=m.colorspace_out or None, ocio_config=m.ocio_config or None, resume=m.resume,
        overwrite=m.overwrite)


def retime_spec_to_proto(spec: dict[str, Any]) -> pb.RetimeSpec:
    """A stored retime spec (`RetimeSpec` as a dict) as a message; None fields stay unset."""
    return pb.RetimeSpec(**{k: v for k, v in spec.items() if v is not None})


def farm_chunk_from_proto(request: pb.SubmitTransitionRequest | pb.SubmitRetimeRequest) -> tuple[int, int] | None:
    """The request's farm chunk ``(chunks, chunk)``, if it has one; `InvalidArgument` for numbers out of range."""
    if not request.HasField("farm_chunk"):
        return None
    chunks, chunk = request.farm_chunk.chunks, request.farm_chunk.chunk
    if not 1 <= chunks <= MAX_CHUNKS:
        raise InvalidArgument(f"must be 1..{MAX_CHUNKS}, got {chunks}", "farm_chunk.chunks")
    if not 1 <= chunk <= chunks:
        raise InvalidArgument(f"must be 1..{chunks} (farm_chunk.chunks), got {chunk}", "farm_chunk.chunk")
    return chunks, chunk


def job_to_proto(job: JobRow, report: bool = False) -> pb.Job:
    """A stored job as a message; its report (``report_json``) only if ``report``."""
    m = pb.Job(job_id=job.id, state=STATE_TO_PROTO[job.state], kind=KIND_TO_PROTO[job.kind],
               idempotency_key=job.idempotency_key, frames_done=job.frames_done, frames_total=job.frames_total,
               preview_path=job.preview_path, cancel_requested=job.cancel_requested, attempts=job.attempts,
               report_json=job.report if report else "")
    if job.kind == RETIME:
        m.retime_spec.CopyFrom(retime_spec_to_proto(job.spec))
    else:
        m.spec.CopyFrom(spec_to_proto(job.spec))
    if job.farm_chunk is not None:
        m.farm_chunk.chunks, m.farm_chunk.chunk = job.farm_chunk
    if job.eta_seconds is not None:
        m.eta_seconds = job.eta_seconds
    if job.error_code:
        m.error.code, m.error.message = job.error_code, job.error_message
    for name, value in (("create_time", job.created), ("start_time", job.started), ("end_time", job.finished)):
        if value is not None:
            getattr(m, name).FromNanoseconds(int(value * 1e9))
    return m


def frame_to_proto(frame: FrameRow) -> pb.Frame:
    """A stored frame as a message."""
    return pb.Frame(index=frame.index, path=frame.path, t=frame.t, confidence=frame.confidence,
                    seconds=frame.seconds, resumed=frame.resumed)


def _fitting(messages: list[Any], budget: int = MAX_PAGE_BYTES) -> int:
    """How many leading ``messages`` fit in ``budget`` serialized bytes (at least one, if any)."""
    total = 0
    for count, message in enumerate(messages):
        total += message.ByteSize() + 6  # field tag and length prefix
        if total > budget and count:
            return count
    return len(messages)


def _event_to_proto(event: Event) -> pb.WatchJobResponse:
    m = pb.WatchJobResponse(job=job_to_proto(event.job))
    if event.frame is not None:
        m.frame.CopyFrom(frame_to_proto(event.frame))
    return m


def abort(context: grpc.ServicerContext, error: RequestError, method: str) -> None:
    """End the call with ``error``'s status code (and BadRequest detail for INVALID_ARGUMENT)."""
    code = grpc.StatusCode[error.code]
    logs.event(_log, logging.INFO, "request.refused", method=method, code=error.code, message=str(error))
    status = status_pb2.Status(code=code.value[0], message=str(error))
    if isinstance(error, InvalidArgument) and error.field:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.description)]))
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))


def _internal(context: grpc.ServicerContext, method: str) -> None:
    logs.event(_log, logging.ERROR, "request.crashed", exc_info=True, method=method)
    context.abort(grpc.StatusCode.INTERNAL, "internal error in segue-renderd; see its log")


def _unary(method: Callable) -> Callable:
    @functools.wraps(method)
    def handler(self: RenderServicer, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except RequestError as exc:
            abort(context, exc, method.__name__)
        except Exception:  # noqa: BLE001 - the daemon answers, whatever happened
            _internal(context, method.__name__)
    return handler


def _streaming(method: Callable) -> Callable:
    @functools.wraps(method)
    def handler(self: RenderServicer, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from method(self, request, context)
        except RequestError as exc:
            abort(context, exc, method.__name__)
        except Exception:  # noqa: BLE001
            _internal(context, method.__name__)
    return handler


class RenderServicer(render_pb2_grpc.RenderServicer):
    """`segue.render.v1.Render` on top of a `JobService`."""

    def __init__(self, jobs: JobService, capabilities: pb.GetCapabilitiesResponse) -> None:
        self.jobs = jobs
        self.capabilities = capabilities

    @_unary
    def GetCapabilities(self, request: pb.GetCapabilitiesRequest, context: grpc.ServicerContext):
        return self.capabilities

    @_unary
    def SubmitTransition(self, request: pb.SubmitTransitionRequest, context: grpc.ServicerContext):
        if not request.HasField("spec"):
            raise InvalidArgument("is missing: say what to render", "spec")
        job, deduplicated = self.jobs.submit(spec_from_proto(request.spec), request.idempotency_key,
                                             farm_chunk_from_proto(request))
        return pb.SubmitTransitionResponse(job=job_to_proto(job), deduplicated=deduplicated)

    @_unary
    def SubmitRetime(self, request: pb.SubmitRetimeRequest, context: grpc.ServicerContext):
        if not request.HasField("spec"):
            raise InvalidArgument("is missing: say what to retime", "spec")
        job, deduplicated = self.jobs.submit(retime_spec_from_proto(request.spec), request.idempotency_key,
                                             farm_chunk_from_proto(request))
        return pb.SubmitRetimeResponse(job=job_to_proto(job), deduplicated=deduplicated)

    @_streaming
    def WatchJob(self, request: pb.WatchJobRequest, context: grpc.ServicerContext):
        backlog, watch = self.jobs.watch(request.job_id, request.after_frame)
        if not context.add_callback(watch.close):  # the client went away: free the watch at once
            watch.close()  # it already has: nothing would ever close it
        try:
            for event in backlog:
                yield _event_to_proto(event)
            for event in watch:
                yield _event_to_proto(event)
        finally:
            watch.close()

    @_unary
    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext):
        if request.view not in _VIEWS:
            raise InvalidArgument(f"{request.view} is not a job view (0..4)", "view")
        report, with_frames = _VIEWS[request.view]
        job, frames, more = self.jobs.get(request.job_id, with_frames, request.frames_page_size,
                                          request.frames_page_token)
        answer = pb.GetJobResponse(job=job_to_proto(job, report=report))
        messages = [frame_to_proto(f) for f in frames]
        kept = _fitting(messages, MAX_PAGE_BYTES - answer.ByteSize())
        answer.frames.extend(messages[:kept])
        if more or kept < len(messages):
            answer.next_frames_page_token = frames_page_token_after(frames[kept - 1])
        return answer

    @_unary
    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext):
        return pb.CancelJobResponse(job=job_to_proto(self.jobs.cancel(request.job_id)))

    @_unary
    def WriteFarmBundle(self, request: pb.WriteFarmBundleRequest, context: grpc.ServicerContext):
        if len(request.name) > MAX_NAME or "\x00" in request.name:
            raise InvalidArgument(f"must be at most {MAX_NAME} characters, without NUL", "name")
        files, planned = write_farm_bundle([spec_from_proto(c) for c in request.cuts], request.chunks,
                                           request.bundle_dir, request.name, self.jobs.policy)
        return pb.WriteFarmBundleResponse(files=files, cuts=[
            pb.PlannedTransition(frame_paths=p.frames, colorspace=p.colorspace, width=p.width, height=p.height)
            for p in planned])

    @_unary
    def ListJobs(self, request: pb.ListJobsRequest, context: grpc.ServicerContext):
        states = []
        for value in request.states:
            if value not in STATE_FROM_PROTO:
                raise InvalidArgument(f"{value} is not a job state (1..5)", "states")
            states.append(STATE_FROM_PROTO[value])
        jobs, token = self.jobs.list(tuple(states), request.page_size, request.page_token)
        messages = [job_to_proto(j) for j in jobs]
        kept = _fitting(messages)
        if kept < len(messages):
            token = page_token_after(jobs[kept - 1])
        return pb.ListJobsResponse(jobs=messages[:kept], next_page_token=token)
