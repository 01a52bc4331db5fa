"""Every refusal shows one clear dialog and changes nothing in Resolve (nor asks the daemon for work)."""
from __future__ import annotations

import socket

import pytest
from resolve_harness import FPS, TAKE_FRAMES, Editor, Scene, run_entry

from segue.renderd._proto import render_pb2 as pb

pytest_plugins = ("resolve_fixtures",)


def jump_cut(scene: Scene, media, b_media=None, a_media=None) -> int:
    """A 8+8 frame cut on V1 with the playhead on B's first frame; returns the cut frame."""
    a = a_media if a_media is not None else scene.add_media(str(media["a"]), TAKE_FRAMES, FPS)
    b = b_media if b_media is not None else scene.add_media(str(media["b"]), TAKE_FRAMES, FPS)
    cut = scene.start + 8
    scene.add_clip(1, a, scene.start, 2, 8) if a != "generator" else scene.add_clip(1, None, scene.start, 0, 8)
    scene.add_clip(1, b, cut, 1, 8)
    scene.set_playhead(cut)
    return cut


def no_project(scene, media):
    return Scene(project=False)


def no_timeline(scene, media):
    return Scene(timeline=False)


def playhead_in_a_gap(scene, media):
    cut = jump_cut(scene, media)
    scene.set_playhead(cut + 20)
    return scene


def playhead_on_a_lone_clip(scene, media):
    a = scene.add_media(str(media["a"]), TAKE_FRAMES, FPS)
    scene.add_clip(1, a, scene.start, 0, 8)
    scene.add_clip(1, a, scene.start + 9, 0, 8)  # one frame of gap: no cut
    scene.set_playhead(scene.start + 8)
    return scene


def generator(scene, media):
    jump_cut(scene, media, a_media="generator")
    return scene


def compound_clip(scene, media):
    jump_cut(scene, media, b_media=scene.add_media("", 40, FPS, kind="Compound", name="Compound Clip 1"))
    return scene


def multicam_clip(scene, media):
    jump_cut(scene, media, b_media=scene.add_media("", 40, FPS, kind="Multicam", name="Multicam Clip 1"))
    return scene


def different_fps(scene, media):
    jump_cut(scene, media, b_media=scene.add_media(str(media["24fps"]), 12, "24.000"))
    return scene


def clip_off_the_timeline_rate(scene, media):
    scene.timeline._settings["timelineFrameRate"] = "24"  # test setup: the project runs at 24
    jump_cut(scene, media)
    return scene


REFUSALS = [
    (no_project, "No project", "Open the project"),
    (no_timeline, "No timeline", "no current timeline"),
    (playhead_in_a_gap, "No cut at the playhead", "Park the playhead"),
    (playhead_on_a_lone_clip, "No cut at the playhead", "Park the playhead"),
    (generator, "Not a media clip", "generators, titles"),
    (compound_clip, "Not a media clip", "Compound Clip 1"),
    (multicam_clip, "Not a media clip", "multicam"),
    (different_fps, "Different frame rates", "24 fps"),
    (clip_off_the_timeline_rate, "Different frame rates", "timeline at 24 fps"),
]


def jobs(daemon) -> int:
    return len(daemon.call("ListJobs", pb.ListJobsRequest(page_size=500)).jobs)


@pytest.mark.parametrize("build, title, phrase", REFUSALS, ids=[r[0].__name__ for r in REFUSALS])
def test_refusal_shows_why_and_changes_nothing(build, title, phrase, resolve_media, resolve_connected):
    scene = build(Scene(), resolve_media)
    before, submitted = scene.snapshot(), jobs(resolve_connected)
    user = Editor(frames=4)

    assert run_entry(scene, user) == "refused"

    assert user.messages and user.messages[0][0] == f"Segue: {title}", user.messages
    assert len(user.messages) == 1 and phrase in user.messages[0][1] and user.details == [""]
    assert user.options_seen == []  # refused before asking anything
    assert scene.snapshot() == before
    assert jobs(resolve_connected) == submitted


def test_unreachable_daemon_says_how_to_start_one(resolve_media, resolve_connected, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SEGUE_RENDERD_ADDRESS", f"127.0.0.1:{port}")
    scene = Scene()
    jump_cut(scene, resolve_media)
    before = scene.snapshot()
    user = Editor(frames=4)

    assert run_entry(scene, user) == "refused"

    [(title, text)] = user.messages
    assert title == "Segue: Segue render daemon unreachable"
    assert f"127.0.0.1:{port}" in text and "Is it running?" in text and "`segue-renderd serve`" in text
    # in words: gRPC's own text ("failed to connect to all addresses ...") is only the secondary line
    assert not any(raw in text for raw in ("failed to connect", "Connection refused", "UNAVAILABLE", "UNKNOWN"))
    [detail] = user.details
    assert detail.startswith("Details: UNAVAILABLE") and f"127.0.0.1:{port}" in detail
    assert user.options_seen == [] and scene.snapshot() == before
