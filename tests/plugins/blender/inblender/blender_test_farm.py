"""bpy.ops.sequencer.send_transitions_to_farm: every selected cut as one render-farm job.

Three movie strips meet at two cuts. The operator has the real daemon write the Open Job
Description bundle into the chosen folder and adds one placeholder strip per cut whose
files do not exist yet; ``openjd run`` (from the project's venv, as a farm would run the
job) then renders them, and each placeholder shows exactly the frames the farm wrote,
the same bytes the local operator renders for that cut. Refusals change nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import bpy
import pytest
from blender_fixtures import BBB, SAFETY, TAKE_A, TAKE_B, add_images, add_movie, editor, select_only, strip_files

pytest_plugins = ("blender_fixtures",)
PROJECT_BIN = Path(json.loads(os.environ["SEGUE_RENDERD_CMD"])[0]).parent  # the project's venv


def three_takes():
    """take_a 1..12, take_b 13..24, take_a 25..36 on channel 1: cuts at 13 and 25."""
    strips = [add_movie("take_a", TAKE_A, 1, 1), add_movie("take_b", TAKE_B, 1, 13),
              add_movie("take_a again", TAKE_A, 1, 25)]
    select_only(*strips)
    return strips


def openjd_run(bundle: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROJECT_BIN / "openjd"), "run", str(bundle / "template.yaml"), "--job-param",
                           f"file://{bundle / 'params.json'}", "--job-param", f"SegueCommand={PROJECT_BIN / 'segue'}",
                           "--step", "Assemble", "--run-dependencies"],
                          capture_output=True, text=True, timeout=SAFETY * 5, check=False)


def test_selected_cuts_become_one_job_and_placeholders_that_fill_in(addon, project):
    three_takes()
    bundle = project / "farm job"
    assert bpy.ops.sequencer.send_transitions_to_farm(directory=str(bundle), frames=3, model="classic",
                                                      chunks=2, job_name="Reel 1 cuts") == {"FINISHED"}

    assert sorted(p.name for p in bundle.iterdir() if p.is_file() and not p.name.startswith(".")) == [
        "README.md", "parameter_values.yaml", "params.json", "template.yaml"]
    placeholders = sorted((s for s in editor().strips_all if s.channel == 2), key=lambda s: s.frame_final_start)
    assert [s.name for s in placeholders] == ["take_a → take_b", "take_b → take_a again"]
    # 3 frames centred on each cut: one before it, two after
    assert [(s.frame_final_start, s.frame_final_end) for s in placeholders] == [(12, 15), (24, 27)]
    assert all(s.select for s in placeholders) and editor().active_strip in placeholders
    files = [strip_files(s) for s in placeholders]
    assert all(len(f) == 3 and f[0].parent.parent == bundle and not f[0].parent.exists() for f in files)
    assert "Reel 1 cuts" in (bundle / "template.yaml").read_text()

    done = openjd_run(bundle)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    farm = [[p.read_bytes() for p in f] for f in files]  # the placeholders' files now exist

    # the first cut rendered locally by the daemon: the same frames
    a, b, _ = sorted((s for s in editor().strips_all if s.channel == 1), key=lambda s: s.frame_final_start)
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition(frames=3, model="classic") == {"FINISHED"}
    local = editor().active_strip
    assert (local.frame_final_start, local.channel) == (12, 3)
    assert [p.read_bytes() for p in strip_files(local)] == farm[0]


@pytest.mark.parametrize("setup,pattern", [
    (lambda project: select_only(add_movie("a", TAKE_A, 1, 1), add_movie("b", TAKE_B, 1, 20)),
     "none of the 2 selected strips meet at a cut"),
    (lambda project: select_only(add_movie("a", TAKE_A, 1, 1), add_images("b", BBB[:2], 1, 13)),
     "'b' is too short"),
])
def test_what_cannot_be_sent_is_refused_before_anything_is_written(addon, project, setup, pattern):
    setup(project)
    names = {s.name for s in editor().strips_all}
    with pytest.raises(RuntimeError, match=pattern):
        bpy.ops.sequencer.send_transitions_to_farm(directory=str(project / "farm"), frames=4)
    assert {s.name for s in editor().strips_all} == names
    assert not (project / "farm").exists()


def test_a_daemon_refusal_names_the_cut_and_keeps_the_editors_files(addon, project):
    three_takes()
    bundle = project / "notes"
    bundle.mkdir()
    (bundle / "README.md").write_text("the editor's own notes")
    names = {s.name for s in editor().strips_all}
    with pytest.raises(RuntimeError, match="refused the farm job: .*README.md"):
        bpy.ops.sequencer.send_transitions_to_farm(directory=str(bundle), frames=2)
    assert {s.name for s in editor().strips_all} == names
    assert sorted(p.name for p in bundle.iterdir()) == ["README.md"]
    assert (bundle / "README.md").read_text() == "the editor's own notes"
