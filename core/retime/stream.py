"""The render pass: decode -> synthesis -> encode, streaming through bounded queues.

Three threads, two queues of at most `QUEUE_FRAMES` frames each:

    reader thread ──(source frames, working space)──> main thread ──(output frames)──> writer thread
    ffmpeg decode / image files                       engine                           ffmpeg encode / files

The main thread walks the plan (`core.retime.timing.Plan.frames`) in output order. Every
source frame an output frame uses is at or after the one the previous output frame used,
so a small window suffices: frames more than two anchors behind the current output are
dropped, and frames the plan never uses are not even converted. In-betweens of one pair
of source frames are made by one `Engine.interpolate_working` call, with the pair's
context (up to two anchors on each side, never across a cut or a hold: `Plan.context`),
so the pair's optical flow and motion are computed once for all of them (split only if
their pixels would exceed `PAIR_BUDGET_BYTES`), and a `core.flowcache.FlowCache` lets
neighbouring pairs share the flows between their frames.
Memory is therefore a few frames plus the engine's working set, whatever the clip's
length. Numpy, OpenCV, OCIO and the native kernel release the GIL, so the threads
overlap with the ffmpeg processes on both cores.

Any error or interruption (Ctrl-C) stops all three threads, the decoder and the encoder,
and calls the sink's ``abort`` (the movie's temporary file is deleted).
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from segue.core.flowcache import FlowCache
from segue.core.media.source import Source
from segue.core.retime.timing import COPY, SYNTH, OutFrame, Plan

#: frames waiting in each of the two queues
QUEUE_FRAMES = 3
#: largest total size of the in-betweens of one source pair made in one engine call
PAIR_BUDGET_BYTES = 400 * 2**20
_POLL = 0.2  # seconds between checks for a stop while a queue is full or empty


class Sink(Protocol):
    """Where output frames go (a movie encoder or an image sequence)."""

    def exists(self, index: int) -> bool:
        """True if output frame ``index`` (0-based) is already complete (resume)."""

    def write(self, index: int, image: np.ndarray) -> None:
        """Store output frame ``index``; called in order of ``index``."""

    def finish(self) -> None:
        """All frames written: make the output final."""

    def abort(self) -> None:
        """Give up: leave nothing half-written under the final name."""


@dataclass
class Progress:
    """Output frame ``frame.index`` is done: ``done`` of ``total`` (``resumed``: kept from a previous run)."""

    done: int
    total: int
    frame: OutFrame
    resumed: bool
    elapsed: float
    rendered: int  # frames rendered by this run so far (not resumed)


@dataclass
class RenderStats:
    """Counts and timings of a render pass."""

    copied: int = 0
    held: int = 0
    synthesized: int = 0
    resumed: int = 0
    confidences: list[float] = field(default_factory=list)
    engine_seconds: float = 0.0
    seconds: float = 0.0


class _Stopped(Exception):
    pass


class _Reader(threading.Thread):
    """Decodes the source in order into a bounded queue; converts only frames the plan uses."""

    def __init__(self, source: Source, to_working: Callable[[np.ndarray], np.ndarray], used: list[bool],
                 stop: threading.Event) -> None:
        super().__init__(name="segue-retime-reader", daemon=True)
        self.source, self.to_working, self.used, self.stop = source, to_working, used, stop
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)

    def run(self) -> None:
        first = self.used.index(True) if True in self.used else len(self.used)
        frames = self.source.frames(start=first)
        try:
            for i, raw in enumerate(frames, start=first):
                used = i < len(self.used) and self.used[i]
                self._put((i, self.to_working(raw) if used else None))
            self._put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            try:
                self._put(exc)
            except _Stopped:
                pass
        finally:
            frames.close()  # stops the decoder

    def _put(self, item) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue


class _Writer(threading.Thread):
    """Converts output frames to the output colourspace and hands them to the sink."""

    def __init__(self, sink: Sink, from_working: Callable[[np.ndarray], np.ndarray], total: int,
                 on_progress: Callable[[Progress], None] | None, stop: threading.Event) -> None:
        super().__init__(name="segue-retime-writer", daemon=True)
        self.sink, self.from_working, self.total = sink, from_working, total
        self.on_progress, self.stop = on_progress, stop
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.started_at = time.perf_counter()
        self.done = self.rendered = 0

    def run(self) -> None:
        try:
            while True:
                try:
                    item = self.queue.get(timeout=_POLL)
                except queue.Empty:
                    if self.stop.is_set():  # the render stopped: no end marker is coming
                        return
                    continue
                if item is None:
                    return
                out, image = item
                if image is not None:
                    self.sink.write(out.index, self.from_working(image))
                    self.rendered += 1
                self.done += 1
                if self.on_progress:
                    self.on_progress(Progress(self.done, self.total, out, image is None,
                                              time.perf_counter() - self.started_at, self.rendered))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            self.stop.set()

    def put(self, out: OutFrame, image: np.ndarray | None) -> None:
        while True:
            if self.error is not None or self.stop.is_set():
                raise _Stopped
            try:
                self.queue.put((out, image), timeout=_POLL)
                return
            except queue.Full:
                continue


def used_frames(plan: Plan, source_count: int, skip: Callable[[int], bool]) -> list[bool]:
    """Which source frames the output frames still to render (not ``skip``) use, an in-between's context too."""
    used = [False] * source_count
    pair = None
    for out in plan.frames():
        if skip(out.index):
            continue
        used[out.source] = True
        if out.target is not None:
            used[out.target] = True
            if (out.source, out.target) != pair:
                pair = (out.source, out.target)
                for frame, _ in plan.context(*pair):
                    used[frame] = True
    return used


