"""The synthetic generator's ground truth is consistent with its input frames."""
from __future__ import annotations

import numpy as np
import pytest

from segue.core.errors import InputError
from segue.training.photos import PhotoLibrary, resolve_sources
from segue.training.synthetic import Layer, Scene, generate_pair, make_scene, render


@pytest.fixture(scope="module")
def photos() -> PhotoLibrary:
    return PhotoLibrary(["skimage"], max_side=512)


def test_inputs_are_the_renders_at_0_and_1(photos):
    # With no noise or compression drawn, the degraded inputs are the exact renders at 0 and 1.
    for seed in range(40):
        rng = np.random.default_rng(seed)
        pair = generate_pair(np.random.default_rng(seed), photos, 96, 20.0, 2)
        scene = make_scene(rng, photos, 96, 20.0)
        rng.uniform(0.05, 0.95, 2)
        if rng.random() >= 0.5 and rng.random() >= 0.3:  # the draws generate_pair makes next
            for s, frame in ((0.0, pair.frame0), (1.0, pair.frame1)):
                expected = np.clip(render(scene, s) * 255 + 0.5, 0, 255).astype(np.uint8)
                np.testing.assert_array_equal(frame, expected)
            for t, target in zip(pair.times, pair.targets):
                expected = np.clip(render(scene, float(t)) * 255 + 0.5, 0, 255).astype(np.uint8)
                np.testing.assert_array_equal(target, expected)
            return
    pytest.fail("no clean pair drawn in 40 seeds")


def test_a_translating_sprite_moves_exactly_with_t():
    size = 64
    yy, xx = np.mgrid[0:size, 0:size]
    bg = np.stack([xx / size, yy / size, np.full_like(xx, 0.5, dtype=float)], -1).astype(np.float32)
    tex = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    alpha = np.ones((16, 16), np.float32)
    sprite = Layer(tex, alpha, pos=np.array([20.5, 30.5]), vel=np.array([16.0, -8.0]))
    static_bg = Layer(bg, None, pos=np.array([(size - 1) / 2, (size - 1) / 2]))
    scene = Scene([static_bg, sprite], size)
    for t in (0.0, 0.25, 0.5, 1.0):
        frame = render(scene, t)
        x0, y0 = int(13 + 16 * t), int(23 - 8 * t)
        np.testing.assert_allclose(frame[y0:y0 + 16, x0:x0 + 16], tex, atol=1e-6)
        np.testing.assert_allclose(frame[:, :5], bg[:, :5], atol=1e-6)  # the background stays put


def test_a_still_scene_is_the_same_at_every_time(photos):
    tex = photos.photos[0][:80, :80].astype(np.float32) / 255
    scene = Scene([Layer(tex, None, pos=np.array([31.5, 31.5]))], 64)
    np.testing.assert_array_equal(render(scene, 0.0), render(scene, 0.7))


def test_a_locked_off_camera_keeps_the_background_still(photos):
    size = 64
    for seed in range(4):
        scene = make_scene(np.random.default_rng(seed), photos, size, 20.0, static_camera=1.0)
        background = Scene(scene.layers[:1], size)
        np.testing.assert_array_equal(render(background, 0.0), render(background, 1.0))
        assert any(not np.allclose(layer.pose(0.0), layer.pose(1.0)) for layer in scene.layers[1:])
    # Without it the background always moves (at least its small spin); with it, the same
    # seed draws the same scene but for the background's motion (its draw happens only when
    # asked, so scenes and cached pairs made without it are unchanged).
    moving = make_scene(np.random.default_rng(0), photos, size, 20.0)
    still = make_scene(np.random.default_rng(0), photos, size, 20.0, static_camera=1.0)
    assert not np.allclose(moving.layers[0].pose(0.0), moving.layers[0].pose(1.0))
    np.testing.assert_array_equal(moving.layers[0].pose(0.0), still.layers[0].pose(0.0))
    assert len(moving.layers) == len(still.layers)
    assert all(np.array_equal(a.pose(1.0), b.pose(1.0)) for a, b in zip(moving.layers[1:], still.layers[1:]))


def test_validation_material_is_refused(tmp_path):
    with pytest.raises(InputError, match="validation-only"):
        resolve_sources(["../shared/data"])
    with pytest.raises(InputError, match="not found"):
        resolve_sources([str(tmp_path / "nothing")])
