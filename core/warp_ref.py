"""Pure-numpy reference of Segue's warp kernels. This file is the spec.

`core.warp` runs the same three functions in the compiled `core._native` kernels;
tests hold the two to the tolerances in `tests/native/test_kernels.py`. Read this
file to know exactly what the kernels compute.

Conventions shared by every function:

* Images are ``(H, W, C)`` float32 with any ``C >= 1`` and ``H, W >= 1``; values are
  not range-limited (linear light, HDR and negatives pass through). Inputs should
  be finite: a NaN/inf pixel poisons every output that reads it, even with weight 0.
* Flows are ``(H, W, 2)`` float32 with channel order ``(dx, dy)``: ``dx`` along
  columns (x, width), ``dy`` along rows (y, height), in pixels.
* Pixel centres sit at integer coordinates: pixel ``(x, y)`` is ``image[y, x]``
  and covers ``[x - 0.5, x + 0.5]``. No half-pixel offsets anywhere.
* Arithmetic: sample coordinates, fractions, bilinear weights, splat accumulation
  and blend weights are float64. `backward_warp` rounds its 4 bilinear weights to
  float32 once, then sums ``wa*a + wb*b + wc*c + wd*d`` in float32, left to right
  (the kernel does the same with FMA contraction disabled).
* ``EPS`` guards divisions only: a weight ``<= EPS`` means "nothing here". It is
  far below ``exp(-METRIC_CLAMP)`` so softmax weights never create holes by
  themselves; callers wanting "weak coverage" should threshold the returned
  weight map with their own, larger, value.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["EPS", "METRIC_CLAMP", "backward_warp", "forward_splat", "warp_blend"]

EPS: float = 1e-30
"""Weights (splat weight, blend denominator) at or below this count as zero."""

METRIC_CLAMP: float = 50.0
"""Softmax metrics are clipped to [-METRIC_CLAMP, METRIC_CLAMP] before exp().

