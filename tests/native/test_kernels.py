"""segue.core.warp (native kernels) against segue.core.warp_ref (the numpy spec)."""
from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from segue import core
from segue.core import _native, warp, warp_ref

# Kernel and reference share float64 coordinates, float32-rounded weights and the
# summation order, so backward results agree to the last bit in practice; the
# tolerances leave room for a compiler's different libm/rounding on other hosts.
WARP_ATOL = 1e-5
# Splat sums in float64 in a different order than bincount; after normalising,
# out is a convex combination of float32 inputs in [0, 1).
SPLAT_ATOL = 1e-5
SPLAT_WEIGHT_RTOL = 1e-5
BLEND_ATOL = 1e-5

SIZES = [(1, 1), (1, 7), (7, 1), (2, 3), (33, 17), (64, 48)]
CHANNELS = [1, 2, 3, 4, 5]  # 5 exercises the generic (non-unrolled) channel loop


def rand_image(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    return rng.random((h, w, c), dtype=np.float32)


def rand_flow(rng: np.random.Generator, h: int, w: int, scale: float = 3.0) -> np.ndarray:
    """Fractional flow that often points past the borders, plus a few wild values."""
    flow = rng.uniform(-scale, scale, (h, w, 2)).astype(np.float32)
    wild = rng.random((h, w)) < 0.05
    flow[wild] = rng.uniform(-1e4, 1e4, (int(wild.sum()), 2)).astype(np.float32)
    return flow


def shifted_flow(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    flow = np.empty((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def threads() -> Iterator[Callable[[int], None]]:
    """Lets a test cap the kernel thread count; restores the default afterwards."""
    yield _native.set_num_threads
    _native.set_num_threads(0)


def test_constants_match_spec() -> None:
    assert warp.EPS == warp_ref.EPS == _native.EPS
    assert warp.METRIC_CLAMP == warp_ref.METRIC_CLAMP == _native.METRIC_CLAMP


# ------------------------------------------------------------------ backward_warp


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", CHANNELS)
def test_backward_warp_matches_reference(rng: np.random.Generator, h: int, w: int, c: int) -> None:
    image, flow = rand_image(rng, h, w, c), rand_flow(rng, h, w)
    got = warp.backward_warp(image, flow)
    assert got.shape == (h, w, c) and got.dtype == np.float32
    np.testing.assert_allclose(got, warp_ref.backward_warp(image, flow), rtol=0, atol=WARP_ATOL)


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", CHANNELS)
def test_backward_warp_zero_flow_is_identity(rng: np.random.Generator, h: int, w: int, c: int) -> None:
    image = rand_image(rng, h, w, c)
    zero = np.zeros((h, w, 2), np.float32)
    np.testing.assert_array_equal(warp.backward_warp(image, zero), image)
    np.testing.assert_array_equal(warp_ref.backward_warp(image, zero), image)


@pytest.mark.parametrize("dx,dy", [(3, -2), (-5, 0), (0, 4), (1, 1)])
@pytest.mark.parametrize("c", [1, 3, 4])
def test_backward_warp_integer_shift_is_exact(rng: np.random.Generator, dx: int, dy: int, c: int) -> None:
    h, w = 33, 17
    image = rand_image(rng, h, w, c)
    out = warp.backward_warp(image, shifted_flow(h, w, dx, dy))
    # out[y, x] = image[y + dy, x + dx] wherever that source lies inside.
    ys = slice(max(0, -dy), h - max(0, dy))
    xs = slice(max(0, -dx), w - max(0, dx))
    src_ys = slice(ys.start + dy, ys.stop + dy)
    src_xs = slice(xs.start + dx, xs.stop + dx)
    np.testing.assert_array_equal(out[ys, xs], image[src_ys, src_xs])


def test_backward_warp_far_outside_replicates_edges(rng: np.random.Generator) -> None:
    h, w = 9, 13
    image = rand_image(rng, h, w, 3)
    for dx, dy, expect in [
        (1e6, 0.0, np.repeat(image[:, -1:], w, axis=1)),
        (-1e6, 0.0, np.repeat(image[:, :1], w, axis=1)),
        (0.0, np.inf, np.repeat(image[-1:], h, axis=0)),
        (0.0, -np.inf, np.repeat(image[:1], h, axis=0)),
        (1e6, -1e6, np.broadcast_to(image[0, -1], image.shape)),
    ]:
        flow = shifted_flow(h, w, dx, dy)
        np.testing.assert_array_equal(warp.backward_warp(image, flow), expect)
        np.testing.assert_array_equal(warp_ref.backward_warp(image, flow), expect)


def test_backward_warp_nan_flow_counts_as_zero(rng: np.random.Generator) -> None:
    image = rand_image(rng, 5, 6, 2)
    flow = shifted_flow(5, 6, np.nan, np.nan)
    np.testing.assert_array_equal(warp.backward_warp(image, flow), image)
    np.testing.assert_array_equal(warp_ref.backward_warp(image, flow), image)


# ------------------------------------------------------------------ forward_splat


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", CHANNELS)
@pytest.mark.parametrize("mode", ["average", "softmax"])
def test_forward_splat_matches_reference(
    rng: np.random.Generator, h: int, w: int, c: int, mode: str
) -> None:
    image, flow = rand_image(rng, h, w, c), rand_flow(rng, h, w)
    metric = rng.uniform(-5, 5, (h, w)).astype(np.float32)
    out, weight = warp.forward_splat(image, flow, metric, mode)
    ref_out, ref_weight = warp_ref.forward_splat(image, flow, metric, mode)
    assert out.shape == (h, w, c) and out.dtype == np.float32
    assert weight.shape == (h, w) and weight.dtype == np.float32
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=SPLAT_ATOL)
    np.testing.assert_allclose(weight, ref_weight, rtol=SPLAT_WEIGHT_RTOL, atol=0)


@pytest.mark.parametrize("mode", ["average", "softmax"])
def test_forward_splat_zero_flow_is_identity(rng: np.random.Generator, mode: str) -> None:
    image = rand_image(rng, 33, 17, 3)
    metric = rng.uniform(-60, 60, (33, 17)).astype(np.float32)
    out, weight = warp.forward_splat(image, np.zeros((33, 17, 2), np.float32), metric, mode)
    np.testing.assert_array_equal(out, image)
    expected = np.ones((33, 17)) if mode == "average" else np.exp(np.clip(metric, -50, 50))
    np.testing.assert_allclose(weight, expected, rtol=1e-6)


@pytest.mark.parametrize("mode", ["average", "softmax"])
def test_forward_splat_integer_shift_translates_and_leaves_holes(
    rng: np.random.Generator, mode: str
) -> None:
    h, w, dx, dy = 20, 11, 2, 1
    image = rand_image(rng, h, w, 4)
    metric = rng.uniform(-3, 3, (h, w)).astype(np.float32)
    out, weight = warp.forward_splat(image, shifted_flow(h, w, dx, dy), metric, mode)
    np.testing.assert_array_equal(out[dy:, dx:], image[: h - dy, : w - dx])
    # Row 0 and columns 0..1 receive nothing: weight 0 and out exactly 0.
    hole = np.ones((h, w), bool)
    hole[dy:, dx:] = False
    assert np.all(weight[hole] == 0) and np.all(out[hole] == 0)
    assert np.all(weight[~hole] > 0)


def test_forward_splat_everything_outside_is_all_holes(rng: np.random.Generator) -> None:
    image = rand_image(rng, 7, 9, 3)
    for dx, dy in [(1e6, 0), (-9.5, 0), (0, 7.0), (np.nan, 0), (np.inf, -np.inf)]:
        out, weight = warp.forward_splat(image, shifted_flow(7, 9, dx, dy))
        assert not weight.any() and not out.any()


def test_forward_splat_softmax_large_metrics(rng: np.random.Generator) -> None:
    h, w = 24, 31
    image, flow = rand_image(rng, h, w, 3), rand_flow(rng, h, w, scale=6.0)
    metric = rng.uniform(-1e4, 1e4, (h, w)).astype(np.float32)
    metric[0, :5] = [np.inf, -np.inf, 1e38, -1e38, np.nan]
    out, weight = warp.forward_splat(image, flow, metric, "softmax")
    ref_out, ref_weight = warp_ref.forward_splat(image, flow, metric, "softmax")
    assert np.isfinite(out).all() and np.isfinite(weight).all()
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=SPLAT_ATOL)
    np.testing.assert_allclose(weight, ref_weight, rtol=SPLAT_WEIGHT_RTOL, atol=0)


def test_forward_splat_softmax_winner_takes_collision() -> None:
    # Pixels 0 and 2 both land on pixel 1; metric +1000 vs -1000 clamp to +-50.
    image = np.array([[[0.25], [0.5], [1.0]]], np.float32)
    flow = np.array([[[1, 0], [5, 0], [-1, 0]]], np.float32)  # pixel 1 leaves
    metric = np.array([[1000, 0, -1000]], np.float32)
    out, weight = warp.forward_splat(image, flow, metric, "softmax")
    assert weight[0, 1] == pytest.approx(np.exp(50.0) + np.exp(-50.0), rel=1e-6)
    assert out[0, 1, 0] == pytest.approx(0.25, abs=1e-12)
    avg, _ = warp.forward_splat(image, flow, metric, "average")
    assert avg[0, 1, 0] == pytest.approx(0.625)


def test_forward_splat_many_collisions(rng: np.random.Generator) -> None:
    # Everything converges on a few pixels: long float64 sums in a different order.
    h, w = 64, 80
    ys, xs = np.indices((h, w), dtype=np.float32)
    flow = np.stack([w / 2 - xs + 0.3, h / 2 - ys + 0.7], axis=-1).astype(np.float32)
    image = rand_image(rng, h, w, 3)
    metric = rng.uniform(-50, 50, (h, w)).astype(np.float32)
    for mode in ("average", "softmax"):
        out, weight = warp.forward_splat(image, flow, metric, mode)
        ref_out, ref_weight = warp_ref.forward_splat(image, flow, metric, mode)
        np.testing.assert_allclose(out, ref_out, rtol=0, atol=SPLAT_ATOL)
        np.testing.assert_allclose(weight, ref_weight, rtol=SPLAT_WEIGHT_RTOL, atol=0)


def test_forward_splat_is_deterministic_across_runs_and_thread_counts(
    rng: np.random.Generator, threads: Callable[[int], None]
) -> None:
    h, w = 301, 203
    image, flow = rand_image(rng, h, w, 3), rand_flow(rng, h, w, scale=40.0)
    metric = rng.uniform(-20, 20, (h, w)).astype(np.float32)
    for mode in ("average", "softmax"):
        threads(1)
        base_out, base_weight = warp.forward_splat(image, flow, metric, mode)
        for n in (0, 2, 3, 5, 8, 0):
            threads(n)
            out, weight = warp.forward_splat(image, flow, metric, mode)
            assert out.tobytes() == base_out.tobytes(), (mode, n)
            assert weight.tobytes() == base_weight.tobytes(), (mode, n)


def test_forward_splat_mode_and_metric_errors(rng: np.random.Generator) -> None:
    image, flow = rand_image(rng, 4, 5, 3), np.zeros((4, 5, 2), np.float32)
    with pytest.raises(ValueError, match="mode"):
        warp.forward_splat(image, flow, None, "max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="metric"):
        warp.forward_splat(image, flow, None, "softmax")


# ------------------------------------------------------------------ warp_blend


def blend_args(rng: np.random.Generator, h: int, w: int, c: int) -> dict[str, np.ndarray]:
    w0 = rng.random((h, w), dtype=np.float32)
    w1 = rng.random((h, w), dtype=np.float32)
    w0[rng.random((h, w)) < 0.2] = 0
    w1[rng.random((h, w)) < 0.2] = 0
    return {
        "img0": rand_image(rng, h, w, c),
        "img1": rand_image(rng, h, w, c),
        "flow_t0": rand_flow(rng, h, w),
        "flow_t1": rand_flow(rng, h, w),
        "w0": w0,
        "w1": w1,
    }


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", CHANNELS)
@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 1.0])
def test_warp_blend_matches_reference(rng: np.random.Generator, h: int, w: int, c: int, t: float) -> None:
    args = blend_args(rng, h, w, c)
    got = warp.warp_blend(**args, t=t)
    assert got.shape == (h, w, c) and got.dtype == np.float32
    np.testing.assert_allclose(got, warp_ref.warp_blend(**args, t=t), rtol=0, atol=BLEND_ATOL)


def test_warp_blend_falls_back_to_plain_blend_without_weights(rng: np.random.Generator) -> None:
    args = blend_args(rng, 9, 8, 3)
    args["w0"][:] = 0
    args["w1"][:] = 0
    a0 = warp.backward_warp(args["img0"], args["flow_t0"])
    a1 = warp.backward_warp(args["img1"], args["flow_t1"])
    got = warp.warp_blend(**args, t=0.25)
    np.testing.assert_allclose(got, 0.75 * a0 + 0.25 * a1, rtol=0, atol=BLEND_ATOL)


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", [1, 3, 4])
def test_warp_blend_endpoints_return_inputs(rng: np.random.Generator, h: int, w: int, c: int) -> None:
    args = blend_args(rng, h, w, c)
    zero = np.zeros((h, w, 2), np.float32)
    np.testing.assert_array_equal(warp.warp_blend(**{**args, "flow_t0": zero}, t=0.0), args["img0"])
    np.testing.assert_array_equal(warp.warp_blend(**{**args, "flow_t1": zero}, t=1.0), args["img1"])
    np.testing.assert_array_equal(warp_ref.warp_blend(**{**args, "flow_t0": zero}, t=0.0), args["img0"])
    np.testing.assert_array_equal(warp_ref.warp_blend(**{**args, "flow_t1": zero}, t=1.0), args["img1"])


@pytest.mark.parametrize("t", [-0.01, 1.0001, float("nan"), float("inf")])
def test_warp_blend_rejects_t_outside_unit_interval(rng: np.random.Generator, t: float) -> None:
    args = blend_args(rng, 3, 4, 3)
    with pytest.raises(ValueError, match="t must be within"):
        warp.warp_blend(**args, t=t)
    with pytest.raises(ValueError, match="t must be within"):
        warp_ref.warp_blend(**args, t=t)


# ------------------------------------------------------------------ warp_blend_pair


def pair_args(rng: np.random.Generator, h: int, w: int, c: int) -> dict[str, np.ndarray]:
    return {
        "img0": rand_image(rng, h, w, c),
        "img1": rand_image(rng, h, w, c),
        **{name: rand_flow(rng, h, w) for name in ("flow_a0", "flow_a1", "flow_b0", "flow_b1")},
    }


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("c", CHANNELS)
@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 1.0])
def test_warp_blend_pair_matches_reference(rng: np.random.Generator, h: int, w: int, c: int, t: float) -> None:
    args = pair_args(rng, h, w, c)
    got = warp.warp_blend_pair(**args, t=t)
    assert got.shape == (h, w, c) and got.dtype == np.float32
    np.testing.assert_allclose(got, warp_ref.warp_blend_pair(**args, t=t), rtol=0, atol=BLEND_ATOL)


