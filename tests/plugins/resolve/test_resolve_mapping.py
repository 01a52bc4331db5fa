"""The pure part of the Resolve script: timecode, the cut, placement, the request. No Resolve, no daemon."""
from __future__ import annotations

import pytest
import resolve_harness  # noqa: F401 - puts segue_resolve on sys.path
from segue_resolve import mapping
from segue_resolve.errors import Refusal
from segue_resolve.timecode import (
    FrameRate,
    from_frames,
    parse_rate,
    playhead_frame,
    same_rate,
    to_frames,
)

PAL = FrameRate(25)
NTSC_DF = FrameRate(30000 / 1001, drop_frame=True)


# -- timecode -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, fps, drop", [("24", 24, False), ("23.976", 23.976, False), ("25.000", 25, False),
                                             ("29.97 DF", 29.97, True), ("59.94DF", 59.94, True),
                                             ("25 DF", 25, False)])
def test_rates_as_resolve_writes_them(text, fps, drop):
    rate = parse_rate(text)
    assert rate.fps == pytest.approx(fps) and rate.drop_frame is drop


@pytest.mark.parametrize("text", ["", "fast", "0", "-25"])
def test_not_a_rate(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_rates_compare_as_editors_do():
    assert same_rate(23.976, 23.98) and same_rate(30000 / 1001, 29.97)
    assert not same_rate(24, 25) and not same_rate(23.976, 24)


@pytest.mark.parametrize("timecode, rate, frames", [
    ("01:00:00:00", PAL, 90_000), ("01:00:00:00", FrameRate(24000 / 1001), 86_400),  # timebase 24
    ("00:00:01:24", PAL, 49), ("00:01:00;02", NTSC_DF, 1800), ("00:10:00;00", NTSC_DF, 17_982),
    ("01:00:00;00", NTSC_DF, 107_892), ("00:00:59;29", NTSC_DF, 1799)])
def test_timecode_to_frames_and_back(timecode, rate, frames):
    assert to_frames(timecode, rate) == frames
    assert from_frames(frames, rate) == timecode


def test_a_semicolon_means_drop_frame_even_if_the_rate_does_not_say_so():
    assert to_frames("00:01:00;02", FrameRate(29.97)) == 1800
    assert to_frames("00:01:00:02", FrameRate(29.97)) == 1802


@pytest.mark.parametrize("timecode", ["", "1:00", "01:00:00:25", "01:61:00:00", None])
def test_malformed_timecode(timecode):
    with pytest.raises(ValueError):
        to_frames(timecode, PAL)


def test_playhead_in_the_items_numbering_whatever_the_start():
    assert playhead_frame("01:00:00:08", "01:00:00:00", 90_000, PAL) == 90_008
    assert playhead_frame("10:00:01:00", "10:00:00:00", 0, PAL) == 25


# -- the cut ------------------------------------------------------------------------------

A_B = [(100, 110), (110, 120)]


@pytest.mark.parametrize("playhead", [100, 105, 109, 110, 119])
def test_the_playhead_on_either_clip_finds_their_cut(playhead):
    assert mapping.cut_near(A_B, playhead) == (0, 1, 110)


@pytest.mark.parametrize("playhead, cut", [(111, 110), (114, 110), (115, 120), (118, 120)])
def test_a_clip_between_two_cuts_takes_the_nearer_one(playhead, cut):
    spans = [(100, 110), (110, 120), (120, 130)]
    assert mapping.cut_near(spans, playhead)[2] == cut


def test_a_tie_goes_to_the_earlier_cut():
    assert mapping.cut_near([(100, 110), (110, 121), (121, 130)], 115)[2] == 110


@pytest.mark.parametrize("spans, playhead", [(A_B, 99), (A_B, 120), ([(100, 110)], 105),
                                             ([(100, 110), (111, 120)], 110), ([], 0)])
def test_no_cut(spans, playhead):
    assert mapping.cut_near(spans, playhead) is None


def test_items_are_found_in_any_listing_order():
    assert mapping.cut_near([(110, 120), (100, 110)], 109) == (1, 0, 110)


def test_tracks_are_searched_preferred_first_then_top_down():
    tracks = {1: A_B, 2: [(90, 108), (108, 130)], 3: [(50, 60)]}
    assert mapping.track_order([1], [1, 2, 3]) == [1, 3, 2]
    assert mapping.find_cut(tracks, [3, 2, 1], 109) == mapping.Cut(2, 0, 1, 108)
    assert mapping.find_cut(tracks, [1, 3, 2], 109) == mapping.Cut(1, 0, 1, 110)
    assert mapping.find_cut(tracks, [3], 109) is None


# -- placement ----------------------------------------------------------------------------

A = mapping.ClipSource("a", "/m/a.mov", 90, 100, source_in=10, fps=25)  # shows source 10..19
B = mapping.ClipSource("b", "/m/b.mov", 100, 110, source_in=0, fps=25)  # shows source 0..9


@pytest.mark.parametrize("frames, start, a_out, b_in", [(4, 98, 17, 2), (3, 99, 18, 2), (1, 100, 19, 1)])
def test_centred_frames_bridge_the_frames_either_side_of_them(frames, start, a_out, b_in):
    plan = mapping.plan_transition(A, B, 100, frames, mapping.CENTERED)
    assert (plan.record_start, plan.a_out, plan.b_in, plan.record_end) == (start, a_out, b_in, start + frames)
    assert A.record_start <= plan.record_start - 1 and plan.record_end < B.record_end  # both ends visible


def test_bridge_joins_the_last_and_first_visible_frames_from_the_cut():
    plan = mapping.plan_transition(A, B, 100, 6, mapping.BRIDGE)
    assert (plan.record_start, plan.a_out, plan.b_in) == (100, 19, 0)


def test_centred_frames_are_limited_by_the_shorter_side():
    limit = mapping.max_frames(A, B, mapping.CENTERED)
    assert limit == 18  # B keeps a frame after 9 of its 10
    mapping.plan_transition(A, B, 100, limit, mapping.CENTERED)
    with pytest.raises(Refusal, match="at most 18 frames"):
        mapping.plan_transition(A, B, 100, limit + 1, mapping.CENTERED)
    one_frame_b = mapping.ClipSource("b", "/m/b.mov", 100, 101, 0, 25)
    assert mapping.max_frames(A, one_frame_b, mapping.CENTERED) == 0
    assert mapping.max_frames(A, one_frame_b, mapping.BRIDGE) > 1000


def test_frame_rates_must_match_each_other_and_the_timeline():
    mapping.check_rates(A, B, FrameRate(25))
    with pytest.raises(Refusal, match="clip B .* 24 fps"):
        mapping.check_rates(A, mapping.ClipSource("b", "/m/b.mov", 100, 110, 0, 24), FrameRate(25))
    with pytest.raises(Refusal, match="timeline at 24 fps"):
        mapping.check_rates(A, B, FrameRate(24))


def test_the_result_goes_on_the_lowest_free_unlocked_track_above():
    occupied = {1: [(90, 110)], 2: [(0, 98)], 3: [(101, 120)], 4: []}
    assert mapping.choose_track(1, (98, 102), occupied, [], 4) == 2  # touching [0, 98) is free
    assert mapping.choose_track(1, (97, 102), occupied, [], 4) == 4
    assert mapping.choose_track(1, (97, 102), occupied, [4], 4) is None  # add a track on top
    assert mapping.choose_track(3, (0, 10), occupied, [], 3) is None


@pytest.mark.parametrize("resolve_path, daemon_path", [
    ("/p/shot_[0001-0100].png", "/p/shot_%04d.png"), ("/p/take[1]/a.[001-010].exr", "/p/take[1]/a.%03d.exr"),
    ("/p/take_a.mov", "/p/take_a.mov"), ("C:\\media\\b_[98-120].tif", "C:\\media\\b_%02d.tif")])
def test_resolve_sequence_notation_becomes_a_printf_pattern(resolve_path, daemon_path):
    assert mapping.sequence_path(resolve_path) == daemon_path


def test_one_folder_per_request():
    plan = mapping.plan_transition(A, B, 100, 4, mapping.CENTERED)
    fields = mapping.transition_fields(A, B, plan, "auto", "png")
    assert fields == {"clip_a": "/m/a.mov", "clip_b": "/m/b.mov", "frames": 4, "a_out": 17, "b_in": 2,
                      "model": "auto", "format": "png"}
    folder = mapping.output_folder("/out", A, B, fields)
    assert folder.startswith("/out/a-b-") and folder == mapping.output_folder("/out", A, B, dict(fields))
    assert folder != mapping.output_folder("/out", A, B, dict(fields, frames=5))
    assert mapping.frames_pattern(folder, "tiff").endswith("/frame_%04d.tif")


def test_frames_go_to_a_folder_per_project_unless_asked_beside_the_media():
    assert mapping.output_root(A, "Short film: cut 2/3", "/renders") == "/renders/Short film_ cut 2_3"
    assert mapping.output_root(A, "Épisode 1", "/renders") == "/renders/Épisode 1"  # the editor's own words
    assert mapping.output_root(A, " .. ", "/renders") == "/renders/Untitled project"
    assert mapping.output_root(A, "Short film", "/renders", beside_media=True) == "/m/Segue"


def test_the_default_render_folder_is_where_media_lives():
    from segue_resolve.settings import default_render_root, load

    assert default_render_root("darwin", "/Users/ed") == "/Users/ed/Movies/Segue"
    assert default_render_root("linux", "/home/ed") == "/home/ed/Videos/Segue"
    assert load(None, {}).output_root is None and load(None, {}).output_beside_media is False
    assert load(None, {"SEGUE_RESOLVE_OUTPUT_BESIDE_MEDIA": "1"}).output_beside_media is True


# -- cuts sent to a render farm (farm_marks) -------------------------------------------


def test_markers_on_either_side_of_a_cut_mark_it_once():
    from segue_resolve.farm_marks import marked_cuts

    start = 1000
    tracks = {1: [(1000, 1008), (1008, 1016), (1016, 1024)], 2: [(1004, 1012)]}
    markers = {7.0: {}, 8.0: {}, 16.0: {}, 3.0: {}, 30.0: {}, "x": {}}  # 7 and 8: both sides of the cut at 1008
    cuts, elsewhere = marked_cuts(markers, start, tracks, [2, 1])
    assert [(frame_id, cut.track, cut.frame) for frame_id, cut in cuts] == [(7.0, 1, 1008), (16.0, 1, 1016)]
    assert elsewhere == 3  # mid-clip, past the end, not a frame


def test_a_farm_mark_reads_back_only_when_well_formed():
    from segue_resolve.farm_marks import FarmMark

    mark = FarmMark(folder="/r/cut", format="png", frames=3, record_start=1007, track=1, cut=1008,
                    placement="centered", name="Segue a to b")
    assert FarmMark.parse(mark.text()) == mark
    text = mark.text()
    for forged in (text.replace('"frames": 3', '"frames": 0'), text.replace('"track": 1', '"track": true'),
                   text.replace('"centered"', '"sideways"'), text.replace('"/r/cut"', '""'),
                   text[:-1], text.replace("segue-farm/1", "segue-farm/2"), None, 42):
        assert FarmMark.parse(forged) is None
