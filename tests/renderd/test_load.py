"""Bounded load on loopback: 8 clients x 20 jobs, every job exactly once, health SERVING throughout."""
from __future__ import annotations

import threading
import uuid

from renderd_harness import BBB, SAFETY, TOKEN, transition

from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import RenderClient

pytest_plugins = ("renderd_fixtures",)

CLIENTS, JOBS = 8, 20
MAX_HEALTH_CHECKS = 20_000  # the poller stops at the end of the load, or here at the latest


def test_eight_clients_twenty_jobs_each(renderd, allowed_root):
    run = uuid.uuid4().hex[:8]
    results: dict[str, pb.Job] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client_session(c: int) -> None:
        with RenderClient(renderd.address, token=TOKEN, timeout=SAFETY) as client:
            for j in range(JOBS):
                key = f"load-{run}-{c}-{j}"
                spec = transition(BBB[j % 2], BBB[2 + j % 2], allowed_root / "load" / run / f"{c}-{j}")
                submitted = client.submit(spec, idempotency_key=key)
                if j == 0:  # a retried submit (lost answer): same job, no second render
                    again = client.submit(spec, idempotency_key=key)
                    assert again.deduplicated and again.job.job_id == submitted.job.job_id
                final = client.wait(submitted.job.job_id)
                with lock:
                    results[key] = final

    def guarded(c: int) -> None:
        try:
            client_session(c)
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    statuses: list[str] = []
    done = threading.Event()

    def poll_health() -> None:
        with RenderClient(renderd.address, token=TOKEN, timeout=SAFETY) as client:
            while not done.is_set() and len(statuses) < MAX_HEALTH_CHECKS:
                statuses.append(client.health())
                done.wait(0.02)

    poller = threading.Thread(target=poll_health)
    poller.start()
    threads = [threading.Thread(target=guarded, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SAFETY * 5)
    done.set()
    poller.join(SAFETY)

    assert not errors, errors[:3]
    assert len(results) == CLIENTS * JOBS
    assert len({job.job_id for job in results.values()}) == CLIENTS * JOBS
    for key, job in results.items():
        assert job.state == pb.JOB_STATE_SUCCEEDED, (key, job.error)
        assert job.attempts == 1 and job.frames_done == 1, key
    outputs = list((allowed_root / "load" / run).iterdir())
    assert len(outputs) == CLIENTS * JOBS and all(len(list(o.glob("frame_*"))) == 1 for o in outputs)
    assert statuses and set(statuses) == {"SERVING"}

    # The store agrees: each key is one job, succeeded once.
    seen, token = [], ""
    while True:
        page = renderd.call("ListJobs", pb.ListJobsRequest(page_size=500, page_token=token))
        seen += [j for j in page.jobs if j.idempotency_key.startswith(f"load-{run}-")]
        token = page.next_page_token
        if not token:
            break
    assert sorted(j.idempotency_key for j in seen) == sorted(results)
    assert all(j.state == pb.JOB_STATE_SUCCEEDED and j.attempts == 1 for j in seen)
