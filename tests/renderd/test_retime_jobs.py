"""Retime jobs on a real daemon: submit -> progress -> output identical to a local
`run_retime`; ``segue retime --server``; cancel; ``kill -9`` and restart; bad requests.

Clips are encoded at test time with the real ffmpeg: a 160x90 window panning over a Big
Buck Bunny frame (tests/fixtures/bbb, CC BY 3.0), so every frame differs and the retime
synthesizes real in-betweens. The ``classic`` model keeps runs fast and independent of
whichever learned model is installed.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from renderd_harness import BBB, FINAL, SAFETY, RenderdProcess, frame_files, transition

from segue.core.errors import CancelledError
from segue.core.media.ffmpeg import find_ffmpeg
from segue.core.retime import RetimeSpec, run_retime
from segue.renderd import retime
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import RenderClient
from segue.renderd.store import RETIME, RUNNING, TRANSITION, JobStore

pytest_plugins = ("renderd_fixtures",)

C = grpc.StatusCode
MODEL = "classic"


def make_clip(path: Path, frames: int) -> Path:
    """An H.264 clip at 25 fps: a 160x90 window moving 2 px right and 1 px down per frame."""
    texture = cv2.cvtColor(cv2.imread(str(BBB[0])), cv2.COLOR_BGR2RGB)
    texture = cv2.resize(texture, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # 320x180: room to pan
    data = b"".join(np.ascontiguousarray(texture[10 + k:100 + k, 10 + 2 * k:170 + 2 * k]).tobytes()
                    for k in range(frames))
    subprocess.run([find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "160x90", "-framerate", "25", "-i", "pipe:0", "-c:v", "libx264", "-crf", "12",
                    "-pix_fmt", "yuv420p", str(path)], input=data, check=True, timeout=SAFETY)
    return path


def decoded(movie: Path) -> bytes:
    """Every frame of a movie, decoded by ffmpeg to rgb24."""
    return subprocess.run([find_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", str(movie), "-f", "rawvideo",
                           "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True, timeout=SAFETY).stdout


def local(clip: Path, output: Path, **options) -> dict:
    """The same retime in this process: the reference every daemon render must match."""
    return run_retime(RetimeSpec(str(clip), str(output), model=MODEL, **options))


def request(clip: Path, output: Path, **fields) -> pb.RetimeSpec:
    return pb.RetimeSpec(input=str(clip), output=str(output), model=MODEL, **fields)


def submit(d: RenderdProcess, spec: pb.RetimeSpec | None, key: str | None = None) -> pb.SubmitRetimeResponse:
    message = pb.SubmitRetimeRequest(idempotency_key=uuid.uuid4().hex if key is None else key)
    if spec is not None:
        message.spec.CopyFrom(spec)
    return d.call("SubmitRetime", message)


def same_result(a: dict, b: dict) -> bool:
    """Two retime reports describe the same render (paths, dates and timings aside)."""
    keys = ("model", "target", "frames", "scene_cuts", "duplicates")

    def strip(r: dict) -> dict:
        return {k: r[k] for k in keys} | {"output": {k: v for k, v in r["output"].items() if k != "path"}}

    return strip(a) == strip(b)


@pytest.fixture(scope="module")
def clip(allowed_root) -> Path:
    """1 second, 25 frames, inside the shared daemon's allowed root."""
    folder = allowed_root / "retime-media"
    folder.mkdir()
    return make_clip(folder / "pan.mp4", 25)


@pytest.fixture(scope="module")
def reference_x2(clip, tmp_path_factory) -> tuple[dict[str, bytes], dict]:
    """``clip`` x2 to a PNG folder, rendered locally: (frame files, report)."""
    out = tmp_path_factory.mktemp("reference") / "x2"
    report = local(clip, out, factor="2")
    return frame_files(out), report


