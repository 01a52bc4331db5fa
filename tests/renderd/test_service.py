"""The daemon end to end through the generated stub: submit, progress, results, cancel."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from renderd_harness import BBB, TAKE_A, TAKE_B, RenderdProcess, frame_files, transition

from segue.core.transition import TransitionSpec, render_transition
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.jobs import JobService
from segue.renderd.paths import PathPolicy
from segue.renderd.store import JobStore

pytest_plugins = ("renderd_fixtures",)


def local_render(out, **kw) -> dict:
    """The same job run in this process, as `segue transition` does."""
    return render_transition(TransitionSpec(out_dir=str(out), **kw))


def test_capabilities_list_models_formats_and_limits(renderd, allowed_root):
    caps = renderd.call("GetCapabilities", pb.GetCapabilitiesRequest())
    assert set(caps.models) >= {"auto", "classic"}
    assert caps.default_model == "segue_fusion fine-more step 2500 (shipped)"
    assert list(caps.formats) == ["png", "exr", "tiff"]
    assert list(caps.conform_modes) == ["fit", "fill", "stretch"]
    assert caps.max_frames == 10000 and caps.workers == 2 and caps.version
    assert os.path.realpath(allowed_root) in caps.allow_roots
    # what a farm submitter picks nodes by: this machine's cores and memory
    assert caps.cpu_count == len(os.sched_getaffinity(0))
    assert caps.memory_bytes == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") > 2**30
    assert caps.max_pixels > 0


def test_workers_share_the_cores_between_their_models(tmp_path):
    # each worker's learned model gets its share of onnxruntime threads, at least one
    store = JobStore(tmp_path)
    try:
        cores = os.cpu_count() or 1
        for workers, threads in ((1, cores), (2, max(1, cores // 2)), (4 * cores, 1)):
            assert JobService(store, PathPolicy(), workers=workers).model_threads == threads
    finally:
        store.close()


def test_health_is_serving(renderd):
    stub = health_pb2_grpc.HealthStub(renderd.channel())
    for service in ("", "segue.render.v1.Render"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), metadata=renderd.metadata, timeout=30)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_submit_streams_progress_and_frames_match_a_local_render(renderd, allowed_root, tmp_path):
    out = allowed_root / "movies"
    job = renderd.submit(transition(TAKE_A, TAKE_B, out, frames=4))
    assert job.state in (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING) and job.frames_total == 4
    final, events = renderd.wait_final(job.job_id)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error

    frames = [e.frame for e in events if e.HasField("frame")]
    assert [f.index for f in frames] == [1, 2, 3, 4]
    assert [e.job.frames_done for e in events if e.HasField("frame")] == [1, 2, 3, 4]
    assert all(0.0 <= f.confidence <= 1.0 and not f.resumed for f in frames)
    assert [f.t for f in frames] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    running = [e.job for e in events if e.HasField("frame") and e.job.state == pb.JOB_STATE_RUNNING]
    assert all(j.HasField("eta_seconds") and j.eta_seconds >= 0 for j in running)
    assert all(e.job.preview_path == e.frame.path and os.path.isfile(e.frame.path)
               for e in events if e.HasField("frame"))
    assert not final.HasField("eta_seconds") and final.end_time.seconds >= final.create_time.seconds

    local = local_render(tmp_path / "local", clip_a=str(TAKE_A), clip_b=str(TAKE_B), frames=4)
    assert frame_files(out) == frame_files(tmp_path / "local")
    assert not any(e.job.report_json for e in events)  # events carry progress; GetJob has the report
    got = renderd.call("GetJob", pb.GetJobRequest(job_id=job.job_id))
    report = json.loads(got.job.report_json)
    assert [f["confidence"] for f in report["frames"]] == [f["confidence"] for f in local["frames"]]
    assert report == json.loads((out / "transition.json").read_text())

    assert got.job.state == pb.JOB_STATE_SUCCEEDED and [f.path for f in got.frames] == [f.path for f in frames]


def test_stills_in_exr_with_options_match_a_local_render(renderd, allowed_root, tmp_path):
    out = allowed_root / "stills-exr"
    spec = transition(BBB[0], BBB[-1], out, frames=2, format="exr", conform="fill", a_out=0, b_in=-1,
                      colorspace_out="ACEScg")
    final, _ = renderd.wait_final(renderd.submit(spec).job_id)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    assert final.spec.model == "auto" and final.spec.format == "exr"
    local_render(tmp_path / "local", clip_a=str(BBB[0]), clip_b=str(BBB[-1]), frames=2, format="exr",
                 conform="fill", a_out=0, b_in=-1, colorspace_out="ACEScg")
    assert frame_files(out) == frame_files(tmp_path / "local")
    assert list(frame_files(out)) == ["frame_0001.exr", "frame_0002.exr"]


def test_idempotent_submit_returns_the_same_job_and_renders_once(renderd, allowed_root):
    key = f"retry-{uuid.uuid4().hex}"
    spec = transition(BBB[0], BBB[1], allowed_root / "idem", frames=1)
    first = renderd.call("SubmitTransition", pb.SubmitTransitionRequest(idempotency_key=key, spec=spec))
    again = renderd.call("SubmitTransition", pb.SubmitTransitionRequest(idempotency_key=key, spec=spec))
    assert not first.deduplicated and again.deduplicated and again.job.job_id == first.job.job_id
    final, _ = renderd.wait_final(first.job.job_id)
    late = renderd.call("SubmitTransition", pb.SubmitTransitionRequest(idempotency_key=key, spec=spec))
    assert late.deduplicated and late.job.state == pb.JOB_STATE_SUCCEEDED and final.attempts == 1


def test_watching_a_finished_job_replays_its_frames(renderd, allowed_root):
    job = renderd.submit(transition(BBB[0], BBB[1], allowed_root / "replay", frames=3))
    renderd.wait_final(job.job_id)
    replay = list(renderd.watch(job.job_id))
    assert [e.frame.index for e in replay] == [1, 2, 3]
    assert all(e.job.state == pb.JOB_STATE_SUCCEEDED for e in replay)


def test_list_jobs_pages_newest_first_and_filters_by_state(renderd, allowed_root):
    ids = [renderd.submit(transition(BBB[0], BBB[1], allowed_root / f"list{i}")).job_id for i in range(3)]
    for job_id in ids:
        renderd.wait_final(job_id)
    first = renderd.call("ListJobs", pb.ListJobsRequest(page_size=2, states=[pb.JOB_STATE_SUCCEEDED]))
    assert [j.job_id for j in first.jobs] == ids[::-1][:2] and first.next_page_token
    second = renderd.call("ListJobs", pb.ListJobsRequest(page_size=2, page_token=first.next_page_token,
                                                         states=[pb.JOB_STATE_SUCCEEDED]))
    assert second.jobs[0].job_id == ids[0]
    failed = renderd.call("ListJobs", pb.ListJobsRequest(states=[pb.JOB_STATE_FAILED]))
    assert all(j.state == pb.JOB_STATE_FAILED for j in failed.jobs)


def test_cancel_stops_a_running_job_within_one_frame(renderd, allowed_root):
    out = allowed_root / "cancelled"
    job = renderd.submit(transition(TAKE_A, TAKE_B, out, frames=300))
    stream = renderd.watch(job.job_id)
    for event in stream:
        if event.HasField("frame"):
            break
    reply = renderd.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id)).job
    assert reply.state == pb.JOB_STATE_CANCELLED or reply.cancel_requested
    done_at_cancel = reply.frames_done
    events = list(stream)
    final = events[-1].job if events else reply
    assert final.state == pb.JOB_STATE_CANCELLED
    assert final.frames_done <= done_at_cancel + 1  # the frame in progress may finish, no more
    assert len(frame_files(out)) == final.frames_done
    again = renderd.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id)).job
    assert again.state == pb.JOB_STATE_CANCELLED  # cancelling twice is harmless


def test_cancel_of_a_queued_job_is_immediate(tmp_path):
    daemon = RenderdProcess(tmp_path / "store", "--workers", "1")
    try:
        busy = daemon.submit(transition(TAKE_A, TAKE_B, tmp_path / "busy", frames=300))
        for event in daemon.watch(busy.job_id):
            if event.job.state == pb.JOB_STATE_RUNNING:
                break
        waiting = daemon.submit(transition(BBB[0], BBB[1], tmp_path / "waiting"))
        assert waiting.state == pb.JOB_STATE_QUEUED
        reply = daemon.call("CancelJob", pb.CancelJobRequest(job_id=waiting.job_id)).job
        assert reply.state == pb.JOB_STATE_CANCELLED and reply.frames_done == 0
        daemon.call("CancelJob", pb.CancelJobRequest(job_id=busy.job_id))
        assert daemon.wait_final(busy.job_id)[0].state == pb.JOB_STATE_CANCELLED
        assert not (tmp_path / "waiting").exists()
    finally:
        assert daemon.stop() == 0


def test_a_foreign_file_in_the_output_folder_is_refused_at_submit(renderd, allowed_root):
    out = allowed_root / "foreign"
    out.mkdir()
    (out / "frame_0001.png").write_bytes(b"someone else's file")  # Segue never overwrites it
    with pytest.raises(grpc.RpcError) as refused:
        renderd.submit(transition(BBB[0], BBB[1], out))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("spec.out_dir:") and "not written by Segue" in refused.value.details()
    assert (out / "frame_0001.png").read_bytes() == b"someone else's file"


def segue_cli(*args, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("segue", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "segue"]
    return subprocess.run([*cmd, *map(str, args)], check=False, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, timeout=300)


def test_segue_transition_with_server_matches_the_local_cli(renderd, allowed_root, token_file, tmp_path):
    env = {"SEGUE_RENDERD_TOKEN_FILE": str(token_file)}
    remote = segue_cli("transition", TAKE_A, TAKE_B, "--frames", "3", "-o", allowed_root / "cli",
                       "--server", renderd.address, env=env)
    assert remote.returncode == 0, remote.stderr
    assert "3 frames written to" in remote.stdout and "frame 3/3" in remote.stderr
    local = segue_cli("transition", TAKE_A, TAKE_B, "--frames", "3", "-o", tmp_path / "cli", "-q")
    assert local.returncode == 0, local.stderr
    assert frame_files(allowed_root / "cli") == frame_files(tmp_path / "cli")


def test_segue_transition_with_server_reports_refusals_as_usage_errors(renderd, allowed_root, token_file, tmp_path):
    env = {"SEGUE_RENDERD_TOKEN_FILE": str(token_file)}
    outside = segue_cli("transition", TAKE_A, TAKE_B, "--frames", "2", "-o", tmp_path / "out",
                        "--server", renderd.address, "-q", env=env)
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    assert outside.stderr.strip().splitlines()[-1].startswith("segue: error: --server")
    assert "spec.out_dir" in outside.stderr and "outside the folders" in outside.stderr
    no_token = segue_cli("transition", TAKE_A, TAKE_B, "--frames", "2", "-o", allowed_root / "x",
                         "--server", renderd.address, "-q")
    assert no_token.returncode == 2 and "bearer token" in no_token.stderr
