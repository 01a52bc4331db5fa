"""The entry script, run as Resolve runs it, against the fake Resolve and a real segue-renderd.

Each test builds an edit of the real demo takes (25 fps, 12 frames each) in the fake, parks
the playhead, runs ``Segue Synthesize Transition.py`` with a scripted editor answering the
dialogs, and checks what Resolve would show afterwards and what the daemon rendered.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from fake_resolve import undocumented_lookups
from resolve_harness import ENTRY, FPS, TAKE_FRAMES, Editor, Scene, run_entry

from segue.renderd._proto import render_pb2 as pb

pytest_plugins = ("resolve_fixtures",)


def edit(resolve_media, scene: Scene, track: int = 1, at: int = 0, a_in: int = 2, b_in: int = 1, length: int = 8):
    """A jump cut on ``track``: take A (source a_in..) then take B (source b_in..), ``length`` frames each."""
    a = scene.add_media(str(resolve_media["a"]), TAKE_FRAMES, FPS)
    b = scene.add_media(str(resolve_media["b"]), TAKE_FRAMES, FPS)
    start = scene.start + at
    item_a = scene.add_clip(track, a, start, a_in, length)
    item_b = scene.add_clip(track, b, start + length, b_in, length)
    return item_a, item_b, start + length  # ... and the cut's record frame


def placed_items(scene: Scene, track: int) -> list:
    return scene.timeline.GetItemListInTrack("video", track)


def report_of(item) -> dict:
    """The daemon's transition.json beside the frames of a placed item."""
    pattern = item.GetMediaPoolItem().GetClipProperty("File Path")
    return json.loads((Path(pattern).parent / "transition.json").read_text())


def bin_files(scene: Scene) -> list[str]:
    """The "File Path" of every clip in the Segue bin, in bin order."""
    return [c.GetClipProperty("File Path") for c in scene.bin("Segue").GetClipList()]


def jobs(daemon) -> list:
    return list(daemon.call("ListJobs", pb.ListJobsRequest(page_size=500)).jobs)


def test_centred_transition_lands_above_the_cut_with_exactly_n_frames(resolve_media, resolve_connected):
    scene = Scene()
    item_a, item_b, cut = edit(resolve_media, scene)
    scene.set_playhead(cut - 1)  # on A's last frame
    before = scene.snapshot()
    user = Editor(frames=4)

    assert run_entry(scene, user) == "placed"

    assert user.messages == []
    assert "Cut at 01:00:00:08 on V1" in user.options_seen[0]["summary"]
    assert scene.timeline.GetTrackCount("video") == 2
    [result] = placed_items(scene, 2)
    assert (result.GetStart(), result.GetDuration(), result.GetEnd()) == (cut - 2, 4, cut + 2)
    assert placed_items(scene, 1) == [item_a, item_b]  # the cut itself is untouched
    segue = scene.bin("Segue")
    assert segue is not None and segue.GetClipList() == [result.GetMediaPoolItem()]  # no previews unless asked
    assert result.GetMediaPoolItem().GetName() == "Segue take_a to take_b"
    pattern = result.GetMediaPoolItem().GetClipProperty("File Path")
    # the project's own folder in the render folder, never beside the media
    project_folder = Path(os.environ["SEGUE_RESOLVE_OUTPUT_ROOT"]) / "Segue test"
    assert pattern.endswith("frame_[0001-0004].png") and Path(pattern).parent.parent == project_folder
    assert sorted(p.name for p in Path(pattern).parent.glob("frame_*.png")) == [
        f"frame_{k:04d}.png" for k in range(1, 5)]
    # A's frame just before the transition (source 2 + 5) into B's just after it (source 1 + 2)
    sources = report_of(result)["sources"]
    assert (sources["a"]["path"], sources["a"]["frame"]) == (str(resolve_media["a"]), 7)
    assert (sources["b"]["path"], sources["b"]["frame"]) == (str(resolve_media["b"]), 3)
    after = scene.snapshot()
    assert after["current_bin"] == before["current_bin"] and after["timelines"][0]["playhead"] == cut - 1
    # the last window says where the clip went and where the frames are
    [shown] = user.results
    assert shown["title"] == "Segue: Transition placed"
    assert shown["lines"][0] == ("4 frames on track V2, from 01:00:00:06 to 01:00:00:09 (centred on the cut at "
                                 "01:00:00:08 on V1).")
    assert shown["lines"][1] == 'Media pool: "Segue take_a to take_b" in the Segue bin.'
    # the demo's swinging arm ghosts: the window names the frames to check before using them
    assert shown["lines"][2].startswith("Check frames 1, 2, 3, 4 before using them")
    assert "contact sheet" in shown["lines"][3]
    assert shown["folder"] == str(Path(pattern).parent)


