"""A trailer-like cut: two real shots graded dark and flat, where the motion score alone misses the cut.

The fixture ``tests/fixtures/movies/dark_cut.mp4`` (tests/fixtures/SOURCE.md) joins two
real camera shots from Debian's python3-imageio (a cockatoo close up, then a plant by a
window), 12 frames each at 20 fps, graded into 5-46 of 255 like a night scene or a
trailer. The cut lies between source frames 11 and 12 by construction.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from retime_clips import FIXTURES, blend, decode, psnr, read_png, segue

from segue.core.engine import Engine
from segue.core.media.source import open_source
from segue.core.retime import RetimeSpec, near_miss_lines, run_retime, scenes
from segue.core.retime.analysis import analyse

CLIP = FIXTURES / "movies" / "dark_cut.mp4"
CUT_AFTER = 11  # the cut: between source frames 11 and 12
FPS = 20


def analysed():
    """The analysis pass over the fixture (a movie's frames are already in the working space)."""
    return analyse(open_source(str(CLIP)), lambda frame: frame)


def test_the_dark_cut_is_found_where_the_motion_score_alone_misses_it():
    found = analysed()
    assert found.cuts == [CUT_AFTER]
    (c,) = found.cut_cues
    assert c.motion < scenes.SCENE_THRESHOLD <= found.cut_scores[0]  # motion alone would blend across it
    assert c.structure > 0.3
    assert found.near_misses == []  # nothing inside either shot comes near the threshold


def test_the_retime_holds_the_dark_cut_and_blends_nothing_across_it(tmp_path):
    source = decode(CLIP)
    shot_a, shot_b = source[:CUT_AFTER + 1], source[CUT_AFTER + 1:]
    r = segue("retime", CLIP, "-o", tmp_path / "out", "--factor", "2", "--model", "classic", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "retime.json").read_text())
    (cut,) = report["scene_cuts"]["cuts"]
    assert cut["after_source_frame"] == CUT_AFTER
    assert cut["first_output_frame"] == 2 * (CUT_AFTER + 1)  # x2: source frame 12 is output frame 24
    assert cut["timecode"] == f"00:00:00.{(CUT_AFTER + 1) * 1000 // FPS:03d}"
    assert cut["motion"] < report["scene_cuts"]["threshold"] <= cut["score"]
    frames = [read_png(p) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    assert len(frames) == 2 * len(source)
    first_b = cut["first_output_frame"]
    # The output frame halfway between the shots repeats shot A's last frame: held, not blended.
    assert np.array_equal(frames[first_b - 1], frames[first_b - 2])
    for k, f in enumerate(frames):  # every output frame belongs to one shot
        own, other = (shot_a, shot_b) if k < first_b else (shot_b, shot_a)
        assert max(psnr(f, s) for s in own) > max(psnr(f, s) for s in other) + 3, k

    # Detection off (threshold 1): the same output frame is the double exposure the cue prevents.
    r = segue("retime", CLIP, "-o", tmp_path / "off", "--factor", "2", "--model", "classic", "-q",
              "--scene-threshold", "1")
    assert r.returncode == 0, r.stderr
    crossed = read_png(tmp_path / "off" / f"frame_{first_b:06d}.png")
    mix = blend(shot_a[-1], shot_b[0])
    assert psnr(crossed, mix) > max(psnr(crossed, shot_a[-1]), psnr(crossed, shot_b[0]))


@pytest.fixture(scope="module")
def engine():
    return Engine("classic")


def test_a_cut_just_under_the_threshold_is_reported_as_a_near_miss(tmp_path, engine):
    score = analysed().cut_scores[0]
    threshold = min(1.0, round(score * 1.25, 4))  # the cut now scores just under the threshold
    spec = RetimeSpec(str(CLIP), str(tmp_path / "out"), factor="2", model="classic", scene_threshold=threshold)
    report = run_retime(spec, engine=engine)
    section = report["scene_cuts"]
    assert section["count"] == 0
    assert section["near_miss_count"] >= 1
    miss = section["near_misses"][0]  # highest first: the missed cut
    assert miss["after_source_frame"] == CUT_AFTER and miss["why"] == "below threshold"
    assert miss["score"] == pytest.approx(score, abs=1e-4)
    assert miss["source_time"] == (CUT_AFTER + 1) / FPS
    assert miss["motion"] < miss["score"]
    lines = near_miss_lines(report)
    assert f"after source frame {CUT_AFTER}" in lines[0] and f"{score:.4f}" in lines[0] and f"{threshold:g}" in lines[0]
    assert json.loads(Path(tmp_path / "out" / "retime.json").read_text())["scene_cuts"] == section


def test_near_miss_lines_are_few():
    misses = [{"after_source_frame": i, "timecode": "00:00:01.000", "score": 0.05, "why": "below threshold"}
              for i in range(8)]
    report = {"scene_cuts": {"threshold": 0.06, "near_miss_count": 30, "near_misses": misses}}
    lines = near_miss_lines(report)
    assert len(lines) == 6 and lines[-1] == "... 25 more near misses in the report"
    assert near_miss_lines({"scene_cuts": {"threshold": 0.06, "near_miss_count": 0, "near_misses": []}}) == []
