"""Training losses: each term measures what its docstring says."""
from __future__ import annotations

import math

import pytest
import torch

from segue.training import losses


def _frames():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 32, 40, generator=g)
    return target + 0.05 * torch.randn(2, 3, 32, 40, generator=g), target


def test_mse_is_the_mean_squared_error_psnr_measures():
    pred, target = _frames()
    assert torch.isclose(losses.mse(pred, target), ((pred - target) ** 2).mean())
    assert losses.mse(target, target) == 0


def test_log_mse_is_minus_the_mean_psnr_of_the_items():
    pred, target = _frames()
    per_item = [float(((p - t) ** 2).mean()) for p, t in zip(pred, target, strict=True)]
    mean_psnr = sum(-10 * math.log10(m) for m in per_item) / len(per_item)
    assert float(losses.log_mse(pred, target, eps=0.0)) == pytest.approx(-mean_psnr, rel=1e-5)
    # halving one item's error gains as much as halving the other's, whatever their sizes
    pred2 = torch.stack([target[0] + 10 * (pred[0] - target[0]), pred[1]])
    gain_big = float(losses.log_mse(pred2, target)) - float(losses.log_mse(
        torch.stack([target[0] + 5 * (pred[0] - target[0]), pred[1]]), target))
    gain_small = float(losses.log_mse(pred2, target)) - float(losses.log_mse(
        torch.stack([pred2[0], target[1] + 0.5 * (pred[1] - target[1])]), target))
    assert gain_big == pytest.approx(gain_small, rel=1e-3)


def test_each_term_is_zero_only_for_a_perfect_frame():
    pred, target = _frames()
    for name in ("charbonnier", "mse", "laplacian", "census"):
        perfect, parts = losses.total(target, target, {name: 1.0})
        worse, _ = losses.total(pred, target, {name: 1.0})
        floor = losses.CHARBONNIER_EPS if name == "charbonnier" else 0.0
        assert float(perfect) == pytest.approx(floor, abs=1e-6) and float(worse) > float(perfect) + 1e-4, name
        assert set(parts) == {name}


def test_census_ignores_a_brightness_shift_that_l1_sees():
    _, target = _frames()
    brighter = target + 0.1
    assert float(losses.census(brighter, target)) < 1e-4
    assert float(losses.charbonnier(brighter, target)) > 0.09


def test_unknown_terms_are_refused():
    pred, target = _frames()
    with pytest.raises(ValueError, match="l3"):
        losses.total(pred, target, {"l3": 1.0})
