"""Retimed frames against the truth: known motion, scene cuts, animation on twos, VFR input.

Every clip is real footage texture panned by a known amount, encoded with ffmpeg; the
frames held back from the input are the truth the in-betweens are scored against.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from retime_clips import H, W, blend, encode, pan, psnr, read_png, segue, texture

from segue.core import Engine

LOSSLESS = ("-c:v", "ffv1", "-pix_fmt", "bgr0")


@pytest.fixture(scope="module")
def truth50():
    """26 frames of a pan at 50 fps (2 px right, 1 px down per frame)."""
    return pan(texture(0), 26, dx=2, dy=1)


def test_x2_beats_frame_blending_against_held_out_frames(tmp_path, truth50):
    src = encode(truth50[0::2], tmp_path / "in25.mkv", "25", LOSSLESS)  # 13 frames at 25 fps
    r = segue("retime", src, "-o", tmp_path / "out", "--factor", "2", "-q")
    assert r.returncode == 0, r.stderr
    out = sorted((tmp_path / "out").glob("frame_*.png"))
    assert len(out) == 26
    frames = [read_png(p) for p in out]
    for k in range(0, 26, 2):  # coinciding with a source frame: copied exactly
        assert np.array_equal(frames[k], truth50[k])
    ours = [psnr(frames[k], truth50[k]) for k in range(1, 25, 2)]
    blends = [psnr(blend(truth50[k - 1], truth50[k + 1]), truth50[k]) for k in range(1, 25, 2)]
    assert np.mean(ours) > np.mean(blends) + 6, (np.mean(ours), np.mean(blends))
    assert min(ours) > 30
    report = json.loads((tmp_path / "out" / "retime.json").read_text())
    assert report["frames"] == {**report["frames"], "copied": 13, "synthesized": 12, "held": 1}
    assert report["target"]["fps"] == "50" and report["scene_cuts"]["count"] == 0
    assert report["duplicates"]["repeated_frames"] == 0


def test_a_pan_that_speeds_up_is_followed_through_the_neighbouring_frames(tmp_path):
    # the window's x at 50 fps is 0.1 k^2: each pair of 25 fps frames is a curve, and the
    # neighbours the retime passes as context tell which (a linear in-between lags behind)
    tex = texture(0)
    truth = [np.ascontiguousarray(cv2.warpAffine(tex, np.float32([[1, 0, 20 + 0.1 * k * k], [0, 1, 20]]), (W, H),
                                                 flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)) for k in range(25)]
    src = encode(truth[0::2], tmp_path / "in25.mkv", "25", LOSSLESS)
    assert segue("retime", src, "-o", tmp_path / "out", "--factor", "2", "--model", "classic", "-q").returncode == 0
    frames = [read_png(p) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    straight = Engine("classic")
    gains = []
    for k in range(3, 21, 2):  # in-betweens with two source frames of context on each side
        (linear,) = straight.interpolate(truth[k - 1], truth[k + 1], [0.5])
        gains.append(psnr(frames[k], truth[k]) - psnr(linear, truth[k]))
    assert np.mean(gains) >= 1.0 and min(gains) > 0, gains  # measured +0.48..+2.20, mean +1.26 dB when written


def test_scene_cut_is_detected_and_never_blended(tmp_path):
    shot_a = pan(texture(0), 10, dx=3, dy=0)
    shot_b = pan(texture(1), 10, dx=-2, dy=1, x0=200)
    src = encode(shot_a + shot_b, tmp_path / "cut.mp4", "25")
    r = segue("retime", src, "-o", tmp_path / "out", "--factor", "2", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "retime.json").read_text())
    assert [c["after_source_frame"] for c in report["scene_cuts"]["cuts"]] == [9]
    assert report["scene_cuts"]["cuts"][0]["first_output_frame"] == 20
    frames = [read_png(p).astype(np.float64) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    assert len(frames) == 40
    # Output 19 lies between the shots: it is shot A's last frame, not a mix of both.
    assert np.array_equal(frames[19], frames[18])
    for k, f in enumerate(frames):
        to_a, to_b = psnr(f, shot_a[-1]), psnr(f, shot_b[0])
        if k in (18, 19):
            assert to_a > 35
        if k == 20:
            assert to_b > 35
    # Every output frame belongs to one shot: closer to that shot's nearest source frame.
    for k, f in enumerate(frames):
        shot = shot_a if k < 20 else shot_b
        best = max(psnr(f, s) for s in shot)
        other = max(psnr(f, s) for s in (shot_b if k < 20 else shot_a))
        assert best > other + 10, (k, best, other)

    # With detection off (threshold 1 is unreachable) the same frame is synthesized across the cut.
    r = segue("retime", src, "-o", tmp_path / "nodetect", "--factor", "2", "-q", "--scene-threshold", "1")
    assert r.returncode == 0, r.stderr
    off = json.loads((tmp_path / "nodetect" / "retime.json").read_text())
    assert off["scene_cuts"]["count"] == 0
    crossed = read_png(tmp_path / "nodetect" / "frame_000020.png")
    assert psnr(crossed, shot_a[-1]) < 30


def test_animation_on_twos_is_interpolated_between_drawings(tmp_path):
    drawings = pan(texture(0), 13, dx=4, dy=2)  # 12 drawings a second ...
    held = [d for d in drawings[:12] for _ in range(2)]  # ... each shown twice at 24 fps
    truth = pan(texture(0), 24, dx=2, dy=1)  # smooth motion at 24 fps: what in-betweening gives
    src = encode(held, tmp_path / "twos.mp4", "24", ("-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"))
    scores = {}
    for name, extra in (("dedup", ()), ("plain", ("--no-dedup",))):
        r = segue("retime", src, "-o", tmp_path / name, "--fps", "24", "-q", *extra)
        assert r.returncode == 0, r.stderr
        frames = [read_png(p) for p in sorted((tmp_path / name).glob("frame_*.png"))]
        assert len(frames) == 24
        scores[name] = np.mean([psnr(frames[k], truth[k]) for k in range(1, 22, 2)])
        report = json.loads((tmp_path / name / "retime.json").read_text())
        assert report["duplicates"]["repeated_frames"] == 12
        assert report["scene_cuts"]["count"] == 0
    assert scores["dedup"] > scores["plain"] + 6, scores
    assert json.loads((tmp_path / "dedup" / "retime.json").read_text())["frames"]["synthesized"] == 11


def test_encoder_repeated_frame_is_found(tmp_path, truth50):
    frames = truth50[:12]
    frames = frames[:6] + [frames[5]] + frames[6:]  # one frame repeated, as a rate conversion does
    src = encode(frames, tmp_path / "rep.mp4", "25", ("-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"))
    r = segue("retime", src, "-o", tmp_path / "out", "--factor", "2", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "retime.json").read_text())
    assert report["duplicates"]["repeated_frames"] == 1
    assert report["duplicates"]["runs"] == [[5, 6]]


def test_variable_frame_rate_input_is_converted_on_its_timestamps(tmp_path, truth50):
    keep = [0, 1, 2, 4, 5, 7, 8, 9, 10, 13, 14, 15, 16, 18, 19, 20]  # irregular gaps of 1-3 frames
    drop = "+".join(f"eq(n\\,{k})" for k in range(21) if k not in keep)
    # select drops frames but keeps the survivors' timestamps: a variable-rate stream
    src = encode(truth50[:21], tmp_path / "vfr.mkv", "50",
                 ("-vf", f"select='not({drop})'", "-fps_mode", "passthrough", *LOSSLESS))
    r = segue("retime", src, "-o", tmp_path / "out", "--fps", "50", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "retime.json").read_text())
    assert report["source"]["vfr"] is True
    frames = [read_png(p) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    assert len(frames) == 21
    for k in keep:
        assert np.array_equal(frames[k], truth50[k]), k  # on a source timestamp: copied
    missing = [k for k in range(21) if k not in keep]
    ours = np.mean([psnr(frames[k], truth50[k]) for k in missing])
    # the blend a timestamp-blind or blend-based conversion would give
    prev = {k: max(j for j in keep if j < k) for k in missing}
    nxt = {k: min(j for j in keep if j > k) for k in missing}
    blends = np.mean([psnr(blend(truth50[prev[k]], truth50[nxt[k]], (k - prev[k]) / (nxt[k] - prev[k])),
                           truth50[k]) for k in missing])
    assert ours > blends + 5 and ours > 30, (ours, blends)