def test_submit_streams_progress_and_matches_a_local_retime(renderd, clip, reference_x2, allowed_root):
    expected, expected_report = reference_x2
    out = allowed_root / "retime-x2"
    key = uuid.uuid4().hex
    first = submit(renderd, request(clip, out, factor="2"), key)
    job = first.job
    assert not first.deduplicated and job.kind == pb.JOB_KIND_RETIME
    assert job.frames_total == 50 == len(expected)  # known at submit: 1 s at 50 fps
    assert job.retime_spec.factor == "2" and job.retime_spec.audio == "keep" and job.retime_spec.dedup
    assert not job.HasField("spec")

    again = submit(renderd, request(clip, out, factor="2"), key)  # a retried submit: same job, no second render
    assert again.deduplicated and again.job.job_id == job.job_id
    with pytest.raises(grpc.RpcError) as reused:
        submit(renderd, request(clip, out, factor="3"), key)
    assert reused.value.code() == C.ALREADY_EXISTS

    final, events = renderd.wait_final(job.job_id)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    assert final.frames_done == final.frames_total == 50 and final.attempts == 1
    done = [e.job.frames_done for e in events]
    assert done == sorted(done) and 0 < len(set(done) - {0, 50})  # counted up frame by frame
    assert not any(e.HasField("frame") for e in events)  # retimes report on the job only
    assert any(e.job.HasField("eta_seconds") for e in events if e.job.state == pb.JOB_STATE_RUNNING)
    assert final.preview_path == str(out / "frame_000050.png")

    assert frame_files(out) == expected  # byte-identical to the local run
    report = json.loads(renderd.call("GetJob", pb.GetJobRequest(job_id=job.job_id)).job.report_json)
    assert same_result(report, expected_report)
    assert json.loads((out / "retime.json").read_text())["output"]["path"] == str(out)

    got = renderd.call("GetJob", pb.GetJobRequest(job_id=job.job_id))
    assert got.job.kind == pb.JOB_KIND_RETIME and not got.frames
    listed = {j.job_id: j for j in renderd.call("ListJobs", pb.ListJobsRequest(page_size=500)).jobs}
    assert listed[job.job_id].kind == pb.JOB_KIND_RETIME and listed[job.job_id].retime_spec.input == str(clip)
    assert all(j.kind == pb.JOB_KIND_TRANSITION for j in listed.values() if j.HasField("spec"))
    caps = renderd.call("GetCapabilities", pb.GetCapabilitiesRequest())
    assert {"h264", "prores", "ffv1", "png", "tiff", "exr"} == set(caps.retime_codecs)


def test_the_shared_client_submits_retimes(renderd, clip, allowed_root):
    with RenderClient(renderd.address, token=renderd.token) as client:
        reply = client.submit_retime({"input": str(clip), "output": str(allowed_root / "client" / "slow.%04d.png"),
                                      "slowmo": "2", "model": MODEL, "codec": None})
        final = client.wait(reply.job.job_id)
    assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
    assert final.frames_done == 50 and len(list((allowed_root / "client").glob("slow.*.png"))) == 50


def segue_cli(*args, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("segue", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "segue"]
    return subprocess.run([*cmd, *map(str, args)], check=False, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, timeout=300)


def test_segue_retime_with_server(renderd, clip, reference_x2, allowed_root, token_file, tmp_path):
    env = {"SEGUE_RENDERD_TOKEN_FILE": str(token_file)}
    out = allowed_root / "cli-x2"
    run = segue_cli("retime", clip, "-o", out, "--factor", "2", "--model", MODEL, "--server", renderd.address, env=env)
    assert run.returncode == 0, run.stderr
    assert f"50 frames at 50 fps written to {out}" in run.stdout and "50/50 frames" in run.stderr
    assert frame_files(out) == reference_x2[0]

    outside = segue_cli("retime", clip, "-o", tmp_path / "x", "--factor", "2", "--server", renderd.address, "-q",
                        env=env)
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    assert outside.stderr.strip().splitlines()[-1].startswith("segue: error: --server")
    assert "spec.output" in outside.stderr and "outside the folders" in outside.stderr


def test_cancel_stops_a_running_retime_and_leaves_no_movie(renderd, clip, allowed_root):
    folder = allowed_root / "cancelled"
    movie = folder / "slow.mkv"
    job = submit(renderd, request(clip, movie, slowmo="8")).job  # 200 frames
    stream = renderd.watch(job.job_id)
    for event in stream:
        if event.job.frames_done >= 1:
            break
    reply = renderd.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id)).job
    assert reply.cancel_requested
    events = list(stream)
    final = events[-1].job if events else reply
    assert final.state == pb.JOB_STATE_CANCELLED
    assert final.frames_done <= reply.frames_done + 1 < final.frames_total  # the frame in progress, no more
    assert not movie.exists() and not list(folder.glob(".slow*"))  # nothing half-written, no leftovers
    assert renderd.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id)).job.state == pb.JOB_STATE_CANCELLED
    # The output is free again: a new job may write there.
    again = submit(renderd, request(clip, movie, factor="2")).job
    assert renderd.wait_final(again.job_id)[0].state == pb.JOB_STATE_SUCCEEDED


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) per visible frame: a re-rendered frame is a new file (atomic rename)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("frame_*")}


