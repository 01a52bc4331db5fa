"""A retime as a farm job: plan once, render chunks anywhere, assemble once.

* **plan** opens and checks the job as ``segue retime`` does, claims the output, runs the
  analysis pass (scene cuts, repeated frames) and writes the plan (`parts.PLAN`): the
  analysis and the chunk ranges. Every later step reads the analysis from the plan, so
  no chunk decodes the clip to find cuts, and all agree on the timing.
* **render** one chunk: its output frames only (`core.retime.stream.render`'s ``only``).
  A sequence's frames go straight into the output folder; a movie's into a lossless
  segment (`segments`). Its record, written last, holds the counts and confidences; a
  chunk with a record (and its segment or frames) is not rendered again.
* **assemble** checks that every chunk's record is there, encodes a movie from the
  segments in order (with the audio, once) and writes the report, as a local run does.
  A rerun after success does nothing; a killed assemble leaves no movie and reruns.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from segue.core.errors import InputError
from segue.core.farm.chunks import check_chunk, split, work_folder
from segue.core.farm.parts import PLAN, WorkFolder, chunk_record, not_rendered, plan_header, planned_ranges
from segue.core.farm.segments import SegmentWriter, read_segment, segment_name
from segue.core.ownership import Ledger
from segue.core.retime import stream
from segue.core.retime.analysis import Analysis
from segue.core.retime.job import RetimeJob, RetimeSpec, open_retime
from segue.core.retime.sinks import movie_format
from segue.core.retime.target import check_replaceable
from segue.core.retime.timing import Plan

KIND = "retime"
ASSEMBLED = "assembled.json"


@dataclass
class _Opened:
    job: RetimeJob
    key: str
    work: WorkFolder
    plan: Plan
    found: Analysis
    runs: list
    ranges: list[range]


def plan_retime(spec: RetimeSpec, chunks: int, engine=None,
                on_stage: Callable[[str, int, int], None] | None = None) -> dict:
    """Plan the farm job of ``spec`` in ``chunks`` chunks; return the plan (also written).

    `InputError` for anything ``segue retime`` would refuse; an earlier plan of the same
    job keeps the chunks it finished (their frames are the same), a plan of another job in
    the way needs ``spec.overwrite``, as a local render does.
    """
    split(1, chunks)  # the count is checked before any work
    job = open_retime(spec, engine, check_existing=False)
    key = job.portable_key
    work_path = work_folder(spec.output)
    if work_path.is_dir():
        done = _assembled(WorkFolder.open(work_path), job, key)
        if done is not None:  # the whole job is done: running it again changes nothing
            return done["plan"]
    check_replaceable(job.target, spec.overwrite)
    sink, _ = job.make_sink()
    if job.target.kind == "sequence":
        sink.claim(key, resume=sink.holds(key), overwrite=spec.overwrite)
    found = job.analyse(on_stage)
    plan, _ = job.plan(found)
    if job.target.kind == "sequence":
        sink.expect(plan.frame_count)
    ranges = split(plan.frame_count, chunks)
    content = {**plan_header(KIND, key), "frames": plan.frame_count,
               "chunks": [[r.start, r.stop] for r in ranges], "analysis": found.as_dict()}
    WorkFolder.create(work_path).write_plan(content, also_stale=(ASSEMBLED,))
    return content


def _open(spec: RetimeSpec, chunks: int, engine) -> _Opened:
    job = open_retime(spec, engine, check_existing=False)  # the plan checked them; assemble does again
    key = job.portable_key
    work = WorkFolder.open(work_folder(spec.output))
    content = work.plan(KIND, key)
    try:
        found = Analysis.from_dict(content.get("analysis"), job.source.frame_count)
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{work.path}: the plan's analysis is damaged: run `segue farm plan` again") from None
    plan, runs = job.plan(found)
    if content.get("frames") != plan.frame_count:
        raise InputError(f"{work.path}: the plan was made for {content.get('frames')} output frames, this job has "
                         f"{plan.frame_count}: run `segue farm plan` again")
    return _Opened(job, key, work, plan, found, runs, planned_ranges(content, plan.frame_count, chunks))


def render_retime_chunk(spec: RetimeSpec, chunks: int, chunk: int, engine=None,
                        on_progress: Callable[[stream.Progress], None] | None = None) -> dict:
    """Render chunk ``chunk`` (1-based) of the planned job; return its record."""
    opened = _open(spec, chunks, engine)
    job, work = opened.job, opened.work
    only = check_chunk(chunk, opened.ranges)
    record_name = chunk_record(chunk)
    if _assembled(work, job, opened.key) is not None:  # the job is done: its chunks are in the output
        return work.read(record_name) or {"key": opened.key, "chunk": chunk, "frames": [only.start, only.stop]}
    done = _chunk_stats(work, opened.key, chunk, only)
    if done is not None and _parts_present(opened, chunk, only):  # a rerun of the whole job resumes
        return done
    work.remove(record_name)  # from here on the chunk is not done until its record is written again
    if not only:  # more chunks than frames: this one has none
        sink = None
    elif job.target.kind == "sequence":
        sink, _ = job.make_sink()
        sink.join(opened.key, only)
    else:
        name = segment_name(chunk)
        work.sweep({name})
        video = movie_format(job.target, job.source)
        sink = SegmentWriter(work.path / name, job.source.width, job.source.height, job.rates.out_fps,
                             video.bit_depth, work.ledger.recorder(name))
    stats = stream.RenderStats() if sink is None else stream.render(
        opened.plan, job.source, job.engine, sink, to_working=job.to_working, from_working=job.from_working,
        on_progress=on_progress, only=only)
    record = {"key": opened.key, "chunk": chunk, "frames": [only.start, only.stop], "copied": stats.copied,
              "held": stats.held, "synthesized": stats.synthesized, "confidences": stats.confidences,
              "seconds": stats.seconds, "engine_seconds": stats.engine_seconds}
    work.write(record_name, record)
    return record


def assemble_retime(spec: RetimeSpec, chunks: int, engine=None) -> dict:
    """Check every chunk is rendered, encode the movie (if any) and write the report; return it."""
    started = time.perf_counter()
    opened = _open(spec, chunks, engine)
    job, work = opened.job, opened.work
    done = _assembled(work, job, opened.key)
    if done is not None:
        return done["report"]
    stats = _merge(opened, [_chunk_stats(work, opened.key, k, r) if _parts_present(opened, k, r) else None
                            for k, r in enumerate(opened.ranges, start=1)])
    check_replaceable(job.target, spec.overwrite)
    sink, info = job.make_sink()
    if job.target.kind == "movie":
        _encode(opened, sink)
    seconds = opened.found.seconds + stats.seconds + time.perf_counter() - started  # the work of every step
    report = job.write_report(opened.plan, opened.found, opened.runs, stats, info, seconds)
    work.write(ASSEMBLED, {"key": opened.key, "plan": work.read(PLAN), "report": report})
    for k in range(1, len(opened.ranges) + 1):
        work.remove(segment_name(k))  # the movie holds them now
    return report


def _assembled(work: WorkFolder, job: RetimeJob, key: str) -> dict | None:
    """The record of the finished job ``key`` if its output is still the one Segue wrote, else None."""
    done = work.read(ASSEMBLED)
    target = job.target
    output = target.path if target.kind == "movie" else target.report_path
    if (done is None or done.get("key") != key or not isinstance(done.get("report"), dict)
            or not isinstance(done.get("plan"), dict) or not Ledger(output.parent).owns(output.name)):
        return None
    return done


def _parts_present(opened: _Opened, chunk: int, frames: range) -> bool:
    """True if what chunk ``chunk`` wrote is all there and Segue's: its segment, or its frames."""
    target = opened.job.target
    if target.kind == "movie":
        return not frames or opened.work.ledger.owns(segment_name(chunk))
    ledger = Ledger(target.folder)
    return all(ledger.owns(target.frame_path(i + 1).name) for i in frames)


