"""At initialisation the network reproduces the classical engine's frame on real footage."""
from __future__ import annotations

import numpy as np
from conftest import TRIPLETS, read_rgb

from segue.core.flow import flow_pair
from segue.core.intermediate import linear, reversed_, splat_metrics
from segue.core.model import features
from segue.core.warp import warp_blend_pair
from segue.training.net import FusionNet
from segue.training.validate import predict

#: float32 rounding of a softmax over log-priors and four weighted sums, in [0, 1] units
INIT_ATOL = 1e-5


def test_untrained_net_equals_the_classical_synthesis():
    case = TRIPLETS / "bbb_gap4_0044"  # real frames (Big Buck Bunny): a test, never training data
    img0 = read_rgb(case / "input0.png").astype(np.float32) / 255
    img1 = read_rgb(case / "input1.png").astype(np.float32) / 255
    flows = flow_pair(img0, img1)
    metrics = splat_metrics(img0, img1, flows)
    net = FusionNet().eval()
    for t in (0.25, 0.5, 0.75):
        lin, rev = linear(flows, t), reversed_(flows, t, metrics)
        feats = features.build(img0, img1, flows, lin, rev, t)
        # classic's own blend of the two estimates (what both paths then fade to a dissolve
        # where the synthesizer says so: still pixels, untrusted regions)
        classic = warp_blend_pair(img0, img1, lin.flow_t0, lin.flow_t1, rev.flow_t0, rev.flow_t1, t)
        np.testing.assert_allclose(predict(net, feats), classic, atol=INIT_ATOL)
