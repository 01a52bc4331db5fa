"""Ablation of the motion model on the context cases of a benchmark folder (docs/classic.md).

    python bench/ablate_motion.py [--data ../shared/data]

For every case with context frames, the pair's flows and the flows to the context frames
are computed once (as the engine does, at the analysis size); each variant is a choice of
the two sides' accelerations (`core.motion.Motion`), and the frames are synthesized by
the engine's own `core.synthesis.Synthesizer` (classic). Prints mean PSNR over the gap
targets and the triplets. Not a test: it reads ../shared/data.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from segue.core import motion
from segue.core.context import context_flows
from segue.core.engine import to_uint8
from segue.core.flow import analysis_size, finest_scale, flow_pair, resize_image
from segue.core.metrics import psnr
from segue.core.motion import ContextFlow
from segue.core.quality import case_context, case_kind, case_targets, find_cases, read_rgb
from segue.core.synthesis import Synthesizer

Side = Callable[[np.ndarray, list[ContextFlow]], np.ndarray | None]


def _ungated(flow, ctx):
    return motion._through(ctx[0], flow)


def _least_squares(flow, ctx):
    # both context equations x(-s) = C, weighted by how much the acceleration moves them
    parts = [(c.spacing * (c.spacing + 1) / 2, motion._through(c, flow)) for c in ctx[:2]]
    return sum(k * k * a for k, a in parts) / sum(k * k for k, _ in parts)


def _shrunk(flow, ctx):
    return motion._shrink(_ungated(flow, ctx), ctx[0].spacing, motion.SINGLE_FLOW_NOISE)


def _smoothed(flow, ctx):
    return cv2.GaussianBlur(_ungated(flow, ctx), (0, 0), 3)


def _validated(flow, ctx):
    far = ctx[1]
    accel = _ungated(flow, ctx)
    line = far.flow + far.spacing * flow
    curve = line - accel * (far.spacing * (far.spacing + 1) / 2)
    e_line = cv2.blur((line * line).sum(axis=2), (motion.POOL, motion.POOL))
    e_curve = cv2.blur((curve * curve).sum(axis=2), (motion.POOL, motion.POOL))
    return accel * (e_line / (e_line + e_curve + 1e-6))[..., None]


VARIANTS: dict[str, Side] = {
    "straight lines": lambda flow, ctx: None,
    "quadratic, ungated": _ungated,
    "least squares over both context frames": _least_squares,
    "quadratic, shrunk (1 px)": _shrunk,
    "quadratic, smoothed (3 px)": _smoothed,
    "quadratic, validated on the far frame": _validated,
    "shipped (core.motion.side_acceleration)": motion.side_acceleration,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="benchmark folder (DESIGN.md layout)")
    args = parser.parse_args()
    scores: dict[str, dict[str, list[float]]] = {name: {"gaps": [], "triplets": []} for name in VARIANTS}
    for cases in find_cases(Path(args.data)).values():
        for case in cases:
            context = case_context(case)
            before = sorted(((t, read_rgb(p).astype(np.float32) / 255) for t, p in context if t < 0),
                            key=lambda c: -c[0])
            after = sorted((t, read_rgb(p).astype(np.float32) / 255) for t, p in context if t > 1)
            if len(before) < 2 or len(after) < 2:
                continue
            im0, im1 = (read_rgb(case / n).astype(np.float32) / 255 for n in ("input0.png", "input1.png"))
            size = analysis_size(im0.shape[1], im0.shape[0])
            small0, small1 = resize_image(im0, size), resize_image(im1, size)
            finest = finest_scale(im0.shape[1])
            flows = flow_pair(small0, small1, finest)
            side0, side1 = context_flows(im0, im1, small0, small1, [*before, *after], finest)
            targets = case_targets(case)
            kind = case_kind(targets)
            for name, side in VARIANTS.items():
                moving = motion.Motion(flows, side(flows.flow01, side0), side(flows.flow10, side1))
                synth = Synthesizer(im0, im1, flows, motion=moving)
                for t, path in targets:
                    scores[name][kind].append(psnr(to_uint8(synth.frame(t).image), read_rgb(path)))
    print(f"{'motion model':45s} {'gaps':>7s} {'triplets':>9s}")
    for name, by_kind in scores.items():
        gaps, triplets = (np.mean(by_kind[k]) if by_kind[k] else float("nan") for k in ("gaps", "triplets"))
        print(f"{name:45s} {gaps:7.2f} {triplets:9.2f}")
    print(f"({len(scores['shipped (core.motion.side_acceleration)']['gaps'])} gap targets, "
          f"{len(scores['shipped (core.motion.side_acceleration)']['triplets'])} triplets)")


if __name__ == "__main__":
    main()
