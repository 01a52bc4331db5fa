"""Speed and memory of `segue retime` on 1080p: output frames per second and peak memory.

    python bench/bench_retime.py [--frames 24] [--runs 3] [--long-frames 240]

* **Speed**: a 1920x1080 25 fps H.264 clip (real footage texture from tests/fixtures,
  Big Buck Bunny CC BY 3.0, panned) retimed x2 to H.264 with ``classic``, and with the
  learned model when ``core/model/weights/`` exists (``--model auto``). Each render runs
  in its own process; the median output fps (frames written / render wall time) of
  ``--runs`` runs is printed, with the report's analysis / engine split.
* **Memory**: peak resident memory of the Python process (``ru_maxrss``) and of the
  largest ffmpeg child, for the short clip with each model and for a clip
  ``--long-frames`` long with the default model (``auto``). The
  pipeline keeps a fixed number of frames whatever the length, so the two peaks match
  and a 10-minute clip peaks at the same level (reported, not asserted).

Not a test: numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segue.core.media.ffmpeg import find_ffmpeg

W, H = 1920, 1080
CHILD = r"""
import json, resource, sys
from segue.core.allocator import keep_frame_buffers
from segue.core.retime import RetimeSpec, run_retime
keep_frame_buffers()  # as the segue CLI does
report = run_retime(RetimeSpec(sys.argv[1], sys.argv[2], factor="2", model=sys.argv[3], overwrite=True))
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"report": report, "rss_mib": me / 1024, "child_rss_mib": kids / 1024}))
"""


def make_clip(path: Path, frames: int) -> Path:
    """A 1080p pan over an upscaled real frame, 3 px right and 1 px down per frame."""
    src = cv2.imread(str(ROOT / "tests/fixtures/triplets/bbb_gap4_0044/input0.png"))
    tex = cv2.resize(src, (W + 3 * frames + 8, H + frames + 8), interpolation=cv2.INTER_CUBIC)[..., ::-1]
    cmd = [find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{W}x{H}", "-framerate", "25", "-i", "pipe:0", "-c:v", "libx264", "-crf", "16",
           "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for k in range(frames):
        proc.stdin.write(np.ascontiguousarray(tex[k:k + H, 3 * k:3 * k + W]).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("ffmpeg failed to make the clip")
    return path


def run_once(clip: Path, out: Path, model: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(out), model], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24, help="source frames of the speed clip (default 24)")
    ap.add_argument("--runs", type=int, default=3, help="runs per model; the median is printed")
    ap.add_argument("--long-frames", type=int, default=240, help="source frames of the memory clip (0: skip)")
    args = ap.parse_args()
    models = ["classic"]
    if (ROOT / "core/model/weights").is_dir():
        models.append("auto")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp / "clip1080.mp4", args.frames)
        print(f"clip: {W}x{H} 25 fps H.264, {args.frames} frames -> x2 = {2 * args.frames} frames, H.264 out")
        for model in models:
            results = [run_once(clip, tmp / f"out_{model}.mp4", model) for _ in range(args.runs)]
            fps = [r["report"]["timings"]["output_fps"] for r in results]
            used = results[0]["report"]["model"]["used"]
            t = results[0]["report"]["timings"]
            print(f"model {model} (runs as {used}): median output {statistics.median(fps):.2f} fps "
                  f"over {args.runs} runs {[round(f, 2) for f in fps]}; one run: analysis {t['analysis']:.1f} s, "
                  f"engine {t['engine']:.1f} s, render {t['render']:.1f} s; peak memory: segue "
                  f"{statistics.median(r['rss_mib'] for r in results):.0f} MiB, largest ffmpeg "
                  f"{statistics.median(r['child_rss_mib'] for r in results):.0f} MiB")
        if args.long_frames:
            long_clip = make_clip(tmp / "long1080.mp4", args.long_frames)
            r = run_once(long_clip, tmp / "long_out.mp4", models[-1])
            print(f"model {models[-1]}, {args.long_frames} frames ({args.long_frames / 25:.0f} s, "
                  f"{2 * args.long_frames} "
                  f"output frames): peak memory segue {r['rss_mib']:.0f} MiB, largest ffmpeg {r['child_rss_mib']:.0f} "
                  f"MiB; output {r['report']['timings']['output_fps']:.2f} fps")

if __name__ == "__main__":
    main()
