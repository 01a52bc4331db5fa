"""The job service: submit, watch, cancel and list jobs, and the workers that run them.

* **Submit** validates the request (`renderd.validation`), applies the idempotency key
  (same key and same request: the existing job; same key, other request:
  `AlreadyExists`), refuses a second unfinished job on one output folder and a full
  queue, then stores the job before acknowledging it.
* **Workers** (``--workers`` threads) take queued jobs in submission order. Each keeps
  one `core.engine.Engine` per model for its lifetime. A transition job is
  `core.transition.render_transition`, which writes frames atomically and records
  finished ones in the output folder, so a job interrupted by a crash or a stop
  resumes on the next start without re-rendering them. A retime job is
  `core.retime.run_retime`; `renderd.retime` checks its request and chooses each
  attempt's options (a sequence output resumes, a movie output starts again). A job
  with a farm chunk renders that chunk of a planned farm job (`core.farm`) on the
  worker's warm engine; a rerun of a chunk is harmless (its record says it is done).
* **Progress**: every finished transition frame is stored and published to watchers
  with frames done, ETA and the frame file as preview. A watcher first gets the frames
  already finished, then live events, with no gap or repeat (both happen under one
  lock). A retime publishes frames done, total and ETA on the job (no frame rows).
* **Cancel** takes effect before the job's next frame (the engine polls it; a retime's
  progress callback raises it).
* **Shutdown** interrupts running jobs at their next frame and leaves them queued.
* **Failures that are not bugs** end a job with the status a submit would have got,
  logged as one line without a traceback: the request's own faults (`InputError`,
  `RequestError`), the operating system's answers about its paths (a name too long, a
  full output disk: `renderd.errors.from_os_error`), and a job store that cannot be
  written (`StoreError`). A job whose end the store cannot take is recorded once it
  can (`renderd.upkeep`); meanwhile workers take no new jobs and health is NOT_SERVING.

Threads, not processes: the engine's native kernel and OpenCV release the GIL, and a
shared address space keeps cancel and progress simple. A crash of the engine takes
the daemon down, but nothing is lost: the store and the output folders resume it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from segue.core.engine import Engine
from segue.core.errors import CancelledError, InputError
from segue.core.farm import render_retime_chunk, render_transition_chunk
from segue.core.retime import RetimeSpec, output_key, run_retime
from segue.core.transition import MAX_FRAMES, FrameEvent, TransitionSpec, render_transition
from segue.renderd import logs, retime
from segue.renderd.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RequestError,
    ResourceExhausted,
    StoreError,
    Unavailable,
    from_os_error,
)
from segue.renderd.paths import PathPolicy
from segue.renderd.store import (
    CANCELLED,
    FAILED,
    QUEUED,
    RETIME,
    RUNNING,
    STATES,
    SUCCEEDED,
    TRANSITION,
    UNFINISHED,
    FrameRow,
    JobRow,
    JobStore,
)
from segue.renderd.upkeep import StoreUpkeep
from segue.renderd.validation import check_idempotency_key, check_spec

MAX_PAGE = 500
DEFAULT_PAGE = 50
_log = logs.get("jobs")


@dataclass
class Event:
    """What a watcher receives: the job after the change, and the frame it announces (if any)."""

    job: JobRow
    frame: FrameRow | None = None


@dataclass
class _Tally:
    """What one attempt of a job rendered (frames kept from an earlier attempt excluded)."""

    rendered: int = 0


class Watch:
    """A subscription to one job's events; iterate it, `close` it when the client goes."""

    _CLOSED, _SHUTDOWN = object(), object()

    def __init__(self, service: JobService, job_id: str) -> None:
        self._service = service
        self.job_id = job_id
        self._queue: queue.SimpleQueue = queue.SimpleQueue()

    def push(self, event: Event) -> None:
        self._queue.put(event)

    def close(self) -> None:
        """End the iteration and free the watch (the client is gone or done). Idempotent."""
        self._service._unsubscribe(self)
        self._queue.put(self._CLOSED)

    def shutdown(self) -> None:
        self._queue.put(self._SHUTDOWN)

    def __iter__(self) -> Iterator[Event]:
        """Events until the job is final or the watch is closed.

        Raises `Unavailable` if the daemon shuts down first (the job resumes on restart).
        """
        try:
            while True:
                item = self._queue.get()
                if item is self._CLOSED:
                    return
                if item is self._SHUTDOWN:
                    raise Unavailable(f"segue-renderd is shutting down; job {self.job_id} resumes when it restarts")
                yield item
                if item.job.state not in UNFINISHED:
                    return
        finally:
            self._service._unsubscribe(self)


