"""A seeded fuzzer against a real daemon: hostile field values in every request.

Each CI run sends `REQUESTS` requests built by a seeded generator (the seed is in every
failure message; ``SEGUE_FUZZ_SEED`` replays one, ``SEGUE_FUZZ_REQUESTS`` runs more) to a
daemon with an allowed root, a token and small limits: submits of transitions and retimes
whose fields are drawn from lengths, exponents, NaN/inf, unicode digits, NUL bytes, paths
with ``..``, symlinks out of the root, playlists, decompression bombs and planted state
files; job calls with odd ids and page tokens; and undecodable bytes. The daemon must:

* answer every request with a status a client mistake deserves (never INTERNAL or
  UNKNOWN, never a traceback in its log);
* stay healthy: a health check between requests is answered SERVING;
* write nothing outside its root and change nothing of what lies there.
"""
from __future__ import annotations

import os
import random
import shutil
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hostile_media import HLS_NAME, ffconcat_list, hls_playlist, png_bomb, small_movie
from renderd_harness import BBB, SAFETY, TOKEN, RenderdProcess

from segue.renderd._proto import render_pb2 as pb

REQUESTS = int(os.environ.get("SEGUE_FUZZ_REQUESTS", "1000"))
SEED = int(os.environ.get("SEGUE_FUZZ_SEED", "20261205"))
C = grpc.StatusCode
#: what a hostile request may be answered with; INTERNAL and UNKNOWN would be daemon bugs
ACCEPTABLE = {C.OK, C.INVALID_ARGUMENT, C.NOT_FOUND, C.PERMISSION_DENIED, C.RESOURCE_EXHAUSTED,
              C.FAILED_PRECONDITION, C.ALREADY_EXISTS}
HEALTH_EVERY = 10

pytest_plugins = ("renderd_fixtures",)

NUMBERS = ["1e100000000", "1e10000000", "1e309", "-1e309", "nan", "inf", "-inf", "0", "-0", "1/0", "0/0",
           "٣", "²", "1_000", "0x10", "+25", "25.", ".5", "9" * 40, "9" * 5000, "1" + "0" * 30 + "/3", "25",
           "59.94", "60000/1001", "2", "4", "64", "65", "0.0000001", " ", "", "\x00", "25\x00", "1e3"]
FLOATS = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1e-300, 1e300, 0.06, 0.5, 1.0, 2.0, -1.0]
INTS = [0, 1, 2, -1, 3, 2**31 - 1, -2**31, 10000, 10001, 7]
WORDS = ["", "png", "exr", "tiff", "jpeg", "fit", "fill", "stretch", "auto", "classic", "h264", "prores", "ffv1",
         "keep", "drop", "sRGB", "ACEScg", "Linear Rec.709 (sRGB)", "é" * 300, "\x00", "../../x", "a" * 5000,
         "ocio://default", "ocio://../../etc/passwd", "http://127.0.0.1:1/x", "💥", "\u202e"]


