"""A retime job: a whole clip in, a clip at another frame rate (or slowed down) out.

`run_retime` is what ``segue retime`` runs (and what the render daemon runs); it opens the
job (`open_retime`: a `RetimeJob`) and runs its passes, which a farm job (`core.farm`)
runs in separate processes:

1. open the source (`source`) and the output (`target`), check everything that can be
   checked before any work: rates, codec and container, sizes, existing outputs;
2. the analysis pass (`analysis`): repeated frames and scene cuts;
3. the plan (`timing`): for each output frame, a copy, a hold or an in-between;
4. the render pass (`stream`): decode, synthesize, encode, with bounded memory;
5. the JSON report next to the output.

Colour: frames go from the source's colourspace to the working space and from there to
the output colourspace with `core.color` (defaults as for transitions: a movie's R'G'B'
and 8/16-bit images are sRGB-encoded Rec.709, which is the working space itself, so a
movie-to-movie retime changes no value; EXR is scene-linear). The Y'CbCr side (range,
matrix, tags) is `core.media.ycbcr`'s.

Resume (image sequences, `sinks.SequenceSink`): frames are written atomically, and a state
file in the folder records the job's identity (source stamp, options, version). ``--resume`` keeps every
frame file already there and renders the rest; a different source or options refuse to
resume. Without ``--resume`` an earlier render in the folder is only replaced with
``--overwrite``; files Segue did not write are never replaced.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np

from segue.core import __version__
from segue.core.color import ColorManager
from segue.core.errors import InputError, with_field
from segue.core.media.encode import MOVIE_CODECS
from segue.core.media.ffmpeg import format_rate
from segue.core.media.source import Source, open_source
from segue.core.output import atomic_write_text
from segue.core.ownership import Ledger
from segue.core.retime import analysis as analysis_mod
from segue.core.retime import duplicates, scenes, stream, timing
from segue.core.retime.sinks import make_sink, movie_format
from segue.core.retime.target import (
    IMAGE_CODECS,
    Target,
    check_not_input,
    check_replaceable,
    check_writable,
    resolve_target,
)

AUDIO_MODES = ("keep", "drop")
#: what ``codec`` may name
CODECS = (*MOVIE_CODECS, *IMAGE_CODECS)
RATE_FIELDS = ("fps", "factor", "slowmo")
#: near misses listed in the report (the count covers all) and printed by ``segue retime``
MAX_REPORTED_NEAR_MISSES = 20
MAX_PRINTED_NEAR_MISSES = 5


def option_name(field: str) -> str:
    """A spec field as the command line spells it: ``scene_threshold`` -> ``--scene-threshold``."""
    return "--" + field.replace("_", "-")


@dataclass
class RetimeSpec:
    """What to render. Exactly one of ``fps``, ``factor`` and ``slowmo`` is set (as typed)."""

    input: str
    output: str
    fps: str | None = None
    factor: str | None = None
    slowmo: str | None = None
    codec: str | None = None
    model: str = "auto"
    scene_threshold: float = scenes.SCENE_THRESHOLD
    dedup: bool = True
    dup_threshold: float = duplicates.DUP_THRESHOLD
    audio: str = "keep"
    input_fps: str | None = None
    colorspace_in: str | None = None
    colorspace_out: str | None = None
    ocio_config: str | None = None
    resume: bool = False
    overwrite: bool = False

    def validate(self, name: Callable[[str], str] = option_name) -> None:
        """Check what needs no file access: `InputError` with the spec field at fault as ``field``.

        ``name`` spells a field in messages: the command line's options by default
        (``scene_threshold`` -> ``--scene-threshold``); a service passes its own spelling.
        """
        given = [f for f in RATE_FIELDS if getattr(self, f) is not None]
        if len(given) != 1:
            raise InputError(f"give exactly one of {name('fps')}, {name('factor')} and {name('slowmo')}" +
                             (f" (got {' and '.join(map(name, given))})" if given else ""),
                             field=given[1] if len(given) > 1 else "fps")
        rate = given[0]
        parse = {"fps": timing.parse_rate, "factor": timing.parse_ratio, "slowmo": timing.parse_slowmo}[rate]
        with_field(rate, lambda: parse(getattr(self, rate), name(rate)))
        if self.input_fps is not None:
            with_field("input_fps", lambda: timing.parse_rate(self.input_fps, name("input_fps")))
        if self.codec is not None and self.codec not in CODECS:
            raise InputError(f"{name('codec')} must be one of {', '.join(CODECS)}, got {self.codec!r}", field="codec")
        if not 0 < self.scene_threshold <= 1:  # NaN fails too
            raise InputError(f"{name('scene_threshold')} must be in (0, 1], got {self.scene_threshold}",
                             field="scene_threshold")
        if not 0 <= self.dup_threshold < 0.5:
            raise InputError(f"{name('dup_threshold')} must be in [0, 0.5), got {self.dup_threshold}",
                             field="dup_threshold")
        if self.audio not in AUDIO_MODES:
            raise InputError(f"{name('audio')} must be one of {', '.join(AUDIO_MODES)}, got {self.audio!r}",
                             field="audio")
        if self.resume and self.overwrite:
            raise InputError(f"{name('resume')} and {name('overwrite')} contradict each other: choose one",
                             field="overwrite")
        if not str(self.input or "").strip():
            raise InputError("the input is empty", field="input")


@dataclass
class Rates:
    """Output frame rate and playback speed (source seconds per output second)."""

    out_fps: Fraction
    speed: Fraction
    mode: str
    value: Fraction


def target_rates(spec: RetimeSpec, source_fps: Fraction) -> Rates:
    """The output rate and speed for ``--fps``, ``--factor`` or ``--slowmo``."""
    if spec.fps is not None:
        rate = timing.parse_rate(spec.fps, "--fps")
        return Rates(rate, Fraction(1), "fps", rate)
    if spec.factor is not None:
        factor = timing.parse_ratio(spec.factor, "--factor")
        return Rates(timing.parse_rate(source_fps * factor, "--factor x source rate"), Fraction(1), "factor", factor)
    slowmo = timing.parse_slowmo(spec.slowmo, "--slowmo")  # the rule validate applies
    return Rates(source_fps, 1 / slowmo, "slowmo", slowmo)


@dataclass
class RetimeJob:
    """A retime opened and checked, before any work: what every pass of the render shares.

    `open_retime` makes one; `run_retime` runs it start to end, and a farm job
    (`core.farm`) runs its passes in separate processes.
    """

    spec: RetimeSpec
    target: Target
    source: Source
    rates: Rates
    engine: object  # a `core.engine.Engine`
    colour: ColorManager
    cs_in: str
    cs_out: str

    def to_working(self, image: np.ndarray) -> np.ndarray:
        """A frame in the source's encoding -> the working space."""
        return self.colour.to_working(image, self.cs_in)

    def from_working(self, image: np.ndarray) -> np.ndarray:
        """A working-space frame -> the output's encoding."""
        return self.colour.from_working(image, self.cs_out)

    @property
    def key(self) -> str:
        """Identity of the render: same key, same frames (so a resume may keep what is there)."""
        return _job_key(self.spec, self.source, self.engine.model, self.cs_in, self.cs_out)

    @property
    def portable_key(self) -> str:
        """`key` without the input's path: what the nodes of a farm job agree on."""
        return _job_key(self.spec, self.source, self.engine.model, self.cs_in, self.cs_out, portable=True)

    def make_sink(self):
        """The output's sink and what the report says of the output: ``(sink, info)``."""
        return make_sink(self.target, self.source, self.rates.out_fps, self.rates.speed, self.spec.audio == "keep")

    def analyse(self, on_stage: Callable[[str, int, int], None] | None = None) -> analysis_mod.Analysis:
        """The analysis pass (`core.retime.analysis`)."""
        spec, count = self.spec, self.source.frame_count
        progress = (lambda i: on_stage("analysis", i + 1, count)) if on_stage else None
        return analysis_mod.analyse(self.source, self.to_working, scene_threshold=spec.scene_threshold,
                                    dup_threshold=spec.dup_threshold, on_frame=progress)

    def plan(self, found: analysis_mod.Analysis) -> tuple[timing.Plan, list[tuple[int, int]]]:
        """The plan of every output frame, and the runs of repeated frames it was made with."""
        source = self.source
        runs = timing.runs_from_duplicates(source.frame_count, found.repeats)
        plan = timing.make_plan(source.times, source.duration, self.rates.out_fps, speed=self.rates.speed,
                                runs=runs if self.spec.dedup else None, cuts=found.cuts)
        return plan, runs

    def write_report(self, plan: timing.Plan, found: analysis_mod.Analysis, runs, stats: stream.RenderStats,
                     output_info: dict, seconds: float, ledger: Ledger | None = None) -> dict:
        """Write the JSON report next to the output (recorded in ``ledger``, or the folder's) and return it."""
        report = _report(self.spec, self.source, self.target, self.rates, plan, found, runs, stats, self.engine,
                         output_info, self.cs_in, self.cs_out, seconds)
        ledger = ledger or Ledger(self.target.path.parent if self.target.kind == "movie" else self.target.folder)
        atomic_write_text(self.target.report_path, json.dumps(report, indent=2),
                          before_replace=ledger.recorder(self.target.report_path.name))
        return report


