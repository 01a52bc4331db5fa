"""The fake keeps Resolve's documented shapes, so the script cannot pass by leaning on the fake."""
from __future__ import annotations

import threading

import pytest
import resolve_harness  # noqa: F401 - the fixtures' helpers (media) on sys.path
from fake_resolve import FakeUser, Scene, documented_methods, undocumented_lookups

pytest_plugins = ("resolve_fixtures",)


def scene_with_cut(**kw) -> tuple[Scene, object, object]:
    scene = Scene(**kw)
    media = scene.add_media("/m/a.mov", 20, "25.000")
    a = scene.add_clip(1, media, scene.start, 2, 5)
    b = scene.add_clip(1, media, scene.start + 5, 10, 5)
    return scene, a, b


def test_indices_are_one_based_and_out_of_range_is_none():
    scene, a, b = scene_with_cut()
    timeline, project = scene.timeline, scene.project
    assert timeline.GetItemListInTrack("video", 1) == [a, b]
    assert timeline.GetItemListInTrack("video", 0) is None and timeline.GetItemListInTrack("video", 2) is None
    assert project.GetTimelineByIndex(1) is timeline and project.GetTimelineByIndex(0) is None
    assert b.GetTrackTypeAndIndex() == ["video", 1]


def test_newer_methods_do_not_exist_in_older_versions():
    old, a, _ = scene_with_cut(version=(18, 6))
    assert not hasattr(a, "GetSourceStartFrame") and not hasattr(a, "GetSourceEndFrame")
    assert a.GetLeftOffset() == 2
    _, a, _ = scene_with_cut(version=(21, 1))
    assert a.GetSourceStartFrame() == 2


def test_only_readme_methods_exist_and_every_lookup_is_recorded():
    """The fake has no method [R20] lacks (GetSettings, GetSelectedClips), and notices a script asking."""
    scene, a, _ = scene_with_cut(version=(21, 1))
    assert ("Timeline", "GetSetting") in documented_methods()
    assert not {("Timeline", "GetSettings"), ("Timeline", "GetSelectedClips")} & documented_methods()
    assert scene.timeline.GetSetting("timelineFrameRate") == "25"
    assert scene.timeline.GetSetting() == {"timelineFrameRate": "25"}  # no key: every setting [R20]
    assert not hasattr(scene.timeline, "GetSettings") and not hasattr(scene.timeline, "GetSelectedClips")
    assert undocumented_lookups(scene.resolve) == {("Timeline", "GetSettings"), ("Timeline", "GetSelectedClips")}


def test_timecodes_are_strings_from_the_start_timecode():
    scene, _, _ = scene_with_cut()
    scene.set_playhead(scene.start + 30)
    assert scene.timeline.GetCurrentTimecode() == "01:00:01:05"
    assert scene.timeline.GetStartTimecode() == "01:00:00:00" and scene.start == 90_000
    df = Scene(frame_rate="29.97 DF", start_timecode="00:00:00;00")
    df.set_playhead(1800)
    assert df.timeline.GetCurrentTimecode() == "00:01:00;02"


def test_append_to_timeline_places_exactly_or_not_at_all():
    scene, a, _ = scene_with_cut(video_tracks=2)
    pool, media = scene.project.GetMediaPool(), a.GetMediaPoolItem()
    info = {"mediaPoolItem": media, "startFrame": 0, "endFrame": 4, "mediaType": 1, "trackIndex": 2,
            "recordFrame": scene.start + 1}
    [item] = pool.AppendToTimeline([info])
    assert (item.GetStart(), item.GetDuration()) == (scene.start + 1, 4)  # endFrame exclusive, record absolute
    assert pool.AppendToTimeline([dict(info, recordFrame=scene.start + 3)]) == []  # over another clip
    assert pool.AppendToTimeline([dict(info, trackIndex=3)]) == []  # no such track
    assert pool.AppendToTimeline([dict(info, startFrame=18, endFrame=22, recordFrame=scene.start + 10)]) == []
    inclusive, a, _ = scene_with_cut(video_tracks=2, append_end="inclusive")
    info["mediaPoolItem"] = a.GetMediaPoolItem()
    [item] = inclusive.project.GetMediaPool().AppendToTimeline([info])
    assert item.GetDuration() == 5


def test_media_pool_items_and_imports(tmp_path):
    scene, a, _ = scene_with_cut()
    media = a.GetMediaPoolItem()
    assert media.GetClipProperty("File Path") == "/m/a.mov" and media.GetClipProperty("No Such Key") == ""
    assert media.GetClipProperty()["FPS"] == "25.000"
    assert scene.add_clip(1, None, scene.start + 20, 0, 3).GetMediaPoolItem() is None  # a generator
    pool = scene.project.GetMediaPool()
    for k in (1, 2):
        (tmp_path / f"f_{k:03d}.png").write_bytes(b"")
    assert pool.ImportMedia([{"FilePath": str(tmp_path / "f_%03d.png"), "StartIndex": 1, "EndIndex": 3}]) == []
    [clip] = pool.ImportMedia([{"FilePath": str(tmp_path / "f_%03d.png"), "StartIndex": 1, "EndIndex": 2}])
    assert clip.GetClipProperty("File Path") == str(tmp_path / "f_[001-002].png")
    assert clip in pool.GetCurrentFolder().GetClipList()


def test_movies_import_with_their_length_and_unreadable_ones_do_not(resolve_media, tmp_path):
    scene = Scene()
    pool = scene.project.GetMediaPool()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a movie")
    [movie] = pool.ImportMedia([str(resolve_media["a"]), str(broken)])
    assert movie.GetClipProperty("Type") == "Video" and movie.GetClipProperty("Frames") == "12"
    assert movie.GetClipProperty("FPS") == "25.000" and movie.GetClipProperty("File Path") == str(resolve_media["a"])


class Clicker(FakeUser):
    def shown(self, window):
        window.GetItems()["OK"].Click()


def test_ui_elements_have_only_documented_attributes_and_belong_to_the_ui_thread():
    scene = Scene()
    ui, dispatcher = scene.ui, scene.bmd.UIDispatcher(scene.ui)
    window = dispatcher.AddWindow({"ID": "W"}, [ui.Button({"ID": "OK", "Text": "OK"}), ui.Label({"ID": "L"})])
    items = window.GetItems()
    with pytest.raises(AttributeError):
        items["L"].Txet = "typo"
    with pytest.raises(AttributeError):
        window.On.OK.Clickd = print
    failures = []
    worker = threading.Thread(target=lambda: _touch(items["L"], failures))
    worker.start()
    worker.join()
    assert failures and "UI thread" in failures[0]
    seen = []
    window.On.OK.Clicked = lambda ev: (seen.append(ev["who"]), dispatcher.ExitLoop(7))
    ui.user = Clicker()
    window.Show()
    assert dispatcher.RunLoop() == 7 and seen == ["OK"]


def _touch(label, failures):
    try:
        label.Text = "from a worker"
    except AssertionError as exc:
        failures.append(str(exc))