def test_warp_blend_pair_is_the_mean_of_two_unweighted_blends(rng: np.random.Generator) -> None:
    args = pair_args(rng, 33, 17, 3)
    ones = np.ones((33, 17), np.float32)
    a = warp.warp_blend(args["img0"], args["img1"], args["flow_a0"], args["flow_a1"], ones, ones, 0.3)
    b = warp.warp_blend(args["img0"], args["img1"], args["flow_b0"], args["flow_b1"], ones, ones, 0.3)
    np.testing.assert_allclose(warp.warp_blend_pair(**args, t=0.3), 0.5 * (a + b), rtol=0, atol=BLEND_ATOL)


@pytest.mark.parametrize("h,w", SIZES)
def test_warp_blend_pair_endpoints_return_inputs(rng: np.random.Generator, h: int, w: int) -> None:
    args = pair_args(rng, h, w, 3)
    zero = np.zeros((h, w, 2), np.float32)
    for fn in (warp.warp_blend_pair, warp_ref.warp_blend_pair):
        np.testing.assert_array_equal(fn(**{**args, "flow_a0": zero, "flow_b0": zero}, t=0.0), args["img0"])
        np.testing.assert_array_equal(fn(**{**args, "flow_a1": zero, "flow_b1": zero}, t=1.0), args["img1"])


