"""The net's cost volumes against a numpy reference, and adding one to a net trained without it."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from model_fixtures import tiny_config

from segue.cli import main
from segue.core.model.features import CANDIDATE_SLICES
from segue.training.net import (
    COST_STRIDE,
    FINE_COST_STRIDE,
    CostVolume,
    FusionNet,
    load_widened,
)
from segue.training.train import load_checkpoint

pytest_plugins = ("model_fixtures",)

#: float32 block means and differences summed in another order than numpy's float64
COST_ATOL = 1e-5


def _reference_costs(feats: np.ndarray, radius: int, stride: int = COST_STRIDE) -> np.ndarray:
    """Per candidate pair (0, 1), (2, 3) and offset (dy, dx) row-major: sum_rgb |a(p + d) - b(p)|."""
    h, w = feats.shape[:2]
    cells = feats.reshape(h // stride, stride, w // stride, stride, -1).mean(axis=(1, 3))
    out = []
    for i, j in ((0, 1), (2, 3)):
        a, b = cells[..., CANDIDATE_SLICES[i]], cells[..., CANDIDATE_SLICES[j]]
        padded = np.pad(a, ((radius, radius), (radius, radius), (0, 0)), mode="edge")
        for dy in range(2 * radius + 1):
            for dx in range(2 * radius + 1):
                shifted = padded[dy:dy + a.shape[0], dx:dx + a.shape[1]]
                out.append(np.abs(shifted - b).sum(axis=2))
    return np.stack(out)


@pytest.mark.parametrize(("h", "w", "radius"), [(8, 8, 3), (40, 56, 2), (24, 8, 1), (16, 72, 3)])
def test_cost_volume_equals_the_numpy_reference_at_edges_and_odd_cell_counts(h, w, radius):
    # (8, 8) has 2x2 cells with offsets of 3: nearly every sample lies beyond the edge
    feats = np.random.default_rng(h + w).random((h, w, 29))  # float64: the reference's precision
    net = FusionNet((8, 16, 24, 32), cost_radius=radius)
    got = net.cost_volume(torch.from_numpy(feats.transpose(2, 0, 1).astype(np.float32))[None])[0].numpy()
    np.testing.assert_allclose(got, _reference_costs(feats, radius), atol=COST_ATOL)


@pytest.mark.parametrize(("h", "w", "radius"), [(8, 8, 2), (24, 40, 3), (16, 8, 1)])
def test_fine_cost_volume_equals_the_numpy_reference_at_half_scale(h, w, radius):
    feats = np.random.default_rng(h * w).random((h, w, 29))
    volume = FusionNet((8, 16, 24, 32), fine_cost_radius=radius).fine_cost_volume
    assert isinstance(volume, CostVolume) and volume.stride == FINE_COST_STRIDE == 2
    got = volume(torch.from_numpy(feats.transpose(2, 0, 1).astype(np.float32))[None])[0].numpy()
    np.testing.assert_allclose(got, _reference_costs(feats, radius, FINE_COST_STRIDE), atol=COST_ATOL)


def test_the_cost_is_lowest_at_the_offset_that_aligns_the_candidates():
    rng = np.random.default_rng(1)
    feats = rng.random((64, 64, 29)).astype(np.float32)
    # Candidate 1 is candidate 0 moved 2 cells right: a(p + d) == b(p) at d = (0, -2).
    feats[:, :, CANDIDATE_SLICES[1]] = np.roll(feats[:, :, CANDIDATE_SLICES[0]], 2 * COST_STRIDE, axis=1)
    costs = FusionNet(cost_radius=3).cost_volume(torch.from_numpy(feats.transpose(2, 0, 1).copy())[None])[0]
    inner = costs[:7 * 7, :, 2:].reshape(49, -1).mean(dim=1)  # columns not wrapped by the roll
    assert int(inner.argmin()) == 3 * 7 + (3 - 2)
    assert float(inner.min()) < 1e-6 < float(inner.sort().values[1])


def test_a_widened_net_computes_what_the_old_net_did():
    torch.manual_seed(0)
    old = FusionNet((8, 16, 24, 32))
    for p in old.parameters():  # trained-like weights: heads far from their zero start
        torch.nn.init.normal_(p, 0.0, 0.1)
    new = FusionNet((8, 16, 24, 32), cost_radius=2)
    assert load_widened(new, old.state_dict()) == ["enc2.1.0.weight"]
    x = torch.rand(2, 29, 32, 40)
    with torch.no_grad():
        for a, b in zip(old(x), new(x), strict=True):
            assert float(a.abs().max()) > 1e-2
            assert torch.equal(a, b)
    with pytest.raises(RuntimeError):  # other shapes do not silently load
        load_widened(FusionNet((8, 16, 24, 16)), old.state_dict())
    # The fine cost volume widens the 1/2-scale stage the same way.
    fine = FusionNet((8, 16, 24, 32), cost_radius=2, fine_cost_radius=1)
    assert load_widened(fine, new.state_dict()) == ["enc1.1.0.weight"]
    with torch.no_grad():
        for a, b in zip(new(x), fine(x), strict=True):
            assert torch.equal(a, b)


def test_model_init_adds_a_cost_volume_to_a_run_without_one(tiny_run, tmp_path, capsys):
    source_dir, tuned_dir = tmp_path / "source", tmp_path / "tuned"
    for d in (source_dir, tuned_dir):
        shutil.copytree(tiny_run["folder"] / "cache", d / "cache")
    source = tiny_config(source_dir, **{"cost_radius = 1": "cost_radius = 0", "steps = 300": "steps = 20",
                                        "checkpoint_every = 100": "checkpoint_every = 20"})
    assert main(["train", "--config", str(source)]) == 0
    source_ckpt = source_dir / "run" / "checkpoints" / "step_0000020.pt"
    tuned = tiny_config(tuned_dir, **{"cost_radius = 1": f'cost_radius = 1\ninit = "{source_ckpt}"',
                                      "steps = 300": "steps = 2", "lr = 1e-3": "lr = 1e-7",
                                      "lr_min = 3e-4": "lr_min = 1e-8"})
    assert main(["train", "--config", str(tuned)]) == 0
    assert "new zero input weights in enc2.1.0.weight" in capsys.readouterr().out
    before = load_checkpoint(source_ckpt)
    after = load_checkpoint(tuned_dir / "run" / "checkpoints" / "step_0000002.pt")
    assert before["cost_radius"] == 0 and after["cost_radius"] == 1
    old_w, new_w = before["model"]["enc2.1.0.weight"], after["model"]["enc2.1.0.weight"]
    assert torch.allclose(new_w[:, :old_w.shape[1]], old_w, atol=1e-5)
    assert float(new_w[:, old_w.shape[1]:].abs().max()) < 1e-5


def test_resume_refuses_a_checkpoint_with_another_cost_radius(tiny_run, tmp_path, capsys):
    config = tiny_config(tmp_path, **{"cost_radius = 1": "cost_radius = 2"})
    shutil.copytree(tiny_run["folder"] / "cache", tmp_path / "cache")
    assert main(["train", "--config", str(config), "--resume", str(tiny_run["final"])]) == 2
    err = capsys.readouterr().err
    assert "cost_radius 1" in err and str(tiny_run["final"]) in err
