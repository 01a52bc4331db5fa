"""`core.model.features`: the fusion weights."""
from __future__ import annotations

import numpy as np

from segue.core.model.features import softmax_planes


def test_softmax_planes_are_the_softmax_over_the_last_axis_even_for_extreme_logits():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, (7, 5, 4)).astype(np.float32)
    logits[0, 0] = (1000.0, -1000.0, 0.0, 999.0)  # naive exp overflows here
    planes = softmax_planes(logits)
    assert len(planes) == 4 and all(p.shape == (7, 5) and p.dtype == np.float32 and p.flags.c_contiguous
                                    for p in planes)
    z = logits.astype(np.float64) - logits.max(axis=2, keepdims=True)
    want = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(np.stack(planes, axis=2), want, atol=1e-6)
    assert np.isclose(planes[0][0, 0], 1 / (1 + np.exp(-1.0)), atol=1e-6)
