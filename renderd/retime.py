"""Retime jobs: what a ``SubmitRetime`` may ask for, and how each attempt of one runs.

The render itself is `core.retime.run_retime`, the engine of ``segue retime``; this
module decides whether a request is acceptable and with which options an attempt runs.

**Submit checks** (`check_retime`), in the order of `renderd.validation`:

1. fields (INVALID_ARGUMENT naming the field): lengths, NUL bytes, absolute paths,
   exactly one of ``fps``/``factor``/``slowmo``, each an exact rational, codec, model,
   thresholds, audio mode, ``resume`` with ``overwrite``;
2. paths: input (every frame of a sequence) and output inside the allowed roots before
   anything is looked up (PERMISSION_DENIED), then the input exists (NOT_FOUND); the
   output is read as ``core.retime.target`` reads it (movie, pattern or folder); an
   existing movie needs ``overwrite`` and must be one Segue wrote, and a report file
   beside it must be Segue's (`core.retime.target.check_replaceable`), and no file of the
   input may be written over;
3. media: the clip opens with the retime's own reader (an ffmpeg probe for movies, the
   first frame's header for sequences: nothing is decoded on a request thread) within the
   pixel limit (`core.limits`), the rates and colourspaces resolve. This also gives the output's exact frame count, so a
   job knows its total from the start.

A sequence output that already holds frames is judged by the render itself (it needs
the render's identity): the job then fails with INVALID_ARGUMENT, before any work.

**Attempts.** The first attempt runs the request as given, after recording the output's
`output_stamp` (a movie file, or a sequence's state file, as it was). A later attempt
(the daemon stopped or died mid-job) compares: a sequence whose state file the first
attempt wrote, or that reported frames, is continued with ``resume`` (finished frames are
kept, byte-identical); a movie is rendered again from the start (a stopped encode leaves
only a hidden ``.NAME.segue-part-*`` file, which the next encode of that output deletes),
with ``overwrite`` if the first attempt got as far as renaming its movie into place.

**Progress and cancel** (`JobProgress`): run_retime calls back after every output frame
and every analysed source frame; the job records frames done, total and ETA, and a
cancel (or a shutdown) raises `CancelledError` from the callback, which stops the
pipeline before the next output frame (see `JobProgress`).
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import replace

from segue.core.errors import CancelledError, InputError
from segue.core.retime import (
    Progress,
    RetimeSpec,
    check_output,
    output_frames,
    output_marker,
    preview_path,
    writes_sequence,
)
from segue.renderd.errors import InvalidArgument
from segue.renderd.paths import PathPolicy
from segue.renderd.validation import (
    check_spec_fields,
    check_support_files,
    clip_files,
    open_model_and_colour,
    spec_field,
)

PATH_FIELDS = ("input", "output", "ocio_config", "model")
#: frames kept by a resume are recorded at most this often (a resume finds thousands at once)
RESUMED_REPORT_SECONDS = 0.25


def check_retime(spec: RetimeSpec, policy: PathPolicy) -> int:
    """Run the three steps of the module docstring; return the output's frame count."""
    check_fields(spec)
    check_paths(spec, policy)
    return check_media(spec)


def check_fields(spec: RetimeSpec) -> None:
    """Step 1: the request's own shape, no file access: the service's rules, then the spec's own."""
    # the spec's rules (rates, codec, thresholds, audio, resume against overwrite), fields by proto name
    check_spec_fields(spec, PATH_FIELDS, ("input", "output"), lambda: spec.validate(name=str))


def check_paths(spec: RetimeSpec, policy: PathPolicy) -> None:
    """Step 2: every path allowed, then present; the output as the retime reads it (`core.retime.check_output`)."""
    inputs = clip_files("input", spec.input, policy)
    for path in inputs:
        policy.check(spec_field("input"), path)
    policy.check(spec_field("output"), spec.output)  # before the output is looked at on disk
    try:
        check_output(spec, inputs, allow=lambda folder: policy.check(spec_field("output"), folder))
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field(exc.field or "output")) from None
    check_support_files(spec, policy)


