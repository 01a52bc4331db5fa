"""Time the native warp kernels against their numpy reference at 1920x1080x3.

    python bench/bench_kernel.py [--runs 5] [--threads 0] [--size 1920x1080] [--channels 3]

Prints the median wall time of each kernel and of its reference (same process,
same inputs) and the speedup; the target is >= 10x. Not a test: numbers depend
on the machine. Flows are smooth (a few random low-frequency sinusoids, up to
~20 px) like real optical flow, so memory access patterns are realistic.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from segue.core import _native, warp, warp_ref

TARGET_SPEEDUP = 10.0


def smooth_flow(rng: np.random.Generator, h: int, w: int, amplitude: float = 20.0) -> np.ndarray:
    """(H, W, 2) float32 sum of random low-frequency waves plus a global motion."""
    ys, xs = np.indices((h, w), dtype=np.float64)
    flow = np.empty((h, w, 2), np.float64)
    for ch in range(2):
        field = np.full((h, w), rng.uniform(-amplitude / 2, amplitude / 2))
        for _ in range(4):
            fx, fy = rng.uniform(0.3, 3.0, 2)
            phase = rng.uniform(0, 2 * np.pi)
            field += rng.uniform(0, amplitude / 4) * np.sin(2 * np.pi * (fx * xs / w + fy * ys / h) + phase)
        flow[..., ch] = field
    return flow.astype(np.float32)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: page faults, lazy allocations
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per function (median)")
    parser.add_argument("--threads", type=int, default=0, help="kernel threads, 0 = all cores")
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT")
    parser.add_argument("--channels", type=int, default=3)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    c = args.channels
    _native.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    img0 = rng.random((h, w, c), dtype=np.float32)
    img1 = rng.random((h, w, c), dtype=np.float32)
    flow0, flow1 = smooth_flow(rng, h, w), smooth_flow(rng, h, w)
    metric = rng.uniform(-10, 0, (h, w)).astype(np.float32)
    w0 = rng.random((h, w), dtype=np.float32)
    w1 = rng.random((h, w), dtype=np.float32)

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("backward_warp", lambda: warp.backward_warp(img0, flow0),
         lambda: warp_ref.backward_warp(img0, flow0)),
        ("forward_splat average", lambda: warp.forward_splat(img0, flow0, None, "average"),
         lambda: warp_ref.forward_splat(img0, flow0, None, "average")),
        ("forward_splat softmax", lambda: warp.forward_splat(img0, flow0, metric, "softmax"),
         lambda: warp_ref.forward_splat(img0, flow0, metric, "softmax")),
        ("warp_blend", lambda: warp.warp_blend(img0, img1, flow0, flow1, w0, w1, 0.5),
         lambda: warp_ref.warp_blend(img0, img1, flow0, flow1, w0, w1, 0.5)),
        ("warp_blend_pair", lambda: warp.warp_blend_pair(img0, img1, flow0, flow1, flow1, flow0, 0.5),
         lambda: warp_ref.warp_blend_pair(img0, img1, flow0, flow1, flow1, flow0, 0.5)),
    ]
    print(f"{w}x{h}x{c} float32, median of {args.runs} runs, "
          f"{_native.get_num_threads()} kernel thread(s)")
    if hasattr(os, "getloadavg"):  # other load on the cores skews the native side most
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s)")
    print(f"{'kernel':<24}{'native ms':>11}{'numpy ms':>11}{'speedup':>10}")
    for name, native_fn, ref_fn in cases:
        native_ms = median_ms(native_fn, args.runs)
        ref_ms = median_ms(ref_fn, args.runs)
        ratio = ref_ms / native_ms
        flag = "" if ratio >= TARGET_SPEEDUP else f"  (< {TARGET_SPEEDUP:g}x target)"
        print(f"{name:<24}{native_ms:>11.1f}{ref_ms:>11.1f}{ratio:>9.1f}x{flag}")


if __name__ == "__main__":
    main()
