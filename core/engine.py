"""The public entry point: `Engine`, which turns two frames into in-between frames.

    from core import Engine
    eng = Engine(model="auto")
    frames = eng.interpolate(im0, im1, [0.25, 0.5])   # (H, W, 3) uint8 RGB in and out

`interpolate` takes sRGB 8-bit frames (the usual case for stills and the benchmarks);
`interpolate_working` and `transition_synthesizer` work on float32 frames in the working
space of `core.color`, which is what clip-level jobs (`core.transition`) use so that 16-bit
and float sources keep their precision.

Every entry point takes optional *context*: frames of the same shot around the pair, as
``(time, image)`` with times in the pair's units (``t < 0`` before frame 0, ``t > 1``
after frame 1; the frame just before frame 0 of a pair four frames apart is at -0.25).
With them, pixels move along curves fitted to the context (`core.motion`) instead of
straight lines; without, results are as before.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core import align, exposure, motion
from core.errors import InputError
from core.flow import FlowPair, analysis_size, finest_scale, flow_pair, flows_between, resize_image, to_gray8
from core.synthesis import Synthesized, Synthesizer
from core.warp import backward_warp

#: model names accepted besides a path to an .onnx file
MODEL_NAMES = ("auto", "classic")
#: context frames used per side of a pair, nearest first (`core.motion` fits one, validates on the next)
CONTEXT_PER_SIDE = 2
#: ``(time, image)`` frames around a pair, times in the pair's units (module docstring)
Context = Sequence[tuple[float, np.ndarray]]


def check_times(times: Sequence[float]) -> list[float]:
    """Validate interpolation times: each strictly inside (0, 1)."""
    out = []
    for t in times:
        try:
            tf = float(t)
        except (TypeError, ValueError):
            raise InputError(f"time {t!r} is not a number") from None
        if not 0.0 < tf < 1.0:
            raise InputError(f"time {tf:g} is outside (0, 1): in-between frames lie strictly between the inputs")
        out.append(tf)
    if not out:
        raise InputError("no times given: ask for at least one time in (0, 1)")
    return out


def resolve_model(model: str) -> str:
    """The model that will actually run: ``"classic"`` or the path of a learned model.

    ``auto`` is the model shipped in ``core/model/weights/`` when there is one, else
    classic. A path is a model folder or an ``.onnx`` file with ``manifest.json`` beside it
    (`segue export` writes both); its manifest is checked here (`InputError` naming it).
    """
    from core.model.infer import check_model, shipped_model_dir

    if model == "classic":
        return "classic"
    if model == "auto":
        shipped = shipped_model_dir()
        return "classic" if shipped is None else str(shipped)
    path = Path(model)
    if path.suffix.lower() != ".onnx" and not path.is_dir():
        raise InputError(f"unknown model {model!r}: use auto, classic or a path to an .onnx file or model folder")
    if not path.exists():
        raise InputError(f"model file not found: {model}")
    check_model(path)
    return str(path)


class Engine:
    """Frame interpolation and transition synthesis on the CPU.

    Args:
        model: ``"auto"`` (the shipped learned model if there is one, else classic),
            ``"classic"`` (optical flow and the native warp kernel, no learning) or the path
            of an exported model (folder, or ``.onnx`` with its ``manifest.json``).
        threads: onnxruntime threads of a learned model (default: all cores). A process
            running several engines at once (`segue-renderd --workers N`) gives each a share.
    """

    def __init__(self, model: str = "auto", threads: int | None = None) -> None:
        self.requested_model = model
        self.model = resolve_model(model)
        self._fusion = None
        if self.model != "classic":
            from core.model.infer import LearnedFusion

            self._fusion = LearnedFusion(self.model, threads=threads)

    def interpolate(self, im0: np.ndarray, im1: np.ndarray, times: Sequence[float],
                    context: Context | None = None) -> list[np.ndarray]:
        """In-between frames of two sRGB frames.

        Args:
            im0, im1: ``(H, W, 3)`` uint8 RGB frames of the same size (sRGB).
            times: each in (0, 1); 0 is ``im0``, 1 is ``im1``.
            context: optional ``(time, image)`` frames of the same shot around the pair
                (module docstring), images like ``im0``; up to two per side are used,
                the nearest.

        Returns:
            One ``(H, W, 3)`` uint8 RGB frame per time, same size as the inputs.
        """
        for name, im in (("im0", im0), ("im1", im1)):
            _check_rgb8(name, im)
        if im0.shape != im1.shape:
            raise InputError(f"im0 and im1 differ in size: {im0.shape[:2]} vs {im1.shape[:2]}")
        around = check_context(context, im0.shape)
        for t, im in around:
            _check_rgb8(f"context frame at t={t:g}", im)
        a = im0.astype(np.float32) / 255.0
        b = im1.astype(np.float32) / 255.0
        around = [(t, im.astype(np.float32) / 255.0) for t, im in around]
        return [to_uint8(s.image) for s in self.interpolate_working(a, b, times, around)]

    def interpolate_working(self, image0: np.ndarray, image1: np.ndarray, times: Sequence[float],
                            context: Context | None = None) -> list[Synthesized]:
        """In-between frames of consecutive frames, float32 working space in and out (context likewise)."""
        times = check_times(times)
        small0, small1 = _analysis_pair(image0, image1)
        finest = finest_scale(image0.shape[1])
        flows = flow_pair(small0, small1, finest)
        synth = Synthesizer(image0, image1, flows, fusion=self._fusion,
                            motion=_fit_motion(small0, small1, flows, check_context(context, image0.shape), finest))
        return [synth.frame(t) for t in times]

    def transition_synthesizer(self, image0: np.ndarray, image1: np.ndarray,
                               context: Context | None = None) -> tuple[Synthesizer, dict]:
        """A synthesizer for a jump cut from ``image0`` (A's last) to ``image1`` (B's first).

        Globally aligns the takes, computes dense flows, fits the exposure ramp. ``context``:
        A's frames before its out point (``t < 0``) and B's after its in point (``t > 1``),
        in the transition's units (one clip frame is ``1 / (N + 1)`` for N frames); the
        bridge then carries A's motion out and B's motion in. Returns the synthesizer and a
        description of what was found (for the job's report).
        """
        small0, small1 = _analysis_pair(image0, image1)
        finest = finest_scale(image0.shape[1])
        flows, model = align.aligned_flow_pair(small0, small1, finest)
        moving = _fit_motion(small0, small1, flows, check_context(context, image0.shape), finest)
        colour = exposure.fit(small0, small1, flows)
        if model is not None:  # back to full-resolution pixels: only the translation scales
            model = model.copy()
            model[:, 2] *= image0.shape[1] / small0.shape[1]
        info = {
            "model": self.model,
            "global_alignment": None if model is None else np.round(model, 5).tolist(),
            "colour_match": {"gain": np.round(colour.gain, 4).tolist(), "offset": np.round(colour.offset, 4).tolist()},
            "correspondence_confidence": round(float(0.5 * (flows.conf0.mean() + flows.conf1.mean())), 4),
            "context_frames": {"before": sum(1 for t, _ in context or () if t < 0),
                               "after": sum(1 for t, _ in context or () if t > 1)},
        }
        return Synthesizer(image0, image1, flows, colour_ramp=colour, regional_fallback=True,
                           fusion=self._fusion, motion=moving), info


def _check_rgb8(name: str, im: object) -> None:
    if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
        got = f"{im.dtype} {im.shape}" if isinstance(im, np.ndarray) else type(im).__name__
        raise InputError(f"{name} must be an (H, W, 3) uint8 RGB array, got {got}")


def check_context(context: Context | None, shape: tuple[int, ...]) -> list[tuple[float, np.ndarray]]:
    """Context frames checked (times outside [0, 1], finite; images of ``shape``); `InputError` if not."""
    checked = []
    for item in context or ():
        try:
            t, image = item
            t = float(t)
        except (TypeError, ValueError):
            raise InputError(f"context entries are (time, image) pairs, got {type(item).__name__}") from None
        if not np.isfinite(t) or 0.0 <= t <= 1.0:
            raise InputError(f"context frame at t={t:g}: context lies outside the pair (t < 0 or t > 1)")
        if not isinstance(image, np.ndarray) or image.shape != tuple(shape):
            got = image.shape if isinstance(image, np.ndarray) else type(image).__name__
            raise InputError(f"context frame at t={t:g} is {got}, the pair's frames are {tuple(shape)}")
        checked.append((t, image))
    return checked


def _fit_motion(small0: np.ndarray, small1: np.ndarray, flows: FlowPair,
                context: list[tuple[float, np.ndarray]], finest: int) -> motion.Motion | None:
    """The pair's motion along curves fitted to up to `CONTEXT_PER_SIDE` context frames a side."""
    before = sorted((t for t in context if t[0] < 0), key=lambda c: -c[0])[:CONTEXT_PER_SIDE]
    after = sorted((t for t in context if t[0] > 1), key=lambda c: c[0])[:CONTEXT_PER_SIDE]
    if not before and not after:
        return None
    size = (small0.shape[1], small0.shape[0])
    gray0, gray1 = to_gray8(small0), to_gray8(small1)
    pairs = [(gray0, to_gray8(resize_image(im, size))) for _, im in before]
    pairs += [(gray1, to_gray8(resize_image(im, size))) for _, im in after]
    found = flows_between(pairs, finest)

    def seen(pair: tuple[np.ndarray, np.ndarray], flow: np.ndarray) -> np.ndarray:
        # how well the context frame, warped back by its flow, matches the side's frame
        side, other = (np.ascontiguousarray(g, dtype=np.float32)[..., None] / 255.0 for g in pair)
        return motion.match_error(side[..., 0], backward_warp(other, flow)[..., 0])

    side0 = [motion.ContextFlow(-t, f, seen(p, f)) for (t, _), p, f in zip(before, pairs, found)]
    side1 = [motion.ContextFlow(t - 1, f, seen(p, f))
             for (t, _), p, f in zip(after, pairs[len(before):], found[len(before):])]
    return motion.fit(flows, side0, side1)


def _analysis_pair(image0: np.ndarray, image1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = analysis_size(image0.shape[1], image0.shape[0])
    return resize_image(image0, size), resize_image(image1, size)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float32 [0, 1] -> uint8 with rounding and clipping."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
