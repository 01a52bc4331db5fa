"""How well a synthesized frame's confidence predicts its measured quality.

    python bench/calibrate_confidence.py --data ../shared/data [CLIP ...] [--path both]

Runs classic (context on) on every case of ``--data`` (the layout `segue bench` reads)
and of cases cut from each CLIP (`segue bench --make-cases`, gaps 2 and 4 unless
``--gap``, into a temporary folder), through the interpolation path, the jump-cut path
(`Engine.transition_synthesizer`, what `segue transition` runs) or both. Per synthesized
frame it measures PSNR against the target (8-bit RGB, all pixels) and against it a plain
dissolve ``(1-t)A + tB`` of the same inputs, and labels the frame

* ``worse``: below the dissolve's PSNR;
* ``bad``: worse, or below ``--floor`` dB (28).

It prints, per path and per set and over everything: cases, frames, positives, the
Spearman rank correlation of each confidence with PSNR and the ROC AUC of each for both
labels (the chance that a positive frame gets a lower confidence than a negative one), and
the true and false positive rates of `core.synthesis.LOW_CONFIDENCE`. Confidences:

* ``fb``: the mean forward-backward consistency at time t (the measure before session 19);
* ``old``: the worst 5% of the agreement between the two sides warped by the reversed
  flows (shipped until issue 19);
* ``new``: `Synthesized.confidence` as shipped;
* ``truth``: an oracle, the same formula as ``new`` with the result's own error against the
  target as the disagreement: the ceiling of any confidence that tracks the frame's error.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from segue.core import intermediate, synthesis
from segue.core.cases import write_cases
from segue.core.engine import Engine, to_uint8
from segue.core.flow import resize_image
from segue.core.metrics import psnr
from segue.core.quality import case_context, case_targets, find_cases, read_rgb
from segue.core.warp import backward_warp

CONFIDENCES = ("fb", "old", "new", "truth")


@dataclass
class Frame:
    set: str
    case: str
    t: float
    psnr: float
    dissolve_psnr: float
    conf: dict


def old_confidences(synth: synthesis.Synthesizer, t: float) -> dict:
    """The two earlier measures (module docstring), from the synthesizer's own state."""
    rev = intermediate.reversed_(synth.flows, t, synth._metrics, synth.motion)
    fb = float(synth._confidence(rev, t).mean())
    to_dissolve = synth._to_dissolve(rev, t)
    small0, small1 = synth._small0, synth._small1
    if synth.colour_ramp is not None:
        small0, small1 = synth.colour_ramp(small0, small1, t)
    warped = cv2.absdiff(backward_warp(small0, rev.flow_t0), backward_warp(small1, rev.flow_t1))
    diff = warped + to_dissolve[..., None] * (cv2.absdiff(small0, small1) - warped)
    trust = synthesis._pixel_confidence(intermediate.channel_mean(diff))
    k = max(3, int(round(max(trust.shape) * synthesis.CONFIDENCE_POOL)) | 1)
    return {"fb": fb, "old": float(np.percentile(cv2.blur(trust, (k, k)), synthesis.FRAME_PERCENTILE))}


def truth_confidence(result: np.ndarray, truth: np.ndarray, size: tuple[int, int]) -> float:
    """The oracle: `new`'s formula on the result's own error (8-bit), at the analysis size."""
    err = intermediate.channel_mean(np.abs(result.astype(np.float32) - truth.astype(np.float32)) / 255.0)
    err = resize_image(err, size)
    return synthesis._frame_confidence(err, synthesis._pixel_confidence(err))


def score_cases(data: Path, engine: Engine, jump_cut: bool, progress: bool) -> list[Frame]:
    frames = []
    for set_name, cases in find_cases(data).items():
        for case in cases:
            targets = case_targets(case)
            im0, im1 = read_rgb(case / "input0.png"), read_rgb(case / "input1.png")
            a, b = im0.astype(np.float32) / 255, im1.astype(np.float32) / 255
            around = [(t, read_rgb(p).astype(np.float32) / 255) for t, p in case_context(case)]
            if jump_cut:
                synth, _ = engine.transition_synthesizer(a, b, around)
            else:
                synth = engine.interpolation_synthesizer(a, b, around)
            for t, path in targets:
                out = synth.frame(t)
                result, truth = to_uint8(out.image), read_rgb(path)
                dissolve = to_uint8((1 - t) * a + t * b)
                conf = {"new": out.confidence, **old_confidences(synth, t),
                        "truth": truth_confidence(result, truth, synth._small0.shape[1::-1])}
                frames.append(Frame(set_name, case.name, t, psnr(result, truth), psnr(dissolve, truth), conf))
        if progress:
            print(f"  {'jump cut' if jump_cut else 'interpolation'}: {set_name} done", file=sys.stderr, flush=True)
    return frames


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties averaged."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    values, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=r)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def auc_low(conf: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC of "low confidence means positive" (Mann-Whitney, ties count half)."""
    positive = np.asarray(positive, bool)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = ranks(-np.asarray(conf, float))
    return float((r[positive].sum() + n1 - n1 * (n1 + 1) / 2) / (n1 * n0))


