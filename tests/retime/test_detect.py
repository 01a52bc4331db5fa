"""Scene-cut score and decision, held-frame distance: on real texture with known changes."""
from __future__ import annotations

import numpy as np
from retime_clips import pan, texture

from segue.core.retime import duplicates, scenes


def as_float(frames):
    return [f.astype(np.float32) / 255.0 for f in frames]


def test_fast_motion_scores_low_and_a_cut_scores_high():
    fast = as_float(pan(texture(0), 2, dx=14, dy=4))  # a fast pan: 14 px per frame at 192 px
    other = as_float(pan(texture(1), 1))
    motion = scenes.scene_score(scenes.scene_frame(fast[0]), scenes.scene_frame(fast[1]))
    cut = scenes.scene_score(scenes.scene_frame(fast[1]), scenes.scene_frame(other[0]))
    plain_difference = float(np.abs(fast[0] - fast[1]).mean())
    assert plain_difference > 0.06  # a frame difference alone would call the pan a cut
    assert motion < scenes.SCENE_THRESHOLD / 2 < scenes.SCENE_THRESHOLD * 2 < cut


def test_find_cuts_needs_a_peak_above_its_neighbourhood():
    quiet = [0.01] * 10
    assert scenes.find_cuts(quiet[:5] + [0.2] + quiet[5:]) == [5]
    assert scenes.find_cuts(quiet[:5] + [0.2, 0.2] + quiet[5:]) == [5, 6]  # a one-frame flash: both sides
    assert scenes.find_cuts([0.2] * 12) == []  # sustained chaos is not a cut
    assert scenes.find_cuts(quiet[:5] + [0.05] + quiet[5:]) == []  # below the threshold
    assert scenes.find_cuts(quiet[:5] + [0.05] + quiet[5:], threshold=0.04) == [5]
    assert scenes.find_cuts([0.3]) == [0]


def test_repeated_frame_with_noise_is_a_duplicate_but_a_small_change_is_not():
    rng = np.random.default_rng(1)
    a = as_float(pan(texture(0), 1))[0]
    noisy = np.clip(a + rng.normal(0, 0.01, a.shape).astype(np.float32), 0, 1)  # compression-like noise
    assert duplicates.is_duplicate(a, noisy)
    mouth = a.copy()
    mouth[50:60, 90:102] = 1.0 - mouth[50:60, 90:102]  # a 12x10 patch changes: a new drawing
    assert not duplicates.is_duplicate(a, mouth)
    moved = as_float(pan(texture(0), 2, dx=1, dy=0))[1]  # one pixel of real motion
    assert not duplicates.is_duplicate(a, moved)