class JobService:
    """Jobs on top of a `JobStore`; see the module docstring.

    Args:
        store: the open store.
        policy: allowed paths.
        workers: number of worker threads.
        queue_limit: most jobs waiting for a worker before submits get `ResourceExhausted`.
        max_watchers: most concurrent watches (each holds a server thread).
        keep_days, keep_jobs: retention of finished jobs (`renderd.upkeep`; 0: no limit).
    """

    def __init__(self, store: JobStore, policy: PathPolicy, workers: int = 1, queue_limit: int = 64,
                 max_watchers: int = 32, keep_days: float = 0, keep_jobs: int = 0) -> None:
        self.store = store
        self.upkeep = StoreUpkeep(store, self._record_unrecorded, keep_days=keep_days, keep_jobs=keep_jobs)
        self.policy = policy
        self.workers = workers
        # each worker's model gets its share of the cores: two workers with two onnxruntime
        # threads each on two cores rendered 6-18% fewer 1080p frames per second than with
        # one each (docs/renderd.md)
        self.model_threads = max(1, (os.cpu_count() or 1) // workers)
        self.queue_limit = queue_limit
        self.max_watchers = max_watchers
        self._lock = threading.RLock()  # orders store writes and event delivery
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._queued: set[str] = set()
        self._cancel: set[str] = set()
        self._watches: dict[str, list[Watch]] = {}
        self._watch_count = 0
        self._unrecorded: dict[str, dict] = {}  # job -> its end, which the store could not take yet
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Apply retention, requeue jobs a previous run left unfinished, then start the workers."""
        self.upkeep.prune()
        interrupted = self.store.requeue_interrupted()
        for job_id in self.store.queued_ids():
            self._enqueue(job_id)
        if interrupted or self._queued:
            logs.event(_log, logging.INFO, "jobs.recovered", interrupted=interrupted, queued=len(self._queued))
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"renderd-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.upkeep.start()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop taking jobs, interrupt running ones at their next frame, end every watch.

        Returns False if a worker was still busy after ``timeout`` seconds (a frame that
        takes longer): its job stays ``running`` in the store and resumes on the next start.
        """
        self._stopping.set()
        self.upkeep.stop()  # also releases workers waiting for the store
        with self._lock:
            for watches in self._watches.values():
                for watch in watches:
                    watch.shutdown()
        for _ in self._threads:
            self._queue.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    # -- requests -------------------------------------------------------------------

    def submit(self, spec: TransitionSpec | RetimeSpec, key: str,
               farm_chunk: tuple[int, int] | None = None) -> tuple[JobRow, bool]:
        """Queue a transition or a retime (or, with ``farm_chunk``, one chunk of its planned farm
        job) under idempotency ``key``; returns ``(job, deduplicated)``."""
        if self._stopping.is_set():
            raise Unavailable("segue-renderd is shutting down; submit again when it is back")
        check_idempotency_key(key)
        kind = RETIME if isinstance(spec, RetimeSpec) else TRANSITION
        fingerprint = _fingerprint(kind, spec, farm_chunk)
        existing = self.store.by_key(key)
        frames_total = 0
        if existing is None:  # checked outside the lock: opening media takes a while
            try:
                if kind == RETIME and farm_chunk:  # the plan step checked the output; the chunk checks its plan
                    retime.check_fields(spec)
                    retime.recheck_paths(spec, self.policy)
                elif kind == RETIME:
                    frames_total = retime.check_retime(spec, self.policy)
                else:
                    check_spec(spec, self.policy)
                    frames_total = spec.frames  # a chunk's frames are numbered among the transition's
            except OSError as exc:  # e.g. a name too long for the file system
                raise _os_error(exc, kind, spec) or exc from None
        with self._lock:
            existing = self.store.by_key(key)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise AlreadyExists(f"{key!r} was already used for job {existing.id} with a different request; "
                                        "use a new key for a new render", "idempotency_key")
                return existing, True
            if kind == RETIME:
                out_field, out_key = "output", output_key(spec)
            else:
                out_field, out_key = "out_dir", os.path.realpath(spec.out_dir)
            if farm_chunk:  # chunks of one output write different frames: one unfinished job per chunk
                out_key += f"#farm-chunk-{farm_chunk[1]}-of-{farm_chunk[0]}"
            busy = self.store.unfinished_for_output(out_key)
            if busy is not None:
                taken = (f"unfinished job {busy.id} writes there" if kind == RETIME
                         else f"{spec.out_dir} is the output folder of unfinished job {busy.id}")
                raise FailedPrecondition(f"{taken}; wait for it or cancel it", f"spec.{out_field}")
            if len(self._queued) >= self.queue_limit:
                raise ResourceExhausted(f"the queue is full ({self.queue_limit} jobs waiting); retry later")
            job = self.store.insert(JobRow(id=uuid.uuid4().hex, idempotency_key=key, fingerprint=fingerprint,
                                           spec=asdict(spec), out_key=out_key, state=QUEUED,
                                           frames_total=frames_total, kind=kind, farm_chunk=farm_chunk))
            self._enqueue(job.id)
        logs.event(_log, logging.INFO, "job.submitted", job=job.id, kind=kind, frames=frames_total,
                   farm_chunk=list(farm_chunk) if farm_chunk else None, **{out_field: getattr(spec, out_field)})
        return job, False

    def get(self, job_id: str, frames: bool = True, frames_page_size: int = 0,
            frames_page_token: str = "") -> tuple[JobRow, list[FrameRow], bool]:
        """A job, a page of its finished frames (none unless ``frames``) and whether more follow.

        ``frames_page_size`` 0 means up to `MAX_FRAMES`; the token is `frames_page_token`
        of the previous page's last frame. `NotFound` if the job is unknown.
        """
        if not 0 <= frames_page_size <= MAX_FRAMES:
            raise InvalidArgument(f"must be between 0 and {MAX_FRAMES}, got {frames_page_size}", "frames_page_size")
        after = _parse_token(frames_page_token, "frames_page_token", "GetJob") or 0
        job = self._job(job_id)
        if not frames:
            return job, [], False
        size = frames_page_size or MAX_FRAMES
        rows = self.store.frames(job_id, after=after, limit=size + 1)
        return job, rows[:size], len(rows) > size

    def list(self, states: tuple[str, ...] = (), page_size: int = 0, page_token: str = "") -> tuple[list[JobRow], str]:
        """A page of jobs, newest first, and the token of the next page ("" if last)."""
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise InvalidArgument(f"unknown state(s) {', '.join(map(str, unknown))}", "states")
        if not 0 <= page_size <= MAX_PAGE:
            raise InvalidArgument(f"must be between 0 and {MAX_PAGE}, got {page_size}", "page_size")
        before = _parse_token(page_token, "page_token", "ListJobs")
        size = page_size or DEFAULT_PAGE
        rows = self.store.page(tuple(states), size + 1, before)
        more = len(rows) > size
        rows = rows[:size]
        return rows, page_token_after(rows[-1]) if more and rows else ""

    def cancel(self, job_id: str) -> JobRow:
        """Cancel a job: queued ones at once, running ones before their next frame.

        Cancelling a cancelled job is a no-op; a succeeded or failed one is `FailedPrecondition`.
        """
        with self._lock:
            job = self._job(job_id)
            if job.state == QUEUED:
                self._queued.discard(job_id)
                self._finish(job_id, CANCELLED, cancel_requested=True)
            elif job.state == RUNNING:
                self._cancel.add(job_id)
                self._change(job_id, cancel_requested=True)
            elif job.state in (SUCCEEDED, FAILED):
                raise FailedPrecondition(f"job {job_id} has already {job.state}; nothing to cancel", "job_id")
            job = self._job(job_id)
        logs.event(_log, logging.INFO, "job.cancel_requested", job=job_id, state=job.state)
        return job

    def watch(self, job_id: str, after_frame: int = 0) -> tuple[list[Event], Watch]:
        """The events so far (one per finished frame above index ``after_frame``, or the bare
        job) and a `Watch` for the rest.

        Raises `NotFound`, or `ResourceExhausted` past ``max_watchers``.
        """
        if self._stopping.is_set():
            raise Unavailable("segue-renderd is shutting down")
        if after_frame < 0:
            raise InvalidArgument(f"must be 0 or a frame index, got {after_frame}", "after_frame")
        with self._lock:
            # again under the lock: `shutdown` ends the watches it finds under it, so one
            # registered after that would never end, and its server thread would keep the
            # process from exiting
            if self._stopping.is_set():
                raise Unavailable("segue-renderd is shutting down")
            job = self._job(job_id)
            if self._watch_count >= self.max_watchers:
                raise ResourceExhausted(f"too many watchers ({self.max_watchers}); poll GetJob or retry later")
            frames = self.store.frames(job_id, after=after_frame)
            backlog = [Event(job, f) for f in frames] or [Event(job)]
            watch = Watch(self, job_id)
            if job.state in UNFINISHED:
                self._watches.setdefault(job_id, []).append(watch)
                self._watch_count += 1
            else:
                watch.close()
            return backlog, watch

    def _unsubscribe(self, watch: Watch) -> None:
        with self._lock:
            watches = self._watches.get(watch.job_id, [])
            if watch in watches:
                watches.remove(watch)
                self._watch_count -= 1
                if not watches:
                    del self._watches[watch.job_id]

    # -- workers --------------------------------------------------------------------

    def _enqueue(self, job_id: str) -> None:
        self._queued.add(job_id)
        self._queue.put(job_id)

    def _work(self) -> None:
        engines: dict[str, Engine] = {}  # this worker's engines, one per model, kept for its lifetime
        while not self._stopping.is_set():
            job_id = self._queue.get()
            if job_id is None or not self.upkeep.wait_until_up():
                return  # shutting down: a job taken stays queued in the store for the next start
            with self._lock:
                if job_id not in self._queued or self._stopping.is_set():
                    continue  # cancelled while waiting, or shutting down: it stays queued for the next start
                self._queued.discard(job_id)
                try:
                    job = self._job(job_id)
                    started = job.started or time.time()
                    self._change(job_id, state=RUNNING, attempts=job.attempts + 1, started=started)
                    job = self._job(job_id)
                except StoreError:
                    # Still queued in the store (the write changed nothing): run it once the
                    # store is back (the failure itself was reported through upkeep).
                    self._enqueue(job_id)
                    continue
            self._run(job, engines)

    def _run(self, job: JobRow, engines: dict[str, Engine]) -> None:
        begun = time.monotonic()
        tally = _Tally()
        logs.event(_log, logging.INFO, "job.started", job=job.id, kind=job.kind, attempt=job.attempts)

        def should_cancel() -> bool:
            return job.id in self._cancel or self._stopping.is_set()

        state, changes = FAILED, {}
        try:
            render = self._render_retime if job.kind == RETIME else self._render_transition
            report = render(job, engines, should_cancel, tally)
        except CancelledError:
            if job.id in self._cancel:
                state = CANCELLED
            else:  # shutting down: leave it queued, the next start resumes it
                state = QUEUED
                logs.event(_log, logging.INFO, "job.interrupted", job=job.id)
        except Exception as exc:  # noqa: BLE001 - a worker must survive any job
            error = _job_error(exc, job)
            if error is None:  # a daemon bug: its traceback is for the operator
                logs.event(_log, logging.ERROR, "job.crashed", exc_info=True, job=job.id)
                changes = {"error_code": "INTERNAL", "error_message": f"{type(exc).__name__}: {exc}"}
            else:  # the request's or the machine's problem: one line, no traceback
                level = logging.WARNING if isinstance(error, (ResourceExhausted, Unavailable)) else logging.INFO
                logs.event(_log, level, "job.failed", job=job.id, code=error.code, message=str(error))
                changes = {"error_code": error.code, "error_message": str(error)}
        else:
            state, changes = SUCCEEDED, {"report": json.dumps(report)}
        finally:
            self._cancel.discard(job.id)
        self._record_end(job.id, state, changes)
        logs.event(_log, logging.INFO, "job.ended", job=job.id, state=state,
                   seconds=round(time.monotonic() - begun, 3), frames_rendered=tally.rendered)

    def _record_end(self, job_id: str, state: str, changes: dict) -> None:
        """Store (and publish) how a job ended; if the store cannot take it, keep it until it can."""
        if state == QUEUED:  # interrupted by a shutdown
            changes = {"state": QUEUED, "eta_seconds": None}
        else:
            changes = {"state": state, "finished": time.time(), "eta_seconds": None, **changes}
        with self._lock:
            try:
                self._change(job_id, **changes)
            except StoreError:
                if state != QUEUED:  # an interrupted job is `running` in the store: the next start requeues it
                    self._unrecorded[job_id] = changes

    def _record_unrecorded(self) -> None:
        """Write the ends the store could not take (upkeep calls this until it works)."""
        with self._lock:
            for job_id, changes in list(self._unrecorded.items()):
                self._change(job_id, **changes)
                del self._unrecorded[job_id]

    def _render_transition(self, job: JobRow, engines: dict[str, Engine], should_cancel, tally: _Tally) -> dict:
        spec = TransitionSpec(**job.spec)
        rendered: list[float] = []

        def on_frame(event: FrameEvent) -> None:
            r = event.record
            if not event.resumed:
                rendered.append(r.seconds)
                tally.rendered = len(rendered)
            left = event.total - r.index
            eta = sum(rendered) / len(rendered) * left if rendered else None
            path = os.path.join(os.path.abspath(spec.out_dir), r.file)
            frame = FrameRow(r.index, path, r.t, r.confidence, r.seconds, event.resumed)
            with self._lock:
                if self.store.add_frame(job.id, frame, eta_seconds=eta, preview_path=path):
                    self._publish(job.id, frame)

        for name in ("clip_a", "clip_b", "out_dir"):  # again: a symlink may have moved since submit
            self.policy.check(f"spec.{name}", getattr(spec, name))
        engine = _engine(engines, spec.model, self.model_threads)
        if job.farm_chunk:
            chunks, chunk = job.farm_chunk
            return render_transition_chunk(spec, chunks, chunk, engine=engine, on_frame=on_frame,
                                           should_cancel=should_cancel)
        return render_transition(spec, engine=engine, on_frame=on_frame, should_cancel=should_cancel)

    def _render_retime(self, job: JobRow, engines: dict[str, Engine], should_cancel, tally: _Tally) -> dict:
        spec = RetimeSpec(**job.spec)
        retime.recheck_paths(spec, self.policy)
        if job.farm_chunk:
            chunks, chunk = job.farm_chunk

            def render(engine: Engine, progress: retime.JobProgress) -> dict:
                return render_retime_chunk(spec, chunks, chunk, engine=engine, on_progress=progress)
        else:
            stamp = retime.output_stamp(spec)
            if job.output_stamp is None:  # the first attempt: remember the output as it was before it
                with self._lock:
                    self.store.update(job.id, output_stamp=stamp)
                run = spec
            else:
                run = retime.attempt_spec(spec, job.output_stamp, stamp, progressed=job.frames_done > 0)
                if not retime.writes_sequence(spec) and job.frames_done:  # a movie starts again from its first frame
                    with self._lock:
                        self._change(job.id, frames_done=0, eta_seconds=None)

            def render(engine: Engine, progress: retime.JobProgress) -> dict:
                return run_retime(run, engine=engine, on_progress=progress, on_stage=progress.stage)

        def report(done: int, total: int, eta: float | None, preview: str) -> None:
            with self._lock:
                self._change(job.id, frames_done=done, frames_total=total, eta_seconds=eta, preview_path=preview)

        progress = retime.JobProgress(spec, report, should_cancel)
        try:
            return render(_engine(engines, spec.model, self.model_threads), progress)
        finally:
            tally.rendered = progress.rendered

    # -- state changes (call with self._lock held) ----------------------------------

    def _finish(self, job_id: str, state: str, **changes) -> None:
        self._change(job_id, state=state, finished=time.time(), eta_seconds=None, **changes)

    def _change(self, job_id: str, **changes) -> None:
        self.store.update(job_id, **changes)
        self._publish(job_id)

    def _publish(self, job_id: str, frame: FrameRow | None = None) -> None:
        watches = self._watches.get(job_id)
        if watches:
            event = Event(self._job(job_id), frame)
            for watch in watches:
                watch.push(event)

    def _job(self, job_id: str) -> JobRow:
        if not job_id:
            raise InvalidArgument("is empty", "job_id")
        if len(job_id) > 64:
            raise InvalidArgument(f"is {len(job_id)} characters long; job ids are 32", "job_id")
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r} on this daemon", "job_id")
        return job


