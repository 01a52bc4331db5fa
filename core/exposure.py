"""Exposure and colour matching between two takes, ramped across a transition.

Two takes of one scene often differ in exposure or white balance. A per-channel affine
map from A's colours to B's is fitted on pixels whose correspondence is trusted; frame
t of the transition then shows A's side moved a fraction t of the way to B's colours and
B's side the remaining fraction back, so the change is spread evenly instead of popping
at the cut.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segue.core.flow import FlowPair
from segue.core.warp import backward_warp

#: gains outside this range are clamped: a real exposure change is rarely larger, and a
#: wild fit on few pixels must not blow the image out
GAIN_RANGE = (0.5, 2.0)
#: pixels of this confidence or more take part in the fit
MIN_CONFIDENCE = 0.5
#: fewer trusted pixels than this and no correction is made
MIN_PIXELS = 256


@dataclass(frozen=True)
class ColourMatch:
    """Per-channel ``b ~ gain * a + offset`` mapping A's colours to B's."""

    gain: np.ndarray
    offset: np.ndarray

    @property
    def is_identity(self) -> bool:
        return bool(np.allclose(self.gain, 1.0, atol=1e-3) and np.allclose(self.offset, 0.0, atol=1e-3))

    def __call__(self, image0: np.ndarray, image1: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Both sides at time t: A moved t of the way to B's colours, B (1-t) back to A's."""
        if self.is_identity:
            return image0, image1
        # A + t (gain A + offset - A) and B + (1 - t) ((B - offset) / gain - B), each folded
        # into one per-channel gain and offset
        side0 = _affine(image0, 1 + t * (self.gain - 1), t * self.offset)
        side1 = _affine(image1, 1 + (1 - t) * (1 / self.gain - 1), -(1 - t) * self.offset / self.gain)
        return side0, side1


def _affine(image: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``image * gain + offset`` per channel of an (H, W, 3) float32 image.

    OpenCV's per-pixel matrix product does it 15x faster than numpy's broadcast over a
    last axis of 3 (1.2 against 20 ms at 1080p).
    """
    matrix = np.zeros((3, 4), np.float32)
    matrix[[0, 1, 2], [0, 1, 2]] = gain
    matrix[:, 3] = offset
    return cv2.transform(np.ascontiguousarray(image, np.float32), matrix)


IDENTITY = ColourMatch(np.ones(3, np.float32), np.zeros(3, np.float32))


def fit(image0: np.ndarray, image1: np.ndarray, flows: FlowPair) -> ColourMatch:
    """Fit the A->B colour map on corresponding, trusted pixels (mean/std matching)."""
    b_at_a = backward_warp(np.ascontiguousarray(image1, np.float32), flows.flow01)
    mask = flows.conf0 >= MIN_CONFIDENCE
    if int(mask.sum()) < MIN_PIXELS:
        return IDENTITY
    a = image0[mask].astype(np.float64)
    b = b_at_a[mask].astype(np.float64)
    sa, sb = a.std(axis=0), b.std(axis=0)
    gain = np.where(sa > 1e-4, sb / np.maximum(sa, 1e-4), 1.0)
    gain = np.clip(gain, *GAIN_RANGE)
    offset = b.mean(axis=0) - gain * a.mean(axis=0)
    return ColourMatch(gain.astype(np.float32), offset.astype(np.float32))