def test_kill9_mid_retime_then_restart_completes_identically(tmp_path):
    clip = make_clip(tmp_path / "pan2s.mp4", 50)  # 2 s: 100 output frames each
    store, seq, movie = tmp_path / "store", tmp_path / "seq", tmp_path / "movie" / "x2.mkv"
    expected = frame_files(Path(local(clip, tmp_path / "ref-seq", factor="2")["output"]["path"]))
    local(clip, tmp_path / "ref.mkv", factor="2")
    expected_movie = decoded(tmp_path / "ref.mkv")

    first = RenderdProcess(store, "--workers", "2")
    seq_job = submit(first, request(clip, seq, factor="2")).job
    movie_job = submit(first, request(clip, movie, factor="2")).job
    for job_id, enough in ((movie_job.job_id, 3), (seq_job.job_id, 5)):
        for event in first.watch(job_id):
            if event.job.frames_done >= enough:
                break
    first.kill9()

    store_view = JobStore(store)
    try:
        rows = {job_id: store_view.get(job_id) for job_id in (seq_job.job_id, movie_job.job_id)}
    finally:
        store_view.close()
    assert all(row.state == RUNNING and row.kind == RETIME for row in rows.values())
    visible = frame_files(seq)
    assert 5 <= len(visible) < 100 and all(data == expected[name] for name, data in visible.items())
    assert not (seq / "retime.json").exists()
    assert not movie.exists()  # the movie only ever appears complete
    before = stamps(seq)

    second = RenderdProcess(store, "--workers", "2")
    try:
        recovered = second.wait_for_log(lambda e: e.get("event") == "jobs.recovered")
        assert sorted(recovered["interrupted"]) == sorted([seq_job.job_id, movie_job.job_id])
        final_seq, _ = second.wait_final(seq_job.job_id)
        final_movie, _ = second.wait_final(movie_job.job_id)
        seq_report, movie_report = (json.loads(second.call("GetJob", pb.GetJobRequest(job_id=job_id)).job.report_json)
                                    for job_id in (seq_job.job_id, movie_job.job_id))
    finally:
        assert second.stop() == 0
    assert final_seq.state == final_movie.state == pb.JOB_STATE_SUCCEEDED, (final_seq.error, final_movie.error)
    assert final_seq.attempts == final_movie.attempts == 2
    assert final_seq.frames_done == final_movie.frames_done == 100

    # The sequence resumed: byte-identical, and frames finished before the kill are the same files.
    assert frame_files(seq) == expected
    after = stamps(seq)
    assert all(after[name] == stamp for name, stamp in before.items())
    assert seq_report["frames"]["resumed"] >= len(before)
    # The movie started again: complete, the same pictures, no temporary file left behind.
    assert decoded(movie) == expected_movie
    assert sorted(p.name for p in movie.parent.iterdir()) == [".segue-ledger", "x2.mkv", "x2.mkv.json"]
    assert movie_report["frames"]["resumed"] == 0


def test_a_cancel_during_the_analysis_pass_stops_before_any_output(clip, tmp_path):
    stages: list[int] = []
    progress = retime.JobProgress(RetimeSpec(str(clip), str(tmp_path / "x.mkv"), factor="2"),
                                  report=lambda *a: pytest.fail("no frame may be reported"),
                                  should_cancel=lambda: bool(stages))
    with pytest.raises(CancelledError):
        run_retime(RetimeSpec(str(clip), str(tmp_path / "x.mkv"), factor="2", model=MODEL), on_progress=progress,
                   on_stage=lambda *a: (stages.append(a[1]), progress.stage(*a)))
    assert stages == [1] and os.listdir(tmp_path) == []


def test_later_attempts_resume_a_sequence_and_restart_a_movie(tmp_path):
    seq = RetimeSpec("/in.mov", str(tmp_path / "seq"), factor="2", overwrite=True)
    movie = RetimeSpec("/in.mov", str(tmp_path / "m.mkv"), factor="2")
    before = retime.output_stamp(seq)
    assert before == "" == retime.output_stamp(movie)
    # Stopped before the render wrote its state file: run as asked.
    assert retime.attempt_spec(seq, before, before, progressed=False) == seq
    assert retime.attempt_spec(movie, "", "", progressed=True) == movie
    # The state file is the first attempt's (it changed), or frames were reported: continue it.
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / ".segue-retime-state.json").write_text("{}")
    resumed = retime.attempt_spec(seq, before, retime.output_stamp(seq), progressed=False)
    assert resumed.resume and not resumed.overwrite
    assert retime.attempt_spec(seq, before, before, progressed=True).resume
    # The first attempt got as far as renaming its movie into place: render it again over it.
    (tmp_path / "m.mkv").write_bytes(b"finished before the daemon could say so")
    assert retime.attempt_spec(movie, "", retime.output_stamp(movie), progressed=True).overwrite


