"""A transition job: N synthesized frames that carry clip A's frame into clip B's.

`render_transition` is what `segue transition`, `segue demo` and the render daemon run.
It reads the two frames (A's last and B's first unless told otherwise), converts them to
the working space, conforms B to A's format, finds the correspondence (global alignment
plus dense flow), and writes frames ``frame_0001 .. frame_NNNN`` at times
``t_k = k / (N + 1)``, then ``transition.json``.

Safety and resume: every file is written atomically. A small state file
(``.segue-state.json``) records which frames this job has finished; a rerun of the same
job in the same folder skips them, so a killed job resumes where it stopped and produces
byte-identical output. Files in the folder that Segue did not write are never
overwritten: the job refuses to start instead.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core import __version__
from core.color import ColorManager
from core.conform import MODES, conform, output_size
from core.engine import Engine
from core.errors import CancelledError, InputError
from core.media import Clip, open_clip, write_frame
from core.output import atomic_write_text, frame_name, prepare_folder

STATE_FILE = ".segue-state.json"
REPORT_FILE = "transition.json"
FORMATS = ("png", "exr", "tiff")
#: two frame rates closer than this are the same rate written differently (29.97 vs 30000/1001)
FPS_TOLERANCE = 0.01


@dataclass
class TransitionSpec:
    """What to render. Frame indices are 0-based clip frames; negative counts from the end."""

    clip_a: str
    clip_b: str
    frames: int
    out_dir: str
    a_out: int = -1
    b_in: int = 0
    model: str = "auto"
    format: str = "png"
    colorspace_a: str | None = None
    colorspace_b: str | None = None
    colorspace_out: str | None = None
    ocio_config: str | None = None
    conform: str = "fit"

    def validate(self) -> None:
        """Check the fields that need no file access; raise `InputError` naming the field."""
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames < 1:
            raise InputError(f"frames must be a whole number >= 1, got {self.frames!r}")
        if self.frames > 10000:
            raise InputError(f"frames must be at most 10000, got {self.frames}")
        if self.format not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.conform not in MODES:
            raise InputError(f"conform must be one of {', '.join(MODES)}, got {self.conform!r}")
        for name in ("clip_a", "clip_b", "out_dir"):
            if not str(getattr(self, name) or "").strip():
                raise InputError(f"{name} is empty")


@dataclass
class FrameRecord:
    """One written frame, as listed in ``transition.json``."""

    index: int
    file: str
    t: float
    confidence: float
    seconds: float


@dataclass
class FrameEvent:
    """Progress: frame ``record.index`` of ``total`` is on disk (``resumed`` if from a previous run)."""

    total: int
    record: FrameRecord
    resumed: bool


@dataclass
class _Prepared:
    clip_a: Clip
    clip_b: Clip
    a_index: int
    b_index: int
    colorspace_a: str
    colorspace_b: str
    colorspace_out: str
    bit_depth: int
    timings: dict[str, float] = field(default_factory=dict)


def _source_info(clip: Clip, index: int, colorspace: str) -> dict:
    return {
        "path": str(clip.path), "kind": clip.kind, "frame": index, "frame_count": clip.frame_count,
        "fps": None if clip.fps is None else str(clip.fps), "width": clip.width, "height": clip.height,
        "bit_depth": clip.bit_depth, "float": clip.is_float, "colorspace": colorspace,
    }


def check_same_rate(a: Clip, b: Clip) -> None:
    """Raise `InputError` if both clips have a frame rate and the rates differ."""
    if a.fps is not None and b.fps is not None and abs(float(a.fps) - float(b.fps)) > FPS_TOLERANCE:
        raise InputError(
            f"clips differ in frame rate: {a.path} is {float(a.fps):.3f} fps, {b.path} is {float(b.fps):.3f} fps"
            " (conform them to one rate first)")


def _output_depth(fmt: str, a: Clip, b: Clip) -> int:
    # Precision is kept: deep or float sources give deep or float output.
    deep = max(a.bit_depth, b.bit_depth) > 8 or a.is_float or b.is_float
    if fmt == "png":
        return 16 if deep else 8
    if fmt == "tiff":
        return 32 if (a.is_float or b.is_float) else (16 if deep else 8)
    return 32 if max(a.bit_depth, b.bit_depth) >= 32 else 16


def _prepare(spec: TransitionSpec, colour: ColorManager) -> _Prepared:
    clip_a = open_clip(spec.clip_a)
    clip_b = open_clip(spec.clip_b)
    check_same_rate(clip_a, clip_b)
    cs_a = colour.resolve(spec.colorspace_a or clip_a.colorspace)
    cs_b = colour.resolve(spec.colorspace_b or clip_b.colorspace)
    if spec.colorspace_out:
        cs_out = colour.resolve(spec.colorspace_out)
    elif spec.format == "exr":
        cs_out = colour.resolve(colour.default_for(32, True))
    else:
        cs_out = cs_a if not clip_a.is_float else colour.resolve(colour.default_for(8, False))
    return _Prepared(clip_a, clip_b, clip_a.resolve_index(spec.a_out), clip_b.resolve_index(spec.b_in),
                     cs_a, cs_b, cs_out, _output_depth(spec.format, clip_a, clip_b))


def _job_key(spec: TransitionSpec, prep: _Prepared) -> str:
    """Identity of a job's output: same key, same bytes (so finished frames may be kept)."""
    def stamp(path: str) -> list:
        # A changed source must not be mixed with frames rendered from the old one. A file
        # is stamped by size and mtime; a folder or sequence pattern by its folder's files.
        p = Path(path)
        files = [p] if p.is_file() else sorted((p if p.is_dir() else p.parent).iterdir())
        return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files[:4096] if f.is_file()]

    body = {"version": __version__, "spec": asdict(spec) | {"out_dir": None},
            "a": [prep.a_index, stamp(spec.clip_a)], "b": [prep.b_index, stamp(spec.clip_b)],
            "cs": [prep.colorspace_a, prep.colorspace_b, prep.colorspace_out, prep.bit_depth]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _load_state(folder: Path) -> dict:
    try:
        state = json.loads((folder / STATE_FILE).read_text())
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _claim_folder(folder: Path, names: list[str], state: dict) -> None:
    """Refuse to overwrite files Segue did not write; remove stale frames it did write.

    Also removes the hidden temporary files (``.<name>.*``) that a killed run of this job
    may have left behind while writing one of its files.
    """
    ours = set(state.get("files", []))
    for name in [*names, REPORT_FILE]:
        if (folder / name).exists() and name not in ours:
            raise InputError(f"{folder / name} already exists and was not written by Segue: "
                             "choose an empty output folder")
    for name in ours - set(names) - {REPORT_FILE}:
        (folder / name).unlink(missing_ok=True)
    for name in [*names, REPORT_FILE, STATE_FILE]:
        for leftover in folder.glob(f".{name}.*"):
            leftover.unlink(missing_ok=True)


def render_transition(
    spec: TransitionSpec,
    engine: Engine | None = None,
    on_frame: Callable[[FrameEvent], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict:
    """Render the transition described by ``spec``; return the ``transition.json`` content.

    Args:
        spec: the job. Validated here; user mistakes raise `InputError`.
        engine: an `Engine` to reuse (a daemon worker keeps one); default: a new one
            for ``spec.model``.
        on_frame: called after each frame is on disk (also for frames kept from an
            interrupted run of the same job).
        should_cancel: polled before each frame; returning True stops the job with
            `CancelledError`, leaving finished frames for a later resume.
    """
    started = time.perf_counter()
    spec.validate()
    engine = engine or Engine(model=spec.model)
    colour = ColorManager(spec.ocio_config)
    prep = _prepare(spec, colour)
    folder = prepare_folder(spec.out_dir)
    names = [frame_name(k, spec.format) for k in range(1, spec.frames + 1)]
    key = _job_key(spec, prep)
    state = _load_state(folder)
    _claim_folder(folder, names, state)
    done: dict[str, dict] = state.get("done", {}) if state.get("key") == key else {}
    files = sorted(set(state.get("files", [])) & set(names) | {REPORT_FILE})

    def save_state() -> None:
        atomic_write_text(folder / STATE_FILE, json.dumps({"key": key, "done": done, "files": files}))

    save_state()
    t0 = time.perf_counter()
    a = colour.to_working(prep.clip_a.read_frame(prep.a_index), prep.colorspace_a)
    b = colour.to_working(prep.clip_b.read_frame(prep.b_index), prep.colorspace_b)
    width, height = output_size(prep.clip_a.size, prep.clip_b.size)
    b = conform(b, width, height, spec.conform)
    prep.timings["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    synth, info = engine.transition_synthesizer(a, b)
    prep.timings["correspondence"] = time.perf_counter() - t0

    records: list[FrameRecord] = []
    for k, name in enumerate(names, start=1):
        t = k / (spec.frames + 1)
        previous = done.get(name)
        if previous is not None and (folder / name).is_file():
            record = FrameRecord(**previous)
            records.append(record)
            if on_frame:
                on_frame(FrameEvent(spec.frames, record, resumed=True))
            continue
        if should_cancel and should_cancel():
            raise CancelledError(f"cancelled after {len(records)} of {spec.frames} frames")
        f0 = time.perf_counter()
        frame = synth.frame(t)
        out = colour.from_working(frame.image, prep.colorspace_out)
        if name not in files:
            files.append(name)
            save_state()  # claim the name before the file can exist
        write_frame(folder / name, out, spec.format, prep.bit_depth)
        record = FrameRecord(k, name, round(t, 6), round(frame.confidence, 4), round(time.perf_counter() - f0, 4))
        records.append(record)
        done[name] = asdict(record)
        save_state()
        if on_frame:
            on_frame(FrameEvent(spec.frames, record, resumed=False))

    prep.timings["synthesis"] = sum(r.seconds for r in records)
    prep.timings["total"] = time.perf_counter() - started
    report = {
        "segue_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"requested": spec.model, "used": engine.model},
        "sources": {"a": _source_info(prep.clip_a, prep.a_index, prep.colorspace_a),
                    "b": _source_info(prep.clip_b, prep.b_index, prep.colorspace_b)},
        "output": {"folder": str(folder), "format": spec.format, "bit_depth": prep.bit_depth,
                   "colorspace": prep.colorspace_out, "width": width, "height": height,
                   "conform": spec.conform, "ocio_config": colour.config_source},
        "frames": [asdict(r) for r in records],
        "correspondence": info,
        "timings": {k: round(v, 4) for k, v in prep.timings.items()},
    }
    atomic_write_text(folder / REPORT_FILE, json.dumps(report, indent=2))
    return report


def mean_confidence(report: dict) -> float:
    """Mean per-frame confidence of a finished transition report."""
    return float(np.mean([f["confidence"] for f in report["frames"]]))