def open_retime(spec: RetimeSpec, engine=None, check_existing: bool = True) -> RetimeJob:
    """Check everything that can be checked before any work (rates, codec and container,
    sizes, colourspaces, existing outputs) and open the source; `InputError` on a user mistake.

    ``check_existing=False`` leaves out whether existing outputs may be replaced (`check_replaceable`):
    a farm step that writes none of them, or checks them itself, opens the job so.
    """
    spec.validate()
    input_fps = timing.parse_rate(spec.input_fps, "--input-fps") if spec.input_fps else None
    target = resolve_target(spec.output, spec.codec)
    if spec.resume and target.kind == "movie":
        raise InputError("--resume continues image-sequence renders; a movie is rendered in one go "
                         "(write frames to a folder to be able to resume)")
    source = open_source(spec.input, input_fps)
    rates = target_rates(spec, source.fps)
    if engine is None:
        from segue.core.engine import Engine

        engine = Engine(model=spec.model)
    colour = ColorManager(spec.ocio_config)
    cs_in = colour.resolve(spec.colorspace_in or colour.default_for(source.bit_depth, source.is_float))
    cs_out = colour.output_space(spec.colorspace_out, cs_in, source.is_float, float_file=target.codec == "exr")
    check_not_input(target, source_files(source))
    check_writable(target)
    if check_existing:
        check_replaceable(target, spec.overwrite)
    if target.kind == "movie":
        movie_format(target, source)  # a size the codec cannot take is refused before the analysis
    return RetimeJob(spec, target, source, rates, engine, colour, cs_in, cs_out)


