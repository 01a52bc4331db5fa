"""Farm tasks on a node's warm daemon: ``segue farm render`` hands its chunk to segue-renderd.

A chunk rendered by the daemon (its engine loaded once and kept across tasks) gives the
same bytes as one rendered in the task's own process; with no daemon answering, the task
renders in-process; either way the choice is logged; ``--server`` naming no daemon is a
user error; a farm chunk request with numbers out of range is refused naming the field.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import grpc
import pytest
from renderd_harness import DEMO, rooted_daemon
from retime_clips import assert_user_error, encode, pan, segue, texture

from segue.renderd._proto import render_pb2 as pb

MODEL = "classic"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node's daemon: one worker (so every chunk runs on the same warm engine), token, allowed root."""
    daemon, root, token = rooted_daemon(tmp_path_factory, "node")
    yield daemon, root, token
    assert daemon.stop() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def farm(node_env: dict, step: str, kind_args: list, *extra) -> object:
    return segue("farm", step, *kind_args, "--model", MODEL, *extra, env=node_env)


def test_chunks_on_the_warm_daemon_equal_chunks_in_process(node) -> None:
    daemon, root, token = node
    clip = encode(pan(texture(), 24, dx=2, dy=1), root / "take.mp4", audio_seconds=1.0)
    env = {**os.environ, "SEGUE_RENDERD_TOKEN_FILE": str(token), "SEGUE_FARM_SERVER": daemon.address}
    local = root / "local.mp4"
    assert segue("retime", clip, "--fps", "50", "-o", local, "--model", MODEL, "-q").returncode == 0
    retime = ["retime", str(clip), "--fps", "50", "-o", str(root / "farm" / "take_50.mp4"), "--chunks", "3", "-q"]
    assert farm(env, "plan", retime).returncode == 0
    loaded_before = sum(e.get("event") == "engine.loaded" for e in daemon.events)
    on_daemon = [farm(env, "render", retime, "--chunk", k) for k in ("3", "1")]  # the node's daemon, by default
    for done in on_daemon:
        assert done.returncode == 0, done.stderr
        assert f"rendering on segue-renderd at {daemon.address}" in done.stderr
    in_process = farm(env, "render", retime, "--chunk", "2", "--no-server")
    assert in_process.returncode == 0 and "segue-renderd" not in in_process.stderr
    assert farm(env, "assemble", retime).returncode == 0
    assert (root / "farm" / "take_50.mp4").read_bytes() == local.read_bytes()

    # both chunks ran as farm-chunk jobs on one engine, loaded once and kept between tasks
    jobs = [j for j in daemon.call("ListJobs", pb.ListJobsRequest()).jobs if j.HasField("farm_chunk")]
    assert sorted(j.farm_chunk.chunk for j in jobs) == [1, 3] and {j.farm_chunk.chunks for j in jobs} == {3}
    assert all(j.state == pb.JOB_STATE_SUCCEEDED for j in jobs)
    assert sum(e.get("event") == "engine.loaded" for e in daemon.events) - loaded_before == 1
    record = json.loads(daemon.call("GetJob", pb.GetJobRequest(job_id=jobs[0].job_id)).job.report_json)
    assert record["chunk"] in (1, 3) and record["frames"][1] > record["frames"][0]


def test_a_transition_chunk_on_the_daemon(node, tmp_path: Path) -> None:
    daemon, root, token = node
    env = {**os.environ, "SEGUE_RENDERD_TOKEN_FILE": str(token)}
    a, b = str(DEMO / "take_a.mp4"), str(DEMO / "take_b.mp4")
    out = root / "cut"
    kind = ["transition", a, b, "--frames", "5", "-o", str(out), "--chunks", "2", "-q"]
    assert farm(env, "plan", kind).returncode == 0
    for k in ("1", "2"):
        done = farm(env, "render", kind, "--chunk", k, "--server", daemon.address)
        assert done.returncode == 0, done.stderr
    assert farm(env, "assemble", kind).returncode == 0
    local = tmp_path / "local"
    assert segue("transition", a, b, "--frames", "5", "-o", local, "--model", MODEL, "-q").returncode == 0
    for name in ["frame_0001.png", "frame_0005.png", "preview.mp4", "contact_sheet.png"]:
        assert (out / name).read_bytes() == (local / name).read_bytes()


def test_without_a_daemon_the_task_renders_itself_and_says_so(tmp_path: Path) -> None:
    clip = encode(pan(texture(), 6), tmp_path / "take.mp4")
    nobody = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "SEGUE_FARM_SERVER": nobody}
    retime = ["retime", str(clip), "--factor", "2", "-o", str(tmp_path / "x2"), "--chunks", "2", "-q"]
    assert farm(env, "plan", retime).returncode == 0
    done = farm(env, "render", retime, "--chunk", "1")
    assert done.returncode == 0, done.stderr
    assert f"rendering in this process (no segue-renderd answers there at {nobody})" in done.stderr
    assert_user_error(farm(env, "render", retime, "--chunk", "2", "--server", nobody), "--server", "no segue-renderd")


def test_farm_chunk_numbers_are_checked(node) -> None:
    daemon, root, _ = node
    spec = pb.TransitionSpec(clip_a=str(DEMO / "take_a.mp4"), clip_b=str(DEMO / "take_b.mp4"), frames=2,
                             out_dir=str(root / "bad"))
    for chunks, chunk, field in ((0, 1, "farm_chunk.chunks"), (3, 4, "farm_chunk.chunk"), (2, 0, "farm_chunk.chunk")):
        request = pb.SubmitTransitionRequest(idempotency_key=f"bad-{chunks}-{chunk}", spec=spec)
        request.farm_chunk.chunks, request.farm_chunk.chunk = chunks, chunk
        with pytest.raises(grpc.RpcError) as caught:
            daemon.call("SubmitTransition", request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in caught.value.details()
