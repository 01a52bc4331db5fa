"""Every answer has a bounded size, however big the jobs: events carry progress, not the
report; GetJob pages frames; ListJobs pages carry no reports and stop at about 1 MiB.

The store is seeded through `JobStore` (real SQLite) with what would take hours to
render: a finished 10,000-frame transition with long frame paths and its full report,
jobs with 1 MB reports, and jobs whose specs hold 4,000-character paths. A real daemon
then serves it, and plain generated stubs with gRPC's default 4 MiB receive limit read it.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from renderd_harness import SAFETY, RenderdProcess

from segue.core.transition import TransitionSpec
from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc
from segue.renderd.client import RenderClient
from segue.renderd.servicer import MAX_PAGE_BYTES
from segue.renderd.store import SUCCEEDED, FrameRow, JobRow, JobStore

FRAMES = 10_000
BIG_REPORTS = 50
LONG_SPECS = 100
#: a legal output folder whose frame paths are about 1 KB each: 10,000 of them are 10 MB
LONG_OUT = "/" + "/".join(f"{n:02d}" + "x" * 97 for n in range(10))
SLACK = 512  # bytes of framing over the page budget a response may carry


def report(frames: int) -> str:
    """A transition report as `render_transition` writes it, with ``frames`` frame entries."""
    entries = [{"index": k, "file": f"frame_{k:04d}.png", "t": round(k / (frames + 1), 6), "confidence": 0.9663,
                "seconds": 0.0687} for k in range(1, frames + 1)]
    source = {"path": "/mnt/projects/show/plates/a.mov", "kind": "movie", "frame": 0, "frame_count": 240,
              "fps": "24", "width": 1920, "height": 1080, "bit_depth": 8, "float": False,
              "colorspace": "sRGB Encoded Rec.709 (sRGB)"}
    return json.dumps({"segue_version": "0.1.0", "created": "2026-12-01T10:00:00+00:00",
                       "model": {"requested": "auto", "used": "segue_fusion"}, "sources": {"a": source, "b": source},
                       "output": {"folder": LONG_OUT, "format": "png", "bit_depth": 8, "width": 1920, "height": 1080,
                                  "colorspace": "sRGB Encoded Rec.709 (sRGB)", "conform": "fit"},
                       "frames": entries, "timings": {"total": 687.0}})


def finished_job(out_dir: str, frames: int, report_json: str) -> JobRow:
    spec = TransitionSpec(clip_a="/mnt/projects/show/plates/a.mov", clip_b="/mnt/projects/show/plates/b.mov",
                          frames=frames, out_dir=out_dir)
    now = time.time()
    return JobRow(id=uuid.uuid4().hex, idempotency_key=uuid.uuid4().hex, fingerprint="seeded", spec=asdict(spec),
                  out_key=out_dir, state=SUCCEEDED, frames_total=frames, frames_done=frames, report=report_json,
                  created=now, started=now, finished=now, attempts=1)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A daemon on a store holding the big jobs; yields it and the 10,000-frame job's id."""
    store_dir = tmp_path_factory.mktemp("store")
    store = JobStore(store_dir)
    try:
        big_report = report(FRAMES)
        long_path = "/mnt/" + "p" * 3990
        for _ in range(LONG_SPECS):
            job = finished_job(long_path, 1, report(1))
            job.spec.update(clip_a=long_path + "/a.mov", clip_b=long_path + "/b.mov")
            store.insert(job)
        for n in range(BIG_REPORTS):  # the newest: ListJobs' first page is theirs
            store.insert(finished_job(f"/mnt/projects/show/cut{n}", FRAMES, big_report))
        big = finished_job(LONG_OUT, FRAMES, big_report)
        big.frames_done = 0  # each add_frame counts one
        store.insert(big)
        for k in range(1, FRAMES + 1):
            store.add_frame(big.id, FrameRow(k, f"{LONG_OUT}/frame_{k:04d}.png", k / (FRAMES + 1), 0.97, 0.07, False))
    finally:
        store.close()
    daemon = RenderdProcess(store_dir, "--no-token")  # plain stubs: what is measured is the answers' size
    yield daemon, big.id, big_report
    assert daemon.stop() == 0


def plain_stub(daemon: RenderdProcess) -> render_pb2_grpc.RenderStub:
    """A generated stub on a channel with gRPC's default limits (4 MiB per message received)."""
    return daemon.stub()


def field_of(error: grpc.RpcError) -> str:
    for detail in rpc_status.from_call(error).details:
        info = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            return info.field_violations[0].field
    return ""


