"""A client cannot make the daemon delete, replace or hang on anything: planted state files,
outputs that are inputs or strangers' files, and numbers built to freeze the parser."""
from __future__ import annotations

import json
import shutil
import threading
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from renderd_harness import BBB, TAKE_A, transition

from segue.renderd._proto import render_pb2 as pb

pytest_plugins = ("renderd_fixtures",)


@pytest.fixture()
def folder(allowed_root) -> Path:
    path = allowed_root / "owned" / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return error.value


def retime(d, **fields) -> pb.SubmitRetimeResponse:
    request = pb.SubmitRetimeRequest(idempotency_key=uuid.uuid4().hex, spec=pb.RetimeSpec(**fields))
    return d.call("SubmitRetime", request)


def assert_healthy(d) -> None:
    stub = health_pb2_grpc.HealthStub(d.channel())
    answer = stub.Check(health_pb2.HealthCheckRequest(), metadata=d.metadata, timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert not [e for e in d.events if "traceback" in e]


def test_a_planted_state_file_cannot_delete_files_outside_the_folder(renderd, folder, tmp_path):
    victim = tmp_path / "victim.txt"  # outside every allowed root
    victim.write_text("precious")
    store_db = renderd.store / "jobs.sqlite3"
    names = [str(victim), "../" * 12 + str(victim).lstrip("/"), str(store_db), "../sibling.txt"]
    (folder.parent / "sibling.txt").write_text("also precious")
    (folder / ".segue-state.json").write_text(json.dumps({"key": "x", "done": {}, "files": names}))
    error = refused(lambda: renderd.submit(transition(BBB[0], BBB[1], folder)))
    assert error.details().startswith("spec.out_dir:") and ".segue-state.json" in error.details()
    assert victim.read_text() == "precious" and store_db.is_file()
    assert (folder.parent / "sibling.txt").read_text() == "also precious"
    assert_healthy(renderd)


# Each of these made Fraction build a 10^N integer (or overflow float()) inside the daemon.
@pytest.mark.parametrize("field, value", [("factor", "1e100000000"), ("fps", "1e10000000"), ("fps", "1e309"),
                                          ("slowmo", "9" * 5000), ("input_fps", "1e100000000")])
def test_numbers_built_to_freeze_the_parser_are_refused_at_once(renderd, folder, field, value):
    rates = {"factor": "2"} if field in ("input_fps",) else {}
    spec = {"input": str(BBB[0].parent / "bbb.%04d.png"), "output": str(folder / "out"), **rates, field: value}
    # a health check from another thread while the submit is parsed: it must be answered
    health = []
    checker = threading.Thread(target=lambda: health.append(assert_healthy(renderd)))
    checker.start()
    error = refused(lambda: retime(renderd, **spec))
    checker.join()
    assert health == [None]
    assert error.details().startswith(f"spec.{field}:"), error.details()
    assert len(error.details()) < 300  # a long field is quoted only in part
    assert_healthy(renderd)


def test_a_retime_never_replaces_its_input_or_a_movie_segue_did_not_write(renderd, folder):
    movie = folder / "clip.mp4"
    shutil.copy(TAKE_A, movie)
    original = movie.read_bytes()
    error = refused(lambda: retime(renderd, input=str(movie), output=str(movie), factor="2", overwrite=True))
    assert error.details().startswith("spec.output:") and "the output is the input" in error.details()
    stranger = folder / "stranger.mp4"
    stranger.write_bytes(b"not Segue's")
    error = refused(lambda: retime(renderd, input=str(movie), output=str(stranger), factor="2", overwrite=True))
    assert "not written by Segue" in error.details()
    (folder / "new.mp4.json").write_text("the user's notes")
    error = refused(lambda: retime(renderd, input=str(movie), output=str(folder / "new.mp4"), factor="2"))
    assert "new.mp4.json" in error.details() and "not written by Segue" in error.details()
    frames = folder / "frames"
    frames.mkdir()
    (frames / "retime.json").write_text("the user's notes")
    error = refused(lambda: retime(renderd, input=str(movie), output=str(frames), factor="2"))
    assert "retime.json" in error.details()
    assert movie.read_bytes() == original and stranger.read_bytes() == b"not Segue's"
    assert (folder / "new.mp4.json").read_text() == (frames / "retime.json").read_text() == "the user's notes"
    assert not (folder / "new.mp4").exists() and not list(frames.glob("frame_*"))
    assert_healthy(renderd)
