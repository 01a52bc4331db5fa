"""The `segue` console script as a user runs it: outputs, exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, TRIPLETS, encode_movie, read_rgb

BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))


def segue(*args, cwd=None) -> subprocess.CompletedProcess:
    exe = shutil.which("segue", path=os.path.dirname(sys.executable)) or shutil.which("segue")
    cmd = [exe] if exe else [sys.executable, "-m", "segue"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL)


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("segue: error:")
    for w in words:
        assert w in lines[-1], lines[-1]


def test_console_script_is_installed():
    assert shutil.which("segue", path=os.path.dirname(sys.executable)) or shutil.which("segue")


def test_demo_writes_frames_and_contact_sheet(tmp_path):
    r = segue("demo", "-o", tmp_path / "demo", "-q")
    assert r.returncode == 0, r.stderr
    sheet = tmp_path / "demo" / "contact_sheet.png"
    assert str(sheet) in r.stdout
    assert len(list((tmp_path / "demo").glob("frame_*.png"))) == 8
    assert read_rgb(sheet).shape[1] > 1000  # ten thumbnails: A, 8 frames, B
    report = json.loads((tmp_path / "demo" / "transition.json").read_text())
    assert len(report["frames"]) == 8


def test_interpolate_writes_named_frames_of_input_size(tmp_path):
    case = TRIPLETS / "bbb_gap4_0044"
    r = segue("interpolate", case / "input0.png", case / "input1.png", "--times", "0.25", "0.5", "0.75",
              "-o", tmp_path, "--model", "classic")
    assert r.returncode == 0, r.stderr
    for t in ("0.250", "0.500", "0.750"):
        assert read_rgb(tmp_path / f"out_{t}.png").shape == read_rgb(case / "input0.png").shape


def test_transition_writes_frames_and_report(tmp_path):
    a = encode_movie(BBB[:2], tmp_path / "a.mp4")
    b = encode_movie(BBB[2:], tmp_path / "b.mp4")
    r = segue("transition", a, b, "--frames", "2", "-o", tmp_path / "out", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("frame_*")) == ["frame_0001.png", "frame_0002.png"]
    assert json.loads((tmp_path / "out" / "transition.json").read_text())["sources"]["a"]["frame"] == 1


def test_bench_reports_engine_and_dissolve(tmp_path):
    r = segue("bench", "--data", FIXTURES, "--json", tmp_path / "b.json", "--model", "classic")
    assert r.returncode == 0, r.stderr
    assert "triplets" in r.stdout
    result = json.loads((tmp_path / "b.json").read_text())
    (row,) = result["sets"]
    assert row["frames"] == 4 and row["psnr"] > row["dissolve_psnr"]
    assert result["path"] == "interpolation"


def test_bench_scores_the_jump_cut_path(tmp_path):
    plain = segue("bench", "--data", FIXTURES, "--json", tmp_path / "plain.json")
    cut = segue("bench", "--data", FIXTURES, "--json", tmp_path / "cut.json", "--jump-cut")
    assert plain.returncode == 0 and cut.returncode == 0, plain.stderr + cut.stderr
    assert "jump-cut path" in cut.stdout
    plain, cut = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("plain", "cut"))
    (row,) = cut["sets"]
    assert cut["path"] == "jump_cut" and row["frames"] == 4
    # what auto ran: the learned model interpolates, a jump cut runs classic (core.engine.resolve_model)
    assert plain["model"] == "segue_fusion fine-more step 2500 (shipped)" and cut["model"] == "classic"
    # same cases, a different path (alignment and exposure fit), still well above a dissolve
    assert row["psnr"] != plain["sets"][0]["psnr"] and row["psnr"] > row["dissolve_psnr"] + 1


def test_a_closed_output_pipe_is_not_an_internal_error():
    # `segue bench ... | head -1`: the reader leaves early
    proc = subprocess.Popen([sys.executable, "-m", "segue", "bench", "--data", str(FIXTURES), "--model", "classic"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, stderr
    assert "error" not in stderr.lower(), stderr


def test_missing_file(tmp_path):
    assert_user_error(segue("transition", tmp_path / "nope.mov", BBB[0], "--frames", "2", "-o", tmp_path / "o"),
                      "nope.mov")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    assert_user_error(segue("transition", bad, BBB[0], "--frames", "2", "-o", tmp_path / "o"), "broken.mp4")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("frame_*"))


def test_unreadable_image(tmp_path):
    bad = tmp_path / "garbage.png"
    bad.write_bytes(b"not a png at all")
    assert_user_error(segue("interpolate", bad, BBB[0], "--times", "0.5", "-o", tmp_path / "o"), "garbage.png")


def test_unknown_colourspace(tmp_path):
    assert_user_error(segue("transition", BBB[0], BBB[1], "--frames", "2", "-o", tmp_path / "o",
                            "--colorspace-a", "Martian Log"), "Martian Log")


@pytest.mark.parametrize("t", ["0", "1", "1.5", "-0.1"])
def test_time_outside_open_interval(tmp_path, t):
    assert_user_error(segue("interpolate", BBB[0], BBB[1], "--times", "0.5", t, "-o", tmp_path / "o"), "time")
    assert not list(tmp_path.glob("o/out_*"))


@pytest.mark.parametrize("n", ["0", "-2"])
def test_frames_below_one(tmp_path, n):
    assert_user_error(segue("transition", BBB[0], BBB[1], "--frames", n, "-o", tmp_path / "o"), "frames")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_user_error(segue("transition", BBB[0], BBB[1], "--frames", "2", "-o", blocker / "sub"), "output folder")


def test_different_fps(tmp_path):
    a = encode_movie(BBB, tmp_path / "a.mp4", "24")
    b = encode_movie(BBB, tmp_path / "b.mp4", "30")
    assert_user_error(segue("transition", a, b, "--frames", "2", "-o", tmp_path / "o"), "frame rate")
    assert not list(tmp_path.glob("o/frame_*"))


def test_usage_error_exit_code():
    r = segue("transition")
    assert r.returncode == 2 and "usage" in r.stderr