def test_watching_a_finished_job_streams_progress_not_the_report(seeded):
    daemon, job_id, _ = seeded
    stream = plain_stub(daemon).WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=SAFETY)
    count = largest = 0
    for event in stream:
        assert event.job.report_json == "", "events carry progress, not the report"
        largest = max(largest, event.ByteSize())
        count += 1
        assert event.job.state == pb.JOB_STATE_SUCCEEDED
    assert count == FRAMES and largest < 8 << 10  # one frame each, every one small

    # A reconnect after the end (the client passes the last frame it got) is one event.
    again = list(plain_stub(daemon).WatchJob(pb.WatchJobRequest(job_id=job_id, after_frame=FRAMES), timeout=SAFETY))
    assert len(again) == 1 and not again[0].HasField("frame") and again[0].job.state == pb.JOB_STATE_SUCCEEDED
    tail = list(plain_stub(daemon).WatchJob(pb.WatchJobRequest(job_id=job_id, after_frame=FRAMES - 3),
                                            timeout=SAFETY))
    assert [e.frame.index for e in tail] == [FRAMES - 2, FRAMES - 1, FRAMES]

    with RenderClient(daemon.address, token=daemon.token) as client:  # the shared client reads the replay to its end
        assert [e.frame.index for e in client.watch(job_id)] == list(range(1, FRAMES + 1))


def test_get_job_pages_the_frames_and_sends_the_report_once(seeded):
    daemon, job_id, big_report = seeded
    stub = plain_stub(daemon)
    first = stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=SAFETY)
    assert first.job.report_json == big_report and first.next_frames_page_token
    assert first.ByteSize() <= MAX_PAGE_BYTES + SLACK
    frames, token, pages = list(first.frames), first.next_frames_page_token, 1
    while token:
        page = stub.GetJob(pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_FRAMES, frames_page_token=token),
                           timeout=SAFETY)
        assert page.job.report_json == "" and page.ByteSize() <= MAX_PAGE_BYTES + SLACK
        frames.extend(page.frames)
        token, pages = page.next_frames_page_token, pages + 1
    assert [f.index for f in frames] == list(range(1, FRAMES + 1)) and pages >= 10

    sized = stub.GetJob(pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_FRAMES, frames_page_size=7), timeout=SAFETY)
    assert [f.index for f in sized.frames] == list(range(1, 8)) and sized.next_frames_page_token == "7"
    basic = stub.GetJob(pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_BASIC), timeout=SAFETY)
    assert not basic.frames and not basic.job.report_json and basic.job.frames_done == FRAMES
    assert basic.ByteSize() < 2048
    only_report = stub.GetJob(pb.GetJobRequest(job_id=job_id, view=pb.JOB_VIEW_REPORT), timeout=SAFETY)
    assert not only_report.frames and only_report.job.report_json == big_report

    for request, field in ((pb.GetJobRequest(job_id=job_id, frames_page_token="\u00b2"), "frames_page_token"),
                           (pb.GetJobRequest(job_id=job_id, frames_page_size=-1), "frames_page_size"),
                           (pb.GetJobRequest(job_id=job_id, view=99), "view"),
                           (pb.WatchJobRequest(job_id=job_id, after_frame=-1), "after_frame")):
        with pytest.raises(grpc.RpcError) as refused:
            method = stub.GetJob if isinstance(request, pb.GetJobRequest) else stub.WatchJob
            reply = method(request, timeout=SAFETY)
            if not isinstance(request, pb.GetJobRequest):
                list(reply)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_of(refused.value) == field

    with RenderClient(daemon.address, token=daemon.token) as client:  # the shared client follows the pages
        whole = client.get_job(job_id)
        assert len(whole.frames) == FRAMES and whole.job.report_json == big_report
        assert client.report(job_id) == big_report


def test_list_jobs_pages_carry_no_reports_and_stay_under_the_budget(seeded):
    daemon, job_id, _ = seeded
    stub = plain_stub(daemon)
    page = stub.ListJobs(pb.ListJobsRequest(), timeout=SAFETY)
    assert len(page.jobs) == 50 and page.jobs[0].job_id == job_id
    assert all(j.report_json == "" for j in page.jobs) and page.ByteSize() <= MAX_PAGE_BYTES + SLACK

    seen, token, pages = [], "", 0
    while True:  # 100 jobs of ~12 KB specs each: more than one page's worth, whatever page_size says
        page = stub.ListJobs(pb.ListJobsRequest(page_size=500, page_token=token), timeout=SAFETY)
        assert page.ByteSize() <= MAX_PAGE_BYTES + SLACK and all(j.report_json == "" for j in page.jobs)
        seen.extend(j.job_id for j in page.jobs)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == BIG_REPORTS + LONG_SPECS + 1 and pages >= 2
