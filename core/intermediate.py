"""Flows from an intermediate time t back to the two input frames.

Two estimates of ``flow_t0`` / ``flow_t1`` (the flows from the frame at time t into
frames 0 and 1) are made from the bidirectional flows:

* ``linear``: the quadratic blend of Jiang et al. (Super SloMo, 2018),
  ``F_t0 = -(1-t) t F01 + t^2 F10``, ``F_t1 = (1-t)^2 F01 - t (1-t) F10``. It assumes the
  flow at a pixel does not change between the frames, which smears motion boundaries.
* ``reversed``: flow reversal by forward splatting. Each pixel of frame 0 is pushed to
  where it is at time t (``p + t F01(p)``) carrying the vector back to frame 0; frame 1's
  pixels likewise. Where several land on one spot, softmax splatting (Niklaus and Liu 2020)
  prefers the one whose match is photometrically consistent, i.e. the visible one. Holes
  (disocclusions) take the linear estimate.

Their errors are largely independent, so the synthesis uses both (see `core.synthesis`).

Both generalise to motion along curves (`core.motion.Motion`, fitted to context frames):
with ``D0 = `` frame 0's displacement to time t and ``D1 = `` frame 1's, the linear
estimate is ``F_t0 = (1-t)(-D0) + t (F10 - D1)``, ``F_t1 = (1-t)(F01 - D0) + t (-D1)``
(Super SloMo's when ``D0 = t F01`` and ``D1 = (1-t) F10``), and the reversal splats each
pixel to ``p + D0(p)`` carrying ``-D0`` and ``F01 - D0``. Straight-line motion keeps the
original arithmetic, so results without context are unchanged to the bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segue.core.flow import FlowPair
from segue.core.motion import Motion
from segue.core.warp import backward_warp, forward_splat

#: softmax splatting sharpness on the photometric error of a match (error in [0, 1] units)
SPLAT_SHARPNESS = 20.0
#: splat weight below which a pixel is treated as a hole
HOLE_WEIGHT = 1e-3


@dataclass(frozen=True)
class TimeFlows:
    """Flows from time t into frame 0 and frame 1, each (H, W, 2) float32."""

    flow_t0: np.ndarray
    flow_t1: np.ndarray


def linear(flows: FlowPair, t: float, motion: Motion | None = None) -> TimeFlows:
    """Quadratic linear approximation of the time-t flows (Super SloMo, eq. 4), along ``motion``'s curves if given."""
    f01, f10 = flows.flow01, flows.flow10
    if motion is not None and not motion.linear:
        d0, d1 = motion.from0(t), motion.from1(t)
        ft0 = (1 - t) * -d0 + t * (f10 - d1)
        ft1 = (1 - t) * (f01 - d0) - t * d1
        return TimeFlows(ft0.astype(np.float32), ft1.astype(np.float32))
    ft0 = (-(1 - t) * t) * f01 + (t * t) * f10
    ft1 = ((1 - t) ** 2) * f01 + (-t * (1 - t)) * f10
    return TimeFlows(ft0.astype(np.float32), ft1.astype(np.float32))


def splat_metrics(image0: np.ndarray, image1: np.ndarray, flows: FlowPair) -> tuple[np.ndarray, np.ndarray]:
    """Softmax-splatting metrics for frames 0 and 1: minus the photometric match error."""
    gray0 = channel_mean(image0)[..., None]
    gray1 = channel_mean(image1)[..., None]
    err0 = np.abs(gray0 - backward_warp(gray1, flows.flow01))[..., 0]
    err1 = np.abs(gray1 - backward_warp(gray0, flows.flow10))[..., 0]
    return (-SPLAT_SHARPNESS * err0).astype(np.float32), (-SPLAT_SHARPNESS * err1).astype(np.float32)


def _side_weights(cover0: np.ndarray, cover1: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised weights of the two splats at time t, and where neither covers the pixel (holes).

    The nearer frame in time is the more reliable witness of where things are at t, so the
    covers are weighted ``1 - t`` and ``t``. Splat weights above 1 only mean several pixels
    converged (compression); coverage is what matters, so they are capped first. Both
    time-t flows share these weights: one normalisation serves both.
    """
    w0 = np.minimum(cover0, 1.0)
    w0 *= 1 - t
    w1 = np.minimum(cover1, 1.0)
    w1 *= t
    den = w0 + w1
    holes = den <= HOLE_WEIGHT
    np.maximum(den, HOLE_WEIGHT, out=den)
    w0 /= den
    w1 /= den
    return w0[..., None], w1[..., None], holes


def reversed_(flows: FlowPair, t: float, metrics: tuple[np.ndarray, np.ndarray],
              motion: Motion | None = None) -> TimeFlows:
    """Time-t flows by softmax forward splatting of both flows (flow reversal), along ``motion``'s curves if given.

    Holes (where neither splat lands) take the `linear` estimate.
    """
    f01, f10 = flows.flow01, flows.flow10
    m0, m1 = metrics
    lin = linear(flows, t, motion)
    if motion is not None and not motion.linear:
        d0, d1 = motion.from0(t), motion.from1(t)
        s0, c0 = forward_splat(_carried(d0, f01, own_first=True), d0, m0, "softmax")
        s1, c1 = forward_splat(_carried(d1, f10, own_first=False), d1, m1, "softmax")
        w0, w1, holes = _side_weights(c0, c1, t)
        both = s0 * w0
        both += s1 * w1
        ft0, ft1 = np.ascontiguousarray(both[..., :2]), np.ascontiguousarray(both[..., 2:])
    else:
        # Frame 0's pixels sit at p + t F01(p) at time t, frame 1's at q + (1-t) F10(q). The
        # normalised splat is linear in what it carries, so one splat of F01 (of F10) gives
        # the vectors towards both frames: back to 0 is -t F01, on to 1 is (1-t) F01; and
        # with shared weights both time-t flows are multiples of one field, m below.
        s0, c0 = forward_splat(f01, np.ascontiguousarray(t * f01), m0, "softmax")
        s1, c1 = forward_splat(f10, np.ascontiguousarray((1 - t) * f10), m1, "softmax")
        w0, w1, holes = _side_weights(c0, c1, t)
        m = s0 * w0
        m -= s1 * w1
        ft0 = m * np.float32(-t)
        ft1 = m * np.float32(1 - t)
    ft0[holes] = lin.flow_t0[holes]
    ft1[holes] = lin.flow_t1[holes]
    return TimeFlows(ft0, ft1)


def channel_mean(image: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(H, W, C) -> (H, W) float32 mean of the channels times ``scale``, in one pass
    (cv2.transform: ~10x numpy's mean over the last axis)."""
    weights = np.full((1, image.shape[2]), scale / image.shape[2], np.float32)
    return cv2.transform(np.ascontiguousarray(image, dtype=np.float32), weights)


def _carried(d: np.ndarray, flow: np.ndarray, own_first: bool) -> np.ndarray:
    """What a frame's pixel displaced by ``d`` carries to time t: the vectors towards frame 0
    and towards frame 1, as one contiguous (H, W, 4) float32 array (one splat carries both).

    Towards its own frame the vector is ``-d``, towards the other ``flow - d``; frame 0's
    pixels carry (own, other), frame 1's (other, own). Written in place: no temporaries.
    """
    out = np.empty((*d.shape[:2], 4), np.float32)
    own, other = (out[..., :2], out[..., 2:]) if own_first else (out[..., 2:], out[..., :2])
    np.negative(d, out=own)
    np.subtract(flow, d, out=other)
    return out
