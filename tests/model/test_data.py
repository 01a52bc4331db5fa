"""Training data: the cache, deterministic batches, augmentations that keep features valid, footage windows."""
from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
from conftest import FIXTURES, encode_movie

from segue.core.cases import is_usable
from segue.core.errors import InputError
from segue.core.flow import FlowPair
from segue.core.intermediate import linear, reversed_, splat_metrics
from segue.core.model import features
from segue.training.data import (
    _FLOW_X,
    _FLOW_Y,
    _REVERSE,
    _TRANSPOSE,
    Batches,
    build_cache,
    load_pair,
    pair_features,
    source_key,
)
from segue.training.footage import expand_clips, footage_pairs


def _features(img0, img1, flows, t):
    return features.build(img0, img1, flows, linear(flows, t), reversed_(flows, t, splat_metrics(img0, img1, flows)), t)


def _random_case():
    rng = np.random.default_rng(0)
    img0, img1 = rng.random((24, 32, 3), dtype=np.float32), rng.random((24, 32, 3), dtype=np.float32)
    f01 = rng.normal(0, 2, (24, 32, 2)).astype(np.float32)
    f10 = rng.normal(0, 2, (24, 32, 2)).astype(np.float32)
    c0, c1 = rng.random((24, 32), dtype=np.float32), rng.random((24, 32), dtype=np.float32)
    return img0, img1, f01, f10, c0, c1


def test_temporal_reversal_permutation_matches_swapped_inputs():
    img0, img1, f01, f10, c0, c1 = _random_case()
    t = 0.3
    forward = _features(img0, img1, FlowPair(f01, f10, c0, c1), t)
    backward = _features(img1, img0, FlowPair(f10, f01, c1, c0), 1 - t)
    permuted = forward[..., _REVERSE].copy()
    permuted[..., features.T_CHANNEL] = 1 - t
    np.testing.assert_allclose(permuted, backward, atol=1e-5)


def test_flip_and_transpose_of_features_match_features_of_flipped_inputs():
    img0, img1, f01, f10, c0, c1 = _random_case()
    t = 0.6
    forward = _features(img0, img1, FlowPair(f01, f10, c0, c1), t)

    for axis, component in ((1, _FLOW_X), (0, _FLOW_Y)):
        sign = np.array([-1, 1] if axis == 1 else [1, -1], np.float32)

        def flip(a, axis=axis):
            return np.ascontiguousarray(np.flip(a, axis))

        flipped = _features(flip(img0), flip(img1), FlowPair(flip(f01) * sign, flip(f10) * sign, flip(c0), flip(c1)), t)
        want = flip(forward)
        want[..., component] *= -1
        # splatting sums in another order after a flip: rounding only
        np.testing.assert_allclose(want, flipped, atol=1e-4)

    def transpose_flow(f):
        return np.ascontiguousarray(f.transpose(1, 0, 2)[..., ::-1])

    transposed = _features(img0.transpose(1, 0, 2).copy(), img1.transpose(1, 0, 2).copy(),
                           FlowPair(transpose_flow(f01), transpose_flow(f10), c0.T.copy(), c1.T.copy()), t)
    np.testing.assert_allclose(forward.transpose(1, 0, 2)[..., _TRANSPOSE], transposed, atol=1e-4)


def test_batches_are_a_function_of_the_step(tmp_path):
    sources = [{"kind": "synthetic", "count": 3, "photos": ["skimage"], "max_motion": 6.0, "times_per_pair": 2}]
    files = build_cache(sources, tmp_path, 48, 5, log=lambda m: None)
    assert len(files) == 3 and build_cache(sources, tmp_path, 48, 5, log=lambda m: None) == files
    a = Batches(files, 2, 40, 5)
    x5, y5 = a.get(5)
    a.get(0)
    x5b, _ = Batches(files, 2, 40, 5).get(5)
    assert x5.shape == (2, 29, 40, 40) and y5.shape == (2, 3, 40, 40)
    np.testing.assert_array_equal(x5, x5b)
    assert not np.array_equal(x5, a.get(6)[0])
    feats, target = pair_features(np.load(files[0]), 0)
    assert feats.shape == (48, 48, 29) and target.shape == (48, 48, 3)


def test_a_source_with_its_own_seed_draws_other_scenes(tmp_path):
    base = {"kind": "synthetic", "count": 1, "photos": ["skimage"], "max_motion": 6.0, "times_per_pair": 1}
    run_seed, = (load_pair(f)["frame0"] for f in build_cache([base], tmp_path, 48, 5, log=lambda m: None))
    same, = (load_pair(f)["frame0"] for f in build_cache([{**base, "seed": 5}], tmp_path, 48, 5, log=lambda m: None))
    own, = (load_pair(f)["frame0"] for f in build_cache([{**base, "seed": 6}], tmp_path, 48, 5, log=lambda m: None))
    np.testing.assert_array_equal(run_seed, same)
    assert not np.array_equal(run_seed, own)


