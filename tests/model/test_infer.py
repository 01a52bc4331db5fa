"""`core.model.infer`: onnxruntime only, padding and tiling, clear errors for bad model folders."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from segue.core import Engine
from segue.core.errors import InputError
from segue.core.model.infer import LearnedFusion, shipped_model_dir

pytest_plugins = ("model_fixtures",)

#: tiles keep a margin larger than the net's receptive field, so tiling is exact up to rounding
TILE_ATOL = 1e-5


def test_inference_never_imports_torch(exported):
    code = (
        "import sys, numpy as np\n"
        "from segue.core.model.infer import LearnedFusion\n"
        f"f = LearnedFusion({str(exported)!r}, threads=1)\n"
        "lg, rs, fd = f(np.random.rand(21, 35, 29).astype(np.float32))\n"
        "assert lg.shape == (21, 35, 4) and rs.shape == (21, 35, 3) and fd.shape == (21, 35, 8)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_padding_equals_running_on_an_edge_padded_input(exported):
    fusion = LearnedFusion(exported, threads=1)
    feats = np.random.default_rng(1).random((29, 43, 29), dtype=np.float32)
    padded = np.pad(feats, ((0, 3), (0, 5), (0, 0)), mode="edge")
    for out, out_padded in zip(fusion(feats), fusion(padded), strict=True):
        np.testing.assert_array_equal(out, out_padded[:29, :43])


def test_tiling_matches_untiled(exported):
    fusion = LearnedFusion(exported, threads=1)
    feats = np.random.default_rng(2).random((200, 330, 29), dtype=np.float32)
    whole = fusion(feats)
    tiled = fusion(feats, tile_above=100, tile_size=96, margin=64)
    assert len(whole) == len(tiled) == 3
    for a, b in zip(whole, tiled):
        np.testing.assert_allclose(a, b, atol=TILE_ATOL)


def test_bad_model_folders_are_named(exported, tmp_path):
    with pytest.raises(InputError, match="model not found"):
        LearnedFusion(tmp_path / "absent")
    folder = tmp_path / "m"
    shutil.copytree(exported, folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(InputError, match="manifest.json: manifest missing"):
        LearnedFusion(folder)
    shutil.copy(exported / "manifest.json", folder / "manifest.json")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "manifest_version": 99}))
    with pytest.raises(InputError, match="manifest version 99"):
        LearnedFusion(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        LearnedFusion(folder)
    shutil.copy(exported / "manifest.json", folder / "manifest.json")
    (folder / manifest["model"]["file"]).write_bytes(b"garbage")
    with pytest.raises(InputError, match="segue_fusion.onnx: not a loadable ONNX model"):
        LearnedFusion(folder)


def test_features_of_the_wrong_shape_are_refused(exported):
    with pytest.raises(InputError, match="29"):
        LearnedFusion(exported)(np.zeros((8, 8, 3), np.float32))


def test_the_shipped_model_loads_and_runs():
    folder = shipped_model_dir()
    assert folder is not None
    logits, residual, deltas = LearnedFusion(folder, threads=1)(np.full((16, 24, 29), 0.5, np.float32))
    assert logits.shape == (16, 24, 4) and np.isfinite(residual).all() and np.isfinite(deltas).all()


def test_engine_threads_reach_onnxruntime():
    def threads(engine: Engine) -> int:
        return engine._learned().session.get_session_options().intra_op_num_threads

    assert threads(Engine("auto", threads=1)) == 1
    assert threads(Engine("auto")) == (os.cpu_count() or 1)