def test_the_options_name_models_and_the_render_folder_in_plain_words(resolve_media, resolve_connected):
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    user = Editor(cancel_options=True)

    assert run_entry(scene, user) == "cancelled"

    [seen] = user.options_seen
    assert seen["models"] == ["Automatic", "Fast (classic)"] and seen["model"] == "Automatic"
    # the technical name is in the tooltip; what auto runs for retimes (the learned model) is not shown
    assert seen["model_tip"].endswith("Technical name: auto") and "classic" in seen["model_tip"]
    assert "segue_fusion" not in seen["summary"] + seen["model_tip"] and "model" not in seen["summary"]
    assert seen["render_folder"] == str(Path(os.environ["SEGUE_RESOLVE_OUTPUT_ROOT"]) / "Segue test")
    assert seen["previews"] is False


def test_bridge_over_a_taken_track_adds_a_track_on_top(resolve_media, resolve_connected):
    scene = Scene(video_tracks=2)
    _, _, cut = edit(resolve_media, scene, at=10)
    title = scene.add_clip(2, None, cut - 3, 0, 6, name="Title")  # V2 is taken around the cut
    scene.set_playhead(cut)  # on B's first frame
    user = Editor(frames=3, placement=1)

    assert run_entry(scene, user) == "placed"

    assert scene.timeline.GetTrackCount("video") == 3
    assert placed_items(scene, 2) == [title]
    [result] = placed_items(scene, 3)
    assert (result.GetStart(), result.GetDuration()) == (cut, 3)
    sources = report_of(result)["sources"]
    assert (sources["a"]["frame"], sources["b"]["frame"]) == (2 + 7, 1)  # A's last and B's first visible frame


@pytest.mark.parametrize("version, append_end, record_frame", [
    ((18, 6), "inclusive", "absolute"), ((21, 1), "exclusive", "absolute"), ((20, 0), "inclusive", "relative")],
    ids=["18.6-inclusive-end", "21.1", "relative-record-frame"])
def test_other_versions_and_readings_of_the_api(resolve_media, resolve_connected, version, append_end, record_frame):
    """No GetSourceStartFrame (18.6), AppendToTimeline read otherwise; only README 20.0 methods asked for."""
    scene = Scene(version=version, append_end=append_end, record_frame=record_frame)
    _, _, cut = edit(resolve_media, scene, a_in=3, b_in=0)
    scene.set_playhead(cut + 2)
    scene.resolve._looked_up.clear()  # from here on: the script's own lookups

    assert run_entry(scene, Editor(frames=5, previews=True)) == "placed"

    assert undocumented_lookups(scene.resolve) == set()
    [result] = placed_items(scene, 2)
    assert (result.GetStart(), result.GetDuration()) == (cut - 2, 5)
    sources = report_of(result)["sources"]
    assert (sources["a"]["frame"], sources["b"]["frame"]) == (3 + 5, 0 + 3)


def test_the_topmost_cut_at_the_playhead_is_used(resolve_media, resolve_connected):
    scene = Scene(video_tracks=2)
    edit(resolve_media, scene, track=1)  # cut at +8
    _, _, high_cut = edit(resolve_media, scene, track=2, at=1)  # cut at +9, also next to the playhead
    scene.set_playhead(high_cut - 1)

    user = Editor(frames=2)
    assert run_entry(scene, user) == "placed"
    assert "on V2" in user.options_seen[0]["summary"]
    assert [i.GetStart() for i in placed_items(scene, 3)] == [high_cut - 1]


def test_previews_go_into_the_segue_bin_and_not_on_the_timeline(resolve_media, resolve_connected):
    scene = Scene()
    item_a, item_b, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    user = Editor(frames=3, previews=True)

    assert run_entry(scene, user) == "placed"

    [result] = placed_items(scene, 2)
    folder = Path(result.GetMediaPoolItem().GetClipProperty("File Path")).parent
    assert report_of(result)["previews"]["movie"] == "preview.mp4"
    movies = [str(folder / "preview.mp4"), str(folder / "preview_dissolve.mp4")]
    assert bin_files(scene) == [result.GetMediaPoolItem().GetClipProperty("File Path"), *movies]
    previews = scene.bin("Segue").GetClipList()[1:]
    assert all(p.GetClipProperty("Type") == "Video" and int(p.GetClipProperty("Frames")) > 3 for p in previews)
    # on no timeline: V1 holds the cut, V2 the transition, nothing else anywhere
    assert placed_items(scene, 1) == [item_a, item_b] and scene.timeline.GetTrackCount("video") == 2
    assert "Previews in the Segue bin (not on the timeline): preview.mp4, preview_dissolve.mp4." in \
        user.results[0]["lines"]

    again = Editor(frames=3, previews=True)  # the same request: the same folder, the same movies
    assert run_entry(scene, again) == "placed"
    assert bin_files(scene).count(movies[0]) == 1 and bin_files(scene).count(movies[1]) == 1
    assert "Previews already in the Segue bin: preview.mp4, preview_dissolve.mp4." in again.results[0]["lines"]


