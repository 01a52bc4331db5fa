"""A retime job: a whole clip in, a clip at another frame rate (or slowed down) out.

`run_retime` is what ``segue retime`` runs (and what a render daemon would run):

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

Resume (image sequences): frames are written atomically, and a state file in the folder
records the job's identity (source stamp, options, version). ``--resume`` keeps every
frame file already there and renders the rest; a different source or options refuse to
resume. Without ``--resume`` an earlier render in the folder is only replaced with
``--overwrite``; files Segue did not write are never replaced.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
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
from segue.core.media import ycbcr
from segue.core.media.encode import MOVIE_CODECS, MovieEncoder, choose_format, plan_audio
from segue.core.media.ffmpeg import format_rate
from segue.core.media.source import Source, open_source
from segue.core.media.writers import write_frame
from segue.core.output import atomic_write_text
from segue.core.ownership import Ledger
from segue.core.retime import analysis as analysis_mod
from segue.core.retime import duplicates, scenes, stream, timing
from segue.core.retime.target import (
    IMAGE_CODECS,
    SEQUENCE_REPORT,
    STATE_FILE,
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
#: a state file claiming more frames than this is not one Segue wrote (46 days at 24 fps)
_MAX_STATE_FRAMES = 10**8
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

    def to_working(image: np.ndarray) -> np.ndarray:
        return colour.to_working(image, cs_in)

    def from_working(image: np.ndarray) -> np.ndarray:
        return colour.from_working(image, cs_out)

    check_not_input(target, source_files(source))
    check_writable(target)
    check_replaceable(target, spec.overwrite)
    sink, output_info = _make_sink(spec, target, source, rates)
    key = _job_key(spec, source, engine.model, cs_in, cs_out)
    if target.kind == "sequence":
        sink.claim(key, spec.resume, spec.overwrite)

    progress = (lambda i: on_stage("analysis", i + 1, source.frame_count)) if on_stage else None
    found = analysis_mod.analyse(source, to_working, scene_threshold=spec.scene_threshold,
                                 dup_threshold=spec.dup_threshold, on_frame=progress)
    runs = timing.runs_from_duplicates(source.frame_count, found.repeats)
    plan = timing.make_plan(source.times, source.duration, rates.out_fps, speed=rates.speed,
                            runs=runs if spec.dedup else None, cuts=found.cuts)
    if target.kind == "sequence":
        sink.expect(plan.frame_count)
    stats = stream.render(plan, source, engine, sink, to_working=to_working, from_working=from_working,
                          on_progress=on_progress)
    report = _report(spec, source, target, rates, plan, found, runs, stats, engine, output_info,
                     cs_in, cs_out, time.perf_counter() - started)
    ledger = sink.ledger if target.kind == "sequence" else Ledger(target.path.parent)
    atomic_write_text(target.report_path, json.dumps(report, indent=2),
                      before_replace=ledger.recorder(target.report_path.name))
    return report


def source_files(source: Source) -> list[str]:
    """The files ``source`` reads: the movie, or every frame of a sequence."""
    return list(source.clip.files) if source.clip is not None else [source.path]


def _make_sink(spec: RetimeSpec, target: Target, source: Source, rates: Rates):
    if target.kind == "sequence":
        depth = _image_depth(target.codec, source)
        return _SequenceSink(target, depth), {"format": target.codec, "bit_depth": depth}
    media = source.media
    chroma = media.chroma if media is not None else "rgb"
    src_colour = source.colour
    video = choose_format(target.codec, chroma, source.bit_depth, source.is_float, src_colour,
                          output_colour=lambda rgb, limited: ycbcr.output_colour(
                              src_colour, rgb_output=rgb, limited_only=limited))
    if video.pix_fmt.startswith(("yuv420", "yuv422")) and (source.width % 2 or source.height % 2):
        raise InputError(f"{source.path} is {source.width}x{source.height}: {target.codec} {video.pix_fmt} needs "
                         "an even width and height (use --codec ffv1 with an .mkv, or write frames)")
    streams = media.audio if media is not None else ()
    audio = plan_audio(streams, target.muxer, rates.speed, spec.audio == "keep")
    encoder = MovieEncoder(target.path, target.muxer, source.width, source.height, rates.out_fps, video,
                           audio=audio, audio_source=source.path, video_offset=source.start / rates.speed,
                           before_replace=Ledger(target.path.parent).recorder(target.path.name))
    info = {"codec": video.codec, "pix_fmt": video.pix_fmt, "bit_depth": video.bit_depth,
            "container": target.muxer, "colour": video.colour.as_dict(), "audio": audio.as_dict(streams)}
    return _MovieSink(encoder), info


def _image_depth(fmt: str, source: Source) -> int:
    # Precision is kept: deep or float sources give deep or float frames.
    deep = source.bit_depth > 8 or source.is_float
    if fmt == "png":
        return 16 if deep else 8
    if fmt == "tiff":
        return 32 if source.is_float else (16 if deep else 8)
    return 32 if source.bit_depth >= 32 else 16


class _MovieSink:
    def __init__(self, encoder: MovieEncoder) -> None:
        self.encoder = encoder
        self.started = False

    def exists(self, index: int) -> bool:
        return False

    def write(self, index: int, image) -> None:
        if not self.started:
            self.encoder.start()
            self.started = True
        self.encoder.write(image)

    def finish(self) -> None:
        if not self.started:
            self.encoder.start()
        self.encoder.finish()

    def abort(self) -> None:
        self.encoder.abort()


class _SequenceSink:
    """Atomic frame files plus the folder's state file (see module docstring).

    Every file it writes is recorded in the folder's ledger (`core.ownership`); it
    replaces or removes only files the ledger proves are Segue's, and reads the state
    file only if Segue wrote it (and even then checks it like any other input).
    """

    def __init__(self, target: Target, depth: int) -> None:
        self.target, self.depth = target, depth
        self.resume = self.overwrite = False
        assert target.folder is not None
        self.state_path = target.folder / STATE_FILE
        self.ledger: Ledger | None = None

    def claim(self, key: str, resume: bool, overwrite: bool) -> None:
        """Check the folder against this job; remove an old render of Segue's if ``overwrite``."""
        self.ledger = ledger = Ledger(self.target.folder)  # check_replaceable vetted its report and state file
        state = self._load_state()
        ours = state.get("template") == self.target.template
        previous = self._existing(state["frames"] if ours else 0)
        if resume:
            if not ours:
                raise InputError(f"--resume: {self.target.path} holds no earlier render of Segue's to continue")
            if state.get("key") != key:
                raise InputError(f"--resume: the render in {self.target.path} was made from another source or "
                                 "other options; run without --resume and with --overwrite to start over")
            self.resume = True
        elif previous and not overwrite:
            raise InputError(f"{self.target.path} already holds a render ({len(previous)} frames): pass --resume "
                             "to continue it or --overwrite to start over")
        elif overwrite:
            for path in previous:
                ledger.remove(path.name)
        self.overwrite = overwrite
        ledger.sweep_temporaries(lambda name: name in (STATE_FILE, SEQUENCE_REPORT) or self.target.names_frame(name))
        self.key = key
        self.state = {"key": key, "template": self.target.template, "frames": state["frames"] if ours else 0}

    def _load_state(self) -> dict:
        """The folder's state file if Segue wrote it and it has the expected shape, else empty."""
        empty = {"frames": 0}
        if not self.ledger.owns(STATE_FILE):
            return empty
        state = _load_json(self.state_path)
        if not (isinstance(state.get("key"), str) and isinstance(state.get("template"), str)
                and type(state.get("frames")) is int and 0 <= state["frames"] <= _MAX_STATE_FRAMES):
            return empty
        return state

    def expect(self, frames: int) -> None:
        """Record the output's length; refuse to overwrite frame files Segue did not write."""
        for number in range(1, frames + 1):
            path = self.target.frame_path(number)
            if os.path.lexists(path) and not (self.resume and self.ledger.owns(path.name)):
                whose = "Segue's earlier render" if self.ledger.owns(path.name) else "not written by Segue"
                raise InputError(f"{path} already exists ({whose}): choose an empty folder or another name"
                                 + (", or pass --overwrite" if whose.startswith("Segue") else ""))
        self.state["frames"] = max(frames, self.state["frames"])
        atomic_write_text(self.state_path, json.dumps(self.state), before_replace=self.ledger.recorder(STATE_FILE))

    def _existing(self, frames: int) -> list[Path]:
        """Frames 1..``frames`` that are Segue's."""
        return [p for p in (self.target.frame_path(k) for k in range(1, frames + 1)) if self.ledger.owns(p.name)]

    def exists(self, index: int) -> bool:
        return self.resume and self.ledger.owns(self.target.frame_path(index + 1).name)

    def write(self, index: int, image) -> None:
        path = self.target.frame_path(index + 1)
        write_frame(path, image, self.target.codec, self.depth, before_replace=self.ledger.recorder(path.name))

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass  # every frame file on disk is complete (atomic writes): they are kept for --resume


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _job_key(spec: RetimeSpec, source: Source, model: str, cs_in: str, cs_out: str) -> str:
    """Identity of a render: same key, same frames (so a resume may keep what is there)."""
    path = Path(spec.input)
    files = [path] if path.is_file() else sorted((path if path.is_dir() else path.parent).iterdir())
    stamp = [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files[:4096] if f.is_file()]
    body = {"version": __version__, "model": model, "colour": [cs_in, cs_out], "source": stamp,
            "spec": asdict(spec) | {"output": None, "resume": None, "overwrite": None}}
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
