"""Validation during training on a benchmark folder (`../shared/data` layout): PSNR per set.

Each case's flows are computed once (the engine's own `core.flow.flow_pair` at the
analysis size) and kept; every evaluation rebuilds the features per target time, runs
the net, fuses, and scores the 8-bit result like `segue bench` does. The classical
score is the same fusion with the prior weights and no residual (what the net does at
initialisation), computed once. Validation data is never used for training.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.bench import _TARGET, find_cases
from core.flow import FlowPair, analysis_size, finest_scale, flow_pair
from core.intermediate import linear, reversed_, splat_metrics
from core.metrics import psnr
from core.model import features
from core.model.net import FusionNet, fuse


@dataclass
class _Case:
    set_name: str
    image0: np.ndarray
    image1: np.ndarray
    flows: FlowPair
    metrics: tuple[np.ndarray, np.ndarray]
    targets: list[tuple[float, np.ndarray]]


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _candidates(feats: np.ndarray) -> list[np.ndarray]:
    return [feats[..., sl] for sl in features.CANDIDATE_SLICES]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def predict(net: FusionNet, feats: np.ndarray) -> np.ndarray:
    """The net's frame (H, W, 3) float32 for (H, W, 29) features; pads to the stride (replicate)."""
    h, w = feats.shape[:2]
    s = net.stride
    x = torch.from_numpy(np.ascontiguousarray(feats.transpose(2, 0, 1)))[None]
    x = F.pad(x, (0, -w % s, 0, -h % s), mode="replicate")
    with torch.no_grad():
        out = fuse(x, *net(x))
    return out[0, :, :h, :w].permute(1, 2, 0).numpy()


def _onnx_frame(fusion, feats: np.ndarray) -> np.ndarray:
    logits, residual, deltas = fusion(feats)
    return features.fuse(logits, residual, features.refined_candidates(feats, deltas))


class Validator:
    """A fixed subset of a benchmark folder: ``cases_per_set`` evenly spaced cases per set."""

    def __init__(self, data: Path, cases_per_set: int = 0) -> None:
        self.cases: list[_Case] = []
        for set_name, case_dirs in find_cases(data).items():
            if cases_per_set and len(case_dirs) > cases_per_set:
                pick = np.linspace(0, len(case_dirs) - 1, cases_per_set).round().astype(int)
                case_dirs = [case_dirs[i] for i in pick]
            for case in case_dirs:
                im0, im1 = _read(case / "input0.png"), _read(case / "input1.png")
                size = analysis_size(im0.shape[1], im0.shape[0])
                if size != (im0.shape[1], im0.shape[0]):
                    continue  # frames analysed at half size are scored by `segue bench`, not here
                img0, img1 = im0.astype(np.float32) / 255, im1.astype(np.float32) / 255
                flows = flow_pair(img0, img1, finest_scale(im0.shape[1]))
                targets = sorted((float(m.group(1)), _read(f)) for f in case.iterdir() if (m := _TARGET.match(f.name)))
                self.cases.append(_Case(set_name, img0, img1, flows, splat_metrics(img0, img1, flows), targets))
        self.classic = self._score(None)

    @property
    def frames(self) -> int:
        """Number of target frames validated."""
        return sum(len(c.targets) for c in self.cases)

    def _score(self, frame_of: Callable[[np.ndarray], np.ndarray] | None) -> dict[str, float]:
        scores: dict[str, list[float]] = {}
        for case in self.cases:
            for t, truth in case.targets:
                lin, rev = linear(case.flows, t), reversed_(case.flows, t, case.metrics)
                feats = features.build(case.image0, case.image1, case.flows, lin, rev, t)
                if frame_of is None:
                    h, w = feats.shape[:2]
                    logits = np.broadcast_to(np.log(features.prior(t)), (h, w, 4))
                    frame = features.fuse(logits, np.zeros((h, w, 3), np.float32), _candidates(feats))
                else:
                    frame = frame_of(feats)
                scores.setdefault(case.set_name, []).append(psnr(_to_uint8(frame), truth))
        return {k: float(np.mean(v)) for k, v in scores.items()}

    def evaluate(self, net: FusionNet) -> dict[str, dict[str, float]]:
        """Per set ``{"psnr": net, "classic": classic, "delta": net - classic}`` plus ``"mean"``."""
        was_training = net.training
        net.eval()
        try:
            model = self._score(lambda feats: predict(net, feats))
        finally:
            net.train(was_training)
        return self._compare(model)

    def evaluate_onnx(self, fusion) -> dict[str, dict[str, float]]:
        """Like `evaluate` for an onnxruntime `core.model.infer.LearnedFusion` (e.g. the int8 variant)."""
        return self._compare(self._score(lambda feats: _onnx_frame(fusion, feats)))

    def _compare(self, model: dict[str, float]) -> dict[str, dict[str, float]]:
        out = {k: {"psnr": v, "classic": self.classic[k], "delta": v - self.classic[k]} for k, v in model.items()}
        if out:
            out["mean"] = {key: float(np.mean([r[key] for r in out.values()])) for key in ("psnr", "classic", "delta")}
        return out
