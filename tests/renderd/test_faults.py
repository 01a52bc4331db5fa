"""Faults: kill -9 and SIGTERM mid-job, then a restart on the same store."""
from __future__ import annotations

import threading

from renderd_harness import (
    SAFETY,
    TAKE_A,
    TAKE_B,
    RenderdProcess,
    frame_files,
    transition,
)

from segue.core.transition import TransitionSpec, render_transition
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import RenderClient, Retry
from segue.renderd.store import QUEUED, RUNNING, JobStore

FRAMES = 30  # demo takes, 320x180: long enough to stop mid-job after a few frames


def reference(folder) -> dict[str, bytes]:
    """The uninterrupted run, in this process."""
    render_transition(TransitionSpec(clip_a=str(TAKE_A), clip_b=str(TAKE_B), frames=FRAMES, out_dir=str(folder)))
    return frame_files(folder)


def stamps(folder) -> dict[str, tuple[int, int]]:
    """(inode, mtime) per visible frame: a re-rendered frame is a new file (atomic rename)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("frame_*")}


def stored(store, job_id: str):
    """The job and its recorded frames, read from the store the dead daemon left."""
    s = JobStore(store)
    try:
        return s.get(job_id), s.frames(job_id)
    finally:
        s.close()


def test_kill9_mid_job_resumes_on_restart_without_rerendering(tmp_path):
    store, out = tmp_path / "store", tmp_path / "out"
    expected = reference(tmp_path / "reference")

    first = RenderdProcess(store, "--workers", "1")
    job = first.submit(transition(TAKE_A, TAKE_B, out, frames=FRAMES))
    for event in first.watch(job.job_id):
        if event.job.frames_done >= 3:
            break
    first.kill9()

    # Killed mid-job; nothing visible under a final name is partial.
    row, recorded = stored(store, job.job_id)
    assert row.state == RUNNING and 3 <= len(recorded) < FRAMES
    visible = frame_files(out)
    assert len(visible) < FRAMES
    assert all(data == expected[name] for name, data in visible.items())
    assert not (out / "transition.json").exists()
    before = stamps(out)

    second = RenderdProcess(store, "--workers", "1")
    try:
        recovered = second.wait_for_log(lambda e: e.get("event") == "jobs.recovered")
        assert recovered["interrupted"] == [job.job_id]
        final, _ = second.wait_final(job.job_id)
        assert final.state == pb.JOB_STATE_SUCCEEDED, final.error
        assert final.attempts == 2 and final.frames_done == FRAMES
        assert frame_files(out) == expected  # byte-identical to the uninterrupted run
        after = stamps(out)
        for frame in recorded:  # finished before the kill: the very same files
            name = f"frame_{frame.index:04d}.png"
            assert after[name] == before[name], name
        ended = second.wait_for_log(lambda e: e.get("event") == "job.ended" and e.get("job") == job.job_id)
        assert ended["frames_rendered"] <= FRAMES - len(recorded)
        frames = second.call("GetJob", pb.GetJobRequest(job_id=job.job_id)).frames
        assert [f.index for f in frames] == list(range(1, FRAMES + 1))
    finally:
        assert second.stop() == 0


def test_sigterm_interrupts_gracefully_and_a_watching_client_sees_the_job_through(tmp_path):
    store, out = tmp_path / "store", tmp_path / "out"
    expected = reference(tmp_path / "reference")
    first = RenderdProcess(store, "--workers", "1")
    job = first.submit(transition(TAKE_A, TAKE_B, out, frames=FRAMES))

    events: list[pb.WatchJobResponse] = []
    progressing, finished = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def follow() -> None:  # the shared client, reconnecting across the restart
        client = RenderClient(first.address, token=first.token, retry=Retry(attempts=40, initial=0.05, maximum=0.5))
        try:
            for event in client.watch(job.job_id):
                events.append(event)
                if event.job.frames_done >= 2:
                    progressing.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            client.close()
            progressing.set()
            finished.set()

    watcher = threading.Thread(target=follow)
    watcher.start()
    assert progressing.wait(SAFETY)
    assert first.stop() == 0  # graceful: exits by itself, code 0
    assert first.wait_for_log(lambda e: e.get("event") == "job.interrupted")["job"] == job.job_id
    assert first.wait_for_log(lambda e: e.get("event") == "server.stopped")
    row, _ = stored(store, job.job_id)
    assert row.state == QUEUED and 2 <= row.frames_done < FRAMES

    second = RenderdProcess(store, "--workers", "1", listen=first.address)
    try:
        assert finished.wait(SAFETY)
        watcher.join(SAFETY)
        assert not errors, errors
        assert events[-1].job.state == pb.JOB_STATE_SUCCEEDED
        indices = [e.frame.index for e in events if e.HasField("frame")]
        assert sorted(indices) == list(range(1, FRAMES + 1))  # each frame announced exactly once
        assert frame_files(out) == expected
    finally:
        assert second.stop() == 0
