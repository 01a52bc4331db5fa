"""Validation during training on a benchmark folder (`../shared/data` layout): PSNR per set.

Each case's flows are computed once, as the engine does (`core.flow.flow_pair` at the
`analysis_size`, so frames over `DOWNSAMPLE_ABOVE_WIDTH` are analysed at half size), and
kept; every evaluation runs the engine's own synthesis (`core.synthesis.Synthesizer`) with
the net as its fusion, and scores the 8-bit result like `segue bench` does: the numbers
are the benchmark's, on a subset. The classical score (the engine without fusion, which
is what the net computes at initialisation) is computed once. Validation data is never
used for training. Cases with context frames are given them, as `segue bench` gives them
(`core.context.fit_motion`, fitted once per case).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from segue.core.context import fit_motion
from segue.core.engine import to_uint8
from segue.core.flow import FlowPair, analysis_size, finest_scale, flow_pair, resize_image
from segue.core.metrics import psnr
from segue.core.motion import Motion
from segue.core.quality import case_context, case_targets, find_cases, read_rgb
from segue.core.synthesis import Fusion, Synthesizer
from segue.training.net import FusionNet, fuse


@dataclass
class _Case:
    set_name: str
    image0: np.ndarray
    image1: np.ndarray
    flows: FlowPair
    targets: list[tuple[float, np.ndarray]]
    motion: Motion | None = None


def _padded(net: FusionNet, feats: np.ndarray) -> torch.Tensor:
    h, w = feats.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(feats.transpose(2, 0, 1)))[None]
    return F.pad(x, (0, -w % net.stride, 0, -h % net.stride), mode="replicate")


def predict(net: FusionNet, feats: np.ndarray) -> np.ndarray:
    """The net's frame (H, W, 3) float32 for (H, W, 29) features, fused in torch; pads to the stride (replicate)."""
    h, w = feats.shape[:2]
    x = _padded(net, feats)
    with torch.no_grad():
        out = fuse(x, *net(x))
    return out[0, :, :h, :w].permute(1, 2, 0).numpy()


def net_fusion(net: FusionNet) -> Fusion:
    """The net as the engine's fusion: features -> logits, residual, flow deltas, (H, W, C) numpy each."""
    def fusion(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = feats.shape[:2]
        with torch.no_grad():
            outputs = net(_padded(net, feats))
        return tuple(np.ascontiguousarray(o[0, :, :h, :w].permute(1, 2, 0).numpy()) for o in outputs)

    return fusion


class Validator:
    """A fixed subset of a benchmark folder: ``cases_per_set`` evenly spaced cases per set."""

    def __init__(self, data: Path, cases_per_set: int = 0) -> None:
        self.cases: list[_Case] = []
        for set_name, case_dirs in find_cases(data).items():
            if cases_per_set and len(case_dirs) > cases_per_set:
                pick = np.linspace(0, len(case_dirs) - 1, cases_per_set).round().astype(int)
                case_dirs = [case_dirs[i] for i in pick]
            for case in case_dirs:
                img0, img1 = (read_rgb(case / name).astype(np.float32) / 255 for name in ("input0.png", "input1.png"))
                size = analysis_size(img0.shape[1], img0.shape[0])
                small0, small1 = resize_image(img0, size), resize_image(img1, size)
                finest = finest_scale(img0.shape[1])
                flows = flow_pair(small0, small1, finest)
                context = [(t, read_rgb(f).astype(np.float32) / 255) for t, f in case_context(case)]
                moving = fit_motion(img0, img1, small0, small1, flows, context, finest)
                targets = [(t, read_rgb(f)) for t, f in case_targets(case)]
                self.cases.append(_Case(set_name, img0, img1, flows, targets, moving))
        self.classic = self._score(None)

    @property
    def frames(self) -> int:
        """Number of target frames validated."""
        return sum(len(c.targets) for c in self.cases)

    def _score(self, fusion: Fusion | None) -> dict[str, float]:
        scores: dict[str, list[float]] = {}
        for case in self.cases:
            synth = Synthesizer(case.image0, case.image1, case.flows, fusion=fusion, motion=case.motion)
            for t, truth in case.targets:
                scores.setdefault(case.set_name, []).append(psnr(to_uint8(synth.frame(t).image), truth))
        return {k: float(np.mean(v)) for k, v in scores.items()}

    def evaluate(self, net: FusionNet) -> dict[str, dict[str, float]]:
        """Per set ``{"psnr": net, "classic": classic, "delta": net - classic}`` plus ``"mean"``."""
        was_training = net.training
        net.eval()
        try:
            model = self._score(net_fusion(net))
        finally:
            net.train(was_training)
        return self._compare(model)

    def _compare(self, model: dict[str, float]) -> dict[str, dict[str, float]]:
        out = {k: {"psnr": v, "classic": self.classic[k], "delta": v - self.classic[k]} for k, v in model.items()}
        if out:
            out["mean"] = {key: float(np.mean([r[key] for r in out.values()])) for key in ("psnr", "classic", "delta")}
        return out
