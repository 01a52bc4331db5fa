"""A retime rendered as a farm job equals ``segue retime`` byte for byte.

One chunk, seven uneven chunks, and the same seven run out of order by two processes at
once give the local run's movie (video and audio) and image files exactly; a chunk killed
midway leaves no partial or duplicate frame and its rerun changes nothing; the steps
refuse, in words, what they cannot do (a chunk that is not rendered, another plan, a
source changed since the plan).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from farm_runs import product_files
from retime_clips import assert_user_error, encode, pan, segue, texture

from segue.core.engine import Engine
from segue.core.farm import assemble_retime, plan_retime, render_retime_chunk, work_folder
from segue.core.retime import RetimeSpec, run_retime

MODEL = "classic"
ORDER = [7, 3, 5, 1, 6, 2, 4]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """30 frames of real footage panning at 25 fps, with AAC audio (a stereo-less sine)."""
    folder = tmp_path_factory.mktemp("farm-clip")
    return encode(pan(texture(), 30, dx=3, dy=1), folder / "take.mp4", audio_seconds=1.2)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(MODEL)


def same_report(local: Path, farm: Path) -> None:
    """Reports agree but for when they were made, how long it took and where the output is."""
    a, b = json.loads(local.read_text()), json.loads(farm.read_text())
    for report in (a, b):
        report.pop("created"), report.pop("timings"), report["output"].pop("path")
    assert a == b


def farm_in_process(spec: RetimeSpec, chunks: int, engine: Engine, order=None) -> dict:
    plan = plan_retime(spec, chunks, engine=engine)
    for k in order or range(1, len(plan["chunks"]) + 1):
        render_retime_chunk(spec, chunks, k, engine=engine)
    return assemble_retime(spec, chunks, engine=engine)


def farm_args(step: str, clip: Path, output: Path, chunks: int, *extra: str) -> list[str]:
    return ["farm", step, "retime", str(clip), "--fps", "50", "-o", str(output), "--model", MODEL,
            "--chunks", str(chunks), "-q", *extra]


def test_movie_chunks_equal_the_local_movie(tmp_path: Path, clip: Path, engine: Engine) -> None:
    local = tmp_path / "local" / "take_50.mp4"
    run_retime(RetimeSpec(str(clip), str(local), fps="50", model=MODEL), engine=engine)

    one = tmp_path / "one" / "take_50.mp4"
    farm_in_process(RetimeSpec(str(clip), str(one), fps="50", model=MODEL), 1, engine)
    seven = tmp_path / "seven" / "take_50.mp4"
    report = farm_in_process(RetimeSpec(str(clip), str(seven), fps="50", model=MODEL), 7, engine)
    assert report["target"]["frame_count"] == 60

    # the same seven chunks, out of order, by two processes at once (the console script, as a farm runs it)
    shuffled = tmp_path / "shuffled" / "take_50.mp4"
    assert segue(*farm_args("plan", clip, shuffled, 7)).returncode == 0
    sizes = [len(r) for r in json.loads((work_folder(str(shuffled)) / "job.json").read_text())["chunks"]
             for r in [range(*r)]]
    assert len(set(sizes)) == 2  # uneven: 60 frames in 7 chunks

    def worker(chunk_list: list[int]) -> list[int]:
        return [segue(*farm_args("render", clip, shuffled, 7, "--chunk", str(k))).returncode for k in chunk_list]

    with ThreadPoolExecutor(2) as pool:
        codes = [c for done in pool.map(worker, [ORDER[0::2], ORDER[1::2]]) for c in done]
    assert codes == [0] * 7
    done = segue(*farm_args("assemble", clip, shuffled, 7))
    assert done.returncode == 0, done.stderr
    assert "assembled" in done.stdout

    expected = local.read_bytes()  # the movie's bytes: every video frame and the audio, muxed alike
    for movie in (one, seven, shuffled):
        assert movie.read_bytes() == expected, movie
        same_report(local.with_name(local.name + ".json"), movie.with_name(movie.name + ".json"))
    assert not list(work_folder(str(shuffled)).glob("*.mkv"))  # the segments went into the movie

    again = segue(*farm_args("assemble", clip, shuffled, 7))  # a rerun of the last step changes nothing
    stamp = shuffled.stat().st_mtime_ns
    assert again.returncode == 0 and shuffled.stat().st_mtime_ns == stamp and shuffled.read_bytes() == expected


def test_sequence_chunks_equal_the_local_frames(tmp_path: Path, clip: Path, engine: Engine) -> None:
    local = tmp_path / "local"
    run_retime(RetimeSpec(str(clip), str(local), slowmo="2", model=MODEL), engine=engine)
    farm = tmp_path / "farm"
    spec = RetimeSpec(str(clip), str(farm), slowmo="2", model=MODEL)
    farm_in_process(spec, 7, engine, order=ORDER)
    assert product_files(farm).keys() == product_files(local).keys()
    expected = product_files(local)
    got = product_files(farm)
    assert len([n for n in got if n.startswith("frame_")]) == 60
    assert all(got[n] == expected[n] for n in expected if n != "retime.json")
    same_report(local / "retime.json", farm / "retime.json")


def _wait_for(predicate, proc: subprocess.Popen, what: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit  # a bound on waiting, not a timed assertion
    while not predicate():
        assert proc.poll() is None, f"the chunk ended before {what}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} after {limit} s"
        time.sleep(0.002)


@pytest.mark.parametrize("output", ["take_50.mp4", "frames"])
def test_a_killed_chunk_leaves_no_partial_frame_and_reruns(tmp_path: Path, clip: Path, engine: Engine,
                                                           output: str) -> None:
    local = tmp_path / "local" / output
    run_retime(RetimeSpec(str(clip), str(local), fps="50", model=MODEL), engine=engine)
    out = tmp_path / "farm" / output
    assert segue(*farm_args("plan", clip, out, 3)).returncode == 0
    work = work_folder(str(out))
    movie = output.endswith(".mp4")
    frames = out if not movie else None

    proc = segue(*farm_args("render", clip, out, 3, "--chunk", "2"), wait=False)
    if movie:  # the segment is being written under its temporary name
        _wait_for(lambda: any(p.name.startswith(".chunk_0002.mkv.tmp-") for p in work.iterdir()), proc, "segment")
    else:  # chunk 2 is frames 21-40: its first is on disk
        _wait_for(lambda: any(frames.glob("frame_*.png")), proc, "a frame")
    proc.send_signal(signal.SIGSTOP)  # frozen midway, then killed as a farm kills a task
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (work / "chunk_0002.json").exists() and not (work / "chunk_0002.mkv").exists()
    incomplete = segue(*farm_args("assemble", clip, out, 3))
    assert_user_error(incomplete, "not rendered", "chunk 1, 2, 3")
    if frames is not None:  # only whole frames under frame names (atomic writes); temporaries are hidden
        assert 0 < len(list(frames.glob("frame_*.png"))) < 20  # killed midway through its 20 frames
        for path in frames.glob("frame_*.png"):
            assert path.read_bytes() == (local / path.name).read_bytes()

    for k in (2, 3, 1):
        assert segue(*farm_args("render", clip, out, 3, "--chunk", str(k))).returncode == 0
    assemble = segue(*farm_args("assemble", clip, out, 3))
    assert assemble.returncode == 0, assemble.stderr
    leftovers = [p.name for p in (work.iterdir()) if ".tmp-" in p.name]
    leftovers += [p.name for p in out.parent.iterdir() if ".tmp-" in p.name or "segue-part" in p.name]
    assert not leftovers
    if movie:
        assert out.read_bytes() == local.read_bytes()
    else:
        assert product_files(out).keys() == product_files(local).keys()
        assert all(product_files(out)[n] == b for n, b in product_files(local).items() if n != "retime.json")


def test_steps_refuse_what_they_cannot_do(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out.mp4"
    assert_user_error(segue(*farm_args("render", clip, out, 3, "--chunk", "1")), "segue farm plan")
    assert_user_error(segue(*farm_args("plan", clip, out, 0)), "--chunks")
    assert segue(*farm_args("plan", clip, out, 3)).returncode == 0
    assert_user_error(segue(*farm_args("render", clip, out, 3, "--chunk", "4")), "--chunk", "from 1 to 3")
    assert_user_error(segue(*farm_args("render", clip, out, 5, "--chunk", "1")), "planned in 3 chunks")
    assert_user_error(segue(*farm_args("assemble", clip, out, 3)), "3 of 3 chunks are not rendered")
    other = segue("farm", "render", "retime", str(clip), "--fps", "30", "-o", str(out), "--model", MODEL,
                  "--chunks", "3", "--chunk", "1")
    assert_user_error(other, "planned for another retime")
    os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns + 10**9))  # the source changed since the plan
    try:
        assert_user_error(segue(*farm_args("render", clip, out, 3, "--chunk", "1")), "plan` again")
    finally:
        os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns - 10**9))


def test_a_rerun_keeps_a_rendered_chunk(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "frames"
    work = work_folder(str(out))

    def stamps() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [*out.glob("frame_*"), *work.glob("chunk_*")]}

    assert segue(*farm_args("plan", clip, out, 2)).returncode == 0
    assert segue(*farm_args("render", clip, out, 2, "--chunk", "1")).returncode == 0
    kept = stamps()
    assert len(kept) == 31  # frames 1-30 and the chunk's record
    assert segue(*farm_args("render", clip, out, 2, "--chunk", "1")).returncode == 0  # e.g. the whole job run again
    assert stamps() == kept
    (out / "frame_000007.png").unlink()  # a frame gone: the chunk is rendered again
    assert segue(*farm_args("render", clip, out, 2, "--chunk", "1")).returncode == 0
    again = stamps()
    assert again.keys() == kept.keys() and again["chunk_0001.json"] != kept["chunk_0001.json"]


def test_assemble_refuses_a_chunk_whose_frames_are_gone(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "frames"
    assert segue(*farm_args("plan", clip, out, 2)).returncode == 0
    for k in (1, 2):
        assert segue(*farm_args("render", clip, out, 2, "--chunk", str(k))).returncode == 0
    (out / "frame_000042.png").unlink()  # chunk 2's frame, gone after the chunk was done
    assert_user_error(segue(*farm_args("assemble", clip, out, 2)), "1 of 2 chunks are not rendered", "chunk 2")
    assert not (out / "retime.json").exists()


def test_more_chunks_than_frames_gives_the_same_movie(tmp_path: Path, clip: Path, engine: Engine) -> None:
    short = encode(pan(texture(), 3, dx=3, dy=1), tmp_path / "short.mp4")  # 3 frames: 6 at 50 fps
    local = tmp_path / "local.mp4"
    run_retime(RetimeSpec(str(short), str(local), fps="50", model=MODEL), engine=engine)
    out = tmp_path / "farm" / "short.mp4"
    report = farm_in_process(RetimeSpec(str(short), str(out), fps="50", model=MODEL), 9, engine,
                             order=range(9, 0, -1))
    assert report["target"]["frame_count"] == 6
    assert out.read_bytes() == local.read_bytes()