@pytest.mark.parametrize("t", [-0.01, 1.0001, float("nan"), float("inf")])
def test_warp_blend_pair_rejects_t_outside_unit_interval(rng: np.random.Generator, t: float) -> None:
    args = pair_args(rng, 3, 4, 3)
    for fn in (warp.warp_blend_pair, warp_ref.warp_blend_pair):
        with pytest.raises(ValueError, match="t must be within"):
            fn(**args, t=t)


# ------------------------------------------------------------------ argument checks

H, W = 6, 5


def valid_calls(rng: np.random.Generator) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    image = rand_image(rng, H, W, 3)
    flow = rand_flow(rng, H, W)
    return {
        "backward_warp": (warp.backward_warp, {"image": image, "flow": flow}),
        "forward_splat": (
            warp.forward_splat,
            {"image": image, "flow": flow, "metric": rng.random((H, W), dtype=np.float32),
             "mode": "softmax"},
        ),
        "warp_blend": (warp.warp_blend, {**blend_args(rng, H, W, 3), "t": 0.5}),
        "warp_blend_pair": (warp.warp_blend_pair, {**pair_args(rng, H, W, 3), "t": 0.5}),
    }


def unaligned_copy(a: np.ndarray) -> np.ndarray:
    buf = np.zeros(a.nbytes + 1, np.uint8)
    view = buf[1:].view(np.float32).reshape(a.shape)
    view[...] = a
    return view


