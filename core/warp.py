"""Warping kernels: backward warp, forward splat and fused warp + blend.

Thin facade over the compiled extension `core._native`. The exact equations and
conventions live in `core.warp_ref` (the pure-numpy spec); in short:

* images ``(H, W, C)`` float32, any ``C >= 1``; flows ``(H, W, 2)`` float32 holding
  ``(dx, dy)`` in pixels; maps (weights, metric) ``(H, W)`` float32;
* pixel centres at integer coordinates; output pixel ``(x, y)`` reads the input at
  ``(x + dx, y + dy)`` (backward) or pushes to it (splat);
* backward sampling is bilinear with clamp-to-edge borders;
* `EPS` and `METRIC_CLAMP` are the constants of `core.warp_ref`.

Every argument must already be a C-contiguous, aligned, native-endian float32
array of the right shape: nothing is converted or copied here, and the kernel
raises TypeError (not an array, wrong dtype) or ValueError (shape, layout) naming
the argument. Use ``np.ascontiguousarray(x, dtype=np.float32)`` at the call site.

The kernels release the GIL and use all cores (see `_native.set_num_threads`);
results do not depend on the thread count.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

try:
    from segue.core import _native
except ImportError as exc:  # pragma: no cover - exercised by a test via a fake import
    raise ImportError(
        "Segue's compiled kernels (core._native) are not built or not importable: "
        "run `pip install .` (or `pip install -e .` for development) from the "
        f"repository root. Cause: {exc}"
    ) from exc

__all__ = ["EPS", "METRIC_CLAMP", "backward_warp", "forward_splat", "warp_blend", "warp_blend_pair"]

EPS: float = _native.EPS
METRIC_CLAMP: float = _native.METRIC_CLAMP

F32 = npt.NDArray[np.float32]


def backward_warp(image: F32, flow: F32) -> F32:
    """Bilinear backward warp with clamp-to-edge borders.

    Args:
        image: ``(H, W, C)`` float32, C >= 1.
        flow: ``(H, W, 2)`` float32 ``(dx, dy)``.

    Returns:
        ``(H, W, C)`` float32 where pixel ``(x, y)`` is ``image`` sampled
        bilinearly at ``(x + dx, y + dy)``, clamped to ``[0, W-1] x [0, H-1]``.
        Zero flow returns ``image`` exactly. See `core.warp_ref.backward_warp`.
    """
    return _native.backward_warp(image, flow)


def forward_splat(
    image: F32,
    flow: F32,
    metric: F32 | None = None,
    mode: Literal["average", "softmax"] = "average",
) -> tuple[F32, F32]:
    """Bilinear forward splatting.

    Args:
        image: ``(H, W, C)`` float32.
        flow: ``(H, W, 2)`` float32 ``(dx, dy)``; pixel ``p`` is pushed to
            ``p + flow[p]``.
        metric: ``(H, W)`` float32, required for ``mode="softmax"`` (weights
            ``exp(clip(metric, -METRIC_CLAMP, METRIC_CLAMP))``), ignored otherwise.
        mode: ``"average"`` or ``"softmax"``.

    Returns:
        ``(out, weight)``: ``(H, W, C)`` and ``(H, W)`` float32. ``weight`` is the
        accumulated splat weight; where it is ``<= EPS`` (a hole) ``out`` is 0.
        Deterministic. See `core.warp_ref.forward_splat`.
    """
    return _native.forward_splat(image, flow, metric, mode)


def warp_blend(
    img0: F32,
    img1: F32,
    flow_t0: F32,
    flow_t1: F32,
    w0: F32,
    w1: F32,
    t: float,
) -> F32:
    """Fused two-sided backward warp and blend at time ``t`` in ``[0, 1]``.

    Args:
        img0, img1: ``(H, W, C)`` float32 frames at times 0 and 1.
        flow_t0, flow_t1: ``(H, W, 2)`` float32 ``(dx, dy)`` from the frame at
            time ``t`` into ``img0`` / ``img1``.
        w0, w1: ``(H, W)`` float32 non-negative confidences.
        t: time in ``[0, 1]``; anything else raises ValueError.

    Returns:
        ``(H, W, C)`` float32 ``((1-t) w0 a0 + t w1 a1) / ((1-t) w0 + t w1)`` with
        ``a_i = backward_warp(img_i, flow_ti)``, or ``(1-t) a0 + t a1`` where the
        denominator is ``<= EPS``. ``t=0`` with zero ``flow_t0`` returns ``img0``
        exactly (``t=1``/``flow_t1``/``img1`` likewise). See
        `core.warp_ref.warp_blend`.
    """
    return _native.warp_blend(img0, img1, flow_t0, flow_t1, w0, w1, t)


def warp_blend_pair(
    img0: F32,
    img1: F32,
    flow_a0: F32,
    flow_a1: F32,
    flow_b0: F32,
    flow_b1: F32,
    t: float,
) -> F32:
    """The mean of two unweighted warps and blends, one per estimate of the time-t flows.

    Args:
        img0, img1: ``(H, W, C)`` float32 frames at times 0 and 1.
        flow_a0, flow_a1: ``(H, W, 2)`` float32 flows from the frame at time ``t`` into
            ``img0`` / ``img1`` (one estimate); ``flow_b0``, ``flow_b1`` (another).
        t: time in ``[0, 1]``; anything else raises ValueError.

    Returns:
        ``(H, W, C)`` float32 ``0.5 * ((1-t) a0 + t a1 + (1-t) b0 + t b1)`` with each term
        the image backward-warped by its flow; one pass, no warped frame materialised.
        See `core.warp_ref.warp_blend_pair`.
    """
    return _native.warp_blend_pair(img0, img1, flow_a0, flow_a1, flow_b0, flow_b1, t)
