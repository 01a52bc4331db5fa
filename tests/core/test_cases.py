"""`core.cases` and ``segue bench --make-cases``: benchmark cases with ground truth cut from a real movie."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import FIXTURES, encode_movie, read_rgb

from segue.cli import main
from segue.core.cases import write_cases
from segue.core.errors import InputError
from segue.core.media import open_clip
from segue.core.quality import run


@pytest.fixture(scope="module")
def movie_with_a_cut(tmp_path_factory) -> Path:
    # two shots of panning real frames, cut after frame 3; H.264 like real footage
    tmp = tmp_path_factory.mktemp("clip")
    a = cv2.imread(str(FIXTURES / "bbb" / "bbb.0036.png"))
    b = cv2.imread(str(FIXTURES / "bbb" / "bbb.0042.png"))[::-1]
    frames = [np.roll(a, 3 * i, axis=1) for i in range(4)] + [np.roll(b, 2 * i, axis=0) for i in range(3)]
    paths = []
    for i, f in enumerate(frames):
        paths.append(tmp / f"f{i}.png")
        cv2.imwrite(str(paths[-1]), f)
    return encode_movie(paths, tmp / "two_shots.mp4")


def test_cases_skip_the_cut_and_hold_the_decoded_frames(movie_with_a_cut, tmp_path):
    assert write_cases(str(movie_with_a_cut), tmp_path, gaps=[2, 3], every=1, set_name="shots") == {
        "shots_gap2": 3, "shots_gap3": 1}
    # gap 2 starts at 0, 1 (shot one) and 4 (shot two); 2 and 3 straddle the cut
    assert sorted(p.name for p in (tmp_path / "shots_gap2").iterdir()) == ["000000", "000001", "000004"]
    clip = open_clip(str(movie_with_a_cut))
    decoded = [np.clip(clip.read_frame(i) * 255 + 0.5, 0, 255).astype(np.uint8) for i in range(7)]
    case = tmp_path / "shots_gap3" / "000000"
    for name, index in (("input0", 0), ("target_0.333", 1), ("target_0.667", 2), ("input1", 3)):
        np.testing.assert_array_equal(read_rgb(case / f"{name}.png"), decoded[index])
    # and `segue bench` reads them: the engine beats a dissolve on the panning shots
    (gap2, gap3) = run(tmp_path, model="classic", progress=False)
    assert gap2["frames"] == 3 and gap3["frames"] == 2
    assert gap2["psnr"] > gap2["dissolve_psnr"] + 3
    # no case here has two frames of the same shot on both sides: none gets context
    assert not list(tmp_path.glob("*/*/case.json")) and gap2["context_cases"] == 0


def test_cases_inside_a_shot_carry_their_context_frames(tmp_path):
    a = cv2.imread(str(FIXTURES / "bbb" / "bbb.0036.png"))
    paths = []
    for i in range(9):
        paths.append(tmp_path / f"f{i}.png")
        cv2.imwrite(str(paths[-1]), np.roll(a, 2 * i + (i * i) // 4, axis=1))  # a pan that speeds up
    movie = encode_movie(paths, tmp_path / "pan.mp4")
    assert write_cases(str(movie), tmp_path / "cases", gaps=[2], every=1, set_name="pan") == {"pan_gap2": 7}
    with_context = sorted(p.parent.name for p in (tmp_path / "cases").glob("*/*/case.json"))
    assert with_context == ["000002", "000003", "000004"]  # two frames before and after, inside the clip
    case = tmp_path / "cases" / "pan_gap2" / "000003"
    meta = json.loads((case / "case.json").read_text())
    assert meta["frames"] == {"before_2": -1.0, "before_1": -0.5, "input0": 0, "input1": 1, "after_1": 1.5,
                              "after_2": 2.0}
    clip = open_clip(str(movie))
    for name, index in (("before_2", 1), ("before_1", 2), ("after_1", 6), ("after_2", 7)):
        decoded = np.clip(clip.read_frame(index) * 255 + 0.5, 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(read_rgb(case / f"{name}.png"), decoded)
    (row,) = run(tmp_path / "cases", model="classic", progress=False)
    assert row["context_cases"] == 3


def test_an_existing_set_is_never_overwritten_and_a_partial_one_never_read(movie_with_a_cut, tmp_path):
    (tmp_path / "shots_gap2").mkdir()
    (tmp_path / "shots_gap2" / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="shots_gap2: already exists"):
        write_cases(str(movie_with_a_cut), tmp_path, gaps=[2], set_name="shots")
    assert (tmp_path / "shots_gap2" / "mine.txt").read_text() == "keep"
    # a set an interrupted run left half-written stays hidden from `segue bench`
    write_cases(str(movie_with_a_cut), tmp_path / "other", gaps=[2], every=1, set_name="shots")
    (tmp_path / "other" / "shots_gap2").rename(tmp_path / "other" / ".shots_gap4.part")
    with pytest.raises(InputError, match="no benchmark cases"):
        run(tmp_path / "other", model="classic", progress=False)
    assert write_cases(str(movie_with_a_cut), tmp_path / "other", gaps=[4], every=1, set_name="shots") == {
        "shots_gap4": 0}
    assert not (tmp_path / "other" / ".shots_gap4.part").exists()


def test_segue_bench_makes_the_cases_then_scores_them(movie_with_a_cut, tmp_path, capsys):
    assert main(["bench", "--make-cases", str(movie_with_a_cut), "--data", str(tmp_path / "b"), "--every", "1",
                 "--model", "classic"]) == 0
    out = capsys.readouterr().out
    assert "two_shots_gap2: 3 cases, two_shots_gap4: 0 cases" in out
    assert "two_shots_gap2" in out.split("PSNR/SSIM", 1)[1]  # and its row in the table that follows


def test_bad_arguments_are_named(movie_with_a_cut, tmp_path, capsys):
    assert main(["bench", "--make-cases", str(movie_with_a_cut), "--data", str(tmp_path), "--gap", "1"]) == 2
    assert "gap 1:" in capsys.readouterr().err
    assert main(["bench", "--make-cases", str(tmp_path / "none.mp4"), "--data", str(tmp_path)]) == 2
    assert "none.mp4" in capsys.readouterr().err
