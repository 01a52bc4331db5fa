"""Time one 1920x1080 in-between frame with the `classic` model, flow included.

    python bench/bench_engine.py [--runs 7] [--data ../shared/data] [--model auto|PATH ...] [--size WxH]

Input: a real 1280x720 frame pair from ../shared/data (cgi_bigbuckbunny) with its two
context frames on each side, resized to ``--size`` (default 1920x1080; 1280x720 is the
pair as it is), or a synthetic pair if the data folder is missing. Prints the median wall
time of `Engine.interpolate(im0, im1, [0.5])`, the same with the context (its four flows
included), and, as a same-process baseline, the plain
DIS-medium warp-and-blend retime (both directions, linear flow to t, OpenCV remap), with
the ratio between them. Each ``--model`` (a learned model: ``auto`` or a model folder /
.onnx file, e.g. the int8 variant) adds a row and its ratio to classic. The allocator is
tuned as in the `segue` CLI and renderd (`core.allocator`) unless ``--system-allocator``.
Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from segue.core import Engine
from segue.core.allocator import keep_frame_buffers

#: a 1080p in-between of the default engine (classic: what ``auto`` runs for a transition)
BUDGET_S = 0.25
#: the learned model's 1080p budget (what ``auto`` runs for interpolation and retimes)
LEARNED_BUDGET_S = 0.50


#: the case's context frames and their times (DESIGN.md: a gap of 4 frame intervals)
CONTEXT = {"before_2": -0.5, "before_1": -0.25, "after_1": 1.25, "after_2": 1.5}


def load_pair(data: Path, size: tuple[int, int] = (1920, 1080)) -> tuple[np.ndarray, np.ndarray, list, str]:
    """The pair, its context ``[(t, image)]`` and where they come from."""
    case = data / "cgi_bigbuckbunny" / "gap4_0040_0044"
    w, h = size
    if (case / "input0.png").is_file():
        names = ["input0", "input1", *CONTEXT]
        ims = [cv2.cvtColor(cv2.imread(str(case / f"{n}.png")), cv2.COLOR_BGR2RGB) for n in names]
        note = f"{case} ({w}x{h})"
        if ims[0].shape[:2] != (h, w):
            ims = [cv2.resize(im, size, interpolation=cv2.INTER_AREA if w < im.shape[1] else cv2.INTER_CUBIC)
                   for im in ims]
            note = f"{case} resized to {w}x{h}"
        return ims[0], ims[1], list(zip(CONTEXT.values(), ims[2:])), note
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (0, 0), 3)
    shifted = lambda t: np.roll(base, round(12 * t), axis=1)  # noqa: E731
    return base, shifted(1), [(t, shifted(t)) for t in CONTEXT.values()], f"synthetic {w}x{h} pair"


def baseline(im0: np.ndarray, im1: np.ndarray, t: float) -> np.ndarray:
    """The plain classical retime: DIS medium both ways, linear flow to t, backward warp, blend."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    g0, g1 = cv2.cvtColor(im0, cv2.COLOR_RGB2GRAY), cv2.cvtColor(im1, cv2.COLOR_RGB2GRAY)
    f01, f10 = dis.calc(g0, g1, None), dis.calc(g1, g0, None)
    ft0 = -(1 - t) * t * f01 + t * t * f10
    ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
    h, w = g0.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    a = cv2.remap(im0, gx + ft0[..., 0], gy + ft0[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    b = cv2.remap(im1, gx + ft1[..., 0], gy + ft1[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.addWeighted(a, 1 - t, b, t, 0)


def median_time(fn, runs: int) -> float:
    fn()  # warm-up: thread pools, allocations
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--model", action="append", default=[], help="learned model to time beside classic")
    parser.add_argument("--size", default="1920x1080", help="frame size WxH (the budgets are for 1920x1080)")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's allocator as it is (the CLI and renderd tune it)")
    args = parser.parse_args()
    if not args.system_allocator:
        keep_frame_buffers()
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        if len(size) != 2 or min(size) < 16:
            raise ValueError
    except ValueError:
        parser.error(f"--size {args.size}: expected WIDTHxHEIGHT, e.g. 1280x720")
    im0, im1, context, source = load_pair(Path(args.data), size)
    engine = Engine("classic")
    ours = median_time(lambda: engine.interpolate(im0, im1, [0.5]), args.runs)
    with_context = median_time(lambda: engine.interpolate(im0, im1, [0.5], context), args.runs)
    base = median_time(lambda: baseline(im0, im1, 0.5), args.runs)
    learned = []
    for model in args.model:
        eng = Engine(model)
        learned.append((eng.model, median_time(lambda eng=eng: eng.interpolate(im0, im1, [0.5]), args.runs),
                        median_time(lambda eng=eng: eng.interpolate(im0, im1, [0.5], context), args.runs)))
    print(f"input: {source}; median of {args.runs} runs, one in-between frame, flow included")
    print(f"classic engine          {ours * 1000:8.1f} ms   (1080p budget {BUDGET_S * 1000:.0f} ms)")
    print(f"classic, 2+2 context    {with_context * 1000:8.1f} ms   (context flows included)")
    print(f"DIS-medium baseline     {base * 1000:8.1f} ms")
    print(f"ratio engine/baseline   {ours / base:8.2f}")
    for name, sec, ctx in learned:
        print(f"learned {name}: {sec * 1000:.1f} ms, with context {ctx * 1000:.1f} ms, ratio to classic "
              f"{sec / ours:.2f} (1080p budget {LEARNED_BUDGET_S * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