def run_retime(spec: RetimeSpec, engine=None,
               on_progress: Callable[[stream.Progress], None] | None = None,
               on_stage: Callable[[str, int, int], None] | None = None) -> dict:
    """Render ``spec``; return the report (also written next to the output).

    Args:
        spec: the job; user mistakes raise `InputError` before any output is written.
        engine: a `core.engine.Engine` to reuse; default: one for ``spec.model``.
        on_progress: called after each output frame is written (or kept from a resumed run).
        on_stage: ``(stage, done, total)`` for the analysis pass ("analysis").
    """
    started = time.perf_counter()
    job = open_retime(spec, engine)
    sink, output_info = job.make_sink()
    if job.target.kind == "sequence":
        sink.claim(job.key, spec.resume, spec.overwrite)
    found = job.analyse(on_stage)
    plan, runs = job.plan(found)
    if job.target.kind == "sequence":
        sink.expect(plan.frame_count)
    stats = stream.render(plan, job.source, job.engine, sink, to_working=job.to_working,
                          from_working=job.from_working, on_progress=on_progress)
    return job.write_report(plan, found, runs, stats, output_info, time.perf_counter() - started,
                            ledger=sink.ledger if job.target.kind == "sequence" else None)


def source_files(source: Source) -> list[str]:
    """The files ``source`` reads: the movie, or every frame of a sequence."""
    return list(source.clip.files) if source.clip is not None else [source.path]


def _job_key(spec: RetimeSpec, source: Source, model: str, cs_in: str, cs_out: str, portable: bool = False) -> str:
    """Identity of a render: same key, same frames (so a resume may keep what is there).

    ``portable``: without the input's path (its files' names, sizes and times stay in), so
    that the nodes of a farm, which may mount the media elsewhere, agree on it.
    """
    path = Path(spec.input)
    files = [path] if path.is_file() else sorted((path if path.is_dir() else path.parent).iterdir())
    stamp = [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files[:4096] if f.is_file()]
    ignored = {"output": None, "resume": None, "overwrite": None} | ({"input": None} if portable else {})
    body = {"version": __version__, "model": model, "colour": [cs_in, cs_out], "source": stamp,
            "spec": asdict(spec) | ignored}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _seconds(value: Fraction) -> float:
    return round(float(value), 6)


