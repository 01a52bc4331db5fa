"""`segue bench`: quality and speed on a benchmark folder, beside a cross-dissolve.

Data layout (DESIGN.md): ``DIR/<set>/<case>/input0.png input1.png target_<t>.png ...``.
For every set it reports the mean PSNR and SSIM over all target frames (8-bit RGB, all
pixels) of the engine and of a plain cross-dissolve computed in the same run, and the
engine's milliseconds per synthesized frame (flow included, file reading excluded).

``jump_cut=True`` scores the jump-cut path instead (`Engine.transition_synthesizer`:
global alignment, exposure ramp, regional fallback), the one `segue transition` runs, on
the same ground truth: a case whose targets are at k/n is a cut with n-1 frames removed.

Cases cut from clips carry context frames (``before_1/2``, ``after_1/2`` and their times
in ``case.json``); they are given to the engine unless ``context=False``, as an editor's
clips give them. Every set is also reported split into *triplets* (one target, at 0.5)
and *gaps* (targets at k/n for n > 2), which measure different things: a frame between
neighbours, and a bridge over missing frames.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segue.core.engine import Engine, to_uint8
from segue.core.errors import InputError
from segue.core.metrics import psnr, ssim

_TARGET = re.compile(r"^target_(\d+\.\d+)\.png$")


KINDS = ("triplets", "gaps")


@dataclass
class SetScore:
    """Aggregated scores of one set (or of one kind of case in it)."""

    name: str
    cases: int = 0
    frames: int = 0
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    dissolve_psnr: list[float] = field(default_factory=list)
    dissolve_ssim: list[float] = field(default_factory=list)
    seconds: float = 0.0
    with_context: int = 0  # cases that had context frames (and were given them)

    def summary(self) -> dict:
        return {
            "set": self.name, "cases": self.cases, "frames": self.frames, "context_cases": self.with_context,
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


def case_context(case: Path) -> list[tuple[float, Path]]:
    """A case's context frames ``(t, <name>.png)`` from its ``case.json`` (none if it has none).

    ``case.json`` is read as the data format says (DESIGN.md, "Context frames"): its
    ``frames`` map names to times; input0 and input1 are the pair, every other name whose
    PNG exists and whose time lies outside [0, 1] is context. `InputError` if it is not JSON.
    """
    meta = case / "case.json"
    if not meta.is_file():
        return []
    try:
        frames = json.loads(meta.read_text(encoding="utf-8")).get("frames", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"{meta}: not a case description ({exc})") from None
    found = []
    for name, t in frames.items():
        path = case / f"{name}.png"
        if (isinstance(name, str) and name not in ("input0", "input1") and isinstance(t, (int, float))
                and not 0 <= t <= 1 and path.is_file()):
            found.append((float(t), path))
    return sorted(found)


def case_kind(targets: list[tuple[float, Path]]) -> str:
    """``"triplets"`` for a case with its one target at 0.5, else ``"gaps"``."""
    return "triplets" if len(targets) == 1 and abs(targets[0][0] - 0.5) < 1e-6 else "gaps"


def find_cases(data: Path) -> dict[str, list[Path]]:
    """Sets and their case folders (folders holding input0.png, input1.png and targets)."""
    if not data.is_dir():
        raise InputError(f"benchmark folder not found: {data}")
    sets: dict[str, list[Path]] = {}
    # hidden folders are never sets (e.g. a set being written by core.cases)
    for set_dir in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        cases = [c for c in sorted(set_dir.iterdir())
                 if (c / "input0.png").is_file() and any(_TARGET.match(f.name) for f in c.iterdir())]
        if cases:
            sets[set_dir.name] = cases
    if not sets:
        raise InputError(f"{data}: no benchmark cases found "
                         "(expected <set>/<case>/input0.png, input1.png, target_<t>.png)")
    return sets


def run(data: Path, model: str = "auto", progress: bool = True, jump_cut: bool = False,
        context: bool = True) -> list[dict]:
    """Score every case under ``data``; returns one summary dict per set.

    Each summary has the set's scores and, under ``"kinds"``, the same for its triplets
    and its gaps (the kinds it holds). ``jump_cut``: synthesize through the jump-cut path
    instead of plain interpolation; ``context``: give the engine the cases' context frames.
    """
    engine = Engine(model=model)
    results = []
    for set_name, cases in find_cases(data).items():
        score = SetScore(set_name)
        kinds = {kind: SetScore(kind) for kind in KINDS}
        for case in cases:
            targets = case_targets(case)
            im0, im1 = read_rgb(case / "input0.png"), read_rgb(case / "input1.png")
            around = [(t, read_rgb(path)) for t, path in case_context(case)] if context else []
            times = [t for t, _ in targets]
            start = time.perf_counter()
            if jump_cut:
                synth, _ = engine.transition_synthesizer(
                    im0.astype(np.float32) / 255.0, im1.astype(np.float32) / 255.0,
                    [(t, im.astype(np.float32) / 255.0) for t, im in around])
                frames = [to_uint8(synth.frame(t).image) for t in times]
            else:
                frames = engine.interpolate(im0, im1, times, around)
            seconds = time.perf_counter() - start
            kind = kinds[case_kind(targets)]
            for tally in (score, kind):
                tally.seconds += seconds
                tally.cases += 1
                tally.frames += len(targets)
                tally.with_context += bool(around)
            for (t, path), frame in zip(targets, frames):
                truth = read_rgb(path)
                dissolve = to_uint8(((1 - t) * im0.astype(np.float32) + t * im1.astype(np.float32)) / 255.0)
                values = (psnr(frame, truth), ssim(frame, truth), psnr(dissolve, truth), ssim(dissolve, truth))
                for tally in (score, kind):
                    for where, value in zip((tally.psnr, tally.ssim, tally.dissolve_psnr, tally.dissolve_ssim),
                                            values):
                        where.append(value)
        summary = score.summary()
        summary["kinds"] = {name: k.summary() for name, k in kinds.items() if k.frames}
        results.append(summary)
        if progress:
            print(format_row(summary), flush=True)
            if len(summary["kinds"]) > 1:
                for part in summary["kinds"].values():
                    print(format_row(part, indent=True), flush=True)
    return results


HEADER = (f"{'set':24s} {'cases':>5s} {'frames':>6s} {'PSNR':>7s} {'SSIM':>7s} {'dissolve':>8s} {'SSIM':>7s} "
          f"{'ms/frame':>9s} {'context':>7s}")


def format_row(r: dict, indent: bool = False) -> str:
    """One line of the table (``indent``: a kind's line under its set)."""
    name = f"  {r['set']}" if indent else r["set"]
    return (f"{name:24s} {r['cases']:5d} {r['frames']:6d} {r['psnr']:7.2f} {r['ssim']:7.4f} "
            f"{r['dissolve_psnr']:8.2f} {r['dissolve_ssim']:7.4f} {r['ms_per_frame']:9.1f} "
            f"{r.get('context_cases', 0):7d}")


def overall(results: list[dict], name: str = "all (frame-weighted)") -> dict:
    """Frame-weighted means over ``results`` (sets, or one kind of every set)."""
    n = sum(r["frames"] for r in results)
    keys = ("psnr", "ssim", "dissolve_psnr", "dissolve_ssim", "ms_per_frame")
    out = {k: sum(r[k] * r["frames"] for r in results) / n for k in keys}
    return {"set": name, "cases": sum(r["cases"] for r in results), "frames": n,
            "context_cases": sum(r.get("context_cases", 0) for r in results), **out}


def overall_by_kind(results: list[dict]) -> list[dict]:
    """`overall` of every set's triplets, then of every set's gaps (the kinds present)."""
    rows = []
    for kind in KINDS:
        parts = [r["kinds"][kind] for r in results if kind in r.get("kinds", {})]
        if parts:
            rows.append(overall(parts, f"all {kind}"))
    return rows


def write_json(path: Path, model: str, results: list[dict], jump_cut: bool = False, context: bool = True) -> None:
    from segue.core.output import atomic_write_text

    atomic_write_text(path, json.dumps({"model": model, "path": "jump_cut" if jump_cut else "interpolation",
                                        "context": context, "sets": results, "overall": overall(results),
                                        "overall_by_kind": overall_by_kind(results)}, indent=2))


__all__ = ["HEADER", "KINDS", "SetScore", "case_context", "case_kind", "case_targets", "find_cases", "format_row",
           "overall", "overall_by_kind", "read_rgb", "run", "write_json"]
