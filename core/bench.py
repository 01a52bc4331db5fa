"""`segue bench`: quality and speed on a benchmark folder, beside a cross-dissolve.

Data layout (DESIGN.md): ``DIR/<set>/<case>/input0.png input1.png target_<t>.png ...``.
For every set it reports the mean PSNR and SSIM over all target frames (8-bit RGB, all
pixels) of the engine and of a plain cross-dissolve computed in the same run, and the
engine's milliseconds per synthesized frame (flow included, file reading excluded).

``jump_cut=True`` scores the jump-cut path instead (`Engine.transition_synthesizer`:
global alignment, exposure ramp, regional fallback), the one `segue transition` runs, on
the same ground truth: a case whose targets are at k/n is a cut with n-1 frames removed.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.engine import Engine, to_uint8
from core.errors import InputError
from core.metrics import psnr, ssim

_TARGET = re.compile(r"^target_(\d+\.\d+)\.png$")


@dataclass
class SetScore:
    """Aggregated scores of one set."""

    name: str
    cases: int = 0
    frames: int = 0
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    dissolve_psnr: list[float] = field(default_factory=list)
    dissolve_ssim: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        return {
            "set": self.name, "cases": self.cases, "frames": self.frames,
            "psnr": float(np.mean(self.psnr)), "ssim": float(np.mean(self.ssim)),
            "dissolve_psnr": float(np.mean(self.dissolve_psnr)), "dissolve_ssim": float(np.mean(self.dissolve_ssim)),
            "ms_per_frame": 1000.0 * self.seconds / max(1, self.frames),
        }


def read_rgb(path: Path) -> np.ndarray:
    """An 8-bit image file as (H, W, 3) uint8 RGB; `InputError` naming it if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: cannot read image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def case_targets(case: Path) -> list[tuple[float, Path]]:
    """A case's ``(t, target_<t>.png)`` pairs, by time."""
    return sorted((float(m.group(1)), f) for f in case.iterdir() if (m := _TARGET.match(f.name)))


def find_cases(data: Path) -> dict[str, list[Path]]:
    """Sets and their case folders (folders holding input0.png, input1.png and targets)."""
    if not data.is_dir():
        raise InputError(f"benchmark folder not found: {data}")
    sets: dict[str, list[Path]] = {}
    # hidden folders are never sets (e.g. a set being written by bench/cases_from_clip.py)
    for set_dir in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        cases = [c for c in sorted(set_dir.iterdir())
                 if (c / "input0.png").is_file() and any(_TARGET.match(f.name) for f in c.iterdir())]
        if cases:
            sets[set_dir.name] = cases
    if not sets:
        raise InputError(f"{data}: no benchmark cases found (expected <set>/<case>/input0.png, input1.png, target_<t>.png)")
    return sets


def run(data: Path, model: str = "auto", progress: bool = True, jump_cut: bool = False) -> list[dict]:
    """Score every case under ``data``; returns one summary dict per set.

    ``jump_cut``: synthesize through the jump-cut path instead of plain interpolation.
    """
    engine = Engine(model=model)
    results = []
    for set_name, cases in find_cases(data).items():
        score = SetScore(set_name)
        for case in cases:
            targets = case_targets(case)
            im0, im1 = read_rgb(case / "input0.png"), read_rgb(case / "input1.png")
            times = [t for t, _ in targets]
            start = time.perf_counter()
            if jump_cut:
                synth, _ = engine.transition_synthesizer(im0.astype(np.float32) / 255.0, im1.astype(np.float32) / 255.0)
                frames = [to_uint8(synth.frame(t).image) for t in times]
            else:
                frames = engine.interpolate(im0, im1, times)
            score.seconds += time.perf_counter() - start
            for (t, path), frame in zip(targets, frames):
                truth = read_rgb(path)
                dissolve = to_uint8(((1 - t) * im0.astype(np.float32) + t * im1.astype(np.float32)) / 255.0)
                score.psnr.append(psnr(frame, truth))
                score.ssim.append(ssim(frame, truth))
                score.dissolve_psnr.append(psnr(dissolve, truth))
                score.dissolve_ssim.append(ssim(dissolve, truth))
            score.cases += 1
            score.frames += len(targets)
        results.append(score.summary())
        if progress:
            print(format_row(results[-1]), flush=True)
    return results


HEADER = f"{'set':24s} {'cases':>5s} {'frames':>6s} {'PSNR':>7s} {'SSIM':>7s} {'dissolve':>8s} {'SSIM':>7s} {'ms/frame':>9s}"


def format_row(r: dict) -> str:
    return (f"{r['set']:24s} {r['cases']:5d} {r['frames']:6d} {r['psnr']:7.2f} {r['ssim']:7.4f} "
            f"{r['dissolve_psnr']:8.2f} {r['dissolve_ssim']:7.4f} {r['ms_per_frame']:9.1f}")


def overall(results: list[dict]) -> dict:
    """Frame-weighted means over all sets."""
    n = sum(r["frames"] for r in results)
    keys = ("psnr", "ssim", "dissolve_psnr", "dissolve_ssim", "ms_per_frame")
    out = {k: sum(r[k] * r["frames"] for r in results) / n for k in keys}
    return {"set": "all (frame-weighted)", "cases": sum(r["cases"] for r in results), "frames": n, **out}


def write_json(path: Path, model: str, results: list[dict], jump_cut: bool = False) -> None:
    from core.output import atomic_write_text

    atomic_write_text(path, json.dumps({"model": model, "path": "jump_cut" if jump_cut else "interpolation",
                                        "sets": results, "overall": overall(results)}, indent=2))


__all__ = ["HEADER", "SetScore", "case_targets", "find_cases", "format_row", "overall", "read_rgb", "run", "write_json"]
