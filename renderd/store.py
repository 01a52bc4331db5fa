"""The durable job store: one SQLite database in the ``--store`` folder.

Jobs and their finished frames survive any stop of the daemon, ``kill -9`` included:
every change is one committed transaction (WAL journal, ``synchronous=FULL``), so
after a crash the store holds exactly the changes that were acknowledged. A lock file
(``renderd.lock``, held with ``flock``) keeps a second daemon off the same store;
the kernel drops it when the holder dies, so a crash never leaves a stale lock.

States: ``queued -> running -> succeeded | failed | cancelled``; ``running`` goes
back to ``queued`` when the daemon stops or dies mid-job (`requeue_interrupted`).
Kinds: ``transition`` and ``retime``; either may be one chunk of a render-farm job
(``farm_chunk``). Schema 2 added ``kind`` and ``output_stamp``, schema 3 ``farm_chunk``;
an older store is upgraded in place on open (a schema-1 store's jobs being transitions).
The store is a plain data layer: rules about state changes live in `renderd.jobs`.

**Failures of the store itself** (its disk full, an I/O error, the file made
read-only) are raised as `renderd.errors.StoreFull` / `StoreError` naming the database,
never as a bare ``sqlite3`` error, and reported to ``on_error`` first, so the daemon
can turn health to NOT_SERVING and find out when the store works again (`probe`). A
failed write changes nothing: each is one transaction, rolled back. Other SQLite
errors (bad SQL, a constraint) are bugs and propagate unchanged.

**Retention** (`prune`): finished jobs older than a number of days, or beyond the
newest N finished ones, are deleted with their frames; unfinished jobs never are.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from segue.renderd.errors import StoreError, StoreFull

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
UNFINISHED = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
TRANSITION, RETIME = "transition", "retime"
KINDS = (TRANSITION, RETIME)
DB_FILE = "jobs.sqlite3"
LOCK_FILE = "renderd.lock"
SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- submission order, for queues and paging
    id               TEXT NOT NULL UNIQUE,
    idempotency_key  TEXT NOT NULL UNIQUE,
    fingerprint      TEXT NOT NULL,      -- hash of the normalised spec: same key, same request?
    kind             TEXT NOT NULL DEFAULT 'transition',  -- or 'retime'
    spec             TEXT NOT NULL,      -- JSON of core.transition.TransitionSpec / core.retime.RetimeSpec
    out_key          TEXT NOT NULL,      -- real path of the output folder (or movie): one unfinished job each
    state            TEXT NOT NULL,
    frames_total     INTEGER NOT NULL,
    frames_done      INTEGER NOT NULL DEFAULT 0,
    eta_seconds      REAL,
    preview_path     TEXT NOT NULL DEFAULT '',
    error_code       TEXT NOT NULL DEFAULT '',
    error_message    TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    report           TEXT NOT NULL DEFAULT '',
    created          REAL NOT NULL,
    started          REAL,
    finished         REAL,
    output_stamp     TEXT,               -- retime: the output as it was before the first attempt
    farm_chunk       TEXT                -- JSON [chunks, chunk]: one chunk of a farm job (core.farm)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_out ON jobs (out_key, state);
CREATE TABLE IF NOT EXISTS frames (
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    idx        INTEGER NOT NULL,
    path       TEXT NOT NULL,
    t          REAL NOT NULL,
    confidence REAL NOT NULL,
    seconds    REAL NOT NULL,
    resumed    INTEGER NOT NULL,
    PRIMARY KEY (job_id, idx)
);
"""


#: columns later schemas added (2: kind, output_stamp; 3: farm_chunk), for upgrading an older store
_ADDED_COLUMNS = {"kind": "TEXT NOT NULL DEFAULT 'transition'", "output_stamp": "TEXT", "farm_chunk": "TEXT"}
#: SQLite primary result codes that mean "the machine", not "the code": the disk, the file, memory
_SQLITE_FULL = 13
_SQLITE_MACHINE = {3: "permission denied", 5: "busy", 6: "locked", 7: "out of memory", 8: "read-only",
                   10: "I/O error", 11: "corrupt", 14: "cannot open", 15: "locking protocol", 26: "not a database"}
