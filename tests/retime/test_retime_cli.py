"""`segue retime` as a user runs it: one-line errors, interruption, resume, existing outputs."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from retime_clips import assert_user_error, encode, pan, segue, texture

from segue.core.errors import InputError
from segue.core.retime import RetimeSpec

LONG_FRAMES = 24
TOTAL = 4 * LONG_FRAMES  # --slowmo 4 of the long clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode(pan(texture(0), 12, dx=2, dy=1), tmp_path_factory.mktemp("cli") / "in.mp4", "25")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """Long enough (x4 of 24 frames at 192x108) that an interruption lands mid-render."""
    return encode(pan(texture(0), LONG_FRAMES, dx=2, dy=1), tmp_path_factory.mktemp("long") / "long.mp4", "25")


@pytest.mark.parametrize("args, words", [
    (["missing.mp4", "--fps", "50"], ["missing.mp4"]),
    (["{clip}", "--fps", "abc"], ["--fps", "abc"]),
    (["{clip}", "--factor", "0"], ["--factor"]),
    (["{clip}", "--slowmo", "100"], ["--slowmo", "limit"]),
    (["{clip}", "--slowmo", "0.5"], ["--slowmo", "at least 1"]),  # not read as a speed-up
    (["{clip}", "--fps", "50", "--codec", "ffv1", "-o", "{tmp}/x.mp4"], ["ffv1", ".mp4"]),
    (["{clip}", "--fps", "50", "--codec", "h264", "-o", "{tmp}/frames"], ["h264", "folder"]),
    (["{clip}", "--fps", "50", "-o", "{tmp}/x.avi"], ["x.avi"]),
    (["{clip}", "--fps", "50", "--resume", "-o", "{tmp}/x.mp4"], ["--resume", "image-sequence"]),
    (["{clip}", "--fps", "50", "--scene-threshold", "0"], ["--scene-threshold"]),
    (["{still}", "--fps", "50"], ["single image"]),
    (["{clip}", "--fps", "50", "--model", "nosuch"], ["nosuch"]),
])
def test_bad_input_is_one_line_exit_2(tmp_path, clip, args, words):
    still = pan(texture(0), 1)[0]
    import cv2

    cv2.imwrite(str(tmp_path / "still.png"), still)
    fill = {"clip": str(clip), "tmp": str(tmp_path), "still": str(tmp_path / "still.png")}
    argv = [a.format(**fill) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out.mp4")]
    assert_user_error(segue("retime", *argv), *words)
    assert not (tmp_path / "out.mp4").exists()


def test_rate_options_are_exclusive(clip, tmp_path):
    r = segue("retime", clip, "-o", tmp_path / "o.mp4", "--fps", "50", "--factor", "2")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_cli_defaults_match_the_modules():
    from segue.cli import build_parser
    from segue.core.retime import duplicates, scenes

    args = build_parser().parse_args(["retime", "x.mp4", "-o", "y.mp4", "--fps", "50"])
    assert args.scene_threshold == scenes.SCENE_THRESHOLD and args.dup_threshold == duplicates.DUP_THRESHOLD


def test_existing_movie_needs_overwrite(clip, tmp_path):
    out = tmp_path / "o.mp4"
    assert segue("retime", clip, "-o", out, "--factor", "2", "-q").returncode == 0
    before = out.stat().st_mtime_ns
    assert_user_error(segue("retime", clip, "-o", out, "--factor", "2", "-q"), "--overwrite")
    assert out.stat().st_mtime_ns == before
    assert segue("retime", clip, "-o", out, "--factor", "2", "-q", "--overwrite").returncode == 0


def test_frames_not_written_by_segue_are_never_replaced(clip, tmp_path):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_000003.png").write_bytes(b"mine")
    assert_user_error(segue("retime", clip, "-o", out, "--factor", "2", "-q"), "frame_000003.png",
                      "not written by Segue")
    assert (out / "frame_000003.png").read_bytes() == b"mine"


def test_overwrite_never_replaces_the_input_or_a_movie_segue_did_not_write(clip, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(clip.read_bytes())
    assert_user_error(segue("retime", source, "-o", source, "--factor", "2", "-q", "--overwrite"),
                      "the output is the input")
    assert source.read_bytes() == clip.read_bytes()
    (tmp_path / "link.mp4").symlink_to(source)  # the same file by another name
    assert_user_error(segue("retime", tmp_path / "link.mp4", "-o", source, "--factor", "2", "-q", "--overwrite"),
                      "the output is the input")
    unrelated = tmp_path / "holiday.mp4"
    unrelated.write_bytes(b"the user's own movie")
    assert_user_error(segue("retime", source, "-o", unrelated, "--factor", "2", "-q", "--overwrite"),
                      "holiday.mp4", "not written by Segue")
    assert unrelated.read_bytes() == b"the user's own movie"
    # Segue's own earlier output is replaced with --overwrite, but not once it is the input
    out = tmp_path / "x2.mp4"
    assert segue("retime", source, "-o", out, "--factor", "2", "-q").returncode == 0
    assert segue("retime", source, "-o", out, "--factor", "2", "-q", "--overwrite").returncode == 0
    kept = out.read_bytes()
    assert_user_error(segue("retime", out, "-o", out, "--factor", "2", "-q", "--overwrite"),
                      "the output is the input")
    assert out.read_bytes() == kept


def test_a_users_report_file_beside_the_output_is_never_replaced(clip, tmp_path):
    sidecar = tmp_path / "movie.mp4.json"
    sidecar.write_text('{"mine": true}')
    assert_user_error(segue("retime", clip, "-o", tmp_path / "movie.mp4", "--factor", "2", "-q"),
                      "movie.mp4.json", "not written by Segue")
    assert sidecar.read_text() == '{"mine": true}' and not (tmp_path / "movie.mp4").exists()
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "retime.json").write_text("my notes")
    assert_user_error(segue("retime", clip, "-o", frames, "--factor", "2", "-q"), "retime.json", "not written by Segue")
    assert (frames / "retime.json").read_text() == "my notes"
    assert not list(frames.glob("frame_*"))


def test_a_sequence_is_never_retimed_over_itself(clip, tmp_path):
    frames = tmp_path / "frames"
    assert segue("retime", clip, "-o", frames, "--factor", "2", "-q").returncode == 0
    before = {p.name: p.read_bytes() for p in frames.glob("frame_*")}
    pattern = frames / "frame_%06d.png"
    assert_user_error(segue("retime", pattern, "-o", pattern, "--factor", "2", "-q", "--overwrite"),
                      "over the input's frame")
    assert {p.name: p.read_bytes() for p in frames.glob("frame_*")} == before


def test_a_planted_retime_state_file_deletes_nothing(clip, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for k in (1, 2):
        (frames / f"frame_{k:06d}.png").write_bytes(b"user frame")
    (frames / ".segue-retime-state.json").write_text(json.dumps(
        {"key": "x", "template": "frame_{:06d}.png", "frames": 10**12}))
    assert_user_error(segue("retime", clip, "-o", frames, "--factor", "2", "-q", "--overwrite"),
                      ".segue-retime-state.json", "not written by Segue")
    assert sorted(p.read_bytes() for p in frames.glob("frame_*")) == [b"user frame"] * 2


def wait_for(predicate, proc, limit: float = 120.0) -> None:
    """Poll until ``predicate()`` (not a timed assertion: the limit only stops a hung test)."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the render never got going"
        time.sleep(0.05)


