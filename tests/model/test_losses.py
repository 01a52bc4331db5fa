"""Training losses: each term measures what its docstring says."""
from __future__ import annotations

import pytest
import torch

from core.model import losses


def _frames():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 32, 40, generator=g)
    return target + 0.05 * torch.randn(2, 3, 32, 40, generator=g), target


def test_mse_is_the_mean_squared_error_psnr_measures():
    pred, target = _frames()
    assert torch.isclose(losses.mse(pred, target), ((pred - target) ** 2).mean())
    assert losses.mse(target, target) == 0


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