def test_footage_windows_skip_static_and_cut_windows(tmp_path):
    # An image sequence from the fixture frames (real footage, only to exercise the reader here).
    frame = cv2.imread(str(FIXTURES / "bbb" / "bbb.0036.png"))
    other = cv2.imread(str(FIXTURES / "bbb" / "bbb.0042.png"))[::-1]
    shots = [np.roll(frame, 3 * i, axis=1) for i in range(6)] + [other] * 6
    for i, img in enumerate(shots):
        cv2.imwrite(str(tmp_path / f"shot.{i:04d}.png"), img)
    as_float = [cv2.cvtColor(s, cv2.COLOR_BGR2RGB).astype(np.float32) / 255 for s in shots]
    assert is_usable(as_float[0:4])
    assert not is_usable(as_float[4:8])  # a cut
    assert not is_usable(as_float[5:8]) and not is_usable(as_float[4:7])  # a cut in a 3-frame window
    assert not is_usable(as_float[7:11])  # static
    stream = footage_pairs([str(tmp_path / "shot.%04d.png")], 64, seed=1)
    for _ in range(3):
        f0, f1, times, targets = next(stream)
        assert f0.shape == f1.shape == (64, 64, 3) and f0.dtype == np.uint8
        n = len(times) + 2
        np.testing.assert_allclose(times, np.arange(1, n - 1) / (n - 1), rtol=1e-6)
        assert targets.shape == (len(times), 64, 64, 3)


def test_a_folder_of_clips_trains_on_every_movie_in_it(tmp_path):
    frames = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
    clips = tmp_path / "clips"
    (clips / "day2").mkdir(parents=True)
    encode_movie(frames, clips / "take1.mp4")
    encode_movie(frames[::-1], clips / "day2" / "take2.mov")
    (clips / "._take1.mp4").write_bytes(b"\0" * 64)  # a macOS companion file, not a movie
    cv2.imwrite(str(clips / "poster.png"), cv2.imread(str(frames[0])))
    frame_folder = tmp_path / "frames"
    frame_folder.mkdir()
    cv2.imwrite(str(frame_folder / "f.0001.png"), cv2.imread(str(frames[0])))

    movies = [str(clips / "day2" / "take2.mov"), str(clips / "take1.mp4")]
    assert expand_clips([str(clips), str(frame_folder)]) == movies + [str(frame_folder)]
    f0, _, times, targets = next(footage_pairs([str(clips)], 64, seed=1))
    assert f0.shape == (64, 64, 3) and targets.shape == (len(times), 64, 64, 3)
    # The cache key follows the folder's content ...
    source = {"kind": "footage", "count": 4, "paths": [str(clips)]}
    before = source_key(source, 64, 1)
    encode_movie(frames, clips / "take3.mp4")
    assert source_key(source, 64, 1) != before
    # ... while a list of files keeps the key it had before folders of clips existed, so
    # existing caches stay valid.
    listed = {"kind": "footage", "count": 4, "paths": movies}
    old_key = hashlib.sha256(json.dumps([{"kind": "footage", "paths": movies}, 64, 1], sort_keys=True).encode())
    assert source_key(listed, 64, 1) == "footage-" + old_key.hexdigest()[:12]


def test_context_pairs_carry_the_engines_motion_and_their_features_follow_it(tmp_path):
    base = {"kind": "synthetic", "count": 2, "photos": ["skimage"], "max_motion": 12.0, "times_per_pair": 2}
    plain = [load_pair(f) for f in build_cache([base], tmp_path, 64, 5, log=lambda m: None)]
    curved = [load_pair(f) for f in build_cache([{**base, "context": True}], tmp_path, 64, 5, log=lambda m: None)]
    for p, c in zip(plain, curved):
        # the same scenes (context is drawn last), now with the accelerations fitted to their context
        np.testing.assert_array_equal(p["frame0"], c["frame0"])
        np.testing.assert_array_equal(p["targets"], c["targets"])
        assert "accel0" not in p and c["accel0"].shape == (64, 64, 2) and c["accel1"].shape == (64, 64, 2)
    moving = [c for c in curved if np.abs(c["accel0"].astype(np.float32)).max() > 0.5]
    assert moving, "the generator's curved paths give some acceleration"
    straight = {k: v for k, v in moving[0].items() if not k.startswith("accel")}
    assert not np.allclose(pair_features(moving[0], 0)[0], pair_features(straight, 0)[0])


@pytest.mark.parametrize("name", ["cityCC0.mpg", "Megamind.avi"])
def test_the_held_out_clips_are_refused_for_training(tmp_path, name):
    held_out = tmp_path / name
    held_out.write_bytes(b"")
    with pytest.raises(InputError, match="validation-only"):
        next(footage_pairs([str(held_out)], 64, seed=1))
