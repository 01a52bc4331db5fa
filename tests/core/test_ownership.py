"""Segue replaces or deletes only files it can prove it wrote, whatever a folder's state files say."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from segue.core import InputError
from segue.core.demo import TAKE_A, TAKE_B
from segue.core.output import atomic_write_text
from segue.core.ownership import LEDGER, Ledger, file_stamp
from segue.core.transition import REPORT_FILE, STATE_FILE, TransitionSpec, render_transition

BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
NOBODY = 65534


def _spec(out: Path, **kw) -> TransitionSpec:
    base = dict(clip_a=str(BBB[0]), clip_b=str(BBB[1]), frames=2, out_dir=str(out), model="classic")
    return TransitionSpec(**(base | kw))


def _victims(tmp_path: Path) -> dict[Path, bytes]:
    """Files a planted state file might name: outside the folder, beside it, by odd names."""
    victims = {tmp_path / "victim.txt": b"precious", tmp_path / "outside" / "frame_0009.png": b"user frame"}
    for path, data in victims.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    return victims


@pytest.mark.parametrize("files", [
    ["../victim.txt"], ["{victim}"], ["../outside/frame_0009.png"], [".", ".."], ["frame_0009.png/../../victim.txt"],
    "not a list", [{"nested": 1}], [7],
])
def test_a_planted_state_file_deletes_nothing(tmp_path, files):
    victims = _victims(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    if isinstance(files, list):
        files = [f.format(victim=tmp_path / "victim.txt") if isinstance(f, str) else f for f in files]
    (out / STATE_FILE).write_text(json.dumps({"key": "x", "done": {}, "files": files}))
    with pytest.raises(InputError, match=f"{STATE_FILE} already exists and was not written by Segue"):
        render_transition(_spec(out))
    for path, data in victims.items():
        assert path.read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == [STATE_FILE]


def test_a_planted_ledger_proves_nothing_without_the_files_exact_stamps(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = {name: out / name for name in ("frame_0007.png", "frame_0008.png")}
    for path in stale.values():
        path.write_bytes(b"the user's")
    ino, size, mtime = file_stamp(stale["frame_0007.png"])
    lines = [{"name": "frame_0007.png", "stamp": [ino, size + 1, mtime]},
             {"name": "../victim.txt", "stamp": [1, 2, 3]}, {"name": "frame_0008.png", "stamp": [1.5, 2, 3]},
             "garbage", {"name": "frame_0008.png", "stamp": [10**30, 1, 1]}]
    (out / LEDGER).write_text("\n".join(json.dumps(x) for x in lines) + "\n{torn line")
    render_transition(_spec(out))
    for path in stale.values():  # not Segue's: a shorter render's "stale frames" are left alone
        assert path.read_bytes() == b"the user's"
    assert (out / "frame_0001.png").is_file() and (out / REPORT_FILE).is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_another_users_file_is_never_segues_whatever_the_ledger_says(tmp_path):
    render_transition(_spec(tmp_path, frames=3))
    theirs = tmp_path / "frame_0003.png"
    os.chown(theirs, NOBODY, NOBODY)  # its stamp is still the one recorded
    render_transition(_spec(tmp_path, frames=2))
    assert theirs.is_file()
    with pytest.raises(InputError, match="frame_0003.png already exists and was not written by Segue"):
        render_transition(_spec(tmp_path, frames=3))


def test_a_ledger_that_is_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    (out / LEDGER).symlink_to(target)
    with pytest.raises(InputError, match=LEDGER):
        render_transition(_spec(out))
    assert target.read_text() == "keep me"


def test_a_symlink_named_like_a_frame_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"keep")
    (out / "frame_0001.png").symlink_to(target)
    with pytest.raises(InputError, match="frame_0001.png already exists and was not written by Segue"):
        render_transition(_spec(out))
    assert (out / "frame_0001.png").is_symlink() and target.read_bytes() == b"keep"


def test_a_frame_the_user_edited_after_the_render_is_theirs_again(tmp_path):
    render_transition(_spec(tmp_path, frames=3))
    edited = tmp_path / "frame_0003.png"
    edited.write_bytes(edited.read_bytes() + b"retouched")
    render_transition(_spec(tmp_path, frames=2))  # a stale frame of Segue's would be removed; this one stays
    assert edited.read_bytes().endswith(b"retouched")
    with pytest.raises(InputError, match="frame_0003.png already exists and was not written by Segue"):
        render_transition(_spec(tmp_path, frames=3))
    assert edited.read_bytes().endswith(b"retouched")


def test_hostile_records_in_a_proven_state_file_are_rendered_again(tmp_path):
    clean = tmp_path / "clean"
    render_transition(_spec(clean, frames=3))
    out = tmp_path / "out"
    render_transition(_spec(out, frames=3))
    state = json.loads((out / STATE_FILE).read_text())
    state["done"]["frame_0001.png"] = {"index": "1", "file": "frame_0001.png"}
    state["done"]["frame_0002.png"] |= {"t": float("nan")}
    state["done"]["frame_0003.png"] |= {"index": 1}
    state["done"]["../victim"] = state["done"]["frame_0003.png"]
    ledger = Ledger(out)
    atomic_write_text(out / STATE_FILE, json.dumps(state), before_replace=ledger.recorder(STATE_FILE))
    events = []
    render_transition(_spec(out, frames=3), on_frame=events.append)
    assert [e.resumed for e in events] == [False, False, False]
    for k in (1, 2, 3):
        assert (out / f"frame_{k:04d}.png").read_bytes() == (clean / f"frame_{k:04d}.png").read_bytes()


def test_a_killed_rerun_can_resume_whichever_file_the_kill_left(tmp_path):
    # A job recorded a new stamp for frame 2 and died before renaming it into place: the
    # ledger still proves the old frame 2, so the next run replaces it instead of refusing.
    render_transition(_spec(tmp_path, frames=2))
    ledger = Ledger(tmp_path)
    tmp = tmp_path / ".frame_0002.png.tmp-1-0123abcd.png"
    tmp.write_bytes(b"a finished temporary file")
    ledger.record("frame_0002.png", tmp)
    render_transition(_spec(tmp_path, frames=2, model="auto"))
    assert not tmp.exists()
    assert Ledger(tmp_path).owns("frame_0002.png")


def test_the_output_folder_may_not_overwrite_the_inputs_frames(tmp_path):
    shots = tmp_path / "shots"
    render_transition(_spec(shots, frames=2))  # Segue's own frames, proven by the ledger ...
    copy = {p.name: p.read_bytes() for p in shots.glob("frame_*")}
    with pytest.raises(InputError, match="is a frame of clip A"):  # ... but now the input of a transition
        render_transition(_spec(shots, clip_a=str(shots), a_out=-1, frames=1))
    assert {p.name: p.read_bytes() for p in shots.glob("frame_*")} == copy


def test_a_movie_beside_the_output_is_fine(tmp_path):
    shutil.copy(TAKE_A, tmp_path / "take_a.mp4")
    render_transition(_spec(tmp_path, clip_a=str(tmp_path / "take_a.mp4"), clip_b=str(TAKE_B), frames=1))
    assert (tmp_path / "frame_0001.png").is_file() and (tmp_path / "take_a.mp4").is_file()
