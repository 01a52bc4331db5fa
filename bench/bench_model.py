"""Latency of learned fusion models in onnxruntime: fp32 vs int8, models against each other, in one process.

    python bench/bench_model.py [--model DIR ...] [--runs 7] [--threads 2]

Sizes: 960x540 (the analysis size of a 1920x1080 frame, what the engine runs for 1080p),
1024x576 (the largest size analysed at full resolution) and 1920x1080 (the model run at
full 1080p resolution, for reference). The models are the ``--model`` folders (each with a
manifest.json; repeat the option to compare models), else the shipped one
(`core/model/weights/`); ratios are against the first model's fp32 variant. Features are
real-looking (a smooth random image and shifted copies) since latency does not depend on
content.
Prints the median of ``--runs`` timed calls after one warm-up. Not a test: numbers depend
on the machine and its load.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from segue.core.model.infer import LearnedFusion, shipped_model_dir
from segue.training.export import INT8_FILE

SIZES = ((960, 540, "1920x1080 analysis"), (1024, 576, "1024x576 analysis"), (1920, 1080, "1920x1080 full"))


def features_of(width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 2)
    planes = [np.roll(base, k, axis=1) for k in range(6)]
    conf = np.ones((height, width, 2), np.float32)
    flows = np.tile(np.array([-1, 0, 1, 0, -2, 0, 2, 0], np.float32), (height, width, 1))
    return np.concatenate([*planes, conf, np.full((height, width, 1), 0.5, np.float32), flows], axis=2)


def median_ms(fusion: LearnedFusion, feats: np.ndarray, runs: int) -> float:
    fusion(feats)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fusion(feats)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, action="append",
                   help="model folder, repeatable (default: the shipped model)")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    folders = args.model or [shipped_model_dir()]
    if folders[0] is None:
        print("no model: pass --model DIR (segue export writes one) or ship core/model/weights/", file=sys.stderr)
        return 2
    variants = {}
    for i, folder in enumerate(folders):
        variants[f"m{i} fp32"] = LearnedFusion(folder, threads=args.threads)
        if (folder / INT8_FILE).is_file():
            variants[f"m{i} int8"] = LearnedFusion(folder / INT8_FILE, threads=args.threads)
        print(f"m{i}: {folder}")
    print(f"{args.threads} threads, median of {args.runs}; (x) = ratio to m0 fp32")
    print(f"{'size':28s} " + " ".join(f"{name:>18s}" for name in variants))
    for w, h, label in SIZES:
        feats = features_of(w, h)
        row = [median_ms(f, feats, args.runs) for f in variants.values()]
        cells = [f"{ms:8.1f}ms ({ms / row[0]:.2f}x)" for ms in row]
        print(f"{w}x{h} ({label})".ljust(28) + " " + " ".join(f"{c:>18s}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
