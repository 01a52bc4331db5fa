"""The public entry point: `Engine`, which turns two frames into in-between frames.

    from segue.core import Engine
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

from segue.core import align, exposure
from segue.core.context import Context, check_context, fit_motion, prefetch
from segue.core.errors import InputError
from segue.core.flow import analysis_size, finest_scale, flow_pair, from_flows, resize_image
from segue.core.flowcache import FlowCache
from segue.core.synthesis import Synthesized, Synthesizer

#: model names accepted besides a path to an .onnx file
MODEL_NAMES = ("auto", "classic")


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


def resolve_model(model: str, transition: bool = False) -> str:
    """The model that will actually run: ``"classic"`` or the path of a learned model.

    ``auto`` is the model shipped in ``core/model/weights/`` when there is one, else
    classic; for a ``transition`` (a jump cut) it is classic, because the learned fusion
    adds nothing on the multi-frame gaps a transition bridges (docs/model_card.md: 28.95
    against 28.96 dB on ../shared/data's 63 gap targets) at 2-3x the cost. A path is a
    model folder or an ``.onnx`` file with ``manifest.json`` beside it (`segue export`
    writes both); its manifest is checked here (`InputError` naming it).
    """
    from segue.core.model.infer import check_model, shipped_model_dir

    if model == "classic":
        return "classic"
    if model == "auto":
        shipped = None if transition else shipped_model_dir()
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
        model: ``"auto"`` (the shipped learned model if there is one, else classic; classic
            for transitions, see `resolve_model`),
            ``"classic"`` (optical flow and the native warp kernel, no learning) or the path
            of an exported model (folder, or ``.onnx`` with its ``manifest.json``).
        threads: onnxruntime threads of a learned model (default: all cores). A process
            running several engines at once (`segue-renderd --workers N`) gives each a share.
    """

    def __init__(self, model: str = "auto", threads: int | None = None) -> None:
        self.requested_model = model
        self.model = resolve_model(model)
        #: the model `transition_synthesizer` runs (`resolve_model`: classic for ``auto``)
        self.transition_model = resolve_model(model, transition=True) if model == "auto" else self.model
        self._threads = threads
        self._fusion = None
        if self.model != "classic" and model != "auto":
            self._learned()  # a model the user named is loaded now, so a broken file is refused at once

    def _learned(self):
        """The learned fusion, loaded on first use (``auto`` transitions never need it); None for classic."""
        if self._fusion is None and self.model != "classic":
            from segue.core.model.infer import LearnedFusion

            self._fusion = LearnedFusion(self.model, threads=self._threads)
        return self._fusion

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
                            context: Context | None = None, cache: FlowCache | None = None) -> list[Synthesized]:
        """In-between frames of consecutive frames, float32 working space in and out (context likewise).

        ``cache``: a stream's `core.flowcache.FlowCache` (a retime passes one): flows between
        frames it has seen are reused, so neighbouring pairs share their context flows.
        """
        times = check_times(times)
        synth = self.interpolation_synthesizer(image0, image1, context, cache)
        return [synth.frame(t) for t in times]

    def interpolation_synthesizer(self, image0: np.ndarray, image1: np.ndarray, context: Context | None = None,
                                  cache: FlowCache | None = None) -> Synthesizer:
        """The synthesizer `interpolate_working` asks for its frames (its frames at any t, their confidence)."""
        context = check_context(context, image0.shape)
        finest = finest_scale(image0.shape[1])
        if cache is None:
            small0, small1 = _analysis_pair(image0, image1)
            flows = flow_pair(small0, small1, finest)
        else:
            size = analysis_size(image0.shape[1], image0.shape[0])
            prefetch(cache, image0, image1, context, size, finest)
            small0, small1 = cache.analysis(image0, size)[0], cache.analysis(image1, size)[0]
            flows = from_flows(*cache.flows([(image0, image1), (image1, image0)], size, finest))
        moving = fit_motion(image0, image1, small0, small1, flows, context, finest, cache)
        return Synthesizer(image0, image1, flows, fusion=self._learned(), motion=moving)

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
        moving = fit_motion(image0, image1, small0, small1, flows, check_context(context, image0.shape), finest)
        colour = exposure.fit(small0, small1, flows)
        if model is not None:  # back to full-resolution pixels: only the translation scales
            model = model.copy()
            model[:, 2] *= image0.shape[1] / small0.shape[1]
        info = {
            "model": self.transition_model,
            "global_alignment": None if model is None else np.round(model, 5).tolist(),
            "colour_match": {"gain": np.round(colour.gain, 4).tolist(), "offset": np.round(colour.offset, 4).tolist()},
            "correspondence_confidence": round(float(0.5 * (flows.conf0.mean() + flows.conf1.mean())), 4),
            "context_frames": {"before": sum(1 for t, _ in context or () if t < 0),
                               "after": sum(1 for t, _ in context or () if t > 1)},
        }
        fusion = None if self.transition_model == "classic" else self._learned()
        return Synthesizer(image0, image1, flows, colour_ramp=colour, regional_fallback=True,
                           fusion=fusion, motion=moving), info


def _check_rgb8(name: str, im: object) -> None:
    if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
        got = f"{im.dtype} {im.shape}" if isinstance(im, np.ndarray) else type(im).__name__
        raise InputError(f"{name} must be an (H, W, 3) uint8 RGB array, got {got}")


def _analysis_pair(image0: np.ndarray, image1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = analysis_size(image0.shape[1], image0.shape[0])
    return resize_image(image0, size), resize_image(image1, size)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float32 [0, 1] -> uint8 with rounding and clipping."""
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
