"""The extension's daemon side outside Blender: `connection` and `job` against real daemons.

Run from the source tree, the package finds the shared client as the installed
``renderd.client`` (a built extension carries a vendored copy, tested in Blender).
"""
from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "plugins" / "blender"))
sys.path.insert(0, str(REPO / "tests" / "renderd"))
from renderd_harness import BBB, TOKEN, RenderdProcess
from segue_transition import connection, job
from segue_transition.connection import ConnectionProblem, Settings

RENDERD_EXE = Path(sys.executable).parent / "segue-renderd"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process = RenderdProcess(tmp_path_factory.mktemp("store"))
    yield process
    assert process.stop() == 0


@pytest.fixture(autouse=True)
def fresh_connection():
    yield
    connection.close()


def free_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def spec(out: Path, frames: int = 3, **kw) -> dict:
    return {"clip_a": str(BBB[0]), "clip_b": str(BBB[-1]), "frames": frames, "out_dir": str(out), **kw}


# -- connection ------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1:50051", True), ("127.8.9.10:1", True), ("localhost:50051", True), ("[::1]:50051", True),
    ("ipv4:127.0.0.1:5", True), ("0.0.0.0:50051", False), ("10.0.0.2:50051", False),
    ("render-node:50051", False), ("[2001:db8::1]:50051", False),
])
def test_loopback(address, loopback):
    assert connection.is_loopback(address) is loopback


def test_online_access_guards_the_network():
    connection.check_online_access(Settings(address="127.0.0.1:1", online_access=False))
    connection.check_online_access(Settings(address="render-node:50051", online_access=True))
    with pytest.raises(ConnectionProblem, match="online access is off"):
        connection.check_online_access(Settings(address="render-node:50051", online_access=False))
    with pytest.raises(ConnectionProblem, match="online access is off"):
        connection.client(Settings(address="192.0.2.1:50051"))


def test_source_tree_uses_the_installed_shared_client():
    assert connection.client_module().__name__ == "segue.renderd.client"
    assert connection.proto_module().__name__ == "segue.renderd._proto.render_pb2"


def test_nothing_answers_and_no_auto_start():
    address = free_address()
    with pytest.raises(ConnectionProblem) as caught:
        connection.connect(Settings(address=address, auto_start=False))
    # words and what to do first; gRPC's own text only in the details at the end
    words, _, details = str(caught.value).partition(" (details: ")
    assert words == (f"Segue's render daemon is not running at {address}: start it with `segue-renderd serve`, "
                     "or turn on Start a Local Daemon in the add-on preferences")
    assert details.startswith(f"no segue-renderd answers at {address}: ") and details.endswith(")")


def test_a_network_daemon_that_does_not_answer_points_at_the_address():
    text = connection.unreachable_message("192.0.2.7:50051", "failed to connect to all addresses")
    assert text.startswith("Segue's render daemon at 192.0.2.7:50051 does not answer: check that it runs there")
    assert text.index("Daemon Address") < text.index("failed to connect")


def test_missing_daemon_executable(tmp_path):
    with pytest.raises(ConnectionProblem, match="cannot find Segue's render daemon, segue-renderd"):
        connection.connect(Settings(address=free_address(), renderd_path=str(tmp_path / "nope"),
                                    store_dir=str(tmp_path)))


def test_auto_start_and_stop(tmp_path):
    settings = Settings(address=free_address(), renderd_path=str(RENDERD_EXE), store_dir=str(tmp_path / "store"))
    client = connection.connect(settings)
    assert client.capabilities().version
    process = connection.local_daemon()
    assert process is not None and process.poll() is None
    assert connection.connect(settings) is client  # the cached channel, no second daemon
    assert connection.local_daemon() is process
    connection.close()
    assert process.poll() == 0  # SIGTERM: a clean stop
    assert (tmp_path / "store" / "renderd.log").read_text().count("server.serving") == 1


def test_capabilities_cache_never_blocks_the_ui(daemon):
    settings = Settings(address=daemon.address)
    assert connection.cached_capabilities(settings) is None  # nothing fetched yet, nothing fetched now
    caps = connection.cached_capabilities(settings, fetch_if_missing=True)
    assert "classic" in caps.models
    assert connection.cached_capabilities(settings) is caps
    dead = Settings(address=free_address())
    started = time.monotonic()
    assert connection.cached_capabilities(dead, fetch_if_missing=True) is None
    assert connection.cached_capabilities(dead, fetch_if_missing=True) is None  # remembered failure
    assert time.monotonic() - started < 3


# -- jobs ------------------------------------------------------------------------------


