"""Tests for core.conform on real footage (Big Buck Bunny fixture) and exact patterns."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from segue.core.conform import conform, output_size

FRAME = Path(__file__).resolve().parents[1] / "fixtures" / "bbb" / "bbb.0040.png"


@pytest.fixture(scope="module")
def bbb() -> np.ndarray:
    """The 160x90 (16:9) fixture frame as float32 RGB in [0, 1]."""
    return cv2.imread(str(FRAME), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255


def test_output_size_is_a() -> None:
    assert output_size((1920, 1080), (1280, 720)) == (1920, 1080)
    assert output_size((720, 1280), (1920, 1080)) == (720, 1280)


@pytest.mark.parametrize("mode", ["fit", "fill", "stretch"])
def test_identity_returns_input_untouched(bbb: np.ndarray, mode: str) -> None:
    assert conform(bbb, 160, 90, mode) is bbb  # type: ignore[arg-type]


def test_fit_pillarbox_keeps_everything(bbb: np.ndarray) -> None:
    out = conform(bbb, 90, 90, "fit")  # 16:9 into a square: bars top and bottom
    assert out.shape == (90, 90, 3) and out.dtype == np.float32
    # 160x90 scaled by 90/160 -> 90x51 (rounded), centred: rows 19..69 hold the picture.
    assert np.all(out[:19] == 0) and np.all(out[70:] == 0)
    assert out[19:70].mean() > 0.1
    expected = cv2.resize(bbb, (90, 51), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(out[19:70], expected, atol=1e-6)


def test_fit_letterbox_side_bars(bbb: np.ndarray) -> None:
    out = conform(bbb, 320, 100, "fit")  # wider than 16:9: bars left and right
    assert out.shape == (100, 320, 3)
    width = round(160 * 100 / 90)  # 178
    x0 = (320 - width) // 2
    assert np.all(out[:, :x0] == 0) and np.all(out[:, x0 + width :] == 0)
    assert np.all(
        out[:, x0 : x0 + width].mean(axis=(0, 2)) > 0
    )  # no hidden bars inside


def test_fill_centre_crops(bbb: np.ndarray) -> None:
    out = conform(bbb, 90, 90, "fill")  # square crop from the middle, same scale
    assert out.shape == (90, 90, 3)
    np.testing.assert_allclose(out, bbb[:, 35:125], atol=1e-6)
    tall = conform(bbb, 40, 60, "fill")
    assert tall.shape == (60, 40, 3)
    assert np.all(tall.mean(axis=(1, 2)) > 0)  # no padding rows


def test_stretch_plain_resize(bbb: np.ndarray) -> None:
    out = conform(bbb, 40, 45, "stretch")
    np.testing.assert_allclose(
        out, cv2.resize(bbb, (40, 45), interpolation=cv2.INTER_AREA)
    )


def test_downscale_uses_area_averaging() -> None:
    # A 1-pixel checkerboard: area averaging gives flat 0.5; point sampling or a
    # bilinear/bicubic decimation would keep (aliased) contrast.
    checker = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    image = np.repeat(checker[:, :, None], 3, axis=2)
    out = conform(image, 16, 16, "stretch")
    np.testing.assert_allclose(out, 0.5, atol=1e-6)


def test_upscale_is_smooth_and_keeps_float_range() -> None:
    image = np.zeros((4, 4, 3), np.float32)
    image[:, 2:] = 3.0  # a float (HDR) value must not be clipped
    out = conform(image, 16, 16, "stretch")
    row = out[8, :, 0]
    assert row.max() >= 3.0 - 1e-3
    inner = row[3:13]
    assert (
        len(np.unique(np.round(inner, 4))) > 4
    )  # interpolated, not nearest-neighbour blocks


def test_upscale_real_frame_close_to_source(bbb: np.ndarray) -> None:
    up = conform(bbb, 320, 180, "fit")
    down = cv2.resize(up, (160, 90), interpolation=cv2.INTER_AREA)
    assert np.abs(down - bbb).mean() < 0.01


def test_channels_and_validation(bbb: np.ndarray) -> None:
    grey = bbb[:, :, :1].copy()
    assert conform(grey, 80, 45, "stretch").shape == (45, 80, 1)
    with pytest.raises(ValueError, match="unknown conform mode"):
        conform(bbb, 10, 10, "crop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        conform(bbb, 0, 10)
    with pytest.raises(ValueError, match="float"):
        conform((bbb * 255).astype(np.uint8), 10, 10)
    out64 = conform(bbb.astype(np.float64), 80, 45, "fit")
    assert out64.dtype == np.float32
