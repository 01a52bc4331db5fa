"""Transition jobs end to end: real clips in, frames + transition.json out, safe and resumable."""
from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest
from conftest import FIXTURES, encode_movie, read_rgb

from segue.core import CancelledError, InputError
from segue.core.demo import TAKE_A, TAKE_B
from segue.core.media import open_clip, write_frame
from segue.core.metrics import psnr
from segue.core.transition import REPORT_FILE, TransitionSpec, render_transition

BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))


def _spec(out: Path, **kw) -> TransitionSpec:
    # previews have their own tests (test_preview.py); here they would only cost time
    base = dict(clip_a=str(TAKE_A), clip_b=str(TAKE_B), frames=3, out_dir=str(out), model="classic", preview=False)
    return TransitionSpec(**(base | kw))


def test_demo_takes_bridge_with_report(tmp_path):
    report = render_transition(_spec(tmp_path / "out", frames=4, preview=True))
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["contact_sheet.png", "frame_0001.png", "frame_0002.png", "frame_0003.png", "frame_0004.png",
                     "preview.mp4", "preview_dissolve.mp4", REPORT_FILE]
    on_disk = json.loads((out / REPORT_FILE).read_text())
    assert on_disk["frames"] == report["frames"]
    assert [f["t"] for f in report["frames"]] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert report["sources"]["a"]["frame"] == 11 and report["sources"]["b"]["frame"] == 0
    assert report["sources"]["a"]["fps"] == "25"
    assert report["output"]["colorspace"] and report["model"]["used"] == "classic"
    assert all(0.0 <= f["confidence"] <= 1.0 for f in report["frames"])
    assert {"read", "correspondence", "synthesis", "total"} <= set(report["timings"])
    a_last = (open_clip(TAKE_A).read_frame(-1) * 255 + 0.5).astype(np.uint8)
    b_first = (open_clip(TAKE_B).read_frame(0) * 255 + 0.5).astype(np.uint8)
    frames = [read_rgb(out / f"frame_000{k}.png") for k in range(1, 5)]
    assert frames[0].shape == a_last.shape
    # The sequence travels from A to B: early frames resemble A, late frames resemble B.
    assert psnr(frames[0], a_last) > psnr(frames[0], b_first)
    assert psnr(frames[-1], b_first) > psnr(frames[-1], a_last)
    assert not list(out.glob("*.part"))


def test_stills_with_known_truth_beat_a_dissolve(tmp_path, gap4):
    # A jump of 4 frame intervals with its 3 real in-betweens: a transition of 3 frames.
    report = render_transition(_spec(tmp_path, clip_a=str(gap4["input0"]), clip_b=str(gap4["input1"])))
    a, b = read_rgb(gap4["input0"]), read_rgb(gap4["input1"])
    for f in report["frames"]:
        truth = read_rgb(gap4["targets"][f["t"]])
        ours = psnr(read_rgb(tmp_path / f["file"]), truth)
        dissolve = np.clip((1 - f["t"]) * a.astype(float) + f["t"] * b + 0.5, 0, 255).astype(np.uint8)
        assert ours > psnr(dissolve, truth)


def test_cancel_then_resume_is_byte_identical(tmp_path):
    whole = tmp_path / "whole"
    render_transition(_spec(whole, frames=4))
    part = tmp_path / "part"
    written = []
    with pytest.raises(CancelledError):
        # cancelled once two frames are on disk; the third, already being written, is kept
        render_transition(_spec(part, frames=4), on_frame=written.append, should_cancel=lambda: len(written) >= 2)
    assert sorted(p.name for p in part.glob("frame_*")) == ["frame_0001.png", "frame_0002.png", "frame_0003.png"]
    assert not (part / REPORT_FILE).exists()
    events = []
    render_transition(_spec(part, frames=4), on_frame=events.append)
    assert [e.resumed for e in events] == [True, True, True, False]
    for k in range(1, 5):
        name = f"frame_{k:04d}.png"
        assert (part / name).read_bytes() == (whole / name).read_bytes()


def test_foreign_files_are_never_overwritten(tmp_path):
    precious = tmp_path / "frame_0002.png"
    precious.write_bytes(b"user media")
    with pytest.raises(InputError, match="not written by Segue"):
        render_transition(_spec(tmp_path))
    assert precious.read_bytes() == b"user media"
    assert not (tmp_path / "frame_0001.png").exists()


