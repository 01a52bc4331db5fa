"""Image quality metrics the way the frame-interpolation literature reports them.

Both take 8-bit RGB frames and use every pixel (no border crop, no luma-only variant):
PSNR from the mean squared error over all pixels and channels; SSIM with Wang et al.'s
11x11 Gaussian window (sigma 1.5), K1=0.01, K2=0.03, L=255, computed per channel and averaged.
"""
from __future__ import annotations

import cv2
import numpy as np


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"metrics need two uint8 images of one shape, got {a.dtype}{a.shape} and {b.dtype}{b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images; identical images give +inf."""
    _check(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over all pixels and channels of two uint8 images."""
    _check(a, b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = a.astype(np.float64)
    y = b.astype(np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))