def _non_contiguous(a: np.ndarray) -> np.ndarray:
    return np.repeat(a, 2, axis=1)[:, ::2]


def _wrong_ndim(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim == 3 else a[..., None]


BREAKERS: dict[str, tuple[Callable[[np.ndarray], Any], type[Exception]]] = {
    "float64": (lambda a: a.astype(np.float64), TypeError),
    "float16": (lambda a: a.astype(np.float16), TypeError),
    "byteswapped": (lambda a: a.astype(">f4"), TypeError),
    "list": (lambda a: a.tolist(), TypeError),
    "non_contiguous": (_non_contiguous, ValueError),
    "fortran_order": (np.asfortranarray, ValueError),
    "unaligned": (unaligned_copy, ValueError),
    "wrong_ndim": (_wrong_ndim, ValueError),
    "wrong_height": (lambda a: np.ascontiguousarray(a[:-1]), ValueError),
    "wrong_width": (lambda a: np.ascontiguousarray(a[:, :-1]), ValueError),
}

ARRAY_ARGS = [
    ("backward_warp", "image"),
    ("backward_warp", "flow"),
    ("forward_splat", "image"),
    ("forward_splat", "flow"),
    ("forward_splat", "metric"),
    ("warp_blend", "img0"),
    ("warp_blend", "img1"),
    ("warp_blend", "flow_t0"),
    ("warp_blend", "flow_t1"),
    ("warp_blend", "w0"),
    ("warp_blend", "w1"),
    *(("warp_blend_pair", arg) for arg in ("img0", "img1", "flow_a0", "flow_a1", "flow_b0", "flow_b1")),
]
# The first image defines H, W: shrinking it blames the argument checked against it.
BLAMED_INSTEAD = {"image": "flow", "img0": "img1"}


@pytest.mark.parametrize("kernel,arg", ARRAY_ARGS)
@pytest.mark.parametrize("breaker", sorted(BREAKERS))
def test_bad_arguments_raise_naming_the_argument(
    rng: np.random.Generator, kernel: str, arg: str, breaker: str
) -> None:
    fn, kwargs = valid_calls(rng)[kernel]
    transform, error = BREAKERS[breaker]
    kwargs[arg] = transform(kwargs[arg])
    blamed = arg
    if breaker.startswith("wrong_") and breaker != "wrong_ndim":
        blamed = BLAMED_INSTEAD.get(arg, arg)
    with pytest.raises(error, match=rf"^{blamed} must be a C-contiguous float32 array"):
        fn(**kwargs)


@pytest.mark.parametrize("kernel,arg", [("backward_warp", "flow"), ("forward_splat", "flow"),
                                        ("warp_blend", "flow_t0"), ("warp_blend", "flow_t1"),
                                        ("warp_blend_pair", "flow_a0"), ("warp_blend_pair", "flow_b1")])
def test_flow_needs_two_channels(rng: np.random.Generator, kernel: str, arg: str) -> None:
    fn, kwargs = valid_calls(rng)[kernel]
    kwargs[arg] = np.zeros((H, W, 3), np.float32)
    with pytest.raises(ValueError, match=rf"^{arg} must be .*\(H, W, 2\).*got shape \(6, 5, 3\)"):
        fn(**kwargs)


def test_images_must_agree_in_channels(rng: np.random.Generator) -> None:
    fn, kwargs = valid_calls(rng)["warp_blend"]
    kwargs["img1"] = rand_image(rng, H, W, 4)
    with pytest.raises(ValueError, match=r"^img1 must .*C=3"):
        fn(**kwargs)


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0, 3), (5, 4, 0)])
def test_empty_images_raise(shape: tuple[int, int, int]) -> None:
    image = np.zeros(shape, np.float32)
    flow = np.zeros((*shape[:2], 2), np.float32)
    with pytest.raises(ValueError, match="^image must"):
        warp.backward_warp(image, flow)
    with pytest.raises(ValueError, match="^image must"):
        warp.forward_splat(image, flow)