def test_ctrl_c_then_resume_completes_an_image_sequence_identically(long_clip, tmp_path):
    out = tmp_path / "frames"
    proc = segue("retime", long_clip, "-o", out, "--slowmo", "4", wait=False)
    wait_for(lambda: len(list(out.glob("frame_*.png"))) >= 8, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    partial = sorted(out.glob("frame_*.png"))
    assert 8 <= len(partial) < TOTAL
    assert not list(out.glob(".*tmp*")) and not (out / "retime.json").exists()

    assert_user_error(segue("retime", long_clip, "-o", out, "--slowmo", "4", "-q"), "--resume")
    assert_user_error(segue("retime", long_clip, "-o", out, "--slowmo", "2", "-q", "--resume"),
                      "other options")
    leftover = out / ".frame_000009.png.tmp-1-deadbeef.png"  # what a kill -9 mid-write leaves
    leftover.write_bytes(b"half a frame")
    r = segue("retime", long_clip, "-o", out, "--slowmo", "4", "-q", "--resume")
    assert r.returncode == 0, r.stderr
    assert not leftover.exists()
    report = json.loads((out / "retime.json").read_text())
    assert report["frames"]["resumed"] == len(partial)
    assert len(list(out.glob("frame_*.png"))) == report["target"]["frame_count"] == TOTAL

    fresh = tmp_path / "fresh"
    assert segue("retime", long_clip, "-o", fresh, "--slowmo", "4", "-q").returncode == 0
    for k in range(1, TOTAL + 1):
        name = f"frame_{k:06d}.png"
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_kill_leaves_no_movie_under_the_final_name(long_clip, tmp_path):
    out = tmp_path / "slow.mp4"
    proc = segue("retime", long_clip, "-o", out, "--slowmo", "4", wait=False)

    def parts() -> list[Path]:
        return [p for p in tmp_path.iterdir() if ".segue-part-" in p.name]

    wait_for(lambda: any(p.stat().st_size > 0 for p in parts()), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not out.exists() and parts() == []
    assert not (tmp_path / "slow.mp4.json").exists()


def test_progress_bar_and_summary(clip, tmp_path):
    r = segue("retime", clip, "-o", tmp_path / "o.mkv", "--factor", "2")
    assert r.returncode == 0, r.stderr
    assert "ETA" in r.stderr and "24/24 frames" in r.stderr
    assert "24 frames at 50 fps written to" in r.stdout
    assert np.isclose(json.loads((tmp_path / "o.mkv.json").read_text())["target"]["fps_float"], 50)


@pytest.mark.parametrize("options,field", [({"fps": "25", "factor": "2"}, "factor"), ({}, "fps"),
                                           ({"fps": "25", "scene_threshold": 0.0}, "scene_threshold"),
                                           ({"fps": "25", "audio": "mute"}, "audio"),
                                           ({"fps": "25", "resume": True, "overwrite": True}, "overwrite")])
def test_a_retime_spec_names_the_field_it_refuses(options, field):
    with pytest.raises(InputError) as info:
        RetimeSpec("in.mov", "out.mp4", **options).validate()
    assert info.value.field == field
