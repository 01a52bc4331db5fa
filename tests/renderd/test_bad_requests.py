"""The bad-request corpus: every client mistake gets the right status code and a message
naming the problem, and the daemon neither crashes nor logs a traceback for any of them."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from renderd_harness import BBB, SAFETY, TAKE_A, TAKE_B, RenderdProcess, transition

from segue.core.media.ffmpeg import find_ffmpeg
from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc

pytest_plugins = ("renderd_fixtures",)

C = grpc.StatusCode


@dataclass
class Media:
    """Files for the corpus: inside the allowed root, and outside it."""

    root: Path
    outside: Path


@pytest.fixture(scope="module")
def media(renderd, allowed_root, tmp_path_factory) -> Media:
    root = allowed_root / "corpus"
    root.mkdir()
    outside = tmp_path_factory.mktemp("outside")
    shutil.copy(BBB[0], outside / "secret.png")
    (outside / "dir").mkdir()
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    (root / "truncated.mp4").write_bytes(TAKE_A.read_bytes()[:3000])
    (root / "notes.txt").write_text("not media")
    cv2.imwrite(str(root / "odd.png"), np.full((51, 65, 3), 90, np.uint8))
    (root / "empty-folder").mkdir()
    (root / "a-file").write_text("not a folder")
    (root / "model.onnx").write_bytes(b"not really a model")
    (root / "escape.png").symlink_to(outside / "secret.png")
    (root / "escape-dir").symlink_to(outside / "dir")
    seq = root / "seq"
    seq.mkdir()
    shutil.copy(BBB[0], seq / "f.0001.png")
    (seq / "f.0002.png").symlink_to(outside / "secret.png")
    subprocess.run([find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-i", str(TAKE_B), "-r", "30",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "b_30fps.mp4")], check=True, timeout=SAFETY)
    return Media(root, outside)


def spec(m: Media, **changes) -> pb.TransitionSpec:
    base = transition(BBB[0], BBB[1], m.root / "out" / uuid.uuid4().hex)
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def submit(d: RenderdProcess, request_spec: pb.TransitionSpec | None, key: str | None = None, **kw):
    request = pb.SubmitTransitionRequest(idempotency_key=uuid.uuid4().hex if key is None else key)
    if request_spec is not None:
        request.spec.CopyFrom(request_spec)
    return d.call("SubmitTransition", request, **kw)


def key_reused(d, m):
    key = uuid.uuid4().hex
    submit(d, spec(m), key)
    submit(d, spec(m, frames=2), key)


def cancel_finished(d, m):
    job = submit(d, spec(m)).job
    d.wait_final(job.job_id)
    d.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id))


def raw(d, method: str, payload: bytes, metadata=None):
    call = d.channel().unary_unary(method, request_serializer=None, response_deserializer=None)
    return call(payload, metadata=d.metadata if metadata is None else metadata, timeout=SAFETY)


def health_check(d, metadata):
    stub = health_pb2_grpc.HealthStub(d.channel())
    return stub.Check(health_pb2.HealthCheckRequest(), metadata=metadata, timeout=SAFETY)


def watch(d, job_id: str, metadata=None):
    stub = render_pb2_grpc.RenderStub(d.channel())
    return list(stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=d.metadata if metadata is None else metadata,
                              timeout=SAFETY))


def caps(d, metadata):
    return render_pb2_grpc.RenderStub(d.channel()).GetCapabilities(pb.GetCapabilitiesRequest(), metadata=metadata,
                                                                   timeout=SAFETY)


WRONG = (("authorization", "Bearer not-the-token-0123456789"),)

# (kind, call, status code, words the message must contain)
CORPUS = [
    # request fields
    ("empty idempotency key", lambda d, m: submit(d, spec(m), key=""), C.INVALID_ARGUMENT, "idempotency_key: is empty"),
    ("huge idempotency key", lambda d, m: submit(d, spec(m), key="k" * 500), C.INVALID_ARGUMENT, "idempotency_key"),
    ("idempotency key with spaces", lambda d, m: submit(d, spec(m), key="a b"), C.INVALID_ARGUMENT, "printable"),
    ("missing spec", lambda d, m: submit(d, None), C.INVALID_ARGUMENT, "spec: is missing"),
    ("empty clip_a", lambda d, m: submit(d, spec(m, clip_a="")), C.INVALID_ARGUMENT, "spec.clip_a: is empty"),
    ("empty clip_b", lambda d, m: submit(d, spec(m, clip_b="")), C.INVALID_ARGUMENT, "spec.clip_b: is empty"),
    ("empty out_dir", lambda d, m: submit(d, spec(m, out_dir="")), C.INVALID_ARGUMENT, "spec.out_dir: is empty"),
    ("blank clip_a", lambda d, m: submit(d, spec(m, clip_a="   ")), C.INVALID_ARGUMENT, "spec.clip_a: is empty"),
    ("relative clip path", lambda d, m: submit(d, spec(m, clip_a="bbb.0036.png")), C.INVALID_ARGUMENT,
     "spec.clip_a", "absolute"),
    ("relative out_dir", lambda d, m: submit(d, spec(m, out_dir="out")), C.INVALID_ARGUMENT,
     "spec.out_dir", "absolute"),
    ("zero frames", lambda d, m: submit(d, spec(m, frames=0)), C.INVALID_ARGUMENT, "spec.frames", "between 1 and"),
    ("negative frames", lambda d, m: submit(d, spec(m, frames=-5)), C.INVALID_ARGUMENT, "spec.frames", "-5"),
    ("too many frames", lambda d, m: submit(d, spec(m, frames=10001)), C.INVALID_ARGUMENT, "spec.frames", "10000"),
    ("huge frame count", lambda d, m: submit(d, spec(m, frames=2**31 - 1)), C.INVALID_ARGUMENT, "spec.frames"),
    ("unknown format", lambda d, m: submit(d, spec(m, format="gif")), C.INVALID_ARGUMENT, "spec.format", "png"),
    ("unknown conform mode", lambda d, m: submit(d, spec(m, conform="crop")), C.INVALID_ARGUMENT, "spec.conform"),
    ("unknown movie codec", lambda d, m: submit(d, spec(m, movie="vp9")), C.INVALID_ARGUMENT, "spec.movie", "prores"),
    ("a movie of an odd frame size", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "odd.png"),
                                                                  clip_b=str(m.root / "odd.png"), movie="h264")),
     C.INVALID_ARGUMENT, "spec.movie", "65x51"),
    ("unknown model", lambda d, m: submit(d, spec(m, model="superres")), C.INVALID_ARGUMENT, "spec.model", "superres"),
    ("NUL byte in a path", lambda d, m: submit(d, spec(m, clip_a=str(BBB[0]) + "\x00.png")), C.INVALID_ARGUMENT,
     "spec.clip_a", "NUL"),
    ("overlong path", lambda d, m: submit(d, spec(m, clip_a="/" + "a" * 5000)), C.INVALID_ARGUMENT,
     "spec.clip_a", "at most 4096"),
    ("overlong colourspace name", lambda d, m: submit(d, spec(m, colorspace_a="x" * 300)), C.INVALID_ARGUMENT,
     "spec.colorspace_a"),
    ("unknown colourspace", lambda d, m: submit(d, spec(m, colorspace_a="NotASpace")), C.INVALID_ARGUMENT,
     "spec.colorspace_a", "NotASpace"),
    ("unknown output colourspace", lambda d, m: submit(d, spec(m, colorspace_out="Nope")), C.INVALID_ARGUMENT,
     "spec.colorspace_out"),
    ("relative OCIO config", lambda d, m: submit(d, spec(m, ocio_config="config.ocio")), C.INVALID_ARGUMENT,
     "spec.ocio_config"),
    # media that does not exist
    ("missing media file", lambda d, m: submit(d, spec(m, clip_b=str(m.root / "nope.mov"))), C.NOT_FOUND,
     "spec.clip_b", "nope.mov"),
    ("missing sequence folder", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "gone" / "f.%04d.png"))),
     C.NOT_FOUND, "spec.clip_a", "does not exist"),
    ("missing OCIO config", lambda d, m: submit(d, spec(m, ocio_config=str(m.root / "none.ocio"))), C.NOT_FOUND,
     "spec.ocio_config"),
    ("missing ONNX model", lambda d, m: submit(d, spec(m, model=str(m.root / "none.onnx"))), C.NOT_FOUND,
     "spec.model"),
    # media that exists but cannot be used
    ("corrupt image", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "corrupt.png"))), C.INVALID_ARGUMENT,
     "spec.clip_a", "cannot decode"),
    ("truncated movie", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "truncated.mp4"))), C.INVALID_ARGUMENT,
     "spec.clip_a", "truncated.mp4"),
    ("unsupported file type", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "notes.txt"))), C.INVALID_ARGUMENT,
     "spec.clip_a", "unsupported extension"),
    ("folder without images", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "empty-folder"))),
     C.INVALID_ARGUMENT, "spec.clip_a", "no image files"),
    ("pattern matching nothing", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "x.%04d.png"))),
     C.INVALID_ARGUMENT, "spec.clip_a", "no files match"),
    ("a_out out of range", lambda d, m: submit(d, spec(m, a_out=5)), C.INVALID_ARGUMENT, "spec.a_out", "out of range"),
    ("b_in out of range", lambda d, m: submit(d, spec(m, b_in=-3)), C.INVALID_ARGUMENT, "spec.b_in", "out of range"),
    ("frame rates differ", lambda d, m: submit(d, spec(m, clip_a=str(TAKE_A), clip_b=str(m.root / "b_30fps.mp4"))),
     C.INVALID_ARGUMENT, "spec.clip_b", "frame rate"),
    ("output folder is a file", lambda d, m: submit(d, spec(m, out_dir=str(m.root / "a-file"))), C.INVALID_ARGUMENT,
     "spec.out_dir", "is a file"),
    ("unsupported ONNX model", lambda d, m: submit(d, spec(m, model=str(m.root / "model.onnx"))), C.INVALID_ARGUMENT,
     "spec.model"),
    # paths outside the allowed roots
    ("clip escaping with ..", lambda d, m: submit(d, spec(m, clip_a=f"{m.root}/../../{m.outside.name}/secret.png")),
     C.PERMISSION_DENIED, "spec.clip_a", "outside"),
    ("clip outside the roots", lambda d, m: submit(d, spec(m, clip_a=str(m.outside / "secret.png"))),
     C.PERMISSION_DENIED, "spec.clip_a", "--allow-root"),
    ("symlink escaping the root", lambda d, m: submit(d, spec(m, clip_b=str(m.root / "escape.png"))),
     C.PERMISSION_DENIED, "spec.clip_b", "outside"),
    ("sequence with a symlinked frame", lambda d, m: submit(d, spec(m, clip_a=str(m.root / "seq" / "f.%04d.png"))),
     C.PERMISSION_DENIED, "spec.clip_a", "f.0002.png"),
    ("missing file outside the roots", lambda d, m: submit(d, spec(m, clip_a=str(m.outside / "nothing.png"))),
     C.PERMISSION_DENIED, "spec.clip_a"),  # not NOT_FOUND: no probing for files outside
    ("output outside the roots", lambda d, m: submit(d, spec(m, out_dir=str(m.outside / "out"))),
     C.PERMISSION_DENIED, "spec.out_dir"),
    ("output through a symlinked folder", lambda d, m: submit(d, spec(m, out_dir=str(m.root / "escape-dir" / "o"))),
     C.PERMISSION_DENIED, "spec.out_dir"),
    ("output escaping with ..", lambda d, m: submit(d, spec(m, out_dir=f"{m.root}/new/../../../{m.outside.name}")),
     C.PERMISSION_DENIED, "spec.out_dir"),
    ("model outside the roots", lambda d, m: submit(d, spec(m, model=str(m.outside / "m.onnx"))),
     C.PERMISSION_DENIED, "spec.model"),
    # job ids and job states
    ("idempotency key reused for another request", key_reused, C.ALREADY_EXISTS, "idempotency_key", "different"),
    ("empty job id", lambda d, m: d.call("GetJob", pb.GetJobRequest()), C.INVALID_ARGUMENT, "job_id: is empty"),
    ("overlong job id", lambda d, m: d.call("GetJob", pb.GetJobRequest(job_id="j" * 1000)), C.INVALID_ARGUMENT,
     "job_id"),
    ("unknown job", lambda d, m: d.call("GetJob", pb.GetJobRequest(job_id="f" * 32)), C.NOT_FOUND, "no job"),
    ("cancel of an unknown job", lambda d, m: d.call("CancelJob", pb.CancelJobRequest(job_id="0" * 32)),
     C.NOT_FOUND, "no job"),
    ("watch of an unknown job", lambda d, m: watch(d, "e" * 32), C.NOT_FOUND, "no job"),
    ("cancel of a finished job", cancel_finished, C.FAILED_PRECONDITION, "already succeeded"),
    ("malformed page token", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(page_token="abc")),
     C.INVALID_ARGUMENT, "page_token"),
    # str.isdigit accepts these: int() refuses '²' and reads '٣' (Arabic-Indic three) as 3
    ("superscript digit page token", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(page_token="\u00b2")),
     C.INVALID_ARGUMENT, "page_token"),
    ("Arabic-Indic digit page token", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(page_token="\u0663")),
     C.INVALID_ARGUMENT, "page_token"),
    ("negative page size", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(page_size=-1)), C.INVALID_ARGUMENT,
     "page_size"),
    ("page size too large", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(page_size=501)), C.INVALID_ARGUMENT,
     "page_size"),
    ("unknown state filter", lambda d, m: d.call("ListJobs", pb.ListJobsRequest(states=[99])), C.INVALID_ARGUMENT,
     "states"),
    # authentication
    ("missing token", lambda d, m: caps(d, ()), C.UNAUTHENTICATED, "missing bearer token"),
    ("wrong token", lambda d, m: caps(d, WRONG), C.UNAUTHENTICATED, "wrong bearer token"),
    ("token without Bearer", lambda d, m: caps(d, (("authorization", d.token),)), C.UNAUTHENTICATED, "bearer"),
    ("wrong token on a stream", lambda d, m: watch(d, "e" * 32, WRONG), C.UNAUTHENTICATED, "wrong bearer token"),
    ("wrong token on a submit", lambda d, m: submit(d, spec(m), metadata=WRONG), C.UNAUTHENTICATED, "bearer"),
    ("missing token on health", lambda d, m: health_check(d, ()), C.UNAUTHENTICATED, "missing bearer token"),
    # the wire
    ("oversized message", lambda d, m: submit(d, spec(m, colorspace_a="x" * (2 << 20))), C.RESOURCE_EXHAUSTED,
     "larger than max"),
    ("garbage bytes", lambda d, m: raw(d, "/segue.render.v1.Render/GetJob", b"\xff\xff\xff\x07garbage"),
     C.INVALID_ARGUMENT, "not a valid message"),
    ("invalid UTF-8 in a string", lambda d, m: raw(d, "/segue.render.v1.Render/GetJob", b"\x0a\x02\xc3\x28"),
     C.INVALID_ARGUMENT, "UTF-8"),
    ("unknown method", lambda d, m: raw(d, "/segue.render.v1.Render/Explode", b""), C.UNIMPLEMENTED, ""),
]


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 25
    assert len({kind for kind, *_ in CORPUS}) == len(CORPUS)
    assert {code for _, _, code, *_ in CORPUS} >= {C.INVALID_ARGUMENT, C.NOT_FOUND, C.PERMISSION_DENIED,
                                                    C.UNAUTHENTICATED, C.RESOURCE_EXHAUSTED}


@pytest.mark.parametrize(("kind", "call", "code", "words"), [(k, c, s, w) for k, c, s, *w in CORPUS],
                         ids=[k for k, *_ in CORPUS])
def test_bad_request(renderd, media, kind, call, code, words):
    with pytest.raises(grpc.RpcError) as info:
        call(renderd, media)
    error = info.value
    assert error.code() == code, (kind, error.code(), error.details())
    for word in words:
        assert word in error.details(), (kind, error.details())
    if code == C.INVALID_ARGUMENT and words[0].startswith("spec"):
        status = rpc_status.from_call(error)  # the field is also machine-readable
        violation = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(violation)
        assert violation.field_violations[0].field == words[0].split(":")[0]


def test_the_daemon_survived_the_corpus_without_a_traceback(renderd):
    marker = f"end-of-corpus-{uuid.uuid4().hex}"
    with pytest.raises(grpc.RpcError):
        renderd.call("GetJob", pb.GetJobRequest(job_id=marker))  # logged: the log has caught up after this
    renderd.wait_for_log(lambda e: marker in e.get("message", ""))
    assert renderd.proc.poll() is None
    assert health_check(renderd, renderd.metadata).status == health_pb2.HealthCheckResponse.SERVING
    events = renderd.events  # every line is JSON (this raises otherwise)
    assert not [e for e in events if "traceback" in e or e["level"] in ("error", "critical")]
    assert not any("Traceback" in line for line in renderd.lines)
    refusals = [e for e in events if e["event"] in ("request.refused", "auth.refused")]
    assert len(refusals) >= 25 and all(e["level"] == "info" for e in refusals)


def test_full_queue_busy_output_and_too_many_watchers(tmp_path):
    daemon = RenderdProcess(tmp_path / "store", "--workers", "1", "--queue-limit", "1", "--max-watchers", "1")
    try:
        long = daemon.submit(transition(TAKE_A, TAKE_B, tmp_path / "long", frames=300))
        stream = daemon.watch(long.job_id)  # the one watcher allowed
        for event in stream:
            if event.job.state == pb.JOB_STATE_RUNNING:
                break
        waiting = daemon.submit(transition(BBB[0], BBB[1], tmp_path / "waiting"))  # fills the queue
        with pytest.raises(grpc.RpcError) as full:
            daemon.submit(transition(BBB[0], BBB[1], tmp_path / "third"))
        assert full.value.code() == C.RESOURCE_EXHAUSTED and "queue is full" in full.value.details()
        with pytest.raises(grpc.RpcError) as busy:
            daemon.submit(transition(BBB[1], BBB[2], tmp_path / "long"))
        assert busy.value.code() == C.FAILED_PRECONDITION and long.job_id in busy.value.details()
        with pytest.raises(grpc.RpcError) as crowded:
            list(daemon.watch(waiting.job_id))
        assert crowded.value.code() == C.RESOURCE_EXHAUSTED and "watchers" in crowded.value.details()
        stream.cancel()
        for job in (waiting, long):
            daemon.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id))
    finally:
        assert daemon.stop() == 0
    assert not any("Traceback" in line for line in daemon.lines)
    assert not os.path.exists(tmp_path / "third")