def test_error_message_reports_shape_and_strides(rng: np.random.Generator) -> None:
    flow = np.zeros((H, W, 2), np.float32)
    with pytest.raises(ValueError) as info:
        warp.backward_warp(rand_image(rng, H, W, 3), np.asfortranarray(flow))
    msg = str(info.value)
    assert "got shape (6, 5, 2), dtype float32, strides (4, 24, 120)" in msg


def test_missing_extension_tells_how_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "segue.core._native", None)  # makes the import fail
    monkeypatch.delattr(core, "_native")
    monkeypatch.delitem(sys.modules, "segue.core.warp")
    with pytest.raises(ImportError, match=r"pip install \."):
        importlib.import_module("segue.core.warp")


# ------------------------------------------------------------------ GIL


def _big_calls() -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(7)
    h, w = 1024, 1536
    image = rand_image(rng, h, w, 3)
    flow = rng.uniform(-4, 4, (h, w, 2)).astype(np.float32)
    ones = np.ones((h, w), np.float32)
    return {
        "backward_warp": lambda: warp.backward_warp(image, flow),
        "forward_splat": lambda: warp.forward_splat(image, flow, ones, "softmax"),
        "warp_blend": lambda: warp.warp_blend(image, image, flow, flow, ones, ones, 0.5),
        "warp_blend_pair": lambda: warp.warp_blend_pair(image, image, flow, flow, flow, flow, 0.5),
    }


