"""A retime as an Open Job Description farm job on this machine: identity, 1 vs 2 workers, overheads.

    python bench/bench_farm.py CLIP --fps 50 --chunks 8 [--model classic] [--work DIR]
    python bench/bench_farm.py CLIP --cuts 20 [--model classic] [--work DIR]
    python bench/bench_farm.py CLIP --warm 8 --model auto [--work DIR]

1. **Local**: ``segue retime CLIP --fps F -o local.mp4``, timed.
2. **One worker, a task killed midway**: the bundle of ``segue farm openjd`` run with
   ``openjd run ... --step Assemble --run-dependencies`` (one session: tasks one after
   another); once chunk 3's segment is being written the session is killed (SIGKILL, the
   whole process group), then the same command runs again and finishes the job. Timed
   both ways: the wall time of the two sessions, and the sum of the chunks' own render
   times from their records (the killed half chunk is not in it).
3. **Two workers** (not with ``--one-worker``): ``--step Plan``, then two ``openjd run --step Render --tasks`` sessions
   at once (odd and even chunks), then ``--step Assemble``; timed.
4. Both farm movies are compared with the local one byte for byte (every frame and the
   audio; the decoded frames are compared too), and the per-chunk overhead is measured:
   a process start (``segue --version``), loading the engine, and a rerun of a chunk
   that is already rendered (start, probe, plan check: what every task pays).

With ``--warm N`` instead: a cold task against a warm daemon. The retime of CLIP is
planned in N chunks; each chunk is rendered twice, once by a task in its own process
(``--no-server``: start, imports, model load, then the chunk) and once handed to a
``segue-renderd`` started beside it (one worker: the model stays loaded), alternating;
medians per task. The model is the learned one unless ``--model`` says otherwise.

With ``--cuts N`` instead: N jump cuts between consecutive pieces of CLIP (each piece a
second long, 640 px wide) rendered from one transition template (``--frames 8``, two
chunks; a parameter file per cut), each folder compared with a local ``segue transition``
of the same cut: frames and previews byte for byte, transition.json but for when it was
made and how long it took.

Not a test: the times depend on the machine and its load. Needs the test extra (openjd-cli).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SEGUE, OPENJD = str(BIN / "segue"), str(BIN / "openjd")


def run(cmd: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


def openjd(bundle: Path, *args: str) -> list[str]:
    return [OPENJD, "run", str(bundle / "template.yaml"), "--job-param", f"file://{bundle / 'params.json'}",
            "--job-param", f"SegueCommand={SEGUE}", *args]


def bundle_for(clip: str, out: Path, args: argparse.Namespace, name: str) -> Path:
    bundle = out.parent / name
    run([SEGUE, "farm", "openjd", "retime", clip, "--fps", args.fps, "-o", str(out), "--model", args.model,
         "--chunks", str(args.chunks), "--bundle", str(bundle)])
    return bundle


def chunk_seconds(out: Path) -> float:
    work = out.parent / f".{out.name}.segue-farm"
    return sum(json.loads(p.read_text())["seconds"] for p in work.glob("chunk_*.json"))


def same_decoded_frames(a: Path, b: Path) -> bool:
    from segue.core.media.ffmpeg import find_ffmpeg

    def digest(path: Path) -> str:
        done = subprocess.run([find_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "md5",
                               "-"], capture_output=True, text=True, check=True)
        return done.stdout.strip()
    return digest(a) == digest(b)


def comparable(report: Path) -> dict:
    data = json.loads(report.read_text())
    data.pop("created"), data.pop("timings"), data["output"].pop("folder")
    for frame in data["frames"]:
        frame.pop("seconds")
    return data


def cuts(args: argparse.Namespace, work: Path, clip: str) -> None:
    from segue.core.media.ffmpeg import find_ffmpeg

    pieces = []
    for k in range(args.cuts + 1):
        piece = work / "pieces" / f"piece_{k:02d}.mp4"
        piece.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([find_ffmpeg(), "-nostdin", "-v", "error", "-ss", str(3 * k), "-i", clip, "-t", "1",
                        "-vf", "scale=640:-2", "-an", "-c:v", "libx264", "-crf", "16", str(piece)], check=True)
        pieces.append(piece)
    bundle = work / "bundle"
    run([SEGUE, "farm", "openjd", "transition", str(pieces[0]), str(pieces[1]), "--frames", "8", "-o",
         str(work / "farm" / "00"), "--model", args.model, "--chunks", "2", "--bundle", str(bundle)])
    t_farm = t_local = 0.0
    identical = 0
    for k in range(args.cuts):
        params = work / f"cut_{k:02d}.json"
        params.write_text(json.dumps({"ClipA": str(pieces[k]), "ClipB": str(pieces[k + 1]),
                                      "OutputDir": str(work / "farm" / f"{k:02d}"), "Chunks": 2}))
        t_farm += run([OPENJD, "run", str(bundle / "template.yaml"), "--job-param", f"file://{params}",
                       "--job-param", f"SegueCommand={SEGUE}", "--step", "Assemble", "--run-dependencies"])
        local = work / "local" / f"{k:02d}"
        t_local += run([SEGUE, "transition", str(pieces[k]), str(pieces[k + 1]), "--frames", "8", "-o", str(local),
                        "--model", args.model, "-q"])
        farm = work / "farm" / f"{k:02d}"
        names = sorted(p.name for p in local.iterdir() if not p.name.startswith("."))
        same = names == sorted(p.name for p in farm.iterdir() if not p.name.startswith(".")) and all(
            (local / n).read_bytes() == (farm / n).read_bytes() for n in names if n != "transition.json")
        identical += same and comparable(local / "transition.json") == comparable(farm / "transition.json")
    print(f"{args.cuts} cuts from one template: {identical} of {args.cuts} folders identical to local runs; "
          f"farm {t_farm:.1f} s (openjd run, 4 tasks a cut), local {t_local:.1f} s")


def warm(args: argparse.Namespace, work: Path, clip: str) -> None:
    import re

    store = work / "store"
    log = open(work / "renderd.log", "w")  # noqa: SIM115 - closed below
    daemon = subprocess.Popen([str(BIN / "segue-renderd"), "serve", "--listen", "127.0.0.1:0", "--workers", "1",
                               "--store", str(store), "--allow-root", str(work), "--allow-root",
                               os.path.dirname(clip), *(["--run-as-root"] if os.geteuid() == 0 else [])],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    try:
        address = None
        while address is None:
            if daemon.poll() is not None:
                sys.exit("segue-renderd did not start: " + (work / "renderd.log").read_text())
            found = re.search(r'"event": "server.serving".*?"address": "([^"]+)"', (work / "renderd.log").read_text())
            address = found and found.group(1)
            time.sleep(0.1)
        out = work / "warm" / "out"
        base = ["farm", "render", "retime", clip, "--fps", args.fps, "-o", str(out), "--model", args.model,
                "--chunks", str(args.warm), "-q"]
        run([SEGUE, "farm", "plan", *base[2:]])
        cold, hot = [], []
        for k in range(1, args.warm + 1):  # a task renders its chunk again only if its record is gone
            for where, times in ((["--no-server"], cold), (["--server", address], hot)):
                for record in (out / ".segue-farm").glob(f"chunk_{k:04d}.json"):
                    record.unlink()
                times.append(run([SEGUE, *base, "--chunk", str(k), *where], stderr=subprocess.DEVNULL))
        print(f"{args.warm} chunks of {clip} (model {args.model}), median seconds per task: "
              f"in its own process {statistics.median(cold):.2f}, on the warm daemon {statistics.median(hot):.2f} "
              f"(first task on the daemon, loading the model: {hot[0]:.2f})")
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip")
    parser.add_argument("--fps", default="50")
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--model", default="classic")
    parser.add_argument("--work", default="farm-bench")
    parser.add_argument("--cuts", type=int, help="render this many jump cuts from one transition template instead")
    parser.add_argument("--warm", type=int, help="time this many chunks in-process and on a warm daemon instead")
    parser.add_argument("--one-worker", action="store_true", help="skip the two-worker run (3.)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    clip = os.path.abspath(args.clip)
    if args.cuts:
        return cuts(args, work, clip)
    if args.warm:
        return warm(args, work, clip)

    local = work / "local" / "out.mp4"
    t_local = run([SEGUE, "retime", clip, "--fps", args.fps, "-o", str(local), "--model", args.model, "-q"])
    print(f"local segue retime: {t_local:.1f} s", flush=True)

    one = work / "one" / "out.mp4"
    bundle = bundle_for(clip, one, args, "bundle-one")
    started = time.perf_counter()
    session = subprocess.Popen(openjd(bundle, "--step", "Assemble", "--run-dependencies"), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, start_new_session=True)
    segments = one.parent / f".{one.name}.segue-farm"
    while not (segments.is_dir() and any(p.name.startswith(".chunk_0003.mkv.tmp-") for p in segments.iterdir())):
        if session.poll() is not None:
            sys.exit("the session ended before chunk 3 started")
        time.sleep(0.05)
    time.sleep(5)  # midway into the chunk
    os.killpg(session.pid, signal.SIGKILL)
    session.wait()
    killed_at = time.perf_counter() - started
    t_rerun = run(openjd(bundle, "--step", "Assemble", "--run-dependencies"))
    print(f"one worker: killed in chunk 3 after {killed_at:.1f} s, rerun {t_rerun:.1f} s; "
          f"chunks' own render time {chunk_seconds(one):.1f} s", flush=True)

    movies = [one]
    if not args.one_worker:
        movies.append(two_workers(clip, work, args))
    expected = local.read_bytes()
    for movie in movies:
        print(f"{movie.parent.name}: movie byte-identical to local: {movie.read_bytes() == expected}; "
              f"decoded frames identical: {same_decoded_frames(movie, local)}", flush=True)

    starts = [run([SEGUE, "--version"]) for _ in range(5)]
    loads = [run([sys.executable, "-c", f"from segue.core.engine import Engine; Engine({args.model!r})"])
             for _ in range(5)]
    done_chunk = [run([SEGUE, "farm", "render", "retime", clip, "--fps", args.fps, "-o", str(one), "--model",
                       args.model, "--chunks", str(args.chunks), "--chunk", "1", "-q"], stderr=subprocess.DEVNULL)
                  for _ in range(5)]
    print(f"per task (median of 5): process start {statistics.median(starts):.2f} s, python + engine load "
          f"{statistics.median(loads):.2f} s, a task whose chunk is done {statistics.median(done_chunk):.2f} s")


def two_workers(clip: str, work: Path, args: argparse.Namespace) -> Path:
    two = work / "two" / "out.mp4"
    bundle = bundle_for(clip, two, args, "bundle-two")
    started = time.perf_counter()
    run(openjd(bundle, "--step", "Plan"))
    t_plan = time.perf_counter() - started
    halves = [[{"Chunk": k} for k in range(first, args.chunks + 1, 2)] for first in (1, 2)]
    workers = [subprocess.Popen(openjd(bundle, "--step", "Render", "--tasks", json.dumps(tasks)),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) for tasks in halves]
    if any(w.wait() != 0 for w in workers):
        sys.exit("a render session failed")
    t_render = time.perf_counter() - started - t_plan
    run(openjd(bundle, "--step", "Assemble"))
    t_two = time.perf_counter() - started
    print(f"two workers: {t_two:.1f} s (plan {t_plan:.1f}, render {t_render:.1f}, "
          f"assemble {t_two - t_plan - t_render:.1f}); chunks' own render time {chunk_seconds(two):.1f} s", flush=True)
    return two


if __name__ == "__main__":
    main()
