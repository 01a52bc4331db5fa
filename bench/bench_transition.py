"""End-to-end time of a 12-frame 1920x1080 `segue transition`: process start to report.

    python bench/bench_transition.py [--runs 5] [--frames 12]

Input: the demo's two takes (Big Buck Bunny, CC BY 3.0; ``core/assets/demo``) scaled to
1920x1080 and re-encoded as H.264 (the ffmpeg Segue uses, ``-crf 16``). Each run is a
fresh ``python -m segue transition`` process writing 8-bit PNGs to a new folder, so process
start, model load, decoding, the context frames' flows and the PNG writes are all counted.
Prints the median wall time with ``--model auto`` (the default; what it runs for a
transition is read from the report), with ``--model classic`` as the same-process-kind
baseline and, when the learned model ships, with it forced (``--model`` its folder), and
the report's split (read, correspondence, synthesis). Not a test: numbers depend on the
machine and its load.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segue.core.demo import TAKE_A, TAKE_B  # noqa: E402
from segue.core.media.ffmpeg import find_ffmpeg  # noqa: E402
from segue.core.model.infer import model_label, shipped_model_dir  # noqa: E402

#: the budget the product promises for this job
BUDGET_S = 3.0


def scale_take(src: Path, dst: Path) -> Path:
    """``src`` scaled to 1920x1080 H.264 at ``dst``."""
    cmd = [find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-i", str(src), "-vf",
           "scale=1920:1080:flags=bicubic", "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", str(dst)]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SystemExit(f"ffmpeg could not scale {src}")
    return dst


def run_once(a: Path, b: Path, out: Path, model: str, frames: int) -> tuple[float, dict]:
    """Wall time of one transition process and its report."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "segue", "transition", str(a), str(b), "--frames", str(frames),
                           "-o", str(out), "--model", model, "-q"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return wall, json.loads((out / "transition.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per model; the median is printed")
    ap.add_argument("--frames", type=int, default=12, help="frames to synthesize (default 12)")
    args = ap.parse_args()
    models = ["auto", "classic"]
    shipped = shipped_model_dir()
    if shipped is not None:
        models.append(str(shipped))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        a, b = scale_take(TAKE_A, tmp / "take_a.mp4"), scale_take(TAKE_B, tmp / "take_b.mp4")
        print(f"demo takes at 1920x1080, {args.frames} frames, 8-bit PNG; median of {args.runs} processes")
        medians = {}
        for k, model in enumerate(models):
            runs = [run_once(a, b, tmp / f"out{k}_{r}", model, args.frames) for r in range(args.runs)]
            medians[model] = statistics.median(wall for wall, _ in runs)
            report = runs[-1][1]
            split = ", ".join(f"{name} {report['timings'][name]:.2f} s"
                              for name in ("read", "correspondence", "synthesis"))
            label = "learned model (forced)" if model == str(shipped) else f"--model {model}"
            used = model_label(report["model"]["used"])
            print(f"{label:<24} {medians[model]:6.2f} s  (runs as {used}; one run: {split})")
        print(f"auto / classic {medians['auto'] / medians['classic']:.2f}; budget {BUDGET_S:.1f} s for auto")


if __name__ == "__main__":
    main()
