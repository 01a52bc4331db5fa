"""A transition job: N synthesized frames that carry clip A's frame into clip B's.

`render_transition` is what `segue transition`, `segue demo` and the render daemon run.
It reads the two frames (A's last and B's first unless told otherwise) and, as context,
the two before A's and after B's (`core.motion`: the bridge continues A's motion out and
B's motion in), converts them to the working space, conforms B to A's format, finds the
correspondence (global alignment plus dense flow), and writes frames ``frame_0001 ..
frame_NNNN`` at times ``t_k = k / (N + 1)``, then ``transition.json``.

Safety and resume: every file is written atomically. A small state file
(``.segue-state.json``) records which frames this job has finished; a rerun of the same
job in the same folder skips them, so a killed job resumes where it stopped and produces
byte-identical output. Segue replaces or deletes only files its ledger proves it wrote
(`core.ownership`): any other file in the way, the state file included, makes the job
refuse to start; the state file's records are checked like any other input; and no file
the job writes or removes may be one of its own source frames.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from segue.core import __version__, maps, preview
from segue.core.color import ColorManager
from segue.core.conform import MODES, conform, output_size
from segue.core.context import CONTEXT_PER_SIDE
from segue.core.engine import Engine
from segue.core.errors import CancelledError, InputError
from segue.core.media import Clip, open_clip, write_frame
from segue.core.media.images import read_image
from segue.core.output import atomic_write_bytes, atomic_write_text, frame_name, prepare_folder
from segue.core.ownership import Ledger
from segue.core.synthesis import LOW_CONFIDENCE, Synthesized

STATE_FILE = ".segue-state.json"
REPORT_FILE = "transition.json"
#: the files of a job besides its frames
_JOB_FILES = (REPORT_FILE, STATE_FILE, *preview.FILES)
#: the frame files of any transition (what a shorter rerun removes of an earlier render)
_FRAME_FILE = re.compile(r"frame_\d{4,}\.(png|exr|tif)")
FORMATS = ("png", "exr", "tiff")
#: most frames one transition may ask for
MAX_FRAMES = 10000
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
    #: also write the preview movies and the contact sheet (`core.preview`)
    preview: bool = True
    #: also write the flow as a colour wheel and each frame's confidence map (`core.maps`)
    maps: bool = False
    #: also write the bridged section at full size as a movie: "h264" or "prores" (`core.preview`)
    movie: str | None = None

    def validate(self) -> None:
        """Check the fields that need no file access; raise `InputError` naming the field."""
        for name in ("clip_a", "clip_b", "out_dir"):
            if not str(getattr(self, name) or "").strip():
                raise InputError(f"{name} is empty", field=name)
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or not 1 <= self.frames <= MAX_FRAMES:
            raise InputError(f"frames must be a whole number between 1 and {MAX_FRAMES}, got {self.frames!r}",
                             field="frames")
        if self.format not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}", field="format")
        if self.conform not in MODES:
            raise InputError(f"conform must be one of {', '.join(MODES)}, got {self.conform!r}", field="conform")
        if self.movie is not None and self.movie not in preview.MOVIES:
            raise InputError(f"movie must be one of {', '.join(preview.MOVIES)}, got {self.movie!r}", field="movie")


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


def check_movie_size(spec: TransitionSpec, width: int, height: int) -> None:
    """`InputError` (field ``movie``) if ``spec`` asks for a movie of frames ``width`` x ``height``
    that its codecs cannot hold (4:2:0 and 4:2:2 need an even width and height)."""
    if spec.movie and (width % 2 or height % 2):
        raise InputError(f"the frames are {width}x{height}: a {spec.movie} movie needs an even width and height "
                         "(leave the movie out, or give clip A an even size)", field="movie")


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
    cs_out = colour.output_space(spec.colorspace_out, cs_a, clip_a.is_float, float_file=spec.format == "exr")
    return _Prepared(clip_a, clip_b, clip_a.resolve_index(spec.a_out), clip_b.resolve_index(spec.b_in),
                     cs_a, cs_b, cs_out, _output_depth(spec.format, clip_a, clip_b))


@dataclass(frozen=True)
class PlannedOutput:
    """What a transition will write, known before it runs (a farm job's placeholders)."""

    #: the frame files, in order (absolute paths in the output folder)
    frames: list[str]
    #: the OCIO colourspace the frames are written in
    colorspace: str
    width: int
    height: int


def planned_output(spec: TransitionSpec, colour: ColorManager | None = None) -> PlannedOutput:
    """The frames ``spec`` renders, their colourspace and size, from the clips' headers.

    `InputError` naming the clip, frame or colourspace for anything the render would refuse.
    """
    colour = colour or ColorManager(spec.ocio_config)
    prep = _prepare(spec, colour)
    width, height = output_size(prep.clip_a.size, prep.clip_b.size)
    folder = os.path.abspath(spec.out_dir)
    return PlannedOutput([os.path.join(folder, frame_name(k, spec.format)) for k in range(1, spec.frames + 1)],
                         prep.colorspace_out, width, height)


def _job_key(spec: TransitionSpec, prep: _Prepared, portable: bool = False) -> str:
    """Identity of a job's output: same key, same bytes (so finished frames may be kept).

    ``portable``: without the clips' paths (their files' names, sizes and times stay in),
    so that the nodes of a farm, which may mount the media elsewhere, agree on it.
    """
    def stamp(path: str) -> list:
        # A changed source must not be mixed with frames rendered from the old one. A file
        # is stamped by size and mtime; a folder or sequence pattern by its folder's files.
        p = Path(path)
        files = [p] if p.is_file() else sorted((p if p.is_dir() else p.parent).iterdir())
        return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files[:4096] if f.is_file()]

    ignored = {"out_dir": None, "preview": None} | ({"clip_a": None, "clip_b": None} if portable else {})
    body = {"version": __version__, "spec": asdict(spec) | ignored,
            "a": [prep.a_index, stamp(spec.clip_a)], "b": [prep.b_index, stamp(spec.clip_b)],
            "cs": [prep.colorspace_a, prep.colorspace_b, prep.colorspace_out, prep.bit_depth]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _load_state(folder: Path, ledger: Ledger, key: str, names: list[str]) -> dict[str, FrameRecord]:
    """The frames an earlier run of this very job finished and that are still Segue's.

    The state file is read only if the ledger proves Segue wrote it, and every record in
    it is checked like any other input: a record that is not exactly a `FrameRecord` of
    one of ``names`` is dropped (its frame is rendered again).
    """
    if not ledger.owns(STATE_FILE):
        return {}
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("key") != key or not isinstance(state.get("done"), dict):
        return {}
    index = {name: k for k, name in enumerate(names, start=1)}
    done = {}
    for name, record in state["done"].items():
        frame = checked_record(record, index[name], name, ledger) if name in index else None
        if frame is not None:
            done[name] = frame
    return done


def checked_record(item: object, number: int, name: str, ledger: Ledger) -> FrameRecord | None:
    """``item`` (read from a file, so input like any other) as the record of frame ``number``,
    file ``name``: None unless it is exactly such a `FrameRecord` and the frame is Segue's."""
    if not isinstance(item, dict) or not ledger.owns(name):
        return None
    try:
        frame = FrameRecord(**item)
    except TypeError:
        return None
    numbers = (frame.t, frame.confidence, frame.seconds)
    ok = (frame.file == name and type(frame.index) is int and frame.index == number
          and all(type(v) in (int, float) and math.isfinite(v) for v in numbers))
    return frame if ok else None


def _extra_files(spec: TransitionSpec) -> list[str]:
    """The files a job writes beside its frames but for its report, state and previews: maps, movie."""
    return (maps.names(spec.frames) if spec.maps else []) + ([preview.MOVIES[spec.movie]] if spec.movie else [])


def _check_not_input(folder: Path, names: list[str], prep: _Prepared) -> None:
    """`InputError` if a file this job may write or remove is one of its own source files."""
    real_folder = os.path.realpath(folder)
    for label, clip in (("clip A", prep.clip_a), ("clip B", prep.clip_b)):
        for source in getattr(clip, "files", None) or [clip.path]:
            real = os.path.realpath(source)
            name = os.path.basename(real)
            if os.path.dirname(real) == real_folder and (name in (*names, *_JOB_FILES, *preview.MOVIES.values())
                                                         or _FRAME_FILE.fullmatch(name) or maps.FILE.fullmatch(name)):
                raise InputError(f"{source} is a frame of {label} and the output folder {folder} would hold "
                                 "a file of the same name: write the transition to another folder")


def _read_frames(prep: _Prepared, spec: TransitionSpec, colour: ColorManager, width: int,
                 height: int) -> tuple[np.ndarray, np.ndarray, list[tuple[float, np.ndarray]]]:
    """A's frame, B's frame (conformed) and their context, in the working space.

    The context is A's frames before its out point and B's after its in point, at the
    transition's times: one clip frame is ``1 / (N + 1)`` of the transition (N frames
    bridge N + 1 frame intervals), so A's frame before the out point is at ``-1 / (N + 1)``
    and B's frame after the in point at ``1 + 1 / (N + 1)``; only frames the clips have.
    A movie decodes each side's run of frames in one pass.
    """
    step = 1.0 / (spec.frames + 1)
    first_a = max(0, prep.a_index - CONTEXT_PER_SIDE)
    last_b = min(prep.clip_b.frame_count - 1, prep.b_index + CONTEXT_PER_SIDE)
    with ThreadPoolExecutor(2) as pool:  # the two clips decode side by side
        reading_b = pool.submit(prep.clip_b.read_frames, prep.b_index, last_b - prep.b_index + 1)
        run_a = [colour.to_working(im, prep.colorspace_a)
                 for im in prep.clip_a.read_frames(first_a, prep.a_index - first_a + 1)]
        run_b = [conform(colour.to_working(im, prep.colorspace_b), width, height, spec.conform)
                 for im in reading_b.result()]
    a, b = run_a[-1], run_b[0]
    context = [(-k * step, im) for k, im in zip(range(len(run_a) - 1, 0, -1), run_a)]
    context += [(1 + k * step, im) for k, im in enumerate(run_b[1:], start=1)]
    return a, b, context


def check_output_folder(spec: TransitionSpec) -> None:
    """`InputError` if ``spec.out_dir`` holds a file in the job's way that Segue did not write."""
    folder = Path(spec.out_dir)
    if folder.is_dir():
        names = [frame_name(k, spec.format) for k in range(1, spec.frames + 1)]
        Ledger(folder).check_free([*names, *_extra_files(spec), *_JOB_FILES])


def _claim_folder(ledger: Ledger, names: list[str], extra: list[str], previews: bool) -> None:
    """Refuse to overwrite files Segue did not write; remove stale files it did write.

    Stale: one of Segue's frame or map files that this job does not write (an earlier
    render of more frames, or with maps), and previews this job will not write (they
    would show another render). Also removes the temporary files a killed run of this
    job left. ``extra``: the job's files beside its frames (`_extra_files`).
    """
    ledger.check_free([*names, *extra, *_JOB_FILES])
    for name in ledger.names():
        if ((_FRAME_FILE.fullmatch(name) and name not in names) or (not previews and name in preview.FILES)
                or ((maps.FILE.fullmatch(name) or name in preview.MOVIES.values()) and name not in extra)):
            ledger.remove(name)
    ledger.sweep_temporaries({*names, *extra, *_JOB_FILES}.__contains__)
    ledger.compact()


@dataclass
class TransitionJob:
    """A transition opened and checked, before any work: what every phase of the render shares.

    `render_transition` runs its phases in one go; a farm job (`core.farm`) runs them in
    separate processes: `claim` once, `synthesize` per chunk of frames, `finish` once.
    """

    spec: TransitionSpec
    engine: Engine
    colour: ColorManager
    prep: _Prepared
    folder: Path
    #: the frame files, in order
    names: list[str]
    key: str
    ledger: Ledger
    #: what `synthesize` found of the correspondence (the report's ``correspondence``)
    correspondence: dict | None = None
    _frames: tuple | None = None

    @property
    def portable_key(self) -> str:
        """`key` without the clips' paths: what the nodes of a farm job agree on."""
        return _job_key(self.spec, self.prep, portable=True)

    def claim(self) -> None:
        """Make the folder this job's: refuse files Segue did not write, remove its own stale ones."""
        _claim_folder(self.ledger, self.names, _extra_files(self.spec), self.spec.preview)

    def load_state(self) -> dict[str, FrameRecord]:
        """The frames an earlier run of this job finished in the folder (``.segue-state.json``)."""
        return _load_state(self.folder, self.ledger, self.key, self.names)

    def save_state(self, done: dict[str, FrameRecord]) -> None:
        """Record the finished frames in the folder's state file."""
        state = {"key": self.key, "done": {name: asdict(record) for name, record in done.items()}}
        atomic_write_text(self.folder / STATE_FILE, json.dumps(state), before_replace=self.ledger.recorder(STATE_FILE))

    def read(self) -> tuple[np.ndarray, np.ndarray, list[tuple[float, np.ndarray]]]:
        """A's frame, B's frame and their context in the working space (read once)."""
        if self._frames is None:
            t0 = time.perf_counter()
            width, height = output_size(self.prep.clip_a.size, self.prep.clip_b.size)
            self._frames = _read_frames(self.prep, self.spec, self.colour, width, height)
            self.prep.timings["read"] = time.perf_counter() - t0
        return self._frames

    def synthesize(self, numbers: Sequence[int], done: dict[str, FrameRecord],
                   on_record: Callable[[FrameRecord], None],
                   on_frame: Callable[[FrameEvent], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> list[FrameRecord]:
        """Write frames ``numbers`` (1-based) and return their records in order.

        Frames in ``done`` are kept as they are. ``on_record`` is called once each new
        frame is on disk, before the next one is handed over (the caller records it), so
        a cancel or a crash loses nothing. A frame's pixels do not depend on which other
        frames are made with it.
        """
        spec, colour, prep, folder, ledger = self.spec, self.colour, self.prep, self.folder, self.ledger
        a, b, context = self.read()
        t0 = time.perf_counter()
        synth, info = self.engine.transition_synthesizer(a, b, context)
        prep.timings["correspondence"] = time.perf_counter() - t0
        self.correspondence = info
        if spec.maps:  # (every chunk of a farm job writes the same bytes here)
            atomic_write_bytes(folder / maps.FLOW, maps.encode_png(maps.flow_picture(synth.flows.flow01)),
                               before_replace=ledger.recorder(maps.FLOW))
        records: list[FrameRecord] = []
        # Frame k is converted and encoded on a writer thread while frame k + 1 is synthesized
        # (the encoders release the GIL); at most one frame waits, and it is on disk and
        # recorded before the next one is handed over.
        with ThreadPoolExecutor(1, thread_name_prefix="segue-write") as writer:
            pending: Future[FrameRecord] | None = None

            def finish_pending() -> None:
                nonlocal pending
                if pending is None:
                    return
                record, pending = pending.result(), None
                records.append(record)
                on_record(record)
                if on_frame:
                    on_frame(FrameEvent(spec.frames, record, resumed=False))

            def stop_if_cancelled() -> None:
                if should_cancel and should_cancel():
                    finish_pending()
                    raise CancelledError(f"cancelled after {len(records)} of {spec.frames} frames")

            def write(k: int, name: str, frame: Synthesized, started: float) -> FrameRecord:
                if spec.maps and frame.confidence_map is not None:  # before the frame: a kept frame has its map
                    data = maps.encode_png(maps.confidence_picture(frame.confidence_map))
                    atomic_write_bytes(folder / maps.confidence_name(k), data,
                                       before_replace=ledger.recorder(maps.confidence_name(k)))
                out = colour.from_working(frame.image, prep.colorspace_out)
                write_frame(folder / name, out, spec.format, prep.bit_depth, before_replace=ledger.recorder(name))
                return FrameRecord(k, name, round(k / (spec.frames + 1), 6), round(frame.confidence, 4),
                                   round(time.perf_counter() - started, 4))

            t0 = time.perf_counter()
            try:
                for k in numbers:
                    name = self.names[k - 1]
                    record = done.get(name)
                    if record is not None:
                        finish_pending()
                        records.append(record)
                        if on_frame:
                            on_frame(FrameEvent(spec.frames, record, resumed=True))
                        continue
                    stop_if_cancelled()
                    f0 = time.perf_counter()
                    frame = synth.frame(k / (spec.frames + 1))
                    stop_if_cancelled()  # a cancel that came during synthesis: this frame is dropped
                    finish_pending()
                    pending = writer.submit(write, k, name, frame, f0)
            finally:
                finish_pending()  # what was synthesized is kept, whatever stopped the loop
            prep.timings["synthesis"] = time.perf_counter() - t0
        return records

    def finish(self, records: list[FrameRecord], correspondence: dict, started: float) -> dict:
        """Write the previews and ``transition.json`` for the finished ``records``; return the report."""
        spec, prep, folder, ledger = self.spec, self.prep, self.folder, self.ledger
        a, b, _ = self.read()
        previews = movie = None
        if spec.preview or spec.movie:
            t0 = time.perf_counter()
            inputs = _preview_inputs(prep, spec, self.colour, folder, records, a, b)
            if spec.preview:
                previews = preview.write_previews(folder, inputs, ledger.recorder)
            if spec.movie:
                movie = preview.write_movie(folder, inputs, spec.movie, ledger.recorder)
            prep.timings["preview"] = time.perf_counter() - t0
        prep.timings["total"] = time.perf_counter() - started
        height, width = a.shape[:2]
        report = {
            "segue_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": {"requested": spec.model, "used": self.engine.transition_model},
            "sources": {"a": _source_info(prep.clip_a, prep.a_index, prep.colorspace_a),
                        "b": _source_info(prep.clip_b, prep.b_index, prep.colorspace_b)},
            "output": {"folder": str(folder), "format": spec.format, "bit_depth": prep.bit_depth,
                       "colorspace": prep.colorspace_out, "width": width, "height": height,
                       "conform": spec.conform, "ocio_config": self.colour.config_source},
            "frames": [asdict(r) for r in records],
            "low_confidence": low_confidence(records, previews is not None),
            "previews": previews,
            "movie": movie,
            "maps": {"flow": maps.FLOW, "confidence": [maps.confidence_name(r.index) for r in records
                                                       if (folder / maps.confidence_name(r.index)).is_file()]}
            if spec.maps else None,
            "correspondence": correspondence,
            "timings": {k: round(v, 4) for k, v in prep.timings.items()},
        }
        atomic_write_text(folder / REPORT_FILE, json.dumps(report, indent=2),
                          before_replace=ledger.recorder(REPORT_FILE))
        return report


def open_transition(spec: TransitionSpec, engine: Engine | None = None) -> TransitionJob:
    """Validate ``spec``, open both clips and the output folder; `InputError` on a user mistake."""
    spec.validate()
    engine = engine or Engine(model=spec.model)
    colour = ColorManager(spec.ocio_config)
    prep = _prepare(spec, colour)
    check_movie_size(spec, *output_size(prep.clip_a.size, prep.clip_b.size))
    folder = prepare_folder(spec.out_dir)
    names = [frame_name(k, spec.format) for k in range(1, spec.frames + 1)]
    _check_not_input(folder, names, prep)
    return TransitionJob(spec, engine, colour, prep, folder, names, _job_key(spec, prep), Ledger(folder))


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
    job = open_transition(spec, engine)
    job.claim()
    done = job.load_state()
    job.save_state(done)

    def record(frame: FrameRecord) -> None:
        done[frame.file] = frame
        job.save_state(done)

    records = job.synthesize(range(1, spec.frames + 1), done, record, on_frame, should_cancel)
    return job.finish(records, job.correspondence, started)


class _WrittenFrames(Sequence[np.ndarray]):
    """The job's frames as written, read back into the working space one at a time."""

    def __init__(self, folder: Path, records: list[FrameRecord], colour: ColorManager, colorspace: str) -> None:
        self.paths = [folder / r.file for r in records]
        self.colour, self.colorspace = colour, colorspace

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, k):  # type: ignore[override] - int indices only
        return self.colour.to_working(read_image(self.paths[k]).pixels, self.colorspace)


def _preview_inputs(prep: _Prepared, spec: TransitionSpec, colour: ColorManager, folder: Path,
                    records: list[FrameRecord], a: np.ndarray, b: np.ndarray) -> preview.PreviewInputs:
    """A's tail up to its out frame, the written frames, B's head from its in frame (`core.preview`)."""
    height, width = a.shape[:2]
    first_a = max(0, prep.a_index - preview.HANDLES + 1)
    count_b = min(preview.HANDLES, prep.clip_b.frame_count - prep.b_index)
    before = prep.clip_a.read_frames(first_a, prep.a_index - first_a) if first_a < prep.a_index else []
    after = prep.clip_b.read_frames(prep.b_index + 1, count_b - 1) if count_b > 1 else []
    tail_a = [*(colour.to_working(im, prep.colorspace_a) for im in before), a]
    head_b = [b, *(conform(colour.to_working(im, prep.colorspace_b), width, height, spec.conform) for im in after)]
    return preview.PreviewInputs(tail_a, head_b, _WrittenFrames(folder, records, colour, prep.colorspace_out),
                                 [r.t for r in records], [r.confidence for r in records],
                                 prep.clip_a.fps or prep.clip_b.fps)


def low_confidence(records: list[FrameRecord], previews: bool = False) -> dict:
    """The report's warning: frames whose confidence is under `LOW_CONFIDENCE`, and what to try.

    Below it a frame is likely to ghost, tear or lose to a plain dissolve (docs/classic.md,
    Confidence); an editor should look at those frames before using them.
    """
    flagged = [r.index for r in records if r.confidence < LOW_CONFIDENCE]
    where = "in preview.mp4 beside preview_dissolve.mp4" if previews else "before using them"
    advice = (f"look at these frames {where}; if they ghost or tear, try fewer frames, other out/in points "
              "(the other placement), or a plain dissolve") if flagged else ""
    return {"threshold": LOW_CONFIDENCE, "frames": flagged, "advice": advice}


def mean_confidence(report: dict) -> float:
    """Mean per-frame confidence of a finished transition report."""
    return float(np.mean([f["confidence"] for f in report["frames"]]))
