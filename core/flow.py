"""Dense bidirectional optical flow (OpenCV DIS) with a forward-backward consistency check.

Conventions used across the engine: a flow is float32 (H, W, 2) holding (dx, dy) in
pixels; pixel centres are at integer coordinates; ``flow01[y, x]`` says where the point at
(x, y) in frame 0 is found in frame 1.

DIS is run at a resolution chosen from the frame width: small frames are upsampled (DIS's
8-pixel patches are too coarse for 320-pixel-wide footage), large frames are downsampled
(1080p flow at half size keeps the 0.3 s budget and loses little, since DIS's
coarse-to-fine pyramid starts far below either size).

Frames wider than `DOWNSAMPLE_ABOVE_WIDTH` are also *analysed* at half size: flows,
confidences and the time-t flows live at the `analysis_size`, and only the final warp
runs at full resolution with upsampled flows. Smaller frames are analysed at their own size.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from segue.core.warp import backward_warp

#: frames narrower than this are upsampled 2x before DIS (measured on ../shared/data:
#: +0.03..0.08 dB on the 176..640-pixel sets, see docs/classic.md)
UPSAMPLE_BELOW_WIDTH = 700
#: frames at least this wide that are upsampled are matched at DIS level 1 (`finest_scale`)
COARSER_FROM_WIDTH = 500
#: frames wider than this are analysed at half size (1280x720 too: 2.7x faster for 0.05 dB
#: on cgi_bigbuckbunny, and no longer slower than 1080p; see docs/classic.md)
DOWNSAMPLE_ABOVE_WIDTH = 1024


@dataclass(frozen=True)
class FlowPair:
    """Flows both ways between two frames, with per-pixel confidence in [0, 1].

    ``conf0[y, x]`` is high where following ``flow01`` and then ``flow10`` returns to
    (x, y): the point is visible in both frames and its match is trustworthy.
    """

    flow01: np.ndarray
    flow10: np.ndarray
    conf0: np.ndarray
    conf1: np.ndarray


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) at which flows and confidences of a frame of this size are kept."""
    if width > DOWNSAMPLE_ABOVE_WIDTH:
        return (max(8, round(width / 2)), max(8, round(height / 2)))
    return (width, height)


def finest_scale(width: int) -> int:
    """DIS finest pyramid level for a frame of this (full) width; see `_dis`.

    Level 1 for frames analysed at half size, and for frames from `COARSER_FROM_WIDTH` to
    `UPSAMPLE_BELOW_WIDTH`, which are matched at twice their size: level 1 of that is as
    dense as their own pixels, so the flow's cost grows with the frame's pixels (a 640x360
    frame cost more than a 1080p one at level 0) for -0.04 dB on middlebury_other and
    +0.07 dB on natural_bikes, the 640-pixel sets.
    """
    return 1 if width > DOWNSAMPLE_ABOVE_WIDTH or COARSER_FROM_WIDTH <= width < UPSAMPLE_BELOW_WIDTH else 0


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An image at ``size`` = (width, height), area-averaged when shrinking; itself if unchanged."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    interp = cv2.INTER_AREA if image.shape[1] > size[0] else cv2.INTER_LINEAR
    out = cv2.resize(image, size, interpolation=interp)
    return np.ascontiguousarray(out.reshape(size[1], size[0], *image.shape[2:]))


def _dis(finest_scale: int) -> cv2.DISOpticalFlow:
    # The medium preset at finest scale 0 (patches matched at full resolution): measured on
    # ../shared/data as the best quality per millisecond among DIS settings, +0.13 dB over
    # the preset's own scale 1. Large frames use scale 1 of their half-size analysis image:
    # on cgi_bigbuckbunny upscaled to 1080p that costs 0.05 dB and saves 40% of the time.
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setFinestScale(finest_scale)
    return dis