# -- bad requests ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(renderd, allowed_root, clip, tmp_path_factory) -> dict[str, Path]:
    root = allowed_root / "retime-corpus"
    root.mkdir()
    outside = tmp_path_factory.mktemp("retime-outside")
    shutil.copy(clip, outside / "secret.mp4")
    (outside / "dir").mkdir()
    shutil.copy(clip, root / "existing.mp4")
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a movie")
    (root / "a-file").write_text("not a folder")
    (root / "escape.mp4").symlink_to(outside / "secret.mp4")
    (root / "escape-dir").symlink_to(outside / "dir")
    return {"root": root, "outside": outside, "clip": clip}


def bad(m: dict[str, Path], **fields) -> pb.RetimeSpec:
    """A valid request (clip x2 into a fresh folder) with ``fields`` changed."""
    spec = request(m["clip"], m["root"] / "out" / uuid.uuid4().hex, factor="2")
    for name, value in fields.items():
        setattr(spec, name, value)
    return spec


def retime_key_reused(d, m):
    key = uuid.uuid4().hex
    submit(d, bad(m, output=str(m["root"] / "reused")), key)
    submit(d, bad(m, output=str(m["root"] / "reused"), factor="3"), key)


def transition_key_reused(d, m):
    key = uuid.uuid4().hex
    d.call("SubmitTransition", pb.SubmitTransitionRequest(
        idempotency_key=key, spec=transition(BBB[0], BBB[1], m["root"] / "transition")))
    submit(d, bad(m), key)