def _run_between(started: threading.Event, call: Callable[[], object], finished: threading.Event) -> None:
    started.set()
    call()
    finished.set()


@pytest.mark.parametrize("kernel", ["backward_warp", "forward_splat", "warp_blend", "warp_blend_pair"])
def test_kernels_release_the_gil(kernel: str, threads: Callable[[int], None]) -> None:
    """The main thread must run Python while a kernel is still running.

    With a huge switch interval Python never takes the GIL from a thread by force,
    so the main thread, woken by `started`, can only run once the worker gives the
    GIL up. If the kernel kept it, the main thread would always find `finished`
    already set (a deterministic failure); if it releases it, the main thread
    normally gets in while the kernel is still busy. Retrying covers a heavily
    loaded machine delaying the wake-up.
    """
    call = _big_calls()[kernel]
    threads(1)  # longest kernel time, so the main thread has the most room to get in
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        observed_running = 0
        for _ in range(5):
            started, finished = threading.Event(), threading.Event()
            thread = threading.Thread(target=_run_between, args=(started, call, finished))
            thread.start()
            started.wait()
            if not finished.is_set():
                observed_running += 1
            thread.join()
            if observed_running:
                break
        assert observed_running, f"{kernel} held the GIL for its whole run"
    finally:
        sys.setswitchinterval(old_interval)