def to_gray8(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 working-space RGB in [0, 1] -> (H, W) uint8 luma for DIS."""
    y = image[..., 0] * 0.299 + image[..., 1] * 0.587 + image[..., 2] * 0.114
    return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)


def resize_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """A flow field resampled to ``width`` x ``height``, its vectors scaled to match."""
    h, w = flow.shape[:2]
    if (w, h) == (width, height):
        return flow
    interp = cv2.INTER_AREA if w > width else cv2.INTER_LINEAR
    out = cv2.resize(flow, (width, height), interpolation=interp)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return np.ascontiguousarray(out, dtype=np.float32)


def _one_way(g0: np.ndarray, g1: np.ndarray, finest_scale: int) -> np.ndarray:
    # A DIS object per call: the instances keep state and are not safe to share across threads.
    return _dis(finest_scale).calc(g0, g1, None)


def estimate_flow(gray0: np.ndarray, gray1: np.ndarray, finest: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flows 0->1 and 1->0 between two (H, W) uint8 frames, at the frames' own size.

    ``finest`` is DIS's finest pyramid level (`finest_scale`). Frames narrower than
    `UPSAMPLE_BELOW_WIDTH` are matched at twice their size. The two directions run on two
    threads (OpenCV releases the GIL).
    """
    flow01, flow10 = flows_between([(gray0, gray1), (gray1, gray0)], finest)
    return flow01, flow10


def flows_between(pairs: list[tuple[np.ndarray, np.ndarray]], finest: int = 0) -> list[np.ndarray]:
    """One-way flows ``src -> dst`` for (H, W) uint8 frame pairs of one size, as `estimate_flow` makes them.

    The pairs run on two threads; each frame is upsampled once however many pairs use it.
    """
    if not pairs:
        return []
    h, w = pairs[0][0].shape
    if w < UPSAMPLE_BELOW_WIDTH:
        big: dict[int, np.ndarray] = {}

        def up(gray: np.ndarray) -> np.ndarray:
            if id(gray) not in big:
                big[id(gray)] = cv2.resize(gray, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
            return big[id(gray)]

        pairs = [(up(a), up(b)) for a, b in pairs]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_one_way, a, b, finest) for a, b in pairs]
        return [resize_flow(f.result(), w, h) for f in futures]


def consistency(flow_ab: np.ndarray, flow_ba: np.ndarray, tolerance: float = 1.0) -> np.ndarray:
    """Forward-backward confidence of ``flow_ab`` in [0, 1], (H, W) float32.

    A point x goes to x + F_ab(x); coming back with F_ba must land on x again. The round-trip
    error is compared with a tolerance that grows with the motion (fast motion is matched
    less precisely, as in Sundaram et al. 2010), so large motion is not declared occluded.
    """
    back = backward_warp(np.ascontiguousarray(flow_ba), flow_ab)
    ex, ey = flow_ab[..., 0] + back[..., 0], flow_ab[..., 1] + back[..., 1]
    mag2 = cv2.magnitude(flow_ab[..., 0], flow_ab[..., 1]) ** 2 + cv2.magnitude(back[..., 0], back[..., 1]) ** 2
    limit2 = 0.01 * mag2 + tolerance**2
    return cv2.exp(-(ex * ex + ey * ey) / (2.0 * limit2))


def flow_pair(image0: np.ndarray, image1: np.ndarray, finest: int = 0) -> FlowPair:
    """Bidirectional flow with confidences for two (H, W, 3) float32 working-space frames.

    The frames are expected at their `analysis_size` already; ``finest`` as in `estimate_flow`.
    """
    flow01, flow10 = estimate_flow(to_gray8(image0), to_gray8(image1), finest)
    return from_flows(flow01, flow10)


def from_flows(flow01: np.ndarray, flow10: np.ndarray) -> FlowPair:
    """A `FlowPair` with forward-backward confidences for two given flows."""
    return FlowPair(flow01, flow10, consistency(flow01, flow10), consistency(flow10, flow01))
