"""A transition rendered as a farm job equals ``segue transition`` byte for byte.

The frames and the previews are the same bytes whatever the chunks and their order;
transition.json differs only in when it was made and how long it took; a local rerun of
the job in the folder keeps every frame the farm wrote.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from farm_runs import A, B, same_folders
from retime_clips import assert_user_error, segue

from segue.core.engine import Engine
from segue.core.farm import assemble_transition, plan_transition, render_transition_chunk
from segue.core.transition import TransitionSpec, render_transition


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