#: finished jobs deleted per transaction by `JobStore.prune`, so other writers get turns
PRUNE_BATCH = 500
_T = TypeVar("_T")


class StoreLocked(Exception):
    """Another daemon holds the store."""


def _guarded(method: Callable[..., _T]) -> Callable[..., _T]:
    """Raise the store's own errors (`StoreFull`, `StoreError`) for SQLite's machine failures."""
    @functools.wraps(method)
    def wrapper(self: JobStore, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            error = self._translate(exc)
            if error is None:
                raise  # bad SQL or a broken invariant: a bug, with its traceback
        if self.on_error is not None:
            self.on_error(error)
        raise error
    return wrapper


@dataclass
class FrameRow:
    """A finished frame of a job (1-based ``index``, absolute ``path``)."""

    index: int
    path: str
    t: float
    confidence: float
    seconds: float
    resumed: bool


@dataclass
class JobRow:
    """One job as stored. ``spec`` is the `TransitionSpec` (or, for a retime, `RetimeSpec`) as a dict.

    ``output_stamp`` (retimes) identifies the output as it was before the job's first
    attempt, so a later attempt can tell whether that attempt got to write it.
    ``farm_chunk`` is ``(chunks, chunk)`` for a job that renders one chunk of a farm job.
    """

    id: str
    idempotency_key: str
    fingerprint: str
    spec: dict[str, Any]
    out_key: str
    state: str
    frames_total: int
    seq: int = 0
    frames_done: int = 0
    eta_seconds: float | None = None
    preview_path: str = ""
    error_code: str = ""
    error_message: str = ""
    cancel_requested: bool = False
    attempts: int = 0
    report: str = ""
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    kind: str = TRANSITION
    output_stamp: str | None = None
    farm_chunk: tuple[int, int] | None = None


_JOB_COLUMNS = [f for f in JobRow.__dataclass_fields__]


class JobStore:
    """Thread-safe access to the jobs database in ``folder`` (created if missing).

    Raises `StoreLocked` if another process holds the store, `OSError` if the folder
    cannot be created or written, `StoreError` (`StoreFull`) if the database cannot be
    opened or upgraded. Every method raises `StoreError` when the database fails later;
    ``on_error`` (if set) hears of each such failure before it is raised.
    """

    on_error: Callable[[StoreError], None] | None = None

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_FILE
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._lock_fd, 32, 0).decode(errors="replace").strip()
            os.close(self._lock_fd)
            raise StoreLocked(f"store {self.folder} is in use by another segue-renderd"
                              f"{f' (pid {holder})' if holder else ''}") from None
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, str(os.getpid()).encode(), 0)
        self._mutex = threading.Lock()
        try:
            self._open()
        except BaseException:
            if getattr(self, "_db", None) is not None:
                self._db.close()
            os.close(self._lock_fd)  # releases the lock: this process does not hold the store
            raise

    @_guarded
    def _open(self) -> None:
        # One connection shared under a mutex: writes are small and serialised anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged change survives power loss too
        self._db.execute("PRAGMA foreign_keys=ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreLocked(f"store {self.folder} was written by a newer segue-renderd (schema {version})")
        self._db.executescript(_SCHEMA)
        present = {r["name"] for r in self._db.execute("PRAGMA table_info(jobs)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in present:  # an older store (a schema-1 store's jobs are transitions)
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {declaration}")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _translate(self, exc: sqlite3.Error) -> StoreError | None:
        """The store error a SQLite error stands for, or None if it is a bug."""
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:  # not raised by SQLite itself (e.g. a closed connection): a bug
            return None
        if code & 0xFF == _SQLITE_FULL:
            return StoreFull(f"the job store {self.path} is full ({exc}): free space on its disk")
        what = _SQLITE_MACHINE.get(code & 0xFF)
        if what is None:
            return None
        return StoreError(f"the job store {self.path} cannot be used ({what}: {exc})")

    def close(self) -> None:
        """Close the database and release the lock."""
        with self._mutex:
            self._db.close()
            os.close(self._lock_fd)

    # -- writes ---------------------------------------------------------------------

    @_guarded
    def insert(self, job: JobRow) -> JobRow:
        """Add a new job; returns it with its ``seq``. The caller checked key uniqueness."""
        values = _to_db(job)
        del values["seq"]
        cols = ", ".join(values)
        with self._mutex, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(f"INSERT INTO jobs ({cols}) VALUES ({', '.join('?' * len(values))})",
                                   list(values.values()))
            job.seq = cur.lastrowid
        return job

    @_guarded
    def update(self, job_id: str, **changes: Any) -> None:
        """Set columns of one job (names as in `JobRow`)."""
        values = _to_db(changes)
        with self._mutex, self._db:
            self._db.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                             [*values.values(), job_id])

    @_guarded
    def add_frame(self, job_id: str, frame: FrameRow, **changes: Any) -> bool:
        """Record a finished frame and update the job in one transaction.

        Returns False (and changes nothing) if the frame was already recorded: a
        resumed run reports frames the store may already hold.
        """
        values = _to_db(changes)
        with self._mutex, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT OR IGNORE INTO frames (job_id, idx, path, t, confidence, seconds, resumed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, frame.index, frame.path, frame.t, frame.confidence, frame.seconds, int(frame.resumed)))
            if cur.rowcount == 0:
                return False
            sets = ["frames_done = frames_done + 1", *(f"{k} = ?" for k in values)]
            self._db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*values.values(), job_id])
        return True

    @_guarded
    def requeue_interrupted(self) -> list[str]:
        """After a stop or crash: running jobs back to queued, or cancelled if that was asked.

        Returns the ids of the jobs that were running.
        """
        with self._mutex, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            ids = [r["id"] for r in self._db.execute("SELECT id FROM jobs WHERE state = ?", (RUNNING,))]
            now = time.time()
            self._db.execute("UPDATE jobs SET state = ?, finished = ? WHERE state IN (?, ?) AND cancel_requested",
                             (CANCELLED, now, QUEUED, RUNNING))
            self._db.execute("UPDATE jobs SET state = ?, eta_seconds = NULL WHERE state = ?", (QUEUED, RUNNING))
        return ids

    @_guarded
    def probe(self) -> None:
        """Prove the store takes a write: one committed transaction that changes nothing."""
        with self._mutex, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")  # rewrites the header page

    def prune(self, keep_days: float = 0, keep_jobs: int = 0, now: float | None = None) -> tuple[int, int]:
        """Delete finished jobs that ended over ``keep_days`` days ago or are older than the
        newest ``keep_jobs`` finished ones, with their frames; 0 means no such limit.

        Queued and running jobs are never deleted. Works in batches of `PRUNE_BATCH`
        jobs, one transaction each. Returns ``(jobs, frames)`` deleted.
        """
        where, args = self._prune_condition(keep_days, keep_jobs, time.time() if now is None else now)
        jobs = frames = 0
        while where:
            deleted = self._prune_batch(where, args)
            if deleted is None:
                break
            jobs, frames = jobs + deleted[0], frames + deleted[1]
        return jobs, frames

    @_guarded
    def _prune_condition(self, keep_days: float, keep_jobs: int, now: float) -> tuple[str, list[Any]]:
        limits, args = [], []
        if keep_days > 0:
            limits.append("finished < ?")
            args.append(now - keep_days * 86400)
        if keep_jobs > 0:
            with self._mutex:
                newest = self._db.execute(
                    f"SELECT seq FROM jobs WHERE state IN ({', '.join('?' * len(FINISHED))}) "
                    "ORDER BY seq DESC LIMIT 1 OFFSET ?", (*FINISHED, keep_jobs - 1)).fetchone()
            if newest is not None:  # the keep_jobs-th newest finished job: older finished ones go
                limits.append("seq < ?")
                args.append(newest["seq"])
        if not limits:
            return "", []
        return f"state IN ({', '.join('?' * len(FINISHED))}) AND ({' OR '.join(limits)})", [*FINISHED, *args]

    @_guarded
    def _prune_batch(self, where: str, args: list[Any]) -> tuple[int, int] | None:
        with self._mutex, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            ids = [r["id"] for r in self._db.execute(f"SELECT id FROM jobs WHERE {where} ORDER BY seq LIMIT ?",
                                                     [*args, PRUNE_BATCH])]
            if not ids:
                return None
            marks = ", ".join("?" * len(ids))
            frames = self._db.execute(f"DELETE FROM frames WHERE job_id IN ({marks})", ids).rowcount
            jobs = self._db.execute(f"DELETE FROM jobs WHERE id IN ({marks})", ids).rowcount
        return jobs, frames

    # -- reads ----------------------------------------------------------------------

    def get(self, job_id: str) -> JobRow | None:
        """The job with this id, or None."""
        return self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    def by_key(self, key: str) -> JobRow | None:
        """The job submitted with this idempotency key, or None."""
        return self._one("SELECT * FROM jobs WHERE idempotency_key = ?", (key,))

    def unfinished_for_output(self, out_key: str) -> JobRow | None:
        """A queued or running job writing into this (real) output folder, or None."""
        return self._one("SELECT * FROM jobs WHERE out_key = ? AND state IN (?, ?)", (out_key, *UNFINISHED))

    @_guarded
    def queued_ids(self) -> list[str]:
        """Ids of queued jobs in submission order."""
        with self._mutex:
            return [r["id"] for r in self._db.execute("SELECT id FROM jobs WHERE state = ? ORDER BY seq", (QUEUED,))]

    @_guarded
    def frames(self, job_id: str, after: int = 0, limit: int | None = None) -> list[FrameRow]:
        """Finished frames of a job in frame order: those with an index above ``after``, at most ``limit``."""
        sql = "SELECT * FROM frames WHERE job_id = ? AND idx > ? ORDER BY idx"
        args: list[Any] = [job_id, after]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._mutex:
            rows = self._db.execute(sql, args).fetchall()
        return [FrameRow(r["idx"], r["path"], r["t"], r["confidence"], r["seconds"], bool(r["resumed"]))
                for r in rows]

    @_guarded
    def page(self, states: tuple[str, ...], limit: int, before_seq: int | None) -> list[JobRow]:
        """Up to ``limit`` jobs (newest first) in ``states`` (all if empty) with seq < ``before_seq``."""
        where, args = [], []
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        if before_seq is not None:
            where.append("seq < ?")
            args.append(before_seq)
        sql = f"SELECT * FROM jobs {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY seq DESC LIMIT ?"
        with self._mutex:
            rows = self._db.execute(sql, [*args, limit]).fetchall()
        return [_from_db(r) for r in rows]

    @_guarded
    def _one(self, sql: str, args: tuple) -> JobRow | None:
        with self._mutex:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else _from_db(row)


def _to_db(values: JobRow | dict[str, Any]) -> dict[str, Any]:
    data = dict(values.__dict__) if isinstance(values, JobRow) else dict(values)
    unknown = set(data) - set(_JOB_COLUMNS)
    if unknown:
        raise KeyError(f"unknown job column(s): {', '.join(sorted(unknown))}")
    if "spec" in data:
        data["spec"] = json.dumps(data["spec"], sort_keys=True)
    if data.get("farm_chunk") is not None:
        data["farm_chunk"] = json.dumps(list(data["farm_chunk"]))
    if "cancel_requested" in data:
        data["cancel_requested"] = int(bool(data["cancel_requested"]))
    return data


def _from_db(row: sqlite3.Row) -> JobRow:
    data = {k: row[k] for k in _JOB_COLUMNS}
    data["spec"] = json.loads(data["spec"])
    data["cancel_requested"] = bool(data["cancel_requested"])
    if data["farm_chunk"] is not None:
        data["farm_chunk"] = tuple(json.loads(data["farm_chunk"]))
    return JobRow(**data)