@pytest.fixture(scope="module")
def playground(tmp_path_factory) -> dict:
    """A root with usable, hostile and tricky files, and a folder outside it."""
    base = tmp_path_factory.mktemp("fuzz")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    secret = small_movie(outside / "secret.mp4", size="64x48", frames=6)
    (outside / "secret.png").write_bytes(BBB[0].read_bytes())
    (outside / "dir").mkdir()
    for k, frame in enumerate(BBB[:3], start=1):
        shutil.copy(frame, root / f"f.{k:04d}.png")
    shutil.copy(secret, root / "clip.mp4")
    hls_playlist(secret, outside, root / HLS_NAME)
    ffconcat_list(secret, root / "list.mp4")
    png_bomb(root / "bomb.png", 9000, 9000)
    (root / "escape.png").symlink_to(outside / "secret.png")
    (root / "escape-dir").symlink_to(outside / "dir")
    (root / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n nothing")
    (root / "notes.txt").write_text("not media")
    planted = root / "planted"
    planted.mkdir()
    (planted / ".segue-state.json").write_text(
        '{"key": "x", "done": {}, "files": ["%s", "../../outside/secret.png"]}' % (outside / "secret.png"))
    (planted / ".segue-retime-state.json").write_text('{"key": "x", "template": "frame_{:06d}.png", "frames": 1e12}')
    (planted / ".segue-ledger").write_text('{"name": "../outside/secret.png", "stamp": [1, 2, 3]}\n')
    (root / "user.mp4").write_bytes(b"the user's own movie")
    return {"root": root, "outside": outside}


def paths(p: dict) -> list[str]:
    root, outside = p["root"], p["outside"]
    return [str(root / "f.0001.png"), str(root / "f.0002.png"), str(root / "f.%04d.png"), str(root / "f.####.png"),
            str(root), str(root / "clip.mp4"), str(root / HLS_NAME), str(root / "list.mp4"), str(root / "bomb.png"),
            str(root / "escape.png"), str(root / "escape-dir"), str(root / "corrupt.png"), str(root / "notes.txt"),
            str(root / "planted"), str(root / "user.mp4"), str(root / "out" / uuid.uuid4().hex),
            str(root / "out" / "x.mp4"), str(root / "out" / "seq.%06d.png"), str(outside / "secret.png"),
            f"{root}/../outside/secret.png", f"{root}/../../../../etc/passwd", "/etc/passwd", "/", "relative.png",
            "", "-i", "file:/etc/passwd", "http://127.0.0.1:1/x.mp4", str(root / ("x" * 300)),
            str(root / ("é" * 200)), str(root / "a\x00b"), str(root) + "/" + "a/" * 3000, "~/x.png",
            str(root / "f.0001.png") + "\n"]


def transition_spec(rng: random.Random, p: dict) -> pb.TransitionSpec:
    spec = pb.TransitionSpec(clip_a=str(p["root"] / "f.0001.png"), clip_b=str(p["root"] / "f.0002.png"),
                             frames=1, out_dir=str(p["root"] / "out" / uuid.uuid4().hex), model="classic")
    for name in rng.sample(["clip_a", "clip_b", "out_dir", "frames", "a_out", "b_in", "model", "format",
                            "colorspace_a", "colorspace_b", "colorspace_out", "ocio_config", "conform"],
                           rng.randint(1, 4)):
        if name in ("frames", "a_out", "b_in"):
            value = rng.choice(INTS)
            if name == "frames" and value > 3:  # a valid huge job would only keep the workers busy
                value = -value
        elif name in ("clip_a", "clip_b", "out_dir", "ocio_config") or (name == "model" and rng.random() < 0.5):
            value = rng.choice(paths(p))
        else:
            value = rng.choice(WORDS)
        setattr(spec, name, value)
    return spec


def retime_spec(rng: random.Random, p: dict) -> pb.RetimeSpec:
    spec = pb.RetimeSpec(input=str(p["root"] / "clip.mp4"), output=str(p["root"] / "out" / uuid.uuid4().hex),
                         factor="2", model="classic")
    for name in rng.sample(["input", "output", "fps", "factor", "slowmo", "input_fps", "codec", "model",
                            "scene_threshold", "dedup", "dup_threshold", "audio", "colorspace_in",
                            "colorspace_out", "ocio_config", "resume", "overwrite"], rng.randint(1, 4)):
        if name in ("fps", "factor", "slowmo", "input_fps"):
            value = rng.choice(NUMBERS)
        elif name in ("scene_threshold", "dup_threshold"):
            value = rng.choice(FLOATS)
        elif name in ("dedup", "resume", "overwrite"):
            value = rng.random() < 0.5
        elif name in ("input", "output", "ocio_config"):
            value = rng.choice(paths(p))
        else:
            value = rng.choice(WORDS)
        setattr(spec, name, value)
    return spec


def job_id(rng: random.Random, known: list[str]) -> str:
    return rng.choice([*known[-5:], "", "0" * 32, "x" * 65, "é" * 32, "../../etc", "\x00", uuid.uuid4().hex])


def one_request(rng: random.Random, p: dict, d: RenderdProcess, known: list[str]) -> None:
    """Send one random request; raise `grpc.RpcError` for a refusal."""
    kind = rng.choice(["transition", "transition", "retime", "retime", "get", "cancel", "watch", "list", "bytes"])
    key = rng.choice([uuid.uuid4().hex] * 6 + ["", " ", "k" * 129, "é", "same-key"])
    if kind == "transition":
        answer = d.call("SubmitTransition", pb.SubmitTransitionRequest(idempotency_key=key,
                                                                       spec=transition_spec(rng, p)))
        known.append(answer.job.job_id)
    elif kind == "retime":
        answer = d.call("SubmitRetime", pb.SubmitRetimeRequest(idempotency_key=key, spec=retime_spec(rng, p)))
        known.append(answer.job.job_id)
    elif kind == "get":
        d.call("GetJob", pb.GetJobRequest(job_id=job_id(rng, known)))
    elif kind == "cancel":
        d.call("CancelJob", pb.CancelJobRequest(job_id=job_id(rng, known)))
    elif kind == "watch":
        for _ in zip(range(3), d.watch(job_id(rng, known))):  # a few events, then hang up
            pass
    elif kind == "list":
        request = pb.ListJobsRequest(page_size=rng.choice([0, 1, 500, 501, -1, 2**31 - 1]),
                                     page_token=rng.choice(["", "1", "٣", "²", "9" * 19, "-1", "x", "1e5"]))
        request.states.extend(rng.sample([0, 1, 2, 5, 6, -1, 2**31 - 1], rng.randint(0, 2)))
        d.call("ListJobs", request)
    else:
        garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        raw = d.channel().unary_unary("/segue.render.v1.Render/SubmitTransition")
        raw(garbage, timeout=SAFETY, metadata=d.metadata)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` (symlinks not followed) with its size and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.relpath(os.path.join(dirpath, name), folder)] = (st.st_size, st.st_mtime_ns)
    return found


def test_a_fuzzed_stream_of_hostile_requests(playground, tmp_path, token_file):
    root, outside = playground["root"], playground["outside"]
    before_outside = snapshot(outside)
    before_root = {k: v for k, v in snapshot(root).items() if not k.startswith("out")}
    d = RenderdProcess(tmp_path / "store", "--allow-root", str(root), "--token-file", str(token_file),
                       "--queue-limit", "4", "--max-pixels", "20000000", token=TOKEN)
    health = health_pb2_grpc.HealthStub(d.channel())
    rng = random.Random(SEED)
    known: list[str] = []
    seen: dict[str, int] = {}
    try:
        for n in range(REQUESTS):
            state = rng.getstate()
            try:
                one_request(rng, playground, d, known)
                code = C.OK
            except grpc.RpcError as exc:
                code = exc.code()
                assert code in ACCEPTABLE, (f"seed {SEED}, request {n}: {code.name}: {exc.details()} "
                                            f"(rng state before it: {hash(state)})")
            seen[code.name] = seen.get(code.name, 0) + 1
            if n % HEALTH_EVERY == 0:
                answer = health.Check(health_pb2.HealthCheckRequest(), metadata=d.metadata, timeout=SAFETY)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING, f"seed {SEED}, after request {n}"
        for job in filter(None, set(known)):
            try:
                d.call("CancelJob", pb.CancelJobRequest(job_id=job))
            except grpc.RpcError as exc:
                assert exc.code() == C.FAILED_PRECONDITION  # it had finished
    finally:
        assert d.stop() == 0
    crashed = [e for e in d.events if "traceback" in e or e.get("level") == "error"]
    assert not crashed, crashed[:3]
    assert snapshot(outside) == before_outside
    assert {k: v for k, v in snapshot(root).items() if not k.startswith("out")} == before_root
    # the generator reached the daemon's deeper checks, not only its first field check
    assert all(seen.get(code, 0) > 0 for code in ("OK", "INVALID_ARGUMENT", "PERMISSION_DENIED", "NOT_FOUND")), seen
