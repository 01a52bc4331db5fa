"""Global alignment between two takes, and flows that include it.

Across a jump cut the camera or the subject has usually moved as a whole. Dense flow
alone struggles with such large displacements, so a similarity transform (rotation,
uniform scale, translation) is fitted first from ORB feature matches with RANSAC; the
dense flow then only has to find the small residual motion, and the two are composed
into ordinary bidirectional flows that the synthesis uses like any other.
"""
from __future__ import annotations

import cv2
import numpy as np

from segue.core.flow import FlowPair, estimate_flow, from_flows, to_gray8
from segue.core.warp import backward_warp

#: fewer RANSAC inliers than this and the alignment is not trusted (identity is used)
MIN_INLIERS = 24
#: features detected per frame
ORB_FEATURES = 3000
#: Lowe's ratio test threshold for descriptor matches
RATIO = 0.8


def similarity(gray0: np.ndarray, gray1: np.ndarray) -> np.ndarray | None:
    """A 2x3 similarity ``M`` with ``frame1(M @ [x, y, 1]) ~ frame0(x, y)``, or None.

    None when too few consistent matches exist (flat images, different shots): the caller
    then relies on dense flow alone.
    """
    orb = cv2.ORB_create(ORB_FEATURES)
    k0, d0 = orb.detectAndCompute(gray0, None)
    k1, d1 = orb.detectAndCompute(gray1, None)
    if d0 is None or d1 is None or len(k0) < MIN_INLIERS or len(k1) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d0, d1, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    p0 = np.float32([k0[m.queryIdx].pt for m in good])
    p1 = np.float32([k1[m.trainIdx].pt for m in good])
    model, inliers = cv2.estimateAffinePartial2D(p0, p1, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    if model is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    return model.astype(np.float64)


def _affine_flow(model: np.ndarray, width: int, height: int) -> np.ndarray:
    """The flow x -> M x - x of a 2x3 affine model."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    fx = model[0, 0] * xs + model[0, 1] * ys + model[0, 2] - xs
    fy = model[1, 0] * xs + model[1, 1] * ys + model[1, 2] - ys
    return np.dstack([fx, fy]).astype(np.float32)


def aligned_flow_pair(image0: np.ndarray, image1: np.ndarray,
                      finest: int = 0) -> tuple[FlowPair, np.ndarray | None]:
    """Bidirectional flows between two takes, with global alignment composed in.

    Returns the flows (as `core.flow.flow_pair` would, ``finest`` likewise) and the
    similarity that was used (None if none was trusted).
    """
    gray0, gray1 = to_gray8(image0), to_gray8(image1)
    model = similarity(gray0, gray1)
    if model is None:
        return from_flows(*estimate_flow(gray0, gray1, finest)), None
    h, w = gray0.shape
    # gray1 resampled into frame 0's geometry: aligned(x) = gray1(M x)
    aligned = cv2.warpAffine(gray1, model, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
    r01, r10 = estimate_flow(gray0, aligned, finest)
    inverse = cv2.invertAffineTransform(model)
    g = _affine_flow(model, w, h)          # aligned coords -> frame 1 coords
    g_inv = _affine_flow(inverse, w, h)    # frame 1 coords -> aligned coords
    # F01(x) = M(x + r01(x)) - x = r01(x) + G(x + r01(x))
    f01 = r01 + backward_warp(g, r01)
    # F10(y) = y' + r10(y') - y with y' = M^-1 y, i.e. G_inv(y) + r10(y + G_inv(y))
    f10 = g_inv + backward_warp(r10, g_inv)
    f01 = np.ascontiguousarray(f01, dtype=np.float32)
    f10 = np.ascontiguousarray(f10, dtype=np.float32)
    return from_flows(f01, f10), model
