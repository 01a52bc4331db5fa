"""A transition as a farm job: plan once, render chunks of its frames anywhere, assemble once.

* **plan** opens and checks the job as ``segue transition`` does, claims the output folder
  and writes the plan (`parts.PLAN`): the chunk ranges of its frames.
* **render** one chunk: its frames, straight into the output folder (each chunk finds the
  correspondence again: a frame's pixels do not depend on which frames are made with
  it). Its record, written last, holds the frames' records; a chunk with a record (and
  its frames) is not rendered again.
* **assemble** checks that every chunk's record is there and writes the previews and
  ``transition.json``, as a local run does, and the folder's state file, so that a local
  ``segue transition`` of the same job in the folder keeps every frame.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

from segue.core.farm.chunks import check_chunk, split, work_folder
from segue.core.farm.parts import WorkFolder, chunk_record, not_rendered, plan_header, planned_ranges
from segue.core.transition import (
    FrameEvent,
    FrameRecord,
    TransitionJob,
    TransitionSpec,
    checked_record,
    open_transition,
)

KIND = "transition"


def plan_transition(spec: TransitionSpec, chunks: int, engine=None) -> dict:
    """Plan the farm job of ``spec`` in ``chunks`` chunks; return the plan (also written)."""
    split(1, chunks)  # the count is checked before any work
    job = open_transition(spec, engine)
    job.claim()
    key = job.portable_key
    ranges = split(spec.frames, chunks)
    content = {**plan_header(KIND, key), "frames": spec.frames, "chunks": [[r.start, r.stop] for r in ranges]}
    WorkFolder.create(work_folder(spec.out_dir)).write_plan(content)
    return content


def _open(spec: TransitionSpec, chunks: int, engine) -> tuple[TransitionJob, WorkFolder, list[range]]:
    job = open_transition(spec, engine)
    work = WorkFolder.open(work_folder(spec.out_dir))
    return job, work, planned_ranges(work.plan(KIND, job.portable_key), spec.frames, chunks)


def render_transition_chunk(spec: TransitionSpec, chunks: int, chunk: int, engine=None,
                            on_frame: Callable[[FrameEvent], None] | None = None,
                            should_cancel: Callable[[], bool] | None = None) -> dict:
    """Render chunk ``chunk`` (1-based) of the planned job; return its record.

    ``on_frame`` and ``should_cancel`` as for `core.transition.render_transition`.
    """
    job, work, ranges = _open(spec, chunks, engine)
    frames = check_chunk(chunk, ranges)
    name = chunk_record(chunk)
    record = work.read(name)
    if _chunk_records(job, record, job.portable_key, frames) is not None:  # a rerun of the whole job resumes
        return record
    work.remove(name)  # from here on the chunk is not done until its record is written again
    job.ledger.sweep_temporaries({job.names[i] for i in frames}.__contains__)
    # more chunks than frames: an empty one has nothing to do (not even the correspondence)
    records = job.synthesize([i + 1 for i in frames], {}, lambda record: None, on_frame,
                             should_cancel) if frames else []
    record = {"key": job.portable_key, "chunk": chunk, "frames": [frames.start, frames.stop],
              "records": [asdict(r) for r in records], "correspondence": job.correspondence}
    work.write(name, record)
    return record


def assemble_transition(spec: TransitionSpec, chunks: int, engine=None) -> dict:
    """Check every chunk is rendered, write the previews and ``transition.json``; return the report."""
    started = time.perf_counter()
    job, work, ranges = _open(spec, chunks, engine)
    key = job.portable_key
    records: list[FrameRecord] = []
    missing = []
    correspondence = None
    for k, frames in enumerate(ranges, start=1):
        chunk = _chunk_records(job, work.read(chunk_record(k)), key, frames)
        if chunk is None:
            missing.append(k)
        else:
            records += chunk[0]
            correspondence = correspondence or chunk[1]
    if missing:
        raise not_rendered(missing, len(ranges))
    job.save_state({r.file: r for r in records})
    return job.finish(records, correspondence, started)


def _chunk_records(job: TransitionJob, record: dict | None, key: str,
                   frames: range) -> tuple[list[FrameRecord], dict] | None:
    """A chunk record's frames, if it is this chunk's and every frame checks out (a file is input)."""
    if (record is None or record.get("key") != key or record.get("frames") != [frames.start, frames.stop]
            or not isinstance(record.get("records"), list) or len(record["records"]) != len(frames)
            or not isinstance(record.get("correspondence"), dict if frames else (dict, type(None)))):
        return None
    out = [checked_record(item, i + 1, job.names[i], job.ledger) for i, item in zip(frames, record["records"])]
    return None if None in out else (out, record["correspondence"])