class _Window:
    """The decoded source frames still in use, read ahead from the reader's queue on demand."""

    def __init__(self, source: Source, reader: _Reader, writer: _Writer, stop: threading.Event) -> None:
        self.source, self.reader, self.writer, self.stop = source, reader, writer, stop
        self.frames: dict[int, np.ndarray] = {}
        self.reader_done = False

    def fetch(self, index: int) -> np.ndarray:
        """Source frame ``index`` in working space, reading the queue up to it."""
        while index not in self.frames:
            if self.reader_done:
                raise RuntimeError(f"{self.source.path}: frame {index} was never decoded")
            item = _get(self.reader.queue, self.stop, self.writer)
            if item is None:
                self.reader_done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                i, frame = item
                if frame is not None:
                    self.frames[i] = frame
        return self.frames[index]

    def forget_before(self, index: int) -> None:
        """Drop the frames before ``index``: the plan never goes back to them."""
        for i in [i for i in self.frames if i < index]:
            del self.frames[i]


class _Inbetweens:
    """The in-betweens of one source pair, gathered so that one engine call makes them all."""

    def __init__(self, plan: Plan, engine, window: _Window, writer: _Writer, stats: RenderStats) -> None:
        self.plan, self.engine, self.window, self.writer, self.stats = plan, engine, window, writer, stats
        self.group: list[OutFrame] = []
        self.cache = FlowCache()  # the window's frames are never changed once decoded: neighbouring pairs share flows

    def ends_before(self, out: OutFrame) -> bool:
        """True if in-betweens are gathered and ``out`` is not one more of their pair."""
        group = self.group
        return bool(group) and (out.kind != SYNTH or (group[0].source, group[0].target) != (out.source, out.target))

    def add(self, out: OutFrame) -> None:
        """Gather in-between ``out`` (call `flush` first if `ends_before` says so)."""
        self.group.append(out)

    def flush(self) -> None:
        """Synthesize the gathered in-betweens, within `PAIR_BUDGET_BYTES` per call, and queue them in order."""
        group, stats = self.group, self.stats
        if not group:
            return
        fetch = self.window.fetch
        a, b = fetch(group[0].source), fetch(group[0].target)
        context = [(t, fetch(frame)) for frame, t in self.plan.context(group[0].source, group[0].target)]
        per_call = max(1, PAIR_BUDGET_BYTES // max(1, a.nbytes))
        for start in range(0, len(group), per_call):
            chunk = group[start:start + per_call]
            t0 = time.perf_counter()
            made = self.engine.interpolate_working(a, b, [o.t for o in chunk], context, self.cache)
            stats.engine_seconds += time.perf_counter() - t0
            for out, result in zip(chunk, made):
                stats.synthesized += 1
                stats.confidences.append(float(result.confidence))
                self.writer.put(out, result.image)
        group.clear()


def render(plan: Plan, source: Source, engine, sink: Sink, *,
           to_working: Callable[[np.ndarray], np.ndarray],
           from_working: Callable[[np.ndarray], np.ndarray],
           on_progress: Callable[[Progress], None] | None = None,
           only: range | None = None) -> RenderStats:
    """Render the output frames of ``plan`` into ``sink`` (see module docstring).

    ``engine`` is a `core.engine.Engine`; ``to_working``/``from_working`` convert between
    the file encodings and the working space; ``only``: the output frames to render (a
    farm chunk), all by default. An output frame is the same whichever frames are
    rendered with it. Returns counts and timings; raises what the reader, engine or sink
    raised, after stopping everything and aborting the sink.
    """
    started = time.perf_counter()
    stats = RenderStats()
    stop = threading.Event()
    outside = (lambda index: False) if only is None else (lambda index: index not in only)
    used = used_frames(plan, source.frame_count, lambda index: outside(index) or sink.exists(index))
    reader = _Reader(source, to_working, used, stop)
    writer = _Writer(sink, from_working, plan.frame_count if only is None else len(only), on_progress, stop)
    window = _Window(source, reader, writer, stop)
    inbetweens = _Inbetweens(plan, engine, window, writer, stats)

    reader.start()
    writer.start()
    try:
        for out in plan.frames():
            if outside(out.index):
                continue
            if inbetweens.ends_before(out):
                inbetweens.flush()  # before the window moves on: the group needs its pair
            if sink.exists(out.index):
                stats.resumed += 1
                writer.put(out, None)
                continue
            window.forget_before(plan.kept_from(out.source))  # a later pair's context may reach back
            if out.kind == SYNTH:
                inbetweens.add(out)
                continue
            writer.put(out, window.fetch(out.source))
            if out.kind == COPY:
                stats.copied += 1
            else:
                stats.held += 1
        inbetweens.flush()
        _finish_writer(writer, stop)
        sink.finish()
    except BaseException as exc:
        stop.set()
        sink.abort()
        reader.join(timeout=10)
        writer.join(timeout=10)
        if isinstance(exc, _Stopped) and writer.error is not None:
            raise writer.error from None
        raise
    finally:
        stop.set()
    reader.join(timeout=10)
    stats.seconds = time.perf_counter() - started
    return stats


def _get(q: queue.Queue, stop: threading.Event, writer: _Writer):
    while True:
        if writer.error is not None or stop.is_set():
            raise _Stopped
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue


def _finish_writer(writer: _Writer, stop: threading.Event) -> None:
    while True:
        if writer.error is not None:
            raise _Stopped
        try:
            writer.queue.put(None, timeout=_POLL)
            break
        except queue.Full:
            continue
    while writer.is_alive():
        writer.join(timeout=_POLL)
    if writer.error is not None:
        raise _Stopped