@pytest.mark.parametrize("beside_media", [False, True], ids=["render-folder", "beside-media-on-request"])
def test_default_render_folder_is_per_project_not_beside_the_media(resolve_media, resolve_connected, tmp_path,
                                                                   monkeypatch, beside_media):
    monkeypatch.delenv("SEGUE_RESOLVE_OUTPUT_ROOT")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if beside_media:
        monkeypatch.setenv("SEGUE_RESOLVE_OUTPUT_BESIDE_MEDIA", "1")
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    user = Editor(frames=2)

    assert run_entry(scene, user) == "placed"

    [result] = placed_items(scene, 2)
    folder = Path(result.GetMediaPoolItem().GetClipProperty("File Path")).parent
    render_folder = tmp_path / "home" / "Videos" / "Segue"  # Linux's default (macOS: ~/Movies/Segue)
    expected = resolve_media["root"] / "Segue" if beside_media else render_folder / "Segue test"
    assert folder.parent == expected and user.results[0]["folder"] == str(folder)
    assert user.options_seen[0]["render_folder"] == str(expected)
    if not beside_media:
        assert not (resolve_media["root"] / "Segue").exists()


def test_cancel_during_the_render_changes_nothing(resolve_media, resolve_connected):
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    before = scene.snapshot()
    user = Editor(frames=60, placement=1, cancel_render=True)  # cancelled long before frame 60

    assert run_entry(scene, user) == "cancelled"

    assert scene.snapshot() == before
    assert user.messages == []
    newest = jobs(resolve_connected)[0]
    assert newest.spec.frames == 60 and newest.state == pb.JOB_STATE_CANCELLED


def test_cancelling_the_options_changes_nothing_and_submits_nothing(resolve_media, resolve_connected):
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    before, submitted = scene.snapshot(), len(jobs(resolve_connected))

    assert run_entry(scene, Editor(cancel_options=True)) == "cancelled"

    assert scene.snapshot() == before
    assert len(jobs(resolve_connected)) == submitted


def test_a_request_the_daemon_refuses_shows_its_reason(resolve_media, resolve_connected, monkeypatch):
    monkeypatch.setenv("SEGUE_RESOLVE_OUTPUT_ROOT", "/var/tmp/segue-outside-the-allowed-roots")
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)
    before = scene.snapshot()
    user = Editor(frames=2)

    assert run_entry(scene, user) == "refused"

    assert scene.snapshot() == before
    [(title, text)] = user.messages
    assert "daemon" in title and "--allow-root" in text and "segue-outside-the-allowed-roots" in text
    assert user.details[0].startswith("Details: PERMISSION_DENIED")


def test_without_fusion_ui_it_takes_the_defaults_and_reports_on_the_console(resolve_media, resolve_connected, capsys):
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut)

    assert run_entry(scene, Editor(), ui=False) == "placed"

    assert scene.ui.windows == []
    [result] = placed_items(scene, 2)
    assert (result.GetStart(), result.GetDuration()) == (cut - 4, 8)  # 8 frames, centred
    out = capsys.readouterr().out
    assert "Segue: 8 frames on track V2, from 01:00:00:04 to 01:00:00:11" in out
    assert f"Segue: frames in {Path(result.GetMediaPoolItem().GetClipProperty('File Path')).parent}" in out


def test_the_installed_entry_runs_with_its_vendored_client(resolve_media, resolve_daemon, resolve_token_file,
                                                            tmp_path, monkeypatch):
    """`segue install resolve`, then the copy in Scripts/Edit runs without __file__ or environment."""
    from segue.cli import main
    from segue.install_resolve import ACTIONS

    for name in ("SEGUE_RENDERD_ADDRESS", "SEGUE_RENDERD_TOKEN_FILE", "SEGUE_RENDERD_TLS_CA",
                 "SEGUE_RESOLVE_OUTPUT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    scripts, lib, out = tmp_path / "Scripts" / "Edit", tmp_path / "segue-lib", tmp_path / "out"
    assert main(["install", "resolve", "--dest", str(scripts), "--lib", str(lib), "--server", resolve_daemon.address,
                 "--token-file", str(resolve_token_file), "--output-root", str(out)]) == 0
    installed = scripts / ENTRY.name
    # the menu items, and nothing else for Resolve to list
    assert sorted(p.name for p in scripts.iterdir()) == sorted(ACTIONS.values())
    scene = Scene()
    _, _, cut = edit(resolve_media, scene)
    scene.set_playhead(cut - 1)

    try:
        assert run_entry(scene, Editor(frames=3), entry=installed, with_file=False) == "placed"
        from segue_resolve.daemon import client_module

        assert Path(client_module().__file__).is_relative_to(lib / "segue_resolve" / "_client")
        assert Path(sys.modules["segue_resolve"].__file__).is_relative_to(lib)
    finally:
        sys.path.remove(str(lib))
        run_entry(Scene(project=False), Editor())  # the checkout's package back for the other tests
        assert Path(sys.modules["segue_resolve"].__file__).is_relative_to(ENTRY.parent)
    [result] = placed_items(scene, 2)
    assert result.GetDuration() == 3
    assert Path(result.GetMediaPoolItem().GetClipProperty("File Path")).parent.parent == out / "Segue test"