def page_token_after(job: JobRow) -> str:
    """The ListJobs ``page_token`` of the page that follows ``job``."""
    return str(job.seq)


def frames_page_token_after(frame: FrameRow) -> str:
    """The GetJob ``frames_page_token`` of the page that follows ``frame``."""
    return str(frame.index)


def _parse_token(token: str, field: str, method: str) -> int | None:
    """A page token (decimal ASCII digits) as a number; None if empty; `InvalidArgument` naming ``field``."""
    if not token:
        return None
    # isascii too: str.isdigit accepts '²' (int() refuses it) and '٣' (int() reads 3)
    if not (token.isascii() and token.isdigit()) or len(token) > 18:
        raise InvalidArgument(f"{token[:40]!r} is not a token from a previous {method}", field)
    return int(token)


def _paths(kind: str, spec: TransitionSpec | RetimeSpec) -> tuple[dict[str, str | None], str]:
    """The request's path fields (proto names) and the one it writes to."""
    names = ("input", "output", "ocio_config", "model") if kind == RETIME else \
        ("clip_a", "clip_b", "out_dir", "ocio_config", "model")
    output = "spec.output" if kind == RETIME else "spec.out_dir"
    return {f"spec.{name}": getattr(spec, name) for name in names}, output


def _os_error(exc: OSError, kind: str, spec: TransitionSpec | RetimeSpec) -> RequestError | None:
    """`renderd.errors.from_os_error` for one request's paths."""
    paths, output = _paths(kind, spec)
    return from_os_error(exc, paths, output)