def _chunk_stats(work: WorkFolder, key: str, chunk: int, frames: range) -> dict | None:
    record = work.read(chunk_record(chunk))
    ok = (record is not None and record.get("key") == key and record.get("frames") == [frames.start, frames.stop]
          and all(type(record.get(n)) is int and record[n] >= 0 for n in ("copied", "held", "synthesized"))
          and record["copied"] + record["held"] + record["synthesized"] == len(frames)
          and isinstance(record.get("confidences"), list) and len(record["confidences"]) == record["synthesized"]
          and all(type(c) is float and 0 <= c <= 1 for c in record["confidences"])
          and all(type(record.get(n)) in (int, float) and record[n] >= 0 for n in ("seconds", "engine_seconds")))
    return record if ok else None


def _merge(opened: _Opened, records: list[dict | None]) -> stream.RenderStats:
    missing = [k for k, r in enumerate(records, start=1) if r is None]
    if missing:
        raise not_rendered(missing, len(records))
    stats = stream.RenderStats()
    for r in records:
        stats.copied += r["copied"]
        stats.held += r["held"]
        stats.synthesized += r["synthesized"]
        stats.confidences += r["confidences"]
        stats.seconds += r["seconds"]
        stats.engine_seconds += r["engine_seconds"]
    return stats


def _encode(opened: _Opened, sink) -> None:
    """Pipe the segments' frames, in order, to the movie's encoder (the same one a local run uses)."""
    job, work = opened.job, opened.work
    encoder = sink.encoder
    bit_depth = encoder.video.bit_depth
    encoder.start()
    try:
        for k, frames in enumerate(opened.ranges, start=1):
            if not frames:
                continue
            path = work.path / segment_name(k)
            if not work.ledger.owns(path.name):
                raise InputError(f"{path} is missing or not Segue's: render chunk {k} again, then assemble")
            count = 0
            for pixels in read_segment(path, job.source.width, job.source.height, bit_depth):
                encoder.write_pixels(pixels)
                count += 1
            if count != len(frames):
                raise InputError(f"{path} holds {count} frames, not {len(frames)}: render chunk {k} again")
        encoder.finish()
    except BaseException:
        encoder.abort()
        raise