exp(50) ~ 5.2e21, so even 1e9 pixels landing on one spot keep the float32 weight
map finite (< 3.4e38); exp(-50) ~ 1.9e-22 stays far above EPS.
"""

F32 = npt.NDArray[np.float32]


def _grid(h: int, w: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    ys, xs = np.indices((h, w), dtype=np.float64)
    return xs, ys


def _bilinear_taps(
    flow: F32, h: int, w: int
) -> tuple[list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]], list[F32]]:
    """Neighbour indices and float32 weights of the clamped backward sample."""
    xs, ys = _grid(h, w)
    dx = flow[..., 0].astype(np.float64)
    dy = flow[..., 1].astype(np.float64)
    # NaN displacement counts as 0; +-inf clamps to the far edge like any big value.
    dx = np.where(np.isnan(dx), 0.0, dx)
    dy = np.where(np.isnan(dy), 0.0, dy)
    sx = np.clip(xs + dx, 0.0, w - 1)
    sy = np.clip(ys + dy, 0.0, h - 1)
    x0 = np.floor(sx).astype(np.intp)
    y0 = np.floor(sy).astype(np.intp)
    fx = sx - x0
    fy = sy - y0
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    taps = [(y0, x0), (y0, x1), (y1, x0), (y1, x1)]
    weights = [
        ((1.0 - fx) * (1.0 - fy)).astype(np.float32),
        (fx * (1.0 - fy)).astype(np.float32),
        ((1.0 - fx) * fy).astype(np.float32),
        (fx * fy).astype(np.float32),
    ]
    return taps, weights


def backward_warp(image: F32, flow: F32) -> F32:
    """Bilinear backward warp with clamp-to-edge borders.

    Args:
        image: ``(H, W, C)`` float32.
        flow: ``(H, W, 2)`` float32, ``(dx, dy)``.

    Returns:
        ``(H, W, C)`` float32 ``out`` with, for every pixel ``(x, y)``::

            sx = clip(x + dx, 0, W-1)            sy = clip(y + dy, 0, H-1)
            x0 = floor(sx), x1 = min(x0+1, W-1)  y0 = floor(sy), y1 = min(y0+1, H-1)
            fx = sx - x0                         fy = sy - y0
            out[y, x] = wa*image[y0, x0] + wb*image[y0, x1]
                      + wc*image[y1, x0] + wd*image[y1, x1]

        with ``wa = (1-fx)(1-fy)``, ``wb = fx(1-fy)``, ``wc = (1-fx)fy``,
        ``wd = fx*fy`` computed in float64 and rounded to float32, and the sum
        taken in float32 in that order. Clamping the *coordinate* (not the taps)
        is edge replication. A NaN ``dx`` or ``dy`` counts as 0.

    Zero flow returns ``image`` exactly; an integer flow is an exact translation
    wherever the source stays inside the image.
    """
    h, w, _ = image.shape
    taps, weights = _bilinear_taps(flow, h, w)
    out = weights[0][..., None] * image[taps[0]]
    for (yi, xi), wt in zip(taps[1:], weights[1:], strict=True):
        out = out + wt[..., None] * image[yi, xi]
    return out.astype(np.float32, copy=False)


def forward_splat(
    image: F32,
    flow: F32,
    metric: F32 | None = None,
    mode: Literal["average", "softmax"] = "average",
) -> tuple[F32, F32]:
    """Bilinear forward splatting (plain average or softmax splatting).

    Args:
        image: ``(H, W, C)`` float32.
        flow: ``(H, W, 2)`` float32, ``(dx, dy)``: source pixel ``p = (x, y)`` goes
            to ``(tx, ty) = (x + dx, y + dy)``.
        metric: ``(H, W)`` float32 importance, required for ``"softmax"``,
            ignored for ``"average"``.
        mode: ``"average"`` or ``"softmax"``.

    Returns:
        ``(out, weight)``: ``(H, W, C)`` and ``(H, W)`` float32. In float64::

            e(p)      = 1                                        (average)
                      = exp(clip(metric[p], -METRIC_CLAMP, METRIC_CLAMP))  (softmax)
            x0 = floor(tx), fx = tx - x0, y0 = floor(ty), fy = ty - y0
            p adds   b*e(p)          to weight[q]
                     b*e(p)*image[p] to sum[q]
            for its 4 neighbours q = (x0, y0), (x0+1, y0), (x0, y0+1), (x0+1, y0+1)
            with b = (1-fx)(1-fy), fx(1-fy), (1-fx)fy, fx*fy, only for q inside
            the image (contributions falling outside are dropped, not clamped).
            out[q] = sum[q] / weight[q] if weight[q] > EPS else 0

        ``weight`` is float32 of the float64 accumulated weight: ``weight <= EPS``
        marks holes. Source pixels whose target is NaN/inf or reaches no pixel
        (``tx`` outside ``[-1, W)`` or ``ty`` outside ``[-1, H)``), and, in softmax
        mode, whose metric is NaN, contribute nothing. Both sum in float64: the
        kernel in one fixed order (by target row ``y0``, then source row-major),
        independent of its thread count; this reference via bincount. The
        orders differ, so results agree to float64 rounding, not bit for bit.
    """
    if mode not in ("average", "softmax"):
        raise ValueError(f"mode must be 'average' or 'softmax'; got {mode!r}")
    if mode == "softmax" and metric is None:
        raise ValueError("metric is required when mode='softmax'")
    h, w, c = image.shape
    xs, ys = _grid(h, w)
    tx = xs + flow[..., 0].astype(np.float64)
    ty = ys + flow[..., 1].astype(np.float64)
    # Comparisons are False for NaN, so this also drops non-finite targets.
    valid = (tx >= -1.0) & (tx < w) & (ty >= -1.0) & (ty < h)
    if mode == "softmax":
        assert metric is not None
        m = metric.astype(np.float64)
        valid &= ~np.isnan(m)
        e = np.exp(np.clip(m, -METRIC_CLAMP, METRIC_CLAMP))[valid]
    else:
        e = np.ones(int(valid.sum()))
    tx, ty = tx[valid], ty[valid]
    values = image[valid].astype(np.float64)  # (n, C)
    x0 = np.floor(tx)
    y0 = np.floor(ty)
    fx, fy = tx - x0, ty - y0
    x0 = x0.astype(np.intp)
    y0 = y0.astype(np.intp)

    n = h * w
    weight = np.zeros(n)
    sums = np.zeros((n, c))
    corners = [
        (0, 0, (1.0 - fx) * (1.0 - fy)),
        (1, 0, fx * (1.0 - fy)),
        (0, 1, (1.0 - fx) * fy),
        (1, 1, fx * fy),
    ]
    for ox, oy, b in corners:
        xi, yi = x0 + ox, y0 + oy
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        idx = yi[inside] * w + xi[inside]
        wt = b[inside] * e[inside]
        weight += np.bincount(idx, weights=wt, minlength=n)
        for ch in range(c):
            sums[:, ch] += np.bincount(idx, weights=wt * values[inside, ch], minlength=n)

    filled = weight > EPS
    out = np.zeros((n, c))
    out[filled] = sums[filled] / weight[filled, None]
    return (
        out.reshape(h, w, c).astype(np.float32),
        weight.reshape(h, w).astype(np.float32),
    )


def warp_blend(
    img0: F32,
    img1: F32,
    flow_t0: F32,
    flow_t1: F32,
    w0: F32,
    w1: F32,
    t: float,
) -> F32:
    """Two-sided backward warp and weighted blend for time ``t`` in ``[0, 1]``.

    Args:
        img0, img1: ``(H, W, C)`` float32 frames at times 0 and 1.
        flow_t0, flow_t1: ``(H, W, 2)`` float32 ``(dx, dy)`` from the frame at
            time ``t`` into ``img0`` / ``img1`` (backward flows).
        w0, w1: ``(H, W)`` float32 non-negative confidences (e.g. visibility or
            splat weights) of each side.
        t: blend time; ``t`` outside ``[0, 1]`` (or NaN) raises ValueError.

    Returns:
        ``(H, W, C)`` float32::

            a0 = backward_warp(img0, flow_t0)   a1 = backward_warp(img1, flow_t1)
            out = ((1-t)*w0*a0 + t*w1*a1) / ((1-t)*w0 + t*w1)
            out = (1-t)*a0 + t*a1          where (1-t)*w0 + t*w1 <= EPS

        evaluated as ``alpha*a0 + beta*a1`` in float32, where in float64
        ``u0 = (1-t)*w0``, ``u1 = t*w1``, ``den = u0 + u1``, and
        ``alpha, beta = u0/den, u1/den`` (or ``1-t, t`` where ``den <= EPS``),
        each rounded to float32. Since ``x/x == 1`` exactly, ``t=0`` with zero
        ``flow_t0`` returns ``img0`` exactly and ``t=1`` with zero ``flow_t1``
        returns ``img1`` exactly, whatever the weights.
    """
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be within [0, 1]; got {t!r}")
    a0 = backward_warp(img0, flow_t0)
    a1 = backward_warp(img1, flow_t1)
    u0 = (1.0 - t) * w0.astype(np.float64)
    u1 = t * w1.astype(np.float64)
    den = u0 + u1
    ok = den > EPS
    safe = np.where(ok, den, 1.0)
    alpha = np.where(ok, u0 / safe, 1.0 - t).astype(np.float32)
    beta = np.where(ok, u1 / safe, t).astype(np.float32)
    return (alpha[..., None] * a0 + beta[..., None] * a1).astype(np.float32, copy=False)


def warp_blend_pair(
    img0: F32,
    img1: F32,
    flow_a0: F32,
    flow_a1: F32,
    flow_b0: F32,
    flow_b1: F32,
    t: float,
) -> F32:
    """The mean of two unweighted two-sided warps and blends at time ``t`` in ``[0, 1]``.

    Args:
        img0, img1: ``(H, W, C)`` float32 frames at times 0 and 1.
        flow_a0, flow_a1: ``(H, W, 2)`` float32, one estimate of the flows from the
            frame at time ``t`` into ``img0`` / ``img1``; ``flow_b0``, ``flow_b1``: another.
        t: blend time; outside ``[0, 1]`` (or NaN) raises ValueError.

    Returns:
        ``(H, W, C)`` float32, in float32 arithmetic with ``alpha = float32(1 - t)``,
        ``beta = float32(t)`` and ``x_ij = backward_warp(img_j, flow_ij)``::

            out = 0.5 * ((alpha * x_a0 + beta * x_a1) + (alpha * x_b0 + beta * x_b1))

        Zero flows into ``img0`` at ``t=0`` return ``img0`` exactly (``img1`` likewise).
    """
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be within [0, 1]; got {t!r}")
    alpha, beta = np.float32(1.0 - t), np.float32(t)
    a = alpha * backward_warp(img0, flow_a0) + beta * backward_warp(img1, flow_a1)
    b = alpha * backward_warp(img0, flow_b0) + beta * backward_warp(img1, flow_b1)
    return (np.float32(0.5) * (a + b)).astype(np.float32, copy=False)
