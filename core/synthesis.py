"""Synthesis of the frame at time t from two frames and their bidirectional flows.

Both time-t flow estimates of `core.intermediate` drive a two-sided warp and blend, and
the two results are averaged (in one pass: the native `warp_blend_pair` kernel): measured on
../shared/data, the pair beats either estimate alone by 0.1-0.4 dB per set because their
failures (smeared boundaries vs. splatting holes) rarely coincide. With a learned model
(`fusion`), the four candidates are instead re-warped with the model's flow corrections
and fused with per-pixel weights and a residual that it predicts (`core.model.features`).

Where correspondence is not trustworthy, the result fades smoothly towards a plain
cross-dissolve, which looks like an intentional transition instead of a tear:

* globally, when few pixels of the whole frame match consistently (different shots, or
  takes too far apart): always on;
* regionally, where the forward-backward check fails on both sides over a whole region:
  on for jump cuts only. Consecutive frames have such regions wherever something is
  occluded, and there a warp still beats a dissolve (measured on ../shared/data: even a
  very conservative regional fallback cost natural_bikes 0.1-0.3 dB).

Where a pixel barely moves (under `STILL_BELOW` pixels per frame interval, fading out by
`STILL_ABOVE`), the result is the dissolve too: there the two are the same picture, but a
warp by a fraction of a pixel resamples, softening detail and grain that the dissolve keeps.
Measured (classic): ../shared/data 31.24 -> 31.30 dB over 139 targets, every set equal or
better; the unseen city clip's 61 cases 32.10 -> 32.33 (docs/classic.md).

Confidence says where the result can be trusted, and so how much a frame can. The result
is the average of two blends, each of the two sides carried to time t by one estimate of
the time-t flows. Where the sides agree and the two estimates agree, it is one picture;
where they disagree it is two pictures at once (a ghost, a doubled limb, a tear), and where
the result fades to a dissolve the frames themselves must agree. The disagreement ``d`` is
the mean over both estimates of the sides' absolute difference plus the difference of the
two blends (or, where the result fades to a dissolve, the frames' difference), at the
analysis size; the per-pixel confidence is ``exp(-(d / AGREEMENT_SCALE)^2)``. A frame's
confidence is the geometric mean of two parts: its worst region (the `FRAME_PERCENTILE` th
percentile of the per-pixel confidence pooled over `CONFIDENCE_POOL` of the frame: a
ghosted arm pulls the number down even where the rest is perfect) and the whole frame
(``exp(-(rms(d) / FRAME_RMS_SCALE)^2)``: PSNR is a whole-frame measure). Below
`LOW_CONFIDENCE` a frame is flagged. Measured against ground truth (docs/classic.md,
"Confidence"; `bench/calibrate_confidence.py`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from segue.core import intermediate
from segue.core.flow import FlowPair, resize_flow, resize_image
from segue.core.model import features
from segue.core.motion import Motion
from segue.core.warp import backward_warp, warp_blend, warp_blend_pair

#: regional confidence at or above which the warped result is used as is (jump cuts)
TRUSTED = 0.35
#: regional confidence at or below which the result is a plain dissolve (jump cuts)
UNTRUSTED = 0.10
#: mean confidence of the whole frame at or above which no global fallback happens
#: (the lowest seen on ../shared/data is 0.44)
GLOBAL_TRUSTED = 0.30
#: mean confidence of the whole frame at or below which the result is a plain dissolve
GLOBAL_UNTRUSTED = 0.10
#: size of the region (fraction of the frame's larger side) over which confidence is pooled
POOL_FRACTION = 0.06
#: difference between the two sides (0..1 of full scale) at which agreement is exp(-1)
AGREEMENT_SCALE = 0.1
#: region (fraction of the larger side) over which per-pixel confidence is pooled for a frame's number
CONFIDENCE_POOL = 0.015
#: motion (full-resolution pixels per frame interval) below which a pixel is the dissolve
STILL_BELOW = 0.5
#: motion above which stillness plays no part (linear in between)
STILL_ABOVE = 1.5
#: a frame is as trustworthy as its worst this many percent
FRAME_PERCENTILE = 5
#: root-mean-square disagreement over the whole frame (0..1 of full scale) at which that term is exp(-1)
FRAME_RMS_SCALE = 0.03
#: frame confidence below which a synthesized frame is flagged (docs/classic.md, "Confidence")
LOW_CONFIDENCE = 0.2

#: optional per-side colour adjustment: (image0, image1, t) -> (image0', image1')
ColourRamp = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
#: a learned fusion: features (H, W, 29) -> (logits (H, W, 4), residual (H, W, 3), flow deltas (H, W, 8))
Fusion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Synthesized:
    """A synthesized frame (H, W, 3) float32, its confidence in [0, 1] (module docstring),
    and the per-pixel confidence (h, w) float32 at the analysis size."""

    image: np.ndarray
    confidence: float
    confidence_map: np.ndarray | None = None


class Synthesizer:
    """Frames at any t in (0, 1) between two frames whose flows are known.

    ``flows`` may be at a lower resolution than the images (`core.flow.analysis_size`):
    everything but the final warp then runs at the flows' size, and the time-t flows are
    upsampled. The photometric splatting metrics are computed once per frame pair, so
    asking for many times costs two splats and two warps per time. ``regional_fallback``
    turns on the region-wise fade to a dissolve (for jump cuts; see the module docstring).
    ``motion`` (fitted to context frames, `core.motion`) bends the pixels' paths; without
    it they are straight lines.
    """

    def __init__(self, image0: np.ndarray, image1: np.ndarray, flows: FlowPair,
                 colour_ramp: ColourRamp | None = None, regional_fallback: bool = False,
                 fusion: Fusion | None = None, motion: Motion | None = None) -> None:
        self.image0 = np.ascontiguousarray(image0, dtype=np.float32)
        self.image1 = np.ascontiguousarray(image1, dtype=np.float32)
        self.flows = flows
        self.motion = motion
        self.colour_ramp = colour_ramp
        self.regional_fallback = regional_fallback
        self.fusion = fusion
        h, w = flows.flow01.shape[:2]
        small = (w, h)
        self._small0 = resize_image(self.image0, small)
        self._small1 = resize_image(self.image1, small)
        self._metrics = intermediate.splat_metrics(self._small0, self._small1, flows)
        k = max(3, int(round(max(h, w) * POOL_FRACTION)) | 1)
        self._pool = (k, k)

    def frame(self, t: float) -> Synthesized:
        """The frame at time ``t`` (0 < t < 1)."""
        img0, img1 = self.image0, self.image1
        if self.colour_ramp is not None:
            img0, img1 = self.colour_ramp(img0, img1, t)
        lin = intermediate.linear(self.flows, t, self.motion)
        rev = intermediate.reversed_(self.flows, t, self._metrics, self.motion)
        if self.fusion is None:
            warped = warp_blend_pair(img0, img1, *self._full(lin), *self._full(rev), t)
        else:
            warped = self._learned(img0, img1, lin, rev, t)

        to_dissolve = self._to_dissolve(rev, t)
        # still pixels take the dissolve too; not counted as a fallback by the confidence,
        # which there measures the sides' agreement as for any pixel (module docstring)
        shown = np.maximum(to_dissolve, _ramp(self._motion(rev, t), STILL_ABOVE, STILL_BELOW)).astype(np.float32)
        if np.any(shown > 0):
            h, w = warped.shape[:2]
            fade = resize_image(shown, (w, h))[..., None]
            # warped += fade * (dissolve - warped), in place: four 1080p temporaries fewer
            step = cv2.addWeighted(img0, 1 - t, img1, t, 0.0)
            step -= warped
            step *= fade
            warped += step
        disagreement = self._disagreement(lin, rev, t, to_dissolve)
        trust = _pixel_confidence(disagreement)
        return Synthesized(warped.astype(np.float32, copy=False), _frame_confidence(disagreement, trust), trust)

    def _to_dissolve(self, rev: intermediate.TimeFlows, t: float) -> np.ndarray:
        """How far (0..1) the result fades to a dissolve, per pixel at the analysis size."""
        conf = self._confidence(rev, t)
        to_dissolve = np.full(conf.shape, _ramp(float(conf.mean()), GLOBAL_TRUSTED, GLOBAL_UNTRUSTED), np.float32)
        if self.regional_fallback:
            pooled = cv2.blur(conf, self._pool)
            to_dissolve = np.maximum(to_dissolve, _ramp(pooled, TRUSTED, UNTRUSTED))
        return to_dissolve

    def _motion(self, tf: intermediate.TimeFlows, t: float) -> np.ndarray:
        """Each pixel's motion per frame interval, full-resolution pixels, at the analysis size."""
        scale = self.image0.shape[1] / self.flows.flow01.shape[1]
        to0 = cv2.magnitude(tf.flow_t0[..., 0], tf.flow_t0[..., 1]) / max(t, 1e-3)
        to1 = cv2.magnitude(tf.flow_t1[..., 0], tf.flow_t1[..., 1]) / max(1.0 - t, 1e-3)
        return np.maximum(to0, to1) * scale

    def _disagreement(self, lin: intermediate.TimeFlows, rev: intermediate.TimeFlows, t: float,
                      to_dissolve: np.ndarray) -> np.ndarray:
        """Per-pixel disagreement ``d`` (0..1 of full scale) at the analysis size (module docstring).

        The mean of the two sides' difference under each time-t flow estimate, plus the
        difference between the two estimates' blends (the result averages them: where they
        differ, it shows both); where the result fades to a dissolve, the frames' own difference.
        """
        small0, small1 = self._small0, self._small1
        if self.colour_ramp is not None:
            small0, small1 = self.colour_ramp(small0, small1, t)
        by_rev = (backward_warp(small0, rev.flow_t0), backward_warp(small1, rev.flow_t1))
        by_lin = (backward_warp(small0, lin.flow_t0), backward_warp(small1, lin.flow_t1))
        sides = cv2.absdiff(*by_rev)
        sides += cv2.absdiff(*by_lin)
        sides *= 0.5
        blends = cv2.absdiff(cv2.addWeighted(by_rev[0], 1 - t, by_rev[1], t, 0.0),
                             cv2.addWeighted(by_lin[0], 1 - t, by_lin[1], t, 0.0))
        sides += blends
        still = cv2.absdiff(small0, small1)  # what a dissolve blends where the result fades to one
        diff = sides + to_dissolve[..., None] * (still - sides)
        return intermediate.channel_mean(diff)

    def _full(self, tf: intermediate.TimeFlows) -> tuple[np.ndarray, np.ndarray]:
        """Time-t flows at the images' resolution."""
        h, w = self.image0.shape[:2]
        return resize_flow(tf.flow_t0, w, h), resize_flow(tf.flow_t1, w, h)

    def _learned(self, img0: np.ndarray, img1: np.ndarray, lin: intermediate.TimeFlows,
                 rev: intermediate.TimeFlows, t: float) -> np.ndarray:
        """The model's fusion of the four candidates; model at the analysis size, fusion at full size.

        The model's flow corrections are added at the analysis size, where it made them,
        before the flows are scaled up. ``sum_k w_k c_k`` (`core.model.features.fuse`) is
        evaluated as two fused native warp-and-blends, one per flow estimate: ``w0 c0 + w1 c1
        = (w0 + w1) * warp_blend(..., w0, w1, 0.5)``. The four full-resolution candidates
        are never materialised, which made fusion at 1080p 4x cheaper than warping them and
        fusing in numpy.
        """
        small0, small1 = self._small0, self._small1
        if self.colour_ramp is not None:
            small0, small1 = self.colour_ramp(small0, small1, t)
        feats = features.build(small0, small1, self.flows, lin, rev, t)
        logits, residual, deltas = self.fusion(feats)
        lin = intermediate.TimeFlows(lin.flow_t0 + deltas[..., 0:2], lin.flow_t1 + deltas[..., 2:4])
        rev = intermediate.TimeFlows(rev.flow_t0 + deltas[..., 4:6], rev.flow_t1 + deltas[..., 6:8])
        weights = features.softmax_planes(logits)
        h, w = img0.shape[:2]
        if residual.shape[:2] != (h, w):
            weights = [resize_image(plane, (w, h)) for plane in weights]
            residual = resize_image(residual, (w, h))
        by_lin = warp_blend(img0, img1, *self._full(lin), weights[0], weights[1], 0.5)
        by_rev = warp_blend(img0, img1, *self._full(rev), weights[2], weights[3], 0.5)
        # by_rev + (w0 + w1) * (by_lin - by_rev) + residual, in place: five 1080p temporaries fewer
        by_lin -= by_rev
        by_lin *= (weights[0] + weights[1])[..., None]
        by_lin += by_rev
        by_lin += residual
        return by_lin

    def _confidence(self, tf: intermediate.TimeFlows, t: float) -> np.ndarray:
        # A pixel at time t is trusted when the side it mostly comes from matched consistently.
        c0 = backward_warp(self.flows.conf0[..., None], tf.flow_t0)[..., 0]
        c1 = backward_warp(self.flows.conf1[..., None], tf.flow_t1)[..., 0]
        return np.maximum(c0, c1).astype(np.float32)


def _pixel_confidence(disagreement: np.ndarray) -> np.ndarray:
    """``exp(-(d / AGREEMENT_SCALE)^2)`` per pixel, float32."""
    d = disagreement * np.float32(1.0 / AGREEMENT_SCALE)
    return cv2.exp(-(d * d))


def _frame_confidence(disagreement: np.ndarray, trust: np.ndarray) -> float:
    """A frame's number (module docstring): the geometric mean of its worst region's
    confidence and of ``exp(-(rms(d) / FRAME_RMS_SCALE)^2)`` over the whole frame."""
    k = max(3, int(round(max(trust.shape) * CONFIDENCE_POOL)) | 1)
    worst = max(0.0, float(np.percentile(cv2.blur(trust, (k, k)), FRAME_PERCENTILE)))
    mean_square = float(cv2.mean(disagreement * disagreement)[0])
    overall = float(np.exp(-mean_square / FRAME_RMS_SCALE**2))
    return float(np.sqrt(worst * overall))


def _ramp(value, trusted: float, untrusted: float):
    """0 at or above ``trusted``, 1 at or below ``untrusted``, linear in between."""
    return np.clip((trusted - value) / (trusted - untrusted), 0.0, 1.0)
