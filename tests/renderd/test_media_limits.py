"""Hostile media against a real daemon (issue 16, faults 3 and 4).

* A file inside an allowed root that makes ffmpeg read a movie outside every root (an HLS
  playlist, an ffconcat list) is refused at submit: INVALID_ARGUMENT naming the field and
  saying what the file is; nothing is read or written.
* Media over the pixel limit (``--max-pixels``, reported by GetCapabilities) is refused
  at submit from its header, without decoding on the request thread: the daemon's peak
  memory (VmHWM) does not grow with the bomb. A frame over the limit that only a worker
  meets (a later frame of a sequence) fails the job with INVALID_ARGUMENT, undecoded.
"""
from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hostile_media import (
    HLS_NAME,
    ffconcat_list,
    hls_playlist,
    png_bomb,
    png_movie,
    small_movie,
)
from renderd_harness import BBB, RenderdProcess, transition

from segue.core.limits import DEFAULT_MAX_PIXELS
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.config import ConfigError, load_config

pytest_plugins = ("renderd_fixtures",)

C = grpc.StatusCode


@pytest.fixture(scope="module")
def hostile(allowed_root, tmp_path_factory) -> dict[str, Path]:
    root = allowed_root / "hostile"
    root.mkdir()
    outside = tmp_path_factory.mktemp("outside-roots")
    secret = small_movie(outside / "secret.mp4", size="160x90", frames=8)
    bomb = png_bomb(root / "bomb.png", 12000, 12000)  # 144 MP in ~20 KB
    return {
        "outside": outside,
        "hls": hls_playlist(secret, outside, root / HLS_NAME),
        "ffconcat": ffconcat_list(secret, root / "list.mp4"),
        "bomb": bomb,
        "bomb_movie": png_movie(bomb, root / "bomb.mkv"),
        "out": root / "out",
    }


def refused(call) -> tuple[grpc.StatusCode, str, str]:
    """(code, message, field) of a refused call."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    error = info.value
    field = ""
    status = rpc_status.from_call(error)
    if status is not None and status.details:
        violation = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(violation)
        field = violation.field_violations[0].field
    return error.code(), error.details(), field


def submit_transition(d: RenderdProcess, clip_a: Path, out: Path):
    return d.call("SubmitTransition", pb.SubmitTransitionRequest(
        idempotency_key=uuid.uuid4().hex, spec=transition(clip_a, BBB[1], out, model="classic")))


def submit_retime(d: RenderdProcess, source: Path, output: Path):
    return d.call("SubmitRetime", pb.SubmitRetimeRequest(
        idempotency_key=uuid.uuid4().hex,
        spec=pb.RetimeSpec(input=str(source), output=str(output), fps="50", model="classic")))


@pytest.mark.parametrize(("kind", "words"), [("hls", "is an HLS playlist, which references other files"),
                                             ("ffconcat", "is an ffconcat list, which references other files")])
def test_a_playlist_in_a_root_cannot_read_outside_it(renderd, hostile, kind, words):
    planted = hostile[kind]
    out = hostile["out"] / kind
    for call, field in ((lambda: submit_transition(renderd, planted, out), "spec.clip_a"),
                        (lambda: submit_retime(renderd, planted, out / "retimed.mp4"), "spec.input")):
        code, message, where = refused(call)
        assert (code, where) == (C.INVALID_ARGUMENT, field), message
        assert f"{planted}: {words}; Segue reads only self-contained movie files" in message
    assert not out.exists()


def test_media_over_the_default_limit_is_refused_at_submit(renderd, hostile):
    caps = renderd.call("GetCapabilities", pb.GetCapabilitiesRequest())
    assert caps.max_pixels == DEFAULT_MAX_PIXELS
    for call, name, field in (
            (lambda: submit_transition(renderd, hostile["bomb"], hostile["out"] / "b1"), "bomb", "spec.clip_a"),
            (lambda: submit_transition(renderd, hostile["bomb_movie"], hostile["out"] / "b2"), "bomb_movie",
             "spec.clip_a"),
            (lambda: submit_retime(renderd, hostile["bomb_movie"], hostile["out"] / "b3.mp4"), "bomb_movie",
             "spec.input")):
        code, message, where = refused(call)
        assert (code, where) == (C.INVALID_ARGUMENT, field), message
        assert message.startswith(f"{field}: {hostile[name]}: frame is 12000x12000"), message
        assert "over the limit of 40,000,000 pixels" in message and "--max-pixels" in message


def vm_hwm(pid: int) -> int:
    """Peak resident memory of a process so far, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")
def test_bombs_are_refused_without_decoding_and_the_limit_is_a_setting(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    daemon = RenderdProcess(tmp_path / "store", "--allow-root", str(root), "--allow-root", str(BBB[0].parent),
                            "--max-pixels", "20000")
    try:
        assert daemon.call("GetCapabilities", pb.GetCapabilitiesRequest()).max_pixels == 20000
        # A first refused submit loads the engine's modules, so the baseline includes them.
        small = png_bomb(root / "small-bomb.png", 400, 400)
        code, message, _ = refused(lambda: submit_transition(daemon, small, root / "o0"))
        assert code == C.INVALID_ARGUMENT and "limit of 20,000 pixels" in message
        baseline = vm_hwm(daemon.proc.pid)
        # The 16000x16000 PNG took 3.9 GB in the submit check alone.
        frames = root / "frames"
        frames.mkdir()
        bomb = png_bomb(frames / "f.0001.png", 16000, 16000)
        shutil.copy(bomb, frames / "f.0002.png")
        for call, field in ((lambda: submit_transition(daemon, bomb, root / "o1"), "spec.clip_a"),
                            (lambda: submit_retime(daemon, frames, root / "o2.mp4"), "spec.input")):
            code, message, where = refused(call)
            assert (code, where) == (C.INVALID_ARGUMENT, field), message
            assert "16000x16000" in message and "--max-pixels" in message
        assert vm_hwm(daemon.proc.pid) - baseline < 64 << 20
        # A frame only a worker meets: the sequence's first frame is fine, its last is a bomb.
        seq = root / "seq"
        seq.mkdir()
        shutil.copy(BBB[0], seq / "f.0001.png")
        shutil.copy(bomb, seq / "f.0002.png")
        job = submit_transition(daemon, seq / "f.%04d.png", root / "o3").job
        final, _ = daemon.wait_final(job.job_id)
        assert final.state == pb.JOB_STATE_FAILED
        assert final.error.code == "INVALID_ARGUMENT"
        assert "f.0002.png" in final.error.message and "16000x16000" in final.error.message
        assert vm_hwm(daemon.proc.pid) - baseline < 64 << 20
    finally:
        assert daemon.stop() == 0
    assert not any("Traceback" in line for line in daemon.lines)


def test_max_pixels_setting(tmp_path):
    config = tmp_path / "renderd.toml"
    config.write_text("max_pixels = 8294400\n")  # 3840x2160
    assert load_config(str(config), {}).max_pixels == 8294400
    assert load_config(None, {"max_pixels": 123}).max_pixels == 123
    assert load_config(None, {}).max_pixels == DEFAULT_MAX_PIXELS
    for bad in (0, -1, 16384 * 16384 + 1, 1.5, "big", True):
        with pytest.raises(ConfigError, match="max_pixels"):
            load_config(None, {"max_pixels": bad})
