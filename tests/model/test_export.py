"""`segue export`: ONNX + manifest, onnxruntime output equal to torch's, an int8 variant."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segue.cli import main
from segue.core.color import WORKING_SPACE
from segue.core.errors import InputError
from segue.core.model.infer import LearnedFusion
from segue.training.export import INT8_FILE, MODEL_FILE
from segue.training.net import net_from_state
from segue.training.train import load_checkpoint

pytest_plugins = ("model_fixtures",)

#: onnxruntime vs torch, fp32: both run the same float32 convolutions in a different order;
#: differences are rounding only (measured ~1e-6 on logits of magnitude ~1-8)
ORT_TORCH_ATOL = 1e-4


def _torch_outputs(checkpoint, feats: np.ndarray) -> list[np.ndarray]:
    net = net_from_state(load_checkpoint(checkpoint)).eval()
    h, w = feats.shape[:2]
    x = torch.from_numpy(feats.transpose(2, 0, 1).copy())[None]
    x = F.pad(x, (0, -w % 8, 0, -h % 8), mode="replicate")
    with torch.no_grad():
        outputs = net(x)
    return [o[0, :, :h, :w].permute(1, 2, 0).numpy() for o in outputs]


def _features(h: int, w: int, t: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.random((h, w, 3), dtype=np.float32)
    feats = np.concatenate([base + rng.normal(0, 0.05, (h, w, 3)).astype(np.float32) for _ in range(6)], axis=2)
    return np.concatenate([feats, rng.random((h, w, 2), dtype=np.float32), np.full((h, w, 1), t, np.float32),
                           rng.normal(0, 4, (h, w, 8)).astype(np.float32)], axis=2)


def _onnx_and_torch(model: Path, net) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each output of the ONNX file at ``model`` beside the same output of ``net``, (H, W, C)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    feats = _features(40, 56)
    got = session.run(None, {"features": feats[None]})
    with torch.no_grad():
        want = net(torch.from_numpy(feats.transpose(2, 0, 1).copy())[None])
    return [(g[0], w[0].permute(1, 2, 0).numpy()) for g, w in zip(got, want, strict=True)]


def test_onnxruntime_matches_torch_at_odd_sizes(tiny_run, exported):
    fusion = LearnedFusion(exported, threads=1)
    for h, w in ((37, 53), (64, 96)):
        feats = _features(h, w)
        outputs = fusion(feats)
        assert [o.shape for o in outputs] == [(h, w, 4), (h, w, 3), (h, w, 8)]
        for got, want in zip(outputs, _torch_outputs(tiny_run["final"], feats), strict=True):
            np.testing.assert_allclose(got, want, atol=ORT_TORCH_ATOL)


def test_manifest_states_the_contract(tiny_run, exported):
    m = json.loads((exported / "manifest.json").read_text())
    assert m["manifest_version"] == 2 and m["model"]["file"] == MODEL_FILE
    assert m["input"]["layout"] == "NHWC" and len(m["input"]["channels"]) == 29
    assert m["input"]["colourspace"] == WORKING_SPACE
    assert m["stride"] == 8 and m["training"]["steps"] == 300 and m["model"]["cost_radius"] == 1
    assert m["int8"]["file"] == INT8_FILE and (exported / INT8_FILE).is_file()
    assert set(m["outputs"]) >= {"logits", "residual", "flow_delta"}


def test_int8_variant_runs_close_to_fp32(exported):
    feats = _features(40, 56)
    _, res32, _ = LearnedFusion(exported)(feats)
    _, res8, _ = LearnedFusion(exported / INT8_FILE)(feats)
    assert res8.shape == res32.shape and np.isfinite(res8).all()
    assert float(np.abs(res8 - res32).mean()) < 0.02


def test_export_of_a_missing_checkpoint_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "m")]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_a_net_with_both_cost_volumes_exports_to_the_same_outputs(tmp_path):
    from segue.training.export import export_onnx
    from segue.training.net import FusionNet

    torch.manual_seed(0)
    net = FusionNet((8, 16, 24, 32), cost_radius=1, fine_cost_radius=1).eval()
    for p in net.parameters():  # trained-like: every cost plane reaches the outputs
        torch.nn.init.normal_(p, 0.0, 0.1)
    export_onnx(net, tmp_path / "both.onnx")
    for got, want in _onnx_and_torch(tmp_path / "both.onnx", net):
        assert float(np.abs(want).max()) > 1e-2
        np.testing.assert_allclose(got, want, atol=ORT_TORCH_ATOL)


def test_a_fine_tune_starts_from_the_shipped_model_without_its_checkpoint():
    # model.init may name an exported model: its ONNX file holds every parameter of the net
    from segue.core.model.infer import shipped_model_dir
    from segue.training.net import FusionNet, load_widened
    from segue.training.train import load_exported

    folder = shipped_model_dir()
    state = load_exported(folder)
    net = FusionNet(tuple(state["widths"]), cost_radius=state["cost_radius"],
                    fine_cost_radius=state["fine_cost_radius"]).eval()
    assert load_widened(net, state["model"]) == [] and state["step"] == 2500
    for got, want in _onnx_and_torch(folder / "segue_fusion.onnx", net):
        np.testing.assert_allclose(got, want, atol=ORT_TORCH_ATOL)


def test_an_init_that_is_not_a_model_is_refused(tmp_path):
    from segue.training.train import load_exported

    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="not a Segue fusion model manifest"):
        load_exported(tmp_path)
