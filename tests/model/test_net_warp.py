"""The net's torch warp and fusion against the engine's numpy/native ones (what training learns is what runs)."""
from __future__ import annotations

import numpy as np
import torch

from segue.core.flow import FlowPair
from segue.core.intermediate import TimeFlows
from segue.core.model import features
from segue.core.warp import backward_warp as native_backward_warp
from segue.training.net import backward_warp, fuse

#: grid_sample and the native kernel compute the same bilinear weights in float32 in another order
WARP_ATOL = 2e-5


def test_torch_warp_equals_the_native_warp_at_edges_and_odd_sizes():
    rng = np.random.default_rng(4)
    for h, w in ((1, 7), (13, 1), (17, 23), (32, 33)):
        image = rng.random((h, w, 3), dtype=np.float32)
        # large flows: most samples land outside and must clamp to the edge like the kernel
        flow = rng.normal(0, max(h, w) / 2, (h, w, 2)).astype(np.float32)
        want = native_backward_warp(image, flow)
        got = backward_warp(torch.from_numpy(image.transpose(2, 0, 1))[None],
                            torch.from_numpy(flow.transpose(2, 0, 1).copy())[None])
        np.testing.assert_allclose(got[0].permute(1, 2, 0).numpy(), want, atol=WARP_ATOL)


def test_torch_fusion_with_flow_corrections_equals_the_numpy_reference():
    rng = np.random.default_rng(5)
    h, w = 19, 26
    feats = rng.random((h, w, features.FEATURE_CHANNELS), dtype=np.float32)
    for sl in features.FLOW_SLICES:
        feats[..., sl] = rng.normal(0, 3, (h, w, 2))
    logits = rng.normal(0, 1, (h, w, 4)).astype(np.float32)
    residual = rng.normal(0, 0.01, (h, w, 3)).astype(np.float32)
    deltas = rng.normal(0, 2, (h, w, 8)).astype(np.float32)
    want = features.fuse(logits, residual, features.refined_candidates(feats, deltas))

    def nchw(a):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]

    got = fuse(nchw(feats), nchw(logits), nchw(residual), nchw(deltas))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, want, atol=WARP_ATOL)


def test_zero_corrections_give_back_the_candidates_exactly():
    rng = np.random.default_rng(6)
    h, w = 15, 22
    img0, img1 = rng.random((h, w, 3), dtype=np.float32), rng.random((h, w, 3), dtype=np.float32)

    def flow():
        return rng.normal(0, 3, (h, w, 2)).astype(np.float32)

    conf = np.ones((h, w), np.float32)
    lin, rev = TimeFlows(flow(), flow()), TimeFlows(flow(), flow())
    feats = features.build(img0, img1, FlowPair(flow(), flow(), conf, conf), lin, rev, 0.4)
    refined = features.refined_candidates(feats, np.zeros((h, w, 8), np.float32))
    for cand, sl in zip(refined, features.CANDIDATE_SLICES, strict=True):
        np.testing.assert_array_equal(cand, feats[..., sl])
