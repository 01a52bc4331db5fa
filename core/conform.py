"""Conform: bring frames of different size or aspect to one output format.

A transition's output format is clip A's (`output_size`); frames of B (and any other
source) are conformed to it with one of three modes:

* ``"fit"`` — scale to fit inside, keep the aspect, pad with black (letterbox or
  pillarbox). Nothing is cropped. Black is 0.0, which is black in every encoding the
  engine uses.
* ``"fill"`` — scale to cover, keep the aspect, crop the overflow equally from both
  sides (centre crop). Nothing is padded.
* ``"stretch"`` — resize to the output size, aspect not kept.

Pixels are assumed square (the readers decode at storage size). Resampling: area
averaging when an axis shrinks (no aliasing; OpenCV's area mode is bilinear on an
axis that grows), bicubic when both axes grow. Bicubic can overshoot slightly at
hard edges; values are not clipped, in line with the float working-space contract.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

Mode = Literal["fit", "fill", "stretch"]
MODES: tuple[str, ...] = ("fit", "fill", "stretch")


def output_size(size_a: tuple[int, int], size_b: tuple[int, int]) -> tuple[int, int]:
    """The ``(width, height)`` a transition from A to B is rendered at: A's.

    The transition replaces the end of A on A's timeline and the editor places it
    there, so A's format is the one that must not change; B is conformed to it.
    ``size_b`` is accepted so callers need not know the rule.
    """
    del size_b
    width, height = size_a
    return int(width), int(height)


def conform(
    image: np.ndarray, width: int, height: int, mode: Mode = "fit"
) -> np.ndarray:
    """Return ``image`` (float ``(H, W, C)``) conformed to ``width`` x ``height``.

    Returns ``image`` itself, untouched, when it already has that size (any mode);
    otherwise a new float32 ``(height, width, C)`` array.

    Raises:
        ValueError: unknown mode, non-positive size, or not a float (H, W, C) array.
    """
    if mode not in MODES:
        raise ValueError(f"unknown conform mode {mode!r} (choose {', '.join(MODES)})")
    if width <= 0 or height <= 0:
        raise ValueError(f"output size must be positive, got {width}x{height}")
    if image.ndim != 3 or image.dtype.kind != "f":
        raise ValueError(
            f"expected a float (H, W, C) image, got {image.dtype} {image.shape}"
        )
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image
    image = image.astype(np.float32, copy=False)

    if mode == "stretch":
        return _resize(image, width, height)
    if mode == "fill":
        # Crop the source to the output aspect first, then resize once: cheaper than
        # resizing the overflow, and the output is exactly the requested size.
        if src_w * height > width * src_h:  # source wider than output
            crop_w = max(1, round(src_h * width / height))
            x0 = (src_w - crop_w) // 2
            return _resize(image[:, x0 : x0 + crop_w], width, height)
        crop_h = max(1, round(src_w * height / width))
        y0 = (src_h - crop_h) // 2
        return _resize(image[y0 : y0 + crop_h], width, height)

    scale = min(width / src_w, height / src_h)
    fit_w = min(width, max(1, round(src_w * scale)))
    fit_h = min(height, max(1, round(src_h * scale)))
    canvas = np.zeros((height, width, image.shape[2]), np.float32)
    x0, y0 = (width - fit_w) // 2, (height - fit_h) // 2
    canvas[y0 : y0 + fit_h, x0 : x0 + fit_w] = _resize(image, fit_w, fit_h)
    return canvas


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return np.array(image, dtype=np.float32, order="C", copy=True)
    shrinks = width < src_w or height < src_h
    interpolation = cv2.INTER_AREA if shrinks else cv2.INTER_CUBIC
    out = cv2.resize(
        np.ascontiguousarray(image), (width, height), interpolation=interpolation
    )
    # OpenCV drops a trailing channel axis of size 1; keep the (H, W, C) contract.
    return out.reshape(height, width, image.shape[2])
