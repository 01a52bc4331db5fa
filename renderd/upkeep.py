"""Upkeep of the job store: whether it can be written, getting back when it can, retention.

**Store health.** The store reports every failure of its database (`JobStore.on_error`):
a full disk, an I/O error, a file turned read-only. From the first one the store is
*down*: listeners hear it (the server turns health to NOT_SERVING), workers stop taking
jobs (`wait_until_up`), and this module's thread tries every `RETRY_SECONDS` to write
again: first what the workers could not record (``recover``, e.g. a failed job's end),
then `JobStore.probe`. When that works the store is *up* again: listeners hear it, the
workers carry on with the queue, all without a restart.

**Retention.** Finished jobs are pruned (`JobStore.prune`: older than ``keep_days``,
beyond the newest ``keep_jobs``; 0 turns a limit off) when the daemon starts and every
`PRUNE_SECONDS` after, by the same thread.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from segue.renderd import logs
from segue.renderd.errors import StoreError
from segue.renderd.store import JobStore

#: how often a down store is tried again
RETRY_SECONDS = 1.0
#: how often retention runs after the one at start
PRUNE_SECONDS = 3600.0
_log = logs.get("store")


class StoreUpkeep:
    """The store's health and its upkeep thread (module docstring).

    Args:
        store: the open store; its ``on_error`` is taken over.
        recover: writes what could not be recorded while the store was down; raises
            `StoreError` if it still cannot.
        keep_days, keep_jobs: the retention policy (0: no limit).
    """

    def __init__(self, store: JobStore, recover: Callable[[], None], keep_days: float = 0,
                 keep_jobs: int = 0) -> None:
        self.store = store
        self.keep_days = keep_days
        self.keep_jobs = keep_jobs
        self._recover = recover
        self._listeners: list[Callable[[bool], None]] = []
        self._state = threading.Condition()
        self._up = True
        self._stopping = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        store.on_error = self.failed

    @property
    def up(self) -> bool:
        """True while the store takes writes (as far as the last attempt knows)."""
        return self._up

    def listen(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(up)`` whenever the store goes down or comes back."""
        self._listeners.append(callback)

    def failed(self, error: StoreError) -> None:
        """The store refused a read or write: it is down until a write works again."""
        with self._state:
            was_up, self._up = self._up, False
        if was_up:
            # The machine's problem, not a bug: one line without a traceback, per outage.
            logs.event(_log, logging.WARNING, "store.unavailable", store=str(self.store.path), code=error.code,
                       reason=str(error))
            self._tell(False)
        self._wake.set()

    def wait_until_up(self) -> bool:
        """Block while the store is down; False if the daemon stops meanwhile."""
        with self._state:
            self._state.wait_for(lambda: self._up or self._stopping)
            return not self._stopping

    def prune(self) -> tuple[int, int]:
        """Apply the retention policy now; returns ``(jobs, frames)`` deleted."""
        jobs, frames = self.store.prune(self.keep_days, self.keep_jobs)
        if jobs:
            logs.event(_log, logging.INFO, "store.pruned", jobs=jobs, frames=frames, keep_days=self.keep_days,
                       keep_jobs=self.keep_jobs)
        return jobs, frames

    def start(self) -> None:
        """Start the upkeep thread (the first pruning is the caller's, at start)."""
        self._thread = threading.Thread(target=self._run, name="renderd-upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread and release every `wait_until_up`."""
        with self._state:
            self._stopping = True
            self._state.notify_all()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        next_prune = time.monotonic() + PRUNE_SECONDS
        while True:
            with self._state:
                if self._stopping:
                    return
            if not self._up:
                self._try_recover()
            elif time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_SECONDS
                try:
                    self.prune()
                except StoreError:
                    pass  # already reported through on_error: the store is down now
            wait = RETRY_SECONDS if not self._up else max(0.0, next_prune - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()

    def _try_recover(self) -> None:
        try:
            self._recover()
            self.store.probe()
        except StoreError:
            return  # still down; the next try is in RETRY_SECONDS
        with self._state:
            self._up = True
            self._state.notify_all()
        logs.event(_log, logging.INFO, "store.available", store=str(self.store.path))
        self._tell(True)

    def _tell(self, up: bool) -> None:
        for callback in self._listeners:
            callback(up)
