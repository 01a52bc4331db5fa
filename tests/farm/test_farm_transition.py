"""A transition rendered as a farm job equals ``segue transition`` byte for byte.

The frames and the previews are the same bytes whatever the chunks and their order;
transition.json differs only in when it was made and how long it took; a local rerun of
the job in the folder keeps every frame the farm wrote.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from retime_clips import assert_user_error, segue

from segue.core.engine import Engine
from segue.core.farm import assemble_transition, plan_transition, render_transition_chunk
from segue.core.transition import TransitionSpec, render_transition

DEMO = Path(__file__).resolve().parents[2] / "core" / "assets" / "demo"
A, B = str(DEMO / "take_a.mp4"), str(DEMO / "take_b.mp4")


def product_files(folder: Path) -> dict[str, bytes]:
    """What a user gets in ``folder`` (not Segue's bookkeeping: ledger, state, work folder)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def comparable(report_path: Path) -> dict:
    """transition.json without what records a run rather than the result (when, how long, where)."""
    report = json.loads(report_path.read_text())
    report.pop("created"), report.pop("timings"), report["output"].pop("folder")
    for frame in report["frames"]:
        frame.pop("seconds")
    return report


def same_folders(local: Path, farm: Path) -> None:
    want, got = product_files(local), product_files(farm)
    assert want.keys() == got.keys()
    assert {"frame_0001.png", "preview.mp4", "preview_dissolve.mp4", "contact_sheet.png"} <= want.keys()
    assert all(got[name] == data for name, data in want.items() if name != "transition.json")
    assert comparable(local / "transition.json") == comparable(farm / "transition.json")


@pytest.mark.parametrize("model", ["auto", "classic"])
def test_chunks_in_any_order_equal_the_local_transition(tmp_path: Path, model: str) -> None:
    engine = Engine(model)
    render_transition(TransitionSpec(A, B, 7, str(tmp_path / "local"), model=model), engine=engine)
    spec = TransitionSpec(A, B, 7, str(tmp_path / "farm"), model=model)
    plan = plan_transition(spec, 3, engine=engine)
    assert plan["chunks"] == [[0, 3], [3, 5], [5, 7]]
    for k in (3, 1, 2):
        render_transition_chunk(spec, 3, k, engine=engine)
    assemble_transition(spec, 3, engine=engine)
    same_folders(tmp_path / "local", tmp_path / "farm")

    resumed = []  # the farm's folder is the local job's: a local rerun keeps every frame
    render_transition(spec, engine=engine, on_frame=lambda event: resumed.append(event.resumed))
    assert resumed == [True] * 7


def test_cli_steps_and_their_refusals(tmp_path: Path) -> None:
    out = tmp_path / "cut"

    def farm(step: str, *extra: str):
        return segue("farm", step, "transition", A, B, "--frames", "4", "-o", out, "--model", "classic",
                     "--a-out", "-2", "--chunks", "2", "-q", *extra)

    assert_user_error(farm("render", "--chunk", "1"), "segue farm plan")
    done = farm("plan")
    assert done.returncode == 0 and "2 chunks" in done.stdout, done.stderr
    assert farm("render", "--chunk", "2").returncode == 0
    assert_user_error(farm("assemble"), "1 of 2 chunks are not rendered", "chunk 1")
    assert_user_error(farm("render", "--chunk", "3"), "from 1 to 2")
    assert farm("render", "--chunk", "1").returncode == 0
    done = farm("assemble")
    assert done.returncode == 0 and "preview:" in done.stdout, done.stderr
    local = segue("transition", A, B, "--frames", "4", "-o", tmp_path / "local", "--model", "classic",
                  "--a-out", "-2", "-q")
    assert local.returncode == 0
    same_folders(tmp_path / "local", out)


def test_more_chunks_than_frames_leaves_the_last_ones_empty(tmp_path: Path) -> None:
    engine = Engine("classic")
    render_transition(TransitionSpec(A, B, 2, str(tmp_path / "local"), model="classic"), engine=engine)
    spec = TransitionSpec(A, B, 2, str(tmp_path / "farm"), model="classic")
    assert plan_transition(spec, 4, engine=engine)["chunks"] == [[0, 1], [1, 2], [2, 2], [2, 2]]
    for k in (4, 3, 2, 1):  # a farm runs all four tasks; the empty ones do nothing
        render_transition_chunk(spec, 4, k, engine=engine)
    assemble_transition(spec, 4, engine=engine)
    same_folders(tmp_path / "local", tmp_path / "farm")