# (kind, call, status code, words the message must contain; a first word "spec.x" is the field)
CORPUS = [
    ("missing spec", lambda d, m: submit(d, None), C.INVALID_ARGUMENT, "spec: is missing"),
    ("empty idempotency key", lambda d, m: submit(d, bad(m), key=""), C.INVALID_ARGUMENT, "idempotency_key"),
    ("empty input", lambda d, m: submit(d, bad(m, input="")), C.INVALID_ARGUMENT, "spec.input: is empty"),
    ("relative output", lambda d, m: submit(d, bad(m, output="out.mp4")), C.INVALID_ARGUMENT, "spec.output",
     "absolute"),
    ("no rate", lambda d, m: submit(d, bad(m, factor="")), C.INVALID_ARGUMENT, "spec.fps", "exactly one"),
    ("two rates", lambda d, m: submit(d, bad(m, slowmo="4")), C.INVALID_ARGUMENT, "spec.slowmo", "exactly one"),
    ("rate that is no number", lambda d, m: submit(d, bad(m, factor="", fps="fast")), C.INVALID_ARGUMENT,
     "spec.fps", "not a frame rate"),
    ("zero factor", lambda d, m: submit(d, bad(m, factor="0")), C.INVALID_ARGUMENT, "spec.factor",
     "greater than 0"),
    ("huge slow motion", lambda d, m: submit(d, bad(m, factor="", slowmo="1000")), C.INVALID_ARGUMENT,
     "spec.slowmo", "limit"),
    ("slowmo below 1", lambda d, m: submit(d, bad(m, factor="", slowmo="0.5")), C.INVALID_ARGUMENT,
     "spec.slowmo", "at least 1"),
    ("unknown codec", lambda d, m: submit(d, bad(m, codec="vp9")), C.INVALID_ARGUMENT, "spec.codec", "vp9"),
    ("codec the container cannot hold", lambda d, m: submit(d, bad(m, output=str(m["root"] / "x.mp4"),
                                                                   codec="prores")),
     C.INVALID_ARGUMENT, "spec.codec", "cannot be written"),
    ("zero scene threshold", lambda d, m: submit(d, bad(m, scene_threshold=0.0)), C.INVALID_ARGUMENT,
     "spec.scene_threshold"),
    ("NaN scene threshold", lambda d, m: submit(d, bad(m, scene_threshold=float("nan"))), C.INVALID_ARGUMENT,
     "spec.scene_threshold"),
    ("duplicate threshold too high", lambda d, m: submit(d, bad(m, dup_threshold=0.7)), C.INVALID_ARGUMENT,
     "spec.dup_threshold"),
    ("unknown audio mode", lambda d, m: submit(d, bad(m, audio="loud")), C.INVALID_ARGUMENT, "spec.audio"),
    ("resume and overwrite", lambda d, m: submit(d, bad(m, resume=True, overwrite=True)), C.INVALID_ARGUMENT,
     "spec.overwrite", "contradict"),
    ("resume of a movie", lambda d, m: submit(d, bad(m, output=str(m["root"] / "r.mp4"), resume=True)),
     C.INVALID_ARGUMENT, "spec.resume"),
    ("unknown model", lambda d, m: submit(d, bad(m, model="superres")), C.INVALID_ARGUMENT, "spec.model"),
    ("unknown input colourspace", lambda d, m: submit(d, bad(m, colorspace_in="NotASpace")), C.INVALID_ARGUMENT,
     "spec.colorspace_in", "NotASpace"),
    ("input rate for a movie", lambda d, m: submit(d, bad(m, input_fps="24")), C.INVALID_ARGUMENT,
     "spec.input_fps"),
    ("unsupported output", lambda d, m: submit(d, bad(m, output=str(m["root"] / "x.gif"))), C.INVALID_ARGUMENT,
     "spec.output"),
    ("output folder is a file", lambda d, m: submit(d, bad(m, output=str(m["root"] / "a-file"))),
     C.INVALID_ARGUMENT, "spec.output", "is a file"),
    ("existing movie without overwrite", lambda d, m: submit(d, bad(m, output=str(m["root"] / "existing.mp4"))),
     C.INVALID_ARGUMENT, "spec.output", "already exists"),
    ("corrupt movie", lambda d, m: submit(d, bad(m, input=str(m["root"] / "corrupt.mp4"))), C.INVALID_ARGUMENT,
     "spec.input"),
    ("a still image", lambda d, m: submit(d, bad(m, input=str(BBB[0]))), C.INVALID_ARGUMENT, "spec.input",
     "single image"),
    ("missing input", lambda d, m: submit(d, bad(m, input=str(m["root"] / "nope.mov"))), C.NOT_FOUND,
     "spec.input", "nope.mov"),
    ("missing OCIO config", lambda d, m: submit(d, bad(m, ocio_config=str(m["root"] / "none.ocio"))), C.NOT_FOUND,
     "spec.ocio_config"),
    ("input outside the roots", lambda d, m: submit(d, bad(m, input=str(m["outside"] / "secret.mp4"))),
     C.PERMISSION_DENIED, "spec.input", "--allow-root"),
    ("input escaping with ..", lambda d, m: submit(d, bad(m, input=f"{m['root']}/../../{m['outside'].name}/x.mp4")),
     C.PERMISSION_DENIED, "spec.input"),  # not NOT_FOUND: no probing outside
    ("input through a symlink", lambda d, m: submit(d, bad(m, input=str(m["root"] / "escape.mp4"))),
     C.PERMISSION_DENIED, "spec.input", "outside"),
    ("output outside the roots", lambda d, m: submit(d, bad(m, output=str(m["outside"] / "x.mp4"))),
     C.PERMISSION_DENIED, "spec.output"),
    ("output escaping with ..", lambda d, m: submit(d, bad(m, output=f"{m['root']}/n/../../../{m['outside'].name}")),
     C.PERMISSION_DENIED, "spec.output"),
    ("output through a symlinked folder",
     lambda d, m: submit(d, bad(m, output=str(m["root"] / "escape-dir" / "x.mkv"))),
     C.PERMISSION_DENIED, "spec.output"),
    ("pattern in a symlinked folder",
     lambda d, m: submit(d, bad(m, output=str(m["root"] / "escape-dir" / "f.%04d.png"))),
     C.PERMISSION_DENIED, "spec.output"),
    ("retime key reused for another retime", retime_key_reused, C.ALREADY_EXISTS, "idempotency_key", "different"),
    ("transition key reused for a retime", transition_key_reused, C.ALREADY_EXISTS, "idempotency_key"),
]


@pytest.mark.parametrize(("kind", "call", "code", "words"), [(k, c, s, w) for k, c, s, *w in CORPUS],
                         ids=[k for k, *_ in CORPUS])
