"""A stream's flows are made once, composed two steps at a time, and forgotten with their frames."""
from __future__ import annotations

import numpy as np
from conftest import TRIPLETS, read_rgb

from segue.core.flow import estimate_flow, to_gray8
from segue.core.flowcache import FlowCache
from segue.core.warp import backward_warp

CASE = TRIPLETS / "bbb_gap4_0044"


def _frames() -> list[np.ndarray]:
    names = ["before_2", "before_1", "input0", "target_0.250", "target_0.500", "target_0.750", "input1",
             "after_1", "after_2"]
    return [read_rgb(CASE / f"{n}.png").astype(np.float32) / 255 for n in names]


def test_a_flow_is_made_once_and_matches_a_direct_match():
    frames = _frames()
    size = (frames[0].shape[1], frames[0].shape[0])
    cache = FlowCache()
    first, back = cache.flows([(frames[0], frames[1]), (frames[1], frames[0])], size, 0)
    again, = cache.flows([(frames[0], frames[1])], size, 0)
    assert again is first
    direct, reverse = estimate_flow(to_gray8(frames[0]), to_gray8(frames[1]), 0)
    assert np.array_equal(first, direct) and np.array_equal(back, reverse)


def test_two_steps_are_composed_from_the_cached_steps():
    frames = _frames()
    size = (frames[0].shape[1], frames[0].shape[0])
    cache = FlowCache()
    composed = cache.composed(frames[2], frames[1], frames[0], size, 0)
    step1, step2 = cache.flows([(frames[2], frames[1]), (frames[1], frames[0])], size, 0)
    assert np.allclose(composed, step1 + backward_warp(step2, step1))
    # the composition lands where a direct two-frame match does, to within a pixel on most of the frame
    direct, _ = estimate_flow(to_gray8(frames[2]), to_gray8(frames[0]), 0)
    assert np.median(np.hypot(*(composed - direct).transpose(2, 0, 1))) < 0.5


def test_frames_and_their_flows_are_forgotten_beyond_the_capacity():
    frames = _frames()
    size = (frames[0].shape[1], frames[0].shape[0])
    cache = FlowCache(capacity=3)
    old, = cache.flows([(frames[0], frames[1])], size, 0)
    for k in range(2, 6):  # four more frames: frames 0 and 1 drop out
        cache.flows([(frames[k], frames[k + 1])], size, 0)
    fresh, = cache.flows([(frames[0], frames[1])], size, 0)
    assert fresh is not old and np.array_equal(fresh, old)