def timecode(seconds: Fraction | float) -> str:
    """``HH:MM:SS.mmm`` of a source time: exact at any rate (a frame-count timecode is not, at 23.976)."""
    ms = round(float(seconds) * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _cue_fields(cues: scenes.Cues) -> dict:
    return {"motion": round(cues.motion, 4), "structure": round(cues.structure, 4)}


def near_miss_lines(report: dict, limit: int = MAX_PRINTED_NEAR_MISSES) -> list[str]:
    """Short lines on the near misses of a retime report, for a terminal (at most ``limit`` + 1).

    A near miss is a boundary that scored close to the scene-cut threshold without being
    called a cut: if it is one, the retime blended across it, and a lower
    ``--scene-threshold`` would hold it (docs/retime.md, "Scene cuts").
    """
    section = report.get("scene_cuts", {})
    misses, threshold = section.get("near_misses", []), section.get("threshold")
    lines = [f"near miss after source frame {m['after_source_frame']} ({m['timecode']}): scene score "
             f"{m['score']:.4f}" + (f" < threshold {threshold:g}" if m["why"] == "below threshold"
                                    else ", not a peak over its neighbours (sustained change)")
             for m in misses[:limit]]
    more = section.get("near_miss_count", len(misses)) - len(lines)
    if more > 0:
        lines.append(f"... {more} more near miss{'es' if more > 1 else ''} in the report")
    return lines


def _report(spec, source: Source, target: Target, rates: Rates, plan: timing.Plan, found, runs, stats,
            engine, output_info: dict, cs_in: str, cs_out: str, total: float) -> dict:
    media = source.media
    times = source.times
    cuts = []
    for i, score, cues in zip(found.cuts, found.cut_scores, found.cut_cues):
        at = times[i + 1]
        first_out = math.ceil(at * rates.out_fps / rates.speed)  # the first output frame showing the new shot
        cuts.append({"after_source_frame": i, "source_time": _seconds(at), "timecode": timecode(at),
                     "score": score, **_cue_fields(cues), "first_output_frame": int(first_out)})
    near = [{"after_source_frame": i, "source_time": _seconds(times[i + 1]), "timecode": timecode(times[i + 1]),
             "score": round(cues.score, 4), **_cue_fields(cues), "why": why}
            for i, cues, why in found.near_misses[:MAX_REPORTED_NEAR_MISSES]]
    held_runs = [[a, b] for a, b in runs if b > a]
    conf = stats.confidences
    rendered = stats.copied + stats.held + stats.synthesized
    return {
        "segue_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"requested": spec.model, "used": engine.model},
        "source": {
            "path": str(source.path), "kind": source.kind, "width": source.width, "height": source.height,
            "pix_fmt": media.pix_fmt if media else None, "bit_depth": source.bit_depth,
            "fps": format_rate(source.fps), "fps_float": round(float(source.fps), 6),
            "frame_count": source.frame_count, "duration": _seconds(source.duration), "vfr": source.vfr,
            "colour": source.colour.as_dict() if source.colour else None, "colorspace": cs_in,
            "audio": [asdict(a) for a in media.audio] if media else [], "notes": source.notes,
        },
        "target": {
            "mode": rates.mode, "value": str(rates.value),
            "fps": format_rate(rates.out_fps), "fps_float": round(float(rates.out_fps), 6),
            "speed": str(rates.speed), "frame_count": plan.frame_count,
            "duration": _seconds(plan.frame_count / rates.out_fps),
        },
        "output": {"path": str(target.path), "kind": target.kind, "colorspace": cs_out, **output_info},
        "frames": {"copied": stats.copied, "held": stats.held, "synthesized": stats.synthesized,
                   "resumed": stats.resumed,
                   "mean_confidence": round(sum(conf) / len(conf), 4) if conf else None},
        "scene_cuts": {"threshold": spec.scene_threshold, "count": len(cuts), "cuts": cuts,
                       "near_miss_from": round(spec.scene_threshold * scenes.NEAR_MISS_FRACTION, 4),
                       "near_miss_count": len(found.near_misses), "near_misses": near},
        "duplicates": {"enabled": spec.dedup, "threshold": spec.dup_threshold,
                       "repeated_frames": found.duplicate_count, "runs": held_runs[:1000],
                       "runs_truncated": len(held_runs) > 1000},
        "timings": {"analysis": round(found.seconds, 3), "render": round(stats.seconds, 3),
                    "engine": round(stats.engine_seconds, 3), "total": round(total, 3),
                    "output_fps": round(rendered / stats.seconds, 3) if stats.seconds > 0 and rendered else None},
    }
