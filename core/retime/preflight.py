"""What a retime will read and write, known before it runs: the narrow entry for a service.

`segue-renderd` checks a ``SubmitRetime`` before queueing it and follows the job's output
between attempts; these functions give it what it needs without reaching into the
pipeline's modules. Every refusal is an `InputError` whose ``field`` names the spec field
at fault (``output``, ``codec``, ``resume``, ``input``, ``input_fps``, a rate,
``colorspace_in`` / ``colorspace_out``), so a service can map it to its own status.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from segue.core.color import ColorManager
from segue.core.errors import InputError, with_field
from segue.core.media.movie import MOVIE_EXTENSIONS
from segue.core.media.source import open_source
from segue.core.retime import timing
from segue.core.retime.job import AUDIO_MODES, CODECS, RetimeSpec, target_rates
from segue.core.retime.target import STATE_FILE, check_not_input, check_replaceable, resolve_target

__all__ = ["AUDIO_MODES", "CODECS", "check_output", "output_frames", "output_key", "output_marker",
           "preview_path", "writes_sequence"]


def check_output(spec: RetimeSpec, inputs: Iterable[str], allow: Callable[[str], None] = lambda folder: None) -> None:
    """Refuse an output the retime could not or must not write.

    ``inputs``: the files the input reads (none may be written over). ``allow(folder)`` is
    called with the output's folder before anything there is looked at (a service's path
    policy). The rules: the output reads as a movie, pattern or folder (``codec``
    agreeing); its folder is not a file; ``resume`` is for sequences; an existing movie
    needs ``overwrite`` and must be Segue's, as must a report beside it.
    """
    target = with_field("output", lambda: resolve_target(spec.output))
    if spec.codec is not None:
        target = with_field("codec", lambda: resolve_target(spec.output, spec.codec))
    folder = target.folder if target.kind == "sequence" else target.path.parent
    allow(str(folder))
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder", field="output")
    with_field("output", lambda: check_not_input(target, inputs))
    if target.kind == "movie" and spec.resume:
        raise InputError("resume continues image-sequence renders; a movie is rendered in one go", field="resume")
    if target.kind == "movie" and os.path.lexists(target.path) and not spec.overwrite:
        raise InputError(f"{target.path} already exists: set overwrite to replace an earlier output of Segue's",
                         field="output")
    with_field("output", lambda: check_replaceable(target, overwrite=True))  # asked for: is it Segue's to replace?


def output_frames(spec: RetimeSpec, colour: ColorManager) -> int:
    """Open the input as the retime will (headers and probe only) and return the output's frame count.

    Also checks the rates and that the colourspaces resolve in ``colour``.
    """
    input_fps = None
    if spec.input_fps is not None:
        if os.path.isfile(spec.input) and os.path.splitext(spec.input)[1].lower() in MOVIE_EXTENSIONS:
            raise InputError("applies to image sequences; the input is a movie with its own rate", field="input_fps")
        input_fps = with_field("input_fps", lambda: timing.parse_rate(spec.input_fps, "input_fps"))
    source = with_field("input", lambda: open_source(spec.input, input_fps))
    rate = next(name for name in ("fps", "factor", "slowmo") if getattr(spec, name) is not None)
    rates = with_field(rate, lambda: target_rates(spec, source.fps))
    for name, default in (("colorspace_in", colour.default_for(source.bit_depth, source.is_float)),
                          ("colorspace_out", None)):
        wanted = getattr(spec, name) or default
        if wanted:
            with_field(name, lambda wanted=wanted: colour.resolve(wanted))
    return timing.output_frame_count(source.duration, rates.out_fps, rates.speed)


def writes_sequence(spec: RetimeSpec) -> bool:
    """True if the output is an image sequence (resumable frame by frame), False for a movie."""
    return resolve_target(spec.output, spec.codec).kind == "sequence"


def output_key(spec: RetimeSpec) -> str:
    """Real path of what the job writes: a sequence's folder (one state file per folder), or the movie."""
    target = resolve_target(spec.output, spec.codec)
    return os.path.realpath(target.folder if target.kind == "sequence" else target.path)


def output_marker(spec: RetimeSpec) -> Path:
    """The file whose identity changes when a render writes the output: the movie itself, or a
    sequence's state file (written atomically once the plan is made, before the first frame)."""
    target = resolve_target(spec.output, spec.codec)
    return target.path if target.kind == "movie" else target.folder / STATE_FILE


def preview_path(spec: RetimeSpec, index: int) -> str:
    """The file of output frame ``index`` (0-based) of a sequence output; ``""`` for a movie."""
    target = resolve_target(spec.output, spec.codec)
    return str(target.frame_path(index + 1)) if target.kind == "sequence" else ""
