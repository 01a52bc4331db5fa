"""The machine's faults against a real daemon: a full job store, a full output disk, a
name too long for the file system. Each is answered with a precise status naming the
store, field or path, logged without a traceback, and the daemon carries on.

Full disks are real: a small tmpfs mounted for the test and filled to the last block
(mounting needs root; without it these tests skip and say so). Health is followed
through the standard ``Health.Watch`` stream, so every wait is for an event.
"""
from __future__ import annotations

import errno
import os
import queue
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from renderd_harness import BBB, SAFETY, TAKE_A, TAKE_B, RenderdProcess, transition

from segue.renderd._proto import render_pb2 as pb

pytest_plugins = ("renderd_fixtures",)

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own: a disk this test may fill."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root (these tests fill a real file system)")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True, check=False, timeout=SAFETY)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=SAFETY)


def fill(mount: Path) -> Path:
    """Write a file into ``mount`` until its file system has no free block; returns it."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 1):  # big writes, then whatever space is left
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    return filler


class HealthWatch:
    """The daemon's health as the ``Health.Watch`` stream reports it, for event-driven waits."""

    def __init__(self, daemon: RenderdProcess) -> None:
        stub = health_pb2_grpc.HealthStub(daemon.channel())
        self._call = stub.Watch(health_pb2.HealthCheckRequest(service="segue.render.v1.Render"),
                                metadata=daemon.metadata)
        self._statuses: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for reply in self._call:
                self._statuses.put(reply.status)
        except grpc.RpcError:
            pass

    def wait_for(self, status: int) -> None:
        """Block until the stream reports ``status``."""
        while self._statuses.get(timeout=SAFETY) != status:
            pass

    def close(self) -> None:
        self._call.cancel()


def no_traceback_since(daemon: RenderdProcess, start: int) -> None:
    """No log line after the first ``start`` carries a traceback or reports a crash."""
    for event in daemon.events[start:]:
        assert "traceback" not in event and not event["event"].endswith(".crashed"), event


def bad_request_field(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details:
        info = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            return info.field_violations[0].field
    return ""


def test_a_full_store_fails_the_job_turns_health_not_serving_and_recovers_without_restart(tmpfs, tmp_path):
    daemon = RenderdProcess(tmpfs / "store", "--workers", "1")
    health = HealthWatch(daemon)
    try:
        health.wait_for(SERVING)
        running = daemon.submit(transition(TAKE_A, TAKE_B, tmp_path / "running", frames=300))
        for event in daemon.watch(running.job_id):
            if event.job.frames_done >= 1:
                break
        waiting = daemon.submit(transition(BBB[0], BBB[1], tmp_path / "waiting"))  # queued behind it
        filler = fill(tmpfs)

        # The next frame cannot be recorded: the worker survives, health says so.
        health.wait_for(NOT_SERVING)
        check = health_pb2_grpc.HealthStub(daemon.channel()).Check(health_pb2.HealthCheckRequest(), timeout=SAFETY,
                                                                    metadata=daemon.metadata)
        assert check.status == NOT_SERVING
        with pytest.raises(grpc.RpcError) as refused:
            daemon.submit(transition(BBB[0], BBB[1], tmp_path / "refused"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "job store" in refused.value.details() and str(tmpfs / "store") in refused.value.details()
        assert daemon.wait_for_log(lambda e: e.get("event") == "store.unavailable")["level"] == "warning"

        filler.unlink()  # space comes back: no restart
        health.wait_for(SERVING)
        failed = daemon.wait_final(running.job_id)[0]
        assert failed.state == pb.JOB_STATE_FAILED
        assert failed.error.code == "RESOURCE_EXHAUSTED" and str(tmpfs / "store") in failed.error.message
        assert daemon.wait_final(waiting.job_id)[0].state == pb.JOB_STATE_SUCCEEDED  # the queue moved on
        after = daemon.submit(transition(BBB[0], BBB[1], tmp_path / "after"))
        assert daemon.wait_final(after.job_id)[0].state == pb.JOB_STATE_SUCCEEDED
        assert daemon.proc.poll() is None
        no_traceback_since(daemon, 0)
    finally:
        health.close()
        assert daemon.stop() == 0
    no_traceback_since(daemon, 0)


def test_a_full_output_disk_fails_the_job_with_resource_exhausted_naming_the_folder(renderd, allowed_root):
    mount = allowed_root / f"full-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill needs root (these tests fill a real file system)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True, timeout=SAFETY)
    try:
        (mount / "cut").mkdir()
        fill(mount)
        start = len(renderd.events)
        final = renderd.wait_final(renderd.submit(transition(BBB[0], BBB[1], mount / "cut", frames=2)).job_id)[0]
        assert final.state == pb.JOB_STATE_FAILED
        assert final.error.code == "RESOURCE_EXHAUSTED", final.error
        assert final.error.message.startswith("spec.out_dir: ") and str(mount / "cut") in final.error.message
        assert "no space left" in final.error.message
        line = renderd.wait_for_log(lambda e: e.get("event") == "job.failed" and e.get("job") == final.job_id)
        assert line["level"] == "warning"
        no_traceback_since(renderd, start)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=SAFETY)


def test_a_name_too_long_for_the_file_system_is_invalid_argument_naming_the_field(renderd, allowed_root):
    start = len(renderd.events)
    long_folder = allowed_root / ("x" * 300)
    with pytest.raises(grpc.RpcError) as refused:
        renderd.submit(transition(BBB[0], BBB[1], long_folder / "cut"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_field(refused.value) == "spec.out_dir" and "255" in refused.value.details()

    retime = pb.RetimeSpec(input=str(TAKE_A), output=str(long_folder / "slow.mp4"), factor="2")
    with pytest.raises(grpc.RpcError) as refused:
        renderd.call("SubmitRetime", pb.SubmitRetimeRequest(idempotency_key=uuid.uuid4().hex, spec=retime))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_field(refused.value) == "spec.output" and "255" in refused.value.details()
    no_traceback_since(renderd, start)
