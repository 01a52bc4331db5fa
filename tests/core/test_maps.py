"""The diagnostic maps beside a transition's frames (``--maps``): the flow as a colour wheel and
each frame's confidence, written and listed only when asked for, from a farm's chunks alike."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from farm_runs import A, B, product_files

from segue.core import InputError, maps
from segue.core.engine import Engine
from segue.core.farm import assemble_transition, plan_transition, render_transition_chunk
from segue.core.transition import TransitionSpec, render_transition


def hue_of(rgb: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb.reshape(1, 1, 3), cv2.COLOR_RGB2HSV)[0, 0, 0]) * 2  # degrees


def test_the_colour_wheel_shows_direction_as_hue_and_distance_as_saturation() -> None:
    flow = np.zeros((4, 8, 2), np.float32)
    flow[0, :4] = (4, 0)  # right
    flow[1, :4] = (0, 4)  # down
    flow[2, :4] = (-4, 0)  # left
    flow[3, :4] = (2, 0)  # right, half as far
    picture = maps.flow_picture(flow)
    assert picture.dtype == np.uint8 and picture.shape == (4, 8, 3)
    assert (picture[:, 4:] == 255).all()  # still pixels: white
    assert abs(hue_of(picture[0, 0]) - 0) < 3 and abs(hue_of(picture[1, 0]) - 90) < 3
    assert abs(hue_of(picture[2, 0]) - 180) < 3
    saturation = cv2.cvtColor(picture, cv2.COLOR_RGB2HSV)[..., 1]
    assert saturation[0, 0] == 255 and 120 <= saturation[3, 0] <= 135


def test_confidence_is_grey_from_black_to_white() -> None:
    picture = maps.confidence_picture(np.array([[0.0, 0.5, 1.0, np.nan, 2.0]], np.float32))
    assert picture.tolist() == [[0, 128, 255, 0, 255]]


def test_maps_are_written_when_asked_and_removed_when_not(tmp_path: Path) -> None:
    engine = Engine("classic")
    out = tmp_path / "cut"
    report = render_transition(TransitionSpec(A, B, 3, str(out), model="classic", maps=True), engine=engine)
    assert report["maps"] == {"flow": "flow.png", "confidence": [f"confidence_{k:04d}.png" for k in (1, 2, 3)]}
    flow = cv2.imread(str(out / "flow.png"))
    confidence = cv2.imread(str(out / "confidence_0002.png"), cv2.IMREAD_UNCHANGED)
    assert flow.shape[2] == 3 and confidence.ndim == 2 and confidence.shape == flow.shape[:2]
    assert (flow != 255).any() and confidence.min() < 128 < confidence.max()  # the demo's takes do move
    frames = {n: d for n, d in product_files(out).items() if n.startswith("frame_")}

    report = render_transition(TransitionSpec(A, B, 3, str(out), model="classic"), engine=engine)
    assert report["maps"] is None and not list(out.glob("confidence_*")) and not (out / "flow.png").exists()
    assert {n: d for n, d in product_files(out).items() if n.startswith("frame_")} == frames  # same pixels
    assert json.loads((out / "transition.json").read_text())["maps"] is None


def test_a_file_named_like_a_map_that_segue_did_not_write_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "cut"
    out.mkdir()
    (out / "flow.png").write_bytes(b"the editor's own")
    with pytest.raises(InputError, match="flow.png"):
        render_transition(TransitionSpec(A, B, 2, str(out), model="classic", maps=True))
    assert (out / "flow.png").read_bytes() == b"the editor's own"


def test_a_farm_jobs_maps_are_the_local_ones(tmp_path: Path) -> None:
    engine = Engine("classic")
    render_transition(TransitionSpec(A, B, 5, str(tmp_path / "local"), model="classic", maps=True), engine=engine)
    spec = TransitionSpec(A, B, 5, str(tmp_path / "farm"), model="classic", maps=True)
    plan_transition(spec, 2, engine=engine)
    for k in (2, 1):
        render_transition_chunk(spec, 2, k, engine=engine)
    assemble_transition(spec, 2, engine=engine)
    local, farm = product_files(tmp_path / "local"), product_files(tmp_path / "farm")
    names = [n for n in local if maps.FILE.fullmatch(n)]
    assert len(names) == 6 and all(farm[n] == local[n] for n in names)