def test_rerun_with_fewer_frames_removes_stale_frames(tmp_path):
    render_transition(_spec(tmp_path, frames=3))
    render_transition(_spec(tmp_path, frames=2))
    assert sorted(p.name for p in tmp_path.glob("frame_*")) == ["frame_0001.png", "frame_0002.png"]


def test_different_fps_is_refused(tmp_path):
    a = encode_movie(BBB, tmp_path / "a25.mp4", "25")
    b = encode_movie(BBB, tmp_path / "b30.mp4", "30")
    with pytest.raises(InputError, match="frame rate") as err:
        render_transition(_spec(tmp_path / "out", clip_a=str(a), clip_b=str(b)))
    assert "a25.mp4" in str(err.value) and "b30.mp4" in str(err.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("frame_*"))


def test_movie_and_sequence_of_different_size_are_conformed(tmp_path):
    movie = encode_movie(BBB, tmp_path / "a.mp4")
    seq = tmp_path / "seq"
    seq.mkdir()
    for i, p in enumerate(BBB):
        big = cv2.resize(cv2.imread(str(p)), (320, 240))  # other size and aspect
        cv2.imwrite(str(seq / f"shot.{i + 1:04d}.png"), big)
    report = render_transition(_spec(tmp_path / "out", clip_a=str(movie), clip_b=str(seq / "shot.%04d.png"),
                                     frames=2, conform="fit"))
    assert report["output"]["width"] == 160 and report["output"]["height"] == 90
    assert read_rgb(tmp_path / "out" / "frame_0001.png").shape == (90, 160, 3)


def test_sixteen_bit_sources_give_sixteen_bit_frames(tmp_path):
    for name, src in (("a.png", BBB[0]), ("b.png", BBB[1])):
        im = cv2.imread(str(src)).astype(np.uint16) * 257
        cv2.imwrite(str(tmp_path / name), im)
    render_transition(_spec(tmp_path / "out", clip_a=str(tmp_path / "a.png"), clip_b=str(tmp_path / "b.png"), frames=1))
    out = cv2.imread(str(tmp_path / "out" / "frame_0001.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16
    # not just 8-bit values scaled up: in-between values exist
    assert np.any(out % 257 != 0)


def test_float_exr_keeps_values_above_one(tmp_path):
    rng = np.random.default_rng(0)
    base = cv2.resize(read_rgb(BBB[0]).astype(np.float32) / 255.0, (160, 90))
    hdr = (base ** 2.2) * 4.0  # scene-linear with highlights far above 1
    shifted = np.ascontiguousarray(np.roll(hdr, 2, axis=1))
    write_frame(tmp_path / "a.exr", hdr.astype(np.float32), "exr", 32)
    write_frame(tmp_path / "b.exr", shifted.astype(np.float32), "exr", 32)
    report = render_transition(_spec(tmp_path / "out", clip_a=str(tmp_path / "a.exr"), clip_b=str(tmp_path / "b.exr"),
                                     frames=1, format="exr"))
    assert report["output"]["bit_depth"] == 32
    with OpenEXR.File(str(tmp_path / "out" / "frame_0001.exr")) as f:
        channels = f.channels()
        rgb = channels["RGB"].pixels if "RGB" in channels else np.dstack([channels[c].pixels for c in "RGB"])
    assert rgb.dtype == np.float32
    assert rgb.max() > 2.0
    del rng


def test_exposure_difference_is_ramped(tmp_path):
    a = read_rgb(BBB[0])
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(a, cv2.COLOR_RGB2BGR))
    dark = (a.astype(np.float32) * 0.6).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "b.png"), cv2.cvtColor(dark, cv2.COLOR_RGB2BGR))
    render_transition(_spec(tmp_path / "out", clip_a=str(tmp_path / "a.png"), clip_b=str(tmp_path / "b.png"), frames=3))
    means = [read_rgb(tmp_path / "out" / f"frame_000{k}.png").mean() for k in (1, 2, 3)]
    assert a.mean() > means[0] > means[1] > means[2] > dark.mean()


