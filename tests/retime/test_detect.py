"""Scene-cut score and decision, held-frame distance: on real texture with known changes.

The texture is Big Buck Bunny (tests/fixtures); "dark" frames are the same frames graded
like a night scene or a trailer (levels squeezed into 0.02-0.18, requantised to 8 bits).
"""
from __future__ import annotations

import numpy as np
from retime_clips import pan, texture

from segue.core.retime import duplicates, scenes


def as_float(frames):
    return [f.astype(np.float32) / 255.0 for f in frames]


def dark(frame: np.ndarray) -> np.ndarray:
    """A [0, 1] frame graded dark and flat, then quantised to 8-bit levels again as a file would be."""
    return (np.round((0.02 + 0.16 * np.clip(frame, 0, 1)) * 255) / 255).astype(np.float32)


def cues(a: np.ndarray, b: np.ndarray) -> scenes.Cues:
    return scenes.scene_cues(scenes.scene_frame(a), scenes.scene_frame(b))


def test_fast_motion_scores_low_and_a_cut_scores_high():
    fast = as_float(pan(texture(0), 2, dx=14, dy=4))  # a fast pan: 14 px per frame at 192 px
    other = as_float(pan(texture(1), 1))
    motion = scenes.scene_score(scenes.scene_frame(fast[0]), scenes.scene_frame(fast[1]))
    cut = scenes.scene_score(scenes.scene_frame(fast[1]), scenes.scene_frame(other[0]))
    plain_difference = float(np.abs(fast[0] - fast[1]).mean())
    assert plain_difference > 0.06  # a frame difference alone would call the pan a cut
    assert motion < scenes.SCENE_THRESHOLD / 2 < scenes.SCENE_THRESHOLD * 2 < cut


def test_a_dark_low_contrast_cut_is_found_where_the_motion_score_misses_it():
    fast = as_float(pan(texture(0), 2, dx=14, dy=4))
    other = as_float(pan(texture(1), 1))
    cut = cues(dark(fast[1]), dark(other[0]))
    bright_cut = cues(fast[1], other[0])
    # Grading shrinks the pixel differences, so the motion cue alone falls below the threshold ...
    assert cut.motion < scenes.SCENE_THRESHOLD < bright_cut.motion
    # ... but the block structure still disagrees, and the combined score finds the cut.
    assert cut.structure > 0.4 and cut.score >= scenes.SCENE_THRESHOLD * 1.5
    assert bright_cut.score >= bright_cut.motion  # the second cue never lowers a score
    pan_dark = cues(dark(fast[0]), dark(fast[1]))  # the same fast pan, graded: still motion
    assert pan_dark.score < scenes.SCENE_THRESHOLD / 4


def test_a_flash_is_not_made_a_cut_by_the_structure_cue():
    shot = as_float(pan(texture(0), 2, dx=2, dy=1))
    before, flash = dark(shot[0]), np.clip(dark(shot[1]) * 1.5, 0, 1)  # a flash on a dark shot: a gain
    c = cues(before, flash)
    assert c.motion * c.gain >= scenes.SCENE_THRESHOLD  # contrast-corrected, the residual alone would call it
    assert c.structure < 0.1  # but a gain leaves every block's correlation intact
    assert c.score < scenes.SCENE_THRESHOLD
    bright = cues(shot[0], np.clip(shot[1] * 1.5, 0, 1))  # on a bright shot the motion cue calls it, as before
    assert bright.score == bright.motion >= scenes.SCENE_THRESHOLD


def test_near_misses_are_the_non_cuts_close_to_the_threshold():
    quiet = [0.01] * 10
    scores = quiet[:3] + [0.045] + quiet[3:6] + [0.2] + quiet[6:]
    misses = scenes.near_misses(scores)
    assert [(m.position, m.why) for m in misses] == [(3, "below threshold")]  # the cut at 7 is not one
    assert misses[0].score == 0.045
    assert scenes.near_misses(quiet[:3] + [0.025] + quiet[3:]) == []  # under half the threshold: not near
    sustained = scenes.near_misses([0.2] * 8)
    assert len(sustained) == 8 and {m.why for m in sustained} == {"not a peak"}
    ranked = scenes.near_misses(quiet[:3] + [0.04] + quiet[3:6] + [0.05] + quiet[6:])
    assert [m.position for m in ranked] == [7, 3]  # highest first


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
