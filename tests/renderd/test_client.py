"""The shared client: light to import, retries with backoff, readable errors."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid

import pytest
from renderd_harness import BBB, SAFETY, TOKEN, RenderdProcess, transition

from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import RenderClient, RenderError, Retry

pytest_plugins = ("renderd_fixtures",)

FAST = Retry(attempts=3, initial=0.01, maximum=0.05)


def test_client_imports_without_the_engine():
    """Plugins vendor it: grpcio, protobuf and the stubs must be all it needs."""
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('segue.core') or name.split('.')[0] in ('numpy', 'cv2', 'PyOpenColorIO',"
        " 'OpenEXR'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import segue.renderd.client as c\n"
        "print(c.RenderClient.__name__, c.pb.JOB_STATE_SUCCEEDED)\n"
    )
    result = subprocess.run([sys.executable, "-c", blocker], check=False, capture_output=True, text=True,
                            timeout=SAFETY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["RenderClient", "3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_daemon_is_unavailable_after_the_retries():
    with RenderClient(f"127.0.0.1:{free_port()}", retry=FAST, timeout=5) as client, \
            pytest.raises(RenderError) as info:
        client.capabilities()
    assert info.value.code == "UNAVAILABLE"


def test_a_call_made_before_the_daemon_is_up_goes_through_once_it_is(tmp_path):
    port = free_port()
    result: list = []
    client = RenderClient(f"127.0.0.1:{port}", retry=Retry(attempts=60, initial=0.05, maximum=0.5), timeout=5)
    caller = threading.Thread(target=lambda: result.append(client.capabilities()))
    caller.start()
    daemon = RenderdProcess(tmp_path / "store", "--no-token", listen=f"127.0.0.1:{port}")  # the client came first
    try:
        caller.join(SAFETY)
        assert result and result[0].max_frames == 10000
    finally:
        client.close()
        assert daemon.stop() == 0


def test_errors_carry_code_message_and_field(renderd, allowed_root):
    with RenderClient(renderd.address, token=TOKEN, retry=FAST) as client:
        with pytest.raises(RenderError) as info:
            client.submit({"clip_a": str(BBB[0]), "clip_b": str(BBB[1]), "frames": 0,
                           "out_dir": str(allowed_root / "c")})
        assert info.value.code == "INVALID_ARGUMENT" and info.value.field == "spec.frames"
        assert "between 1 and 10000" in info.value.message
        with pytest.raises(RenderError) as missing:
            client.get_job("f" * 32)
        assert missing.value.code == "NOT_FOUND" and missing.value.field is None


def test_submit_wait_get_cancel_and_list(renderd, allowed_root):
    with RenderClient(renderd.address, token=TOKEN) as client:
        key = uuid.uuid4().hex
        spec = transition(BBB[0], BBB[1], allowed_root / "client", frames=2)
        job = client.submit(spec, idempotency_key=key).job
        seen: list[pb.WatchJobResponse] = []
        final = client.wait(job.job_id, on_event=seen.append)
        assert final.state == pb.JOB_STATE_SUCCEEDED
        assert [e.frame.index for e in seen if e.HasField("frame")] == [1, 2]
        assert len(client.get_job(job.job_id).frames) == 2
        assert client.list_jobs(states=(pb.JOB_STATE_SUCCEEDED,), page_size=500).jobs
        with pytest.raises(RenderError) as done:
            client.cancel_job(job.job_id)
        assert done.value.code == "FAILED_PRECONDITION"
        assert client.submit(spec, idempotency_key=key).deduplicated


def test_model_names_an_editor_understands():
    """Both plugins show these words and keep the daemon's technical name for the tooltip."""
    from segue.renderd import client

    assert client.model_labels(["auto", "classic", "segue_fusion"]) == [
        "Automatic", "Fast (classic)", "Best quality (learned)"]
    assert client.model_labels(["a.onnx", "b.onnx"]) == ["Best quality (learned) - a.onnx",
                                                         "Best quality (learned) - b.onnx"]
    assert all(client.model_description(n).endswith(f"Technical name: {n}") for n in ("auto", "classic", "x.onnx"))
    assert "classic" in client.model_description("auto")  # what auto runs for a transition


def test_the_low_confidence_warning_names_the_frames_to_check():
    from segue.renderd import client

    assert client.low_confidence_warning({"low_confidence": {"frames": []}}) == ""
    assert client.low_confidence_warning({}) == ""  # a report of a daemon that did not say
    one = client.low_confidence_warning({"low_confidence": {"frames": [3]}})
    assert one.startswith("Check frame 3 before using it") and "dissolve" in one
    many = client.low_confidence_warning({"low_confidence": {"frames": list(range(1, 20))}})
    assert many.startswith("Check frames 1, 2,") and "12 ..." in many and "19" not in many


def test_a_farm_bundle_refusal_names_its_cut() -> None:
    assert RenderError("INVALID_ARGUMENT", "x", "cuts[3].clip_a").cut == 3
    assert RenderError("PERMISSION_DENIED", "x", "cuts[12]").cut == 12
    for field in ("cuts", "bundle_dir", "spec.cuts[1]", None, "cuts[x].clip_a"):
        assert RenderError("INVALID_ARGUMENT", "x", field).cut is None, field