@pytest.mark.parametrize("field,value,message", [
    ("frames", 0, "frames"),
    ("frames", -3, "frames"),
    ("format", "gif", "format"),
    ("colorspace_a", "Not A Space", "Not A Space"),
    ("clip_a", "/nonexistent/take.mov", "take.mov"),
    ("a_out", 500, "out of range"),
])
def test_bad_fields_name_the_problem(tmp_path, field, value, message):
    with pytest.raises(InputError, match=message):
        render_transition(_spec(tmp_path / "out", **{field: value}))
    assert not list((tmp_path / "out").glob("frame_*")) if (tmp_path / "out").exists() else True


def test_leftovers_of_a_killed_write_are_removed_and_files_get_the_umask_mode(tmp_path):
    leftover = tmp_path / ".frame_0001.png.tmp-999-deadbeef.png"
    tmp_path.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a frame")
    render_transition(_spec(tmp_path, frames=1))
    assert not leftover.exists()
    umask = os.umask(0)
    os.umask(umask)
    for name in ("frame_0001.png", REPORT_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_the_frames_around_the_cut_carry_the_motion_across(tmp_path):
    # A ends on a gap case's input0 after its two context frames; B starts on input1 and goes on
    case = FIXTURES / "triplets" / "bbb_gap4_0044"
    for clip, names in (("a", ["before_2", "before_1", "input0"]), ("b", ["input1", "after_1", "after_2"])):
        (tmp_path / clip).mkdir()
        for k, name in enumerate(names, start=1):
            shutil.copy(case / f"{name}.png", tmp_path / clip / f"{clip}.{k:04d}.png")
    with_context = render_transition(_spec(tmp_path / "ctx", clip_a=str(tmp_path / "a"), clip_b=str(tmp_path / "b")))
    stills = render_transition(_spec(tmp_path / "still", clip_a=str(case / "input0.png"),
                                     clip_b=str(case / "input1.png")))
    assert with_context["correspondence"]["context_frames"] == {"before": 2, "after": 2}
    assert stills["correspondence"]["context_frames"] == {"before": 0, "after": 0}
    gains = []
    for k, t in enumerate((0.25, 0.5, 0.75), start=1):
        truth = read_rgb(case / f"target_{t:.3f}.png")
        gains.append(psnr(read_rgb(tmp_path / "ctx" / f"frame_{k:04d}.png"), truth)
                     - psnr(read_rgb(tmp_path / "still" / f"frame_{k:04d}.png"), truth))
    assert np.mean(gains) >= 0.5, gains  # measured +1.18, +0.65, +0.83 dB when written


def test_auto_bridges_a_jump_cut_with_classic(tmp_path):
    # The learned model adds nothing on a transition's gaps (core.engine.resolve_model):
    # auto must render exactly what classic renders, and say so in the report.
    auto = render_transition(_spec(tmp_path / "auto", frames=2, model="auto"))
    render_transition(_spec(tmp_path / "classic", frames=2))
    assert auto["model"] == {"requested": "auto", "used": "classic"}
    for name in ("frame_0001.png", "frame_0002.png"):
        assert np.array_equal(read_rgb(tmp_path / "auto" / name), read_rgb(tmp_path / "classic" / name))


@pytest.mark.parametrize("change,field", [({"frames": 0}, "frames"), ({"frames": 10001}, "frames"),
                                          ({"format": "gif"}, "format"), ({"conform": "crop"}, "conform"),
                                          ({"out_dir": " "}, "out_dir")])
def test_a_transition_spec_names_the_field_it_refuses(tmp_path, change, field):
    with pytest.raises(InputError) as info:
        _spec(tmp_path, **change).validate()
    assert info.value.field == field


def test_the_report_flags_low_confidence_frames(tmp_path):
    from segue.core.synthesis import LOW_CONFIDENCE

    # the demo's arm swings through the cut: frames that ghost, which the report must name
    report = render_transition(_spec(tmp_path / "demo", frames=4))
    flagged = report["low_confidence"]
    assert flagged["threshold"] == LOW_CONFIDENCE
    assert flagged["frames"] == [f["index"] for f in report["frames"] if f["confidence"] < LOW_CONFIDENCE]
    assert flagged["frames"] and "dissolve" in flagged["advice"]
    # the same take on both sides of the cut: nothing to warn about
    same = render_transition(_spec(tmp_path / "same", clip_b=str(TAKE_A), b_in=-1))
    assert same["low_confidence"]["frames"] == [] and same["low_confidence"]["advice"] == ""