def test_bad_retime_request(renderd, corpus, kind, call, code, words):
    with pytest.raises(grpc.RpcError) as info:
        call(renderd, corpus)
    error = info.value
    assert error.code() == code, (kind, error.code(), error.details())
    for word in words:
        assert word in error.details(), (kind, error.details())
    if code == C.INVALID_ARGUMENT and words[0].startswith("spec"):
        violation = error_details_pb2.BadRequest()
        assert rpc_status.from_call(error).details[0].Unpack(violation)
        assert violation.field_violations[0].field == words[0].split(":")[0]


def test_bad_retime_requests_left_no_trace(renderd, corpus):
    marker = f"end-of-retime-corpus-{uuid.uuid4().hex}"
    with pytest.raises(grpc.RpcError):
        renderd.call("GetJob", pb.GetJobRequest(job_id=marker))
    renderd.wait_for_log(lambda e: marker in e.get("message", ""))
    assert renderd.proc.poll() is None
    assert not [e for e in renderd.events if "traceback" in e or e["level"] in ("error", "critical")]
    assert not (corpus["outside"] / "x.mp4").exists() and not list((corpus["outside"] / "dir").iterdir())


def test_full_queue_and_busy_output(tmp_path):
    clip = make_clip(tmp_path / "pan.mp4", 25)
    daemon = RenderdProcess(tmp_path / "store", "--workers", "1", "--queue-limit", "1")
    try:
        long = submit(daemon, request(clip, tmp_path / "long.mkv", slowmo="32")).job  # 800 frames
        for event in daemon.watch(long.job_id):
            if event.job.state == pb.JOB_STATE_RUNNING:
                break
        waiting = submit(daemon, request(clip, tmp_path / "waiting", factor="2")).job  # fills the queue
        with pytest.raises(grpc.RpcError) as full:
            submit(daemon, request(clip, tmp_path / "third", factor="2"))
        assert full.value.code() == C.RESOURCE_EXHAUSTED and "queue is full" in full.value.details()
        with pytest.raises(grpc.RpcError) as busy:
            submit(daemon, request(clip, tmp_path / "long.mkv", factor="2"))
        assert busy.value.code() == C.FAILED_PRECONDITION and long.job_id in busy.value.details()
        with pytest.raises(grpc.RpcError) as busy_folder:  # a transition into the waiting retime's folder
            daemon.call("SubmitTransition", pb.SubmitTransitionRequest(
                idempotency_key=uuid.uuid4().hex, spec=transition(BBB[0], BBB[1], tmp_path / "waiting")))
        assert busy_folder.value.code() == C.FAILED_PRECONDITION and waiting.job_id in busy_folder.value.details()
        for job in (waiting, long):
            daemon.call("CancelJob", pb.CancelJobRequest(job_id=job.job_id))
        assert daemon.wait_final(long.job_id)[0].state == pb.JOB_STATE_CANCELLED
    finally:
        assert daemon.stop() == 0
    assert not any("Traceback" in line for line in daemon.lines)
    assert not (tmp_path / "third").exists() and not (tmp_path / "long.mkv").exists()


def test_a_store_from_before_retimes_is_upgraded(tmp_path):
    """A schema-1 store (the daemon before retime jobs): its jobs read back as transitions."""
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    db.executescript("""
        CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE, fingerprint TEXT NOT NULL, spec TEXT NOT NULL,
            out_key TEXT NOT NULL, state TEXT NOT NULL, frames_total INTEGER NOT NULL,
            frames_done INTEGER NOT NULL DEFAULT 0, eta_seconds REAL, preview_path TEXT NOT NULL DEFAULT '',
            error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '',
            cancel_requested INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
            report TEXT NOT NULL DEFAULT '', created REAL NOT NULL, started REAL, finished REAL);
        INSERT INTO jobs (id, idempotency_key, fingerprint, spec, out_key, state, frames_total, created)
            VALUES ('old', 'k', 'f', '{"frames": 2}', '/o', 'succeeded', 2, 0);
        PRAGMA user_version=1;
    """)
    db.close()
    store = JobStore(tmp_path)
    try:
        old = store.get("old")
        assert old.kind == TRANSITION and old.output_stamp is None and old.spec == {"frames": 2}
    finally:
        store.close()
    assert sqlite3.connect(tmp_path / "jobs.sqlite3").execute("PRAGMA user_version").fetchone()[0] == 3


def test_watch_of_a_finished_retime_is_one_event(renderd, clip, allowed_root):
    job = submit(renderd, request(clip, allowed_root / "watched" / "w.%03d.png", factor="2")).job
    renderd.wait_final(job.job_id)
    events = list(renderd.watch(job.job_id))
    assert len(events) == 1 and events[0].job.state in FINAL and events[0].job.frames_done == 50
