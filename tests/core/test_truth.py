"""A transition scored against the frames that should have been there (`core.truth`): the way
the literature measures (8-bit RGB, every pixel), beside a dissolve of the same frames."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from retime_clips import encode, pan, texture

from segue.core import InputError
from segue.core.engine import Engine
from segue.core.transition import TransitionSpec, render_transition
from segue.core.truth import score


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    """A continuous pan over real footage: 24 frames, 3 pixels right and 1 down a frame."""
    return encode(pan(texture(), 24, dx=3, dy=1), tmp_path_factory.mktemp("truth") / "pan.mp4")


def test_a_bridge_over_a_cut_in_a_pan_beats_the_dissolve_on_the_true_frames(tmp_path: Path, take: Path) -> None:
    # cut frames 10-13 out of the pan; the transition bridges frame 9 to frame 14 with 4 frames
    out = tmp_path / "cut"
    render_transition(TransitionSpec(str(take), str(take), 4, str(out), a_out=9, b_in=14, model="classic"),
                      engine=Engine("classic"))
    scores = score(out, take, first=10)
    assert [f["index"] for f in scores["frames"]] == [1, 2, 3, 4]
    mean = scores["mean"]
    assert mean["psnr"] > 30 and mean["ssim"] > 0.9, mean
    assert mean["psnr"] > mean["dissolve_psnr"] + 5 and mean["ssim"] > mean["dissolve_ssim"], mean
    # the wrong true frames score worse: the numbers measure the frames, not the clip
    assert score(out, take, first=0)["mean"]["psnr"] < mean["psnr"] - 5


def test_truth_that_cannot_be_compared_is_refused(tmp_path: Path, take: Path) -> None:
    out = tmp_path / "cut"
    render_transition(TransitionSpec(str(take), str(take), 4, str(out), a_out=9, b_in=14, model="classic"))
    with pytest.raises(InputError, match="has 24 frames: the 4 frames of the transition need frames 22 to 25"):
        score(out, take, first=22)
    small = encode(pan(texture(), 4, size=(96, 54)), tmp_path / "small.mp4")
    with pytest.raises(InputError, match="is 96x54, the transition 192x108"):
        score(out, small)
    with pytest.raises(InputError, match="no finished transition here"):
        score(tmp_path, take)


def test_a_report_naming_other_files_is_refused(tmp_path: Path, take: Path) -> None:
    out = tmp_path / "cut"
    render_transition(TransitionSpec(str(take), str(take), 2, str(out), a_out=9, b_in=12, model="classic"))
    report = json.loads((out / "transition.json").read_text())
    report["frames"][0]["file"] = "../../elsewhere/secret.png"  # the report is input: it may not point out
    (out / "transition.json").write_text(json.dumps(report))
    with pytest.raises(InputError, match="no finished transition here"):
        score(out, take, first=10)
