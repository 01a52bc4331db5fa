"""Retention: finished jobs past ``--keep-days`` or beyond the newest ``--keep-jobs`` leave
the store with their frame records, at the daemon's start and by ``segue-renderd prune``;
queued and running jobs never do. The store is seeded through `JobStore` (real SQLite)
with jobs that finished weeks ago."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

from renderd_harness import SAFETY, RenderdProcess

from segue.renderd._proto import render_pb2 as pb
from segue.renderd.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FrameRow,
    JobRow,
    JobStore,
)

DAY = 86400.0


def seed(store_dir, jobs: list[tuple[str, float]]) -> list[str]:
    """Jobs in submission order, each ``(state, days since it finished)``, with two frames each."""
    store = JobStore(store_dir)
    ids = []
    try:
        for state, age in jobs:
            ended = time.time() - age * DAY
            job = store.insert(JobRow(id=uuid.uuid4().hex, idempotency_key=uuid.uuid4().hex, fingerprint="seeded",
                                      spec={"clip_a": "/nowhere/a.png", "clip_b": "/nowhere/b.png", "frames": 2,
                                            "out_dir": f"/nowhere/{len(ids)}"},
                                      out_key=f"/nowhere/{len(ids)}", state=state, frames_total=2, created=ended,
                                      finished=None if state in (QUEUED, RUNNING) else ended))
            for k in (1, 2):
                store.add_frame(job.id, FrameRow(k, f"/nowhere/frame_{k:04d}.png", k / 3, 0.9, 0.1, False))
            ids.append(job.id)
    finally:
        store.close()
    return ids


def remaining(store_dir, ids: list[str]) -> dict[str, int]:
    """Which of ``ids`` the store still holds, with their frame record counts."""
    store = JobStore(store_dir)
    try:
        return {job_id: len(store.frames(job_id)) for job_id in ids if store.get(job_id) is not None}
    finally:
        store.close()


def prune(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segue.renderd", "prune", *args], check=False, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=SAFETY)


def test_the_daemon_prunes_old_finished_jobs_at_start_and_keeps_unfinished_ones(tmp_path):
    store = tmp_path / "store"
    ids = seed(store, [(SUCCEEDED, 40), (QUEUED, 50), (FAILED, 35), (RUNNING, 45), (CANCELLED, 10),
                       (SUCCEEDED, 5), (SUCCEEDED, 1), (SUCCEEDED, 0.5)])
    daemon = RenderdProcess(store, "--keep-days", "30", "--keep-jobs", "2", "--workers", "1")
    try:
        pruned = daemon.wait_for_log(lambda e: e.get("event") == "store.pruned")
        assert pruned["jobs"] == 4 and pruned["frames"] == 8
        listed = daemon.call("ListJobs", pb.ListJobsRequest()).jobs
        # 40 and 35 days old: past keep_days; 10 and 5 days: older than the 2 newest finished
        assert {j.job_id for j in listed} == {ids[1], ids[3], ids[6], ids[7]}
    finally:
        assert daemon.stop() == 0
    kept = remaining(store, ids)
    assert set(kept) == {ids[1], ids[3], ids[6], ids[7]}
    assert all(count == 2 for count in kept.values())  # kept jobs keep their frames
    assert remaining(store, [ids[0]]) == {}  # and the pruned ones' frame rows went with them


def test_prune_refuses_while_a_daemon_holds_the_store_then_prunes(tmp_path):
    store = tmp_path / "store"
    ids = seed(store, [(SUCCEEDED, 3), (FAILED, 2), (SUCCEEDED, 1)])
    daemon = RenderdProcess(store, "--keep-days", "0", "--keep-jobs", "0")
    try:
        busy = prune("--store", str(store), "--keep-jobs", "1")
        assert busy.returncode == 2 and "Traceback" not in busy.stderr
        assert "in use" in busy.stderr and str(store) in busy.stderr, busy.stderr
    finally:
        assert daemon.stop() == 0
    assert len(remaining(store, ids)) == 3  # nothing pruned by the refused run, nor by keep 0/0
    ids += seed(store, [(QUEUED, 9)])  # the newest job, unfinished: never pruned

    config = tmp_path / "renderd.toml"
    config.write_text('store = "store"\nkeep_jobs = 5\n')
    done = prune("--config", str(config), "--keep-jobs", "1")  # the flag wins over the file
    assert done.returncode == 0, done.stderr
    assert "pruned 2 finished jobs and 4 frame records" in done.stdout
    assert set(remaining(store, ids)) == {ids[2], ids[3]}

    missing = prune("--store", str(tmp_path / "nothing-here"))
    assert missing.returncode == 2 and "holds no job store" in missing.stderr
    assert not (tmp_path / "nothing-here").exists()
    bad = prune("--store", str(store), "--keep-days", "-1")
    assert bad.returncode == 2 and "keep_days" in bad.stderr
