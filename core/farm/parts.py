"""A farm job's work folder: its plan, one record (and, for a movie, one segment) per chunk.

Every file here is written atomically and recorded in the folder's ledger
(`core.ownership`); one is read back only if the ledger proves Segue wrote it, and then
checked like any other input (the kind modules check the fields). A chunk's record is
written last, once its frames are complete, so a record proves its chunk is done; a chunk
killed midway leaves no record and, at most, a temporary file its rerun sweeps away.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from segue.core.errors import InputError
from segue.core.output import atomic_write_text
from segue.core.ownership import Ledger

PLAN = "job.json"
#: a plan or chunk record larger than this is not one Segue wrote
_MAX_RECORD_BYTES = 64 * 2**20
FORMAT = "segue-farm-job"
VERSION = 1


class WorkFolder:
    """The work folder at ``path`` (created by `create`, found by `open`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ledger = Ledger(path)

    @classmethod
    def create(cls, path: Path) -> WorkFolder:
        """Create (or reuse) the work folder; `InputError` if it cannot be made."""
        if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
            raise InputError(f"{path} is in the way of the farm job's work folder: remove it")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the farm job's work folder {path}: {exc.strerror or exc}") from None
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> WorkFolder:
        """The work folder of a planned job; `InputError` if there is none."""
        if path.is_symlink() or not path.is_dir():
            raise InputError(f"no farm job is planned here ({path} does not exist): run `segue farm plan` first")
        return cls(path)

    def write(self, name: str, data: dict) -> None:
        """Write record ``name`` (JSON) atomically, recorded in the ledger."""
        atomic_write_text(self.path / name, json.dumps(data, indent=1), before_replace=self.ledger.recorder(name))

    def read(self, name: str) -> dict | None:
        """Record ``name`` if Segue wrote it and it is a JSON object, else None."""
        if not self.ledger.owns(name):
            return None
        try:
            with open(self.path / name, "rb") as f:
                data = f.read(_MAX_RECORD_BYTES + 1)
            value = json.loads(data) if len(data) <= _MAX_RECORD_BYTES else None
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def plan(self, kind: str, key: str) -> dict:
        """The job's plan, checked to be a plan of ``kind`` for the job ``key``; `InputError` otherwise."""
        plan = self.read(PLAN)
        if plan is None or plan.get("format") != FORMAT or plan.get("version") != VERSION:
            raise InputError(f"{self.path / PLAN}: no plan of Segue's for this job: run `segue farm plan` first")
        if plan.get("kind") != kind or plan.get("key") != key:
            raise InputError(f"{self.path}: planned for another {plan.get('kind', 'job')} (other sources or "
                             "options, or the sources changed since): run `segue farm plan` again")
        return plan

    def write_plan(self, plan: dict, also_stale: tuple[str, ...] = ()) -> None:
        """Write ``plan``; the chunk records of an earlier plan of another job or other chunks
        (and ``also_stale``) are removed first: they prove nothing for this one."""
        previous = self.read(PLAN) or {}
        if previous.get("key") != plan["key"] or previous.get("chunks") != plan["chunks"]:
            for name in (*(chunk_record(k) for k in range(1, len(plan["chunks"]) + 1)), *also_stale):
                self.remove(name)
        self.write(PLAN, plan)

    def remove(self, name: str) -> None:
        """Delete ``name`` if it is Segue's."""
        self.ledger.remove(name)

    def sweep(self, names: set[str]) -> None:
        """Delete what a killed run left while writing one of ``names``."""
        self.ledger.sweep_temporaries(names.__contains__)


def chunk_record(chunk: int) -> str:
    """File name of chunk ``chunk``'s record (1-based)."""
    return f"chunk_{chunk:04d}.json"


def plan_header(kind: str, key: str) -> dict:
    """The fields every plan starts with."""
    return {"format": FORMAT, "version": VERSION, "kind": kind, "key": key}


def planned_ranges(plan: dict, total: int, chunks: int) -> list[range]:
    """The plan's chunk ranges of ``total`` frames, checked (`check_ranges`), if there are ``chunks``
    of them; `InputError` naming ``--chunks`` otherwise."""
    ranges = check_ranges(plan.get("chunks"), total)
    if len(ranges) != chunks:
        raise InputError(f"the job was planned in {len(ranges)} chunks, not {chunks}: give the plan's --chunks",
                         field="chunks")
    return ranges


def not_rendered(missing: list[int], chunks: int) -> InputError:
    """The assemble step's refusal when chunks ``missing`` (1-based) of ``chunks`` have no valid record."""
    listed = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
    return InputError(f"{len(missing)} of {chunks} chunks are not rendered (or were stopped midway): "
                      f"chunk {listed}; render them, then assemble again")


def check_ranges(value: object, total: int) -> list[range]:
    """The chunk ranges a plan records, if they tile ``0 .. total`` in order; `InputError` otherwise."""
    ok = isinstance(value, list) and value and all(
        isinstance(r, list) and len(r) == 2 and all(type(v) is int for v in r) for r in value)
    if ok:
        ranges = [range(lo, hi) for lo, hi in value]
        ok = ranges[0].start == 0 and ranges[-1].stop == total and all(
            r.stop >= r.start and (i == 0 or r.start == ranges[i - 1].stop) for i, r in enumerate(ranges))
    if not ok:
        raise InputError("the farm plan's chunk list is damaged: run `segue farm plan` again")
    return ranges