def _job_error(exc: Exception, job: JobRow) -> RequestError | None:
    """What a job that raised ``exc`` failed with, as a request error; None for a daemon bug."""
    if isinstance(exc, RequestError):  # StoreError too: its message names the store
        return exc
    if isinstance(exc, InputError):  # bad media found while rendering, a foreign file in the output...
        return InvalidArgument(str(exc))
    if isinstance(exc, OSError):
        spec = RetimeSpec(**job.spec) if job.kind == RETIME else TransitionSpec(**job.spec)
        return _os_error(exc, job.kind, spec)
    return None


def _engine(engines: dict[str, Engine], model: str, threads: int) -> Engine:
    """The worker's engine for ``model``, created (and logged) on first use, then kept."""
    if model not in engines:
        engines[model] = Engine(model, threads=threads)
        logs.event(_log, logging.INFO, "engine.loaded", model=model, worker=threading.current_thread().name)
    return engines[model]


def _fingerprint(kind: str, spec: TransitionSpec | RetimeSpec, farm_chunk: tuple[int, int] | None = None) -> str:
    """Identity of a request, for the idempotency check (a transition's as before retimes existed)."""
    body = asdict(spec) if kind == TRANSITION else {kind: asdict(spec)}
    if farm_chunk:
        body = {"farm_chunk": list(farm_chunk), "job": body}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
