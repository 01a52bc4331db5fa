"""The Engine running an exported learned model (`--model PATH`), end to end on real frames."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import TRIPLETS, read_rgb

from core import Engine
from core.metrics import psnr

pytest_plugins = ("model_fixtures",)


def _triplet():
    case = TRIPLETS / "bbb_tri_0049"
    return tuple(read_rgb(case / n) for n in ("input0.png", "input1.png", "target_0.500.png"))


def test_engine_runs_an_exported_model_close_to_classic(exported):
    a, b, truth = _triplet()
    engine = Engine(model=str(exported))
    assert engine.model == str(exported)
    (learned,) = engine.interpolate(a, b, [0.5])
    (classic,) = Engine("classic").interpolate(a, b, [0.5])
    dissolve = np.clip(0.5 * a.astype(float) + 0.5 * b + 0.5, 0, 255).astype(np.uint8)
    # A 300-step toy model stays near its classical initialisation: a wiring mistake (channel
    # order, softmax axis, missing prior) would fall far below classic and the dissolve.
    assert psnr(learned, truth) > psnr(dissolve, truth) + 1.0
    assert psnr(learned, truth) > psnr(classic, truth) - 1.0


def test_large_frames_fuse_full_resolution_candidates(exported):
    # Frames over 1280 px are analysed at half size: the model's outputs are upsampled and
    # fuse the full-resolution candidates.
    a, b, truth = (cv2.resize(x, (1440, 810), interpolation=cv2.INTER_CUBIC) for x in _triplet())
    (learned,) = Engine(model=str(exported)).interpolate(a, b, [0.5])
    (classic,) = Engine("classic").interpolate(a, b, [0.5])
    assert learned.shape == a.shape
    assert psnr(learned, classic) > 30.0
    assert psnr(learned, truth) > psnr(classic, truth) - 1.0
