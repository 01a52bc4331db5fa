"""What the daemon costs over running the engine in-process.

    python bench/bench_renderd.py [--runs 7] [--frames 12]

Starts a real ``segue-renderd`` (one worker, loopback, a temporary store) and renders
the same transitions through it, with the shared client, and in this process with
`render_transition` and a reused `Engine` (as a worker keeps one). Two inputs: the
embedded demo takes (640x360 movies) and two 160x90 stills, where the daemon's
overhead weighs most. Prints medians over ``--runs`` runs of:

* **submit to first frame**: from the call (SubmitTransition, or `render_transition`)
  to the first finished frame being reported (a WatchJob event, or ``on_frame``);
* **per frame**: the interval between consecutive frame reports;
* the daemon's overhead: the difference of the two.

Not a test: the numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from segue.core.allocator import keep_frame_buffers
from segue.core.engine import Engine
from segue.core.transition import TransitionSpec, render_transition
from segue.renderd.client import RenderClient, local_token

REPO = Path(__file__).resolve().parents[1]
INPUTS = {
    "demo takes 640x360": (REPO / "core/assets/demo/take_a.mp4", REPO / "core/assets/demo/take_b.mp4"),
    "stills 160x90": (REPO / "tests/fixtures/bbb/bbb.0036.png", REPO / "tests/fixtures/bbb/bbb.0042.png"),
}


def start_daemon(store: Path) -> tuple[subprocess.Popen, str]:
    as_root = ["--run-as-root"] if os.geteuid() == 0 else []  # a benchmark's own throwaway daemon
    proc = subprocess.Popen([sys.executable, "-m", "segue.renderd", "serve", "--listen", "127.0.0.1:0", "--store",
                             str(store), "--workers", "1", *as_root], stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        event = json.loads(line)
        if event.get("event") == "server.serving":
            # keep reading its log, or a full pipe would block the daemon
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, event["address"]
    raise SystemExit("segue-renderd did not start")


def in_process(clips: tuple[Path, Path], frames: int, out: Path, engine: Engine) -> tuple[float, list[float]]:
    """(seconds to the first frame, intervals between frames) of one local render."""
    marks: list[float] = []
    start = time.perf_counter()
    render_transition(TransitionSpec(clip_a=str(clips[0]), clip_b=str(clips[1]), frames=frames, out_dir=str(out)),
                      engine=engine, on_frame=lambda event: marks.append(time.perf_counter()))
    return marks[0] - start, [b - a for a, b in itertools.pairwise(marks)]


def on_daemon(client: RenderClient, clips: tuple[Path, Path], frames: int, out: Path) -> tuple[float, list[float]]:
    """The same, submitted to the daemon and followed with WatchJob."""
    marks: list[float] = []
    start = time.perf_counter()
    job = client.submit({"clip_a": str(clips[0]), "clip_b": str(clips[1]), "frames": frames,
                         "out_dir": str(out)}).job
    for event in client.watch(job.job_id):
        if event.HasField("frame"):
            marks.append(time.perf_counter())
    return marks[0] - start, [b - a for a, b in itertools.pairwise(marks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    keep_frame_buffers()  # as the daemon does, so the two sides differ only by the service
    with tempfile.TemporaryDirectory(prefix="bench-renderd-") as tmp:
        tmp = Path(tmp)
        proc, address = start_daemon(tmp / "store")
        engine = Engine("auto")
        try:
            with RenderClient(address, token=local_token(address)) as client:
                print(f"segue-renderd at {address}, 1 worker; {args.frames} frames per job, "
                      f"median of {args.runs} runs (after one warm-up each)")
                print(f"{'input':<20s} {'':>10s} {'first frame ms':>15s} {'per frame ms':>13s}")
                for name, clips in INPUTS.items():
                    rows = {"in-process": ([], []), "daemon": ([], [])}
                    for run in range(args.runs + 1):
                        for label, render in (
                                ("in-process", lambda o, c=clips: in_process(c, args.frames, o, engine)),
                                ("daemon", lambda o, c=clips: on_daemon(client, c, args.frames, o))):
                            first, gaps = render(tmp / f"{label}-{uuid.uuid4().hex}")
                            if run:  # run 0 warms caches (OCIO processors, ffmpeg, page cache)
                                rows[label][0].append(first)
                                rows[label][1].extend(gaps)
                    medians = {k: (statistics.median(v[0]) * 1e3, statistics.median(v[1]) * 1e3)
                               for k, v in rows.items()}
                    for label, (first, per) in medians.items():
                        print(f"{name:<20s} {label:>10s} {first:15.1f} {per:13.1f}")
                    first = medians["daemon"][0] - medians["in-process"][0]
                    per = medians["daemon"][1] - medians["in-process"][1]
                    print(f"{name:<20s} {'overhead':>10s} {first:+15.1f} {per:+13.1f}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


if __name__ == "__main__":
    main()