def check_media(spec: RetimeSpec) -> int:
    """Step 3: open what the job will open; return the output's frame count."""
    colour = open_model_and_colour(spec)
    try:
        return output_frames(spec, colour)
    except InputError as exc:
        raise InvalidArgument(str(exc), spec_field(exc.field or "input")) from None


def recheck_paths(spec: RetimeSpec, policy: PathPolicy) -> None:
    """When a worker starts the job: still allowed (a symlink may have moved since submit)."""
    policy.check(spec_field("input"), spec.input)
    policy.check(spec_field("output"), spec.output)


def output_stamp(spec: RetimeSpec) -> str:
    """The output's marker file as it is now: ``inode:size:mtime_ns``, or ``""`` if absent.

    The marker is the movie itself, or a sequence's state file (written atomically, so
    each write is a new file), which the retime writes once its plan is made, before the
    first frame.
    """
    try:
        st = os.stat(output_marker(spec))
    except OSError:
        return ""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def attempt_spec(spec: RetimeSpec, first_stamp: str, stamp: str, progressed: bool) -> RetimeSpec:
    """The options of a later attempt (module docstring): ``first_stamp`` is the output's
    `output_stamp` before the first attempt, ``stamp`` today's; ``progressed``: an earlier
    attempt reported frames."""
    written = stamp != first_stamp
    if writes_sequence(spec):
        if written or progressed:
            return replace(spec, resume=True, overwrite=False)
    elif written:
        return replace(spec, overwrite=True)
    return spec


class JobProgress:
    """`run_retime`'s ``on_progress`` and ``on_stage`` for one attempt of a job.

    ``report(done, total, eta_seconds, preview_path)`` records progress; it is called
    for every output frame rendered, and for frames kept from an earlier attempt at most
    every `RESUMED_REPORT_SECONDS` (and for the last). ``should_cancel()`` is polled
    after every output frame and every source frame of the analysis pass: True raises
    `CancelledError` (after reporting the latest frame), which run_retime passes on once
    it has stopped its threads and ffmpeg and deleted an unfinished movie. The frame
    just written stays (a sequence keeps it for a resume): a cancel takes effect before
    the next output frame, once the engine call in progress returns (the in-betweens of
    one pair of source frames are made together: one for ``factor 2``, up to N-1 for
    ``slowmo N`` or ``factor N``).

    Calls come from the retime's writer thread (progress) and the worker (analysis).
    """

    def __init__(self, spec: RetimeSpec, report: Callable[[int, int, float | None, str], None],
                 should_cancel: Callable[[], bool]) -> None:
        self.spec = spec
        self.report = report
        self.should_cancel = should_cancel
        self.rendered = 0  # frames this attempt rendered (not kept from an earlier one)
        self._latest: Progress | None = None
        self._reported_at = -math.inf

    def __call__(self, event: Progress) -> None:
        self.rendered = event.rendered
        self._latest = event
        if (not event.resumed or event.done == event.total
                or time.monotonic() - self._reported_at >= RESUMED_REPORT_SECONDS):
            self._report()
        self._check()

    def stage(self, name: str, done: int, total: int) -> None:
        """A source frame of the analysis pass: only a chance to cancel."""
        self._check()

    def _report(self) -> None:
        event, self._latest = self._latest, None
        if event is None:
            return
        # This attempt's mean time per rendered frame times the frames left.
        eta = event.elapsed / event.rendered * (event.total - event.done) if event.rendered else None
        preview = preview_path(self.spec, event.frame.index)
        self.report(event.done, event.total, eta, preview)
        self._reported_at = time.monotonic()

    def _check(self) -> None:
        if self.should_cancel():
            self._report()
            raise CancelledError("retime cancelled")
