"""The Engine running an exported learned model (`--model PATH`), end to end on real frames."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import TRIPLETS, read_rgb

from segue.core import Engine
from segue.core.metrics import psnr

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
    # Frames over 1024 px are analysed at half size: the model's outputs are upsampled and
    # fuse the full-resolution candidates.
    a, b, truth = (cv2.resize(x, (1440, 810), interpolation=cv2.INTER_CUBIC) for x in _triplet())
    (learned,) = Engine(model=str(exported)).interpolate(a, b, [0.5])
    (classic,) = Engine("classic").interpolate(a, b, [0.5])
    assert learned.shape == a.shape
    assert psnr(learned, classic) > 30.0
    assert psnr(learned, truth) > psnr(classic, truth) - 1.0


def test_native_fusion_equals_the_reference_fusion_of_the_candidates(exported):
    # The engine applies the flow corrections and fuses with two native warp-and-blends; the
    # model was trained on `features.fuse` of the four re-warped candidates: the two must agree.
    from segue.core.flow import finest_scale, flow_pair
    from segue.core.intermediate import linear, reversed_
    from segue.core.model import features
    from segue.core.model.infer import LearnedFusion
    from segue.core.synthesis import Synthesizer

    a, b, _ = (x.astype(np.float32) / 255 for x in _triplet())
    a, b = np.ascontiguousarray(a[:, :151]), np.ascontiguousarray(b[:, :151])  # odd width
    flows = flow_pair(a, b, finest_scale(a.shape[1]))
    fusion = LearnedFusion(exported)
    synth = Synthesizer(a, b, flows, fusion=fusion)
    for t in (0.25, 0.5, 0.8):
        lin, rev = linear(flows, t), reversed_(flows, t, synth._metrics)
        feats = features.build(a, b, flows, lin, rev, t)
        logits, residual, deltas = fusion(feats)
        assert np.abs(deltas).max() > 1e-3  # the trained corrections are exercised, not zero
        want = features.fuse(logits, residual, features.refined_candidates(feats, deltas))
        got = synth._learned(a, b, lin, rev, t)
        np.testing.assert_allclose(got, want, atol=2e-5)