def rates(conf: np.ndarray, positive: np.ndarray, threshold: float) -> tuple[float, float]:
    """True and false positive rates of flagging ``conf < threshold``."""
    flagged = np.asarray(conf) < threshold
    positive = np.asarray(positive, bool)
    tpr = flagged[positive].mean() if positive.any() else float("nan")
    fpr = flagged[~positive].mean() if (~positive).any() else float("nan")
    return float(tpr), float(fpr)


def table(name: str, frames: list[Frame], floor: float) -> list[str]:
    p = np.array([f.psnr for f in frames])
    worse = p < np.array([f.dissolve_psnr for f in frames])
    bad = worse | (p < floor)
    lines = []
    cases = len({(f.set, f.case) for f in frames})
    head = f"{name:24s} {cases:5d} {len(frames):6d} {int(worse.sum()):5d} {int(bad.sum()):5d}"
    cells = []
    for key in CONFIDENCES:
        c = np.array([f.conf[key] for f in frames])
        cells.append(f"{spearman(c, p):6.2f} {auc_low(c, worse):5.2f} {auc_low(c, bad):5.2f}")
    new = np.array([f.conf["new"] for f in frames])
    tb, fb = rates(new, bad, synthesis.LOW_CONFIDENCE)
    tw, fw = rates(new, worse, synthesis.LOW_CONFIDENCE)
    lines.append(f"{head} | " + " | ".join(cells) + f" | {tb:4.2f} {fb:4.2f} {tw:4.2f} {fw:4.2f}")
    return lines


def header() -> str:
    cols = " | ".join(f"{k + ': rho':>6s} {'AUCw':>5s} {'AUCb':>5s}" for k in CONFIDENCES)
    return (f"{'set':24s} {'cases':>5s} {'frames':>6s} {'worse':>5s} {'bad':>5s} | {cols} | "
            f"flag: TPRb FPRb TPRw FPRw")


def report(frames_by_path: dict[str, list[Frame]], floor: float) -> None:
    print(f"rho: Spearman with PSNR; AUCw / AUCb: ROC AUC for worse than a dissolve / bad (worse or < {floor:g} dB);"
          f" flag: confidence < LOW_CONFIDENCE = {synthesis.LOW_CONFIDENCE:g}")
    everything = []
    for path, frames in frames_by_path.items():
        print(f"\n{path}\n{header()}")
        for set_name in dict.fromkeys(f.set for f in frames):
            for line in table(set_name, [f for f in frames if f.set == set_name], floor):
                print(line)
        for line in table("all", frames, floor):
            print(line)
        everything += frames
    if len(frames_by_path) > 1:
        print(f"\nboth paths\n{header()}")
        for line in table("all", everything, floor):
            print(line)
    p = np.array([f.psnr for f in everything])
    bad = (p < np.array([f.dissolve_psnr for f in everything])) | (p < floor)
    new = np.array([f.conf["new"] for f in everything])
    best = max(np.unique(new), key=lambda c: (np.subtract(*rates(new, bad, c)), -c))
    tpr, fpr = rates(new, bad, best)
    print(f"\nROC operating point for 'bad' with the largest TPR - FPR (Youden): flag below {best:.3f}"
          f" (TPR {tpr:.2f}, FPR {fpr:.2f})")


def cut_clips(clips: list[str], gaps: list[int], every: int, out: Path) -> None:
    for clip in clips:
        write_cases(clip, out, gaps, every)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clips", nargs="*", help="clips to cut cases from (as segue bench --make-cases does)")
    p.add_argument("--data", help="benchmark folder (segue bench's layout), e.g. ../shared/data")
    p.add_argument("--path", choices=("interpolation", "jump-cut", "both"), default="both")
    p.add_argument("--gap", type=int, action="append", help="gaps of the clips' cases (default 2 and 4)")
    p.add_argument("--every", type=int, default=6, help="frames between the starts of two clip cases (default 6)")
    p.add_argument("--floor", type=float, default=28.0, help="PSNR floor of the 'bad' label (default 28 dB)")
    p.add_argument("--json", help="also write every frame's measurements here")
    args = p.parse_args(argv)
    if not args.data and not args.clips:
        p.error("give --data, clips, or both")
    engine = Engine("classic")
    paths = {"interpolation": [False], "jump-cut": [True], "both": [False, True]}[args.path]
    with tempfile.TemporaryDirectory(prefix="segue-confidence-") as tmp:
        folders = [Path(args.data)] if args.data else []
        if args.clips:
            cut_clips(args.clips, args.gap or [2, 4], args.every, Path(tmp))
            folders.append(Path(tmp))
        results = {}
        for jump_cut in paths:
            name = "jump-cut path" if jump_cut else "interpolation path"
            results[name] = [f for folder in folders for f in score_cases(folder, engine, jump_cut, True)]
    report(results, args.floor)
    if args.json:
        Path(args.json).write_text(json.dumps({path: [asdict(f) for f in frames] for path, frames in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