def test_job_succeeds(daemon, tmp_path):
    seen = []
    run = job.TransitionJob(Settings(address=daemon.address), spec(tmp_path / "out"), on_event=seen.append)
    result = run.run()
    assert result.state == job.SUCCEEDED, result.message
    assert [Path(p).name for p in result.frames] == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    assert all(Path(p).is_file() for p in result.frames)
    assert result.colorspace  # the daemon's own name for what it wrote
    assert [p.frames_done for p in seen if p.state == "RUNNING"][-1] == 3
    assert run.done and run.progress.state == job.SUCCEEDED
    # the previews the daemon lists beside the frames, as absolute paths of existing files
    folder = Path(result.frames[0]).parent
    assert result.previews == {"movie": str(folder / "preview.mp4"), "dissolve": str(folder / "preview_dissolve.mp4"),
                               "contact_sheet": str(folder / "contact_sheet.png")}
    assert result.handles == (1, 1)  # two stills: A's one frame before, B's one frame after


def test_preview_files_from_a_report(tmp_path):
    (tmp_path / "preview.mp4").write_bytes(b"")
    listed = {"movie": "preview.mp4", "dissolve": "preview_dissolve.mp4", "handles": [12, 5]}
    assert job.preview_files({"previews": listed}, str(tmp_path)) == (
        {"movie": str(tmp_path / "preview.mp4")}, (12, 5))  # a listed file that is not there is left out
    assert job.preview_files({"previews": None}, str(tmp_path)) == ({}, (0, 0))  # asked for none
    assert job.preview_files({}, str(tmp_path)) == ({}, (0, 0))  # an older daemon


def test_job_cancelled_leaves_no_files(daemon, tmp_path):
    out = tmp_path / "out"
    holder = {}

    def on_event(progress):
        if progress.frames_done >= 1:
            holder["job"].cancel()

    run = holder["job"] = job.TransitionJob(Settings(address=daemon.address), spec(out, frames=40),
                                            on_event=on_event)
    run.start()
    result = run.wait(60)
    assert result.state == job.CANCELLED, result
    assert "cancelled after" in result.message
    assert not out.exists()
    assert daemon.call("GetJob", _get_job(result.job_id)).job.state == 5  # CANCELLED


def test_cancel_before_start_sends_nothing(daemon, tmp_path):
    run = job.TransitionJob(Settings(address=daemon.address), spec(tmp_path / "out"))
    run.cancel()
    assert run.progress.text() == "Segue: cancelling…"
    result = run.run()
    assert result.state == job.CANCELLED and result.job_id == ""
    assert not (tmp_path / "out").exists()


def test_job_refused_by_the_daemon(daemon, tmp_path):
    bad = spec(tmp_path / "out", clip_a=str(tmp_path / "missing.png"))
    result = job.TransitionJob(Settings(address=daemon.address), bad).run()
    assert result.state == job.FAILED
    assert result.message.startswith("Segue's render daemon refused the transition:")
    assert "missing.png" in result.message
    assert not (tmp_path / "out").exists()


def test_existing_output_folder_is_not_touched(daemon, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    result = job.TransitionJob(Settings(address=daemon.address), spec(out)).run()
    assert result.state == job.FAILED and "already exists" in result.message
    assert (out / "mine.txt").read_text() == "keep"


def test_unreachable_daemon(tmp_path):
    address = free_address()
    result = job.TransitionJob(Settings(address=address, auto_start=False), spec(tmp_path / "out")).run()
    assert result.state == job.FAILED
    assert result.message.startswith(f"Segue's render daemon is not running at {address}")


def test_token(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    process = RenderdProcess(tmp_path / "store", "--token-file", str(token_file), token=TOKEN)
    try:
        without = job.TransitionJob(Settings(address=process.address, auto_start=False),
                                    spec(tmp_path / "a")).run()
        assert without.state == job.FAILED and "does not accept this user" in without.message
        assert "Token File" in without.message
        with_token = job.TransitionJob(Settings(address=process.address, token_file=str(token_file)),
                                       spec(tmp_path / "b", frames=1)).run()
        assert with_token.state == job.SUCCEEDED, with_token.message
    finally:
        connection.close()
        assert process.stop() == 0


def test_progress_text():
    assert job.Progress().text() == "Segue: connecting to segue-renderd… (Esc to cancel)"
    running = job.Progress(state="RUNNING", frames_done=3, frames_total=8, eta_seconds=1.2)
    assert running.text() == "Segue: frame 3/8, about 2 s left (Esc to cancel)"
    assert running.fraction == 3 / 8


def _get_job(job_id: str):
    from segue.renderd._proto import render_pb2 as pb

    return pb.GetJobRequest(job_id=job_id)
