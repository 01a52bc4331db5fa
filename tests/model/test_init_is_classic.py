"""At initialisation the network reproduces the classical engine's frame on real footage."""
from __future__ import annotations

import numpy as np
from conftest import TRIPLETS, read_rgb

from segue.core.flow import flow_pair
from segue.core.intermediate import linear, reversed_, splat_metrics
from segue.core.model import features
from segue.core.synthesis import Synthesizer
from segue.training.net import FusionNet
from segue.training.validate import predict

#: float32 rounding of a softmax over log-priors and four weighted sums, in [0, 1] units
INIT_ATOL = 1e-5


def test_untrained_net_equals_the_classical_synthesis():
    case = TRIPLETS / "bbb_gap4_0044"  # real frames (Big Buck Bunny): a test, never training data
    img0 = read_rgb(case / "input0.png").astype(np.float32) / 255
    img1 = read_rgb(case / "input1.png").astype(np.float32) / 255
    flows = flow_pair(img0, img1)
    synth = Synthesizer(img0, img1, flows)
    metrics = splat_metrics(img0, img1, flows)
    net = FusionNet().eval()
    for t in (0.25, 0.5, 0.75):
        feats = features.build(img0, img1, flows, linear(flows, t), reversed_(flows, t, metrics), t)
        classic = synth.frame(t).image
        np.testing.assert_allclose(predict(net, feats), classic, atol=INIT_ATOL)
