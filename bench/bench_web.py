"""The web page's speed as a user feels it, and its screenshots for docs/web.md.

    python bench/bench_web.py [--runs 5] [--frames 6] [--model classic] [--screenshots docs/images]

Starts ``segue web`` (its own daemon, a scratch folder), opens it in Debian's chromium
(headless, Playwright), drops the two demo takes and, per run, clicks **Render** and
measures in the page (``performance.now()``):

* **first frame on screen**: from the click to the first synthesized frame's thumbnail
  loaded and shown;
* **preview playing**: from the click to both preview movies ready to play.

The baseline, in the same process and against the same daemon: the same transition
submitted straight to segue-renderd with its client, from the submit to the first frame
event (what the page cannot beat), and to the job's end. Medians over the runs, and the
page's ratio to the baseline (its overhead: HTTP, the upload-free submit, the event
stream, loading the thumbnail).

``--screenshots DIR`` also saves the page's main states as PNG files (1280x800: the empty
page, a refused upload, the clips, a render in progress, the result, a frame's confidence
map, one clip with the cut being picked; and one at a phone's width).

Not a test: the times depend on the machine and its load. Needs the test extra
(playwright) and chromium.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "core" / "assets" / "demo"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
FIRST_FRAME = """() => new Promise(resolve => {
  const start = performance.now();
  const seen = () => { const img = document.querySelector('#thumbs img');
    if (img && img.complete && img.naturalWidth) resolve(performance.now() - start);
    else requestAnimationFrame(seen); };
  document.querySelector('#render').click(); seen(); })"""
PREVIEW = """(start) => new Promise(resolve => {
  const ready = () => { const v = [...document.querySelectorAll('#result:not([hidden]) video')];
    if (v.length === 2 && v.every(e => e.readyState >= 2)) resolve(performance.now());
    else requestAnimationFrame(ready); };
  ready(); })"""


def start_web(root: Path) -> tuple[subprocess.Popen, str, str]:
    """``segue web`` on its own daemon: the process, the page's address and the daemon's."""
    proc = subprocess.Popen([sys.executable, "-m", "segue", "web", "--listen", "127.0.0.1:0", "--own-daemon",
                             "--root", str(root)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    daemon = ""
    for line in proc.stdout:
        found = re.search(r"own segue-renderd \(at ([\d.]+:\d+);", line)
        daemon = found.group(1) if found else daemon
        if line.startswith("Segue's web page: "):
            return proc, line.split(": ", 1)[1].strip(), daemon
    raise SystemExit("segue web did not start")


def baseline(address: str, root: Path, frames: int, model: str) -> tuple[float, float]:
    """The transition submitted straight to the page's daemon: seconds to the first frame, and to the end."""
    from segue.renderd._proto import render_pb2 as pb
    from segue.renderd.client import FINAL_STATES, RenderClient, local_token

    a, b = (str(next(p for p in root.glob("uploads/*/upload.json") if name in p.read_text()).parent / "clip.mp4")
            for name in ("take_a.mp4", "take_b.mp4"))
    with RenderClient(address, token=local_token(address)) as client:
        spec = {"clip_a": a, "clip_b": b, "frames": frames, "out_dir": tempfile.mkdtemp(dir=root), "model": model,
                "a_out": -(frames // 2) - 1, "b_in": frames - frames // 2}
        start = time.perf_counter()
        job = client.submit(spec).job
        first = last = None
        for event in client.watch(job.job_id):
            if event.HasField("frame") and first is None:
                first = time.perf_counter() - start
            if event.job.state in FINAL_STATES:
                last = time.perf_counter() - start
        if event.job.state != pb.JOB_STATE_SUCCEEDED:
            raise SystemExit(f"the baseline job ended {pb.JobState.Name(event.job.state)}")
        return first, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--model", default="classic")
    parser.add_argument("--screenshots", type=Path, help="folder to save the page's main states in")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if not chromium:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="segue-bench-web-"))
    proc, url, daemon = start_web(root)
    shots = args.screenshots
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", state="attached")
            if shots:
                page.screenshot(path=shots / "web_start.png")
                fake = root / "holiday.mp4"
                fake.write_text("a text file, named like a movie\n")
                page.set_input_files("#file-a", str(fake))
                page.wait_for_selector("#message:not([hidden])")
                page.screenshot(path=shots / "web_refusal.png")
            page.set_input_files("#file-a", str(DEMO / "take_a.mp4"))
            page.set_input_files("#file-b", str(DEMO / "take_b.mp4"))
            page.wait_for_selector("#info-b:not([hidden])")
            page.fill("#frames", str(args.frames))
            page.select_option("#model", args.model)
            if shots:
                page.screenshot(path=shots / "web_clips.png")
            first, ready = [], []
            for run in range(args.runs):
                page.evaluate("document.querySelector('#thumbs').replaceChildren()")
                started = page.evaluate("performance.now()")
                first.append(page.evaluate(FIRST_FRAME) / 1000)
                if shots and run == 0:
                    page.locator("#progress-box").scroll_into_view_if_needed()
                    page.screenshot(path=shots / "web_progress.png")
                ready.append((page.evaluate(PREVIEW, started) - started) / 1000)
            if shots:
                page.wait_for_timeout(500)
                page.evaluate("document.querySelector('#result').scrollIntoView()")
                page.screenshot(path=shots / "web_result.png")
                page.check("input[name='closer-view'][value='confidence']")
                page.select_option("#closer-frame", "3")
                page.wait_for_timeout(500)
                page.evaluate("document.querySelector('.closer').scrollIntoView()")
                page.screenshot(path=shots / "web_closer.png")
                page.set_viewport_size({"width": 390, "height": 844})
                page.screenshot(path=shots / "web_phone.png")
                page.set_viewport_size({"width": 1280, "height": 800})
                page.reload()
                page.wait_for_selector("body[data-ready='1']", state="attached")
                page.check("input[name='mode'][value='one']")
                page.set_input_files("#file-a", str(DEMO / "take_a.mp4"))
                page.wait_for_selector("#scrubber:not([hidden])")
                page.wait_for_timeout(1500)
                page.evaluate("document.querySelector('#scrubber').scrollIntoView()")
                page.screenshot(path=shots / "web_one_clip.png")
            browser.close()
        daemon_first, daemon_end = zip(*(baseline(daemon, root, args.frames, args.model) for _ in range(args.runs)))
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(root, ignore_errors=True)
    med = statistics.median
    print(f"demo takes (640x360), {args.frames} frames, model {args.model}, {args.runs} runs, medians:")
    print(f"  page: click -> first frame on screen  {med(first):7.3f} s")
    print(f"  page: click -> preview playing        {med(ready):7.3f} s")
    print(f"  daemon direct: submit -> first frame  {med(daemon_first):7.3f} s  "
          f"(page/direct {med(first) / med(daemon_first):.2f})")
    print(f"  daemon direct: submit -> job done     {med(daemon_end):7.3f} s  "
          f"(page's preview/direct's end {med(ready) / med(daemon_end):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
