"""The strip-to-request mapping of the Blender extension, outside Blender (no bpy)."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "plugins" / "blender"))
from segue_transition import mapping
from segue_transition.mapping import BRIDGE, CENTERED, Refusal, StripValues


def movie(name="A", channel=1, start=1.0, left=None, right=None, length=12, trim=0, **kw) -> StripValues:
    """A movie strip whose content (after a hard trim of ``trim``) is ``length`` frames at ``start``."""
    content = length - trim
    left = int(start) if left is None else left
    right = int(start) + content if right is None else right
    return StripValues(name=name, kind="MOVIE", channel=channel, content_start=start, left_handle=left,
                       right_handle=right, content_duration=content, content_trim_start=trim,
                       filepath=f"/media/{name}.mp4", fps=25.0, colorspace="sRGB", **kw)


def images(name="I", channel=1, start=1, files=("a.0001.png", "a.0002.png"), trim=0, **kw) -> StripValues:
    content = len(files) - trim
    return StripValues(name=name, kind="IMAGE", channel=channel, content_start=float(start), left_handle=start,
                       right_handle=start + content, content_duration=content, content_trim_start=trim,
                       directory="/media/seq/", elements=tuple(files), colorspace="ACEScg", **kw)


# -- which strip is A ------------------------------------------------------------------


def test_pick_pair_orders_by_the_cut():
    a, b = movie("A"), movie("B", start=13)
    assert mapping.pick_pair([a, b]) == (a, b)
    assert mapping.pick_pair([b, a]) == (a, b)
    on_other_channels = movie("B", channel=5, start=13)
    assert mapping.pick_pair([on_other_channels, a]) == (a, on_other_channels)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_pick_pair_needs_two(count):
    with pytest.raises(Refusal, match=f"select exactly two strips .*\\({count} selected\\)"):
        mapping.pick_pair([movie(str(i), start=1 + 12 * i) for i in range(count)])


@pytest.mark.parametrize("kind", ["SOUND", "SCENE", "COLOR", "CROSS", "META", "TEXT", "ADJUSTMENT"])
def test_pick_pair_refuses_strips_without_frames(kind):
    other = replace(movie("B", start=13), kind=kind)
    with pytest.raises(Refusal, match=f"'B' is a {kind.lower()} strip: only movie and image strips"):
        mapping.pick_pair([movie(), other])


def test_pick_pair_refuses_gaps_and_overlaps():
    with pytest.raises(Refusal, match="not adjacent: 'A' ends at frame 13, 'B' starts at 14"):
        mapping.pick_pair([movie(), movie("B", start=14)])
    with pytest.raises(Refusal, match="overlap \\(frames 10-12\\)"):
        mapping.pick_pair([movie(), movie("B", start=10)])


# -- which source frames, where --------------------------------------------------------


def test_centred_even():
    plan = mapping.plan_transition(movie(), movie("B", start=13), 4, 25.0)
    # cut at 13: frames 11, 12 over A, 13, 14 over B; A's frame 10 and B's frame 15 are bridged
    assert (plan.cut, plan.start, plan.end, plan.min_channel) == (13, 11, 15, 2)
    assert (plan.a.clip, plan.a.index) == ("/media/A.mp4", 9)
    assert (plan.b.clip, plan.b.index) == ("/media/B.mp4", 2)
    assert plan.name == "A → B" and plan.placement == CENTERED


def test_centred_odd_puts_the_extra_frame_after_the_cut():
    plan = mapping.plan_transition(movie(), movie("B", start=13), 3, 25.0)
    assert (plan.start, plan.end, plan.a.index, plan.b.index) == (12, 15, 10, 2)


def test_bridge():
    plan = mapping.plan_transition(movie(), movie("B", start=13), 4, 25.0, BRIDGE)
    assert (plan.start, plan.end, plan.a.index, plan.b.index) == (13, 17, 11, 0)


def test_trims_and_offsets():
    # A: content at 1, hard trim 2 (source frames 0, 1 gone), soft trims 1 each side.
    a = movie(start=1, trim=2, left=2, right=10)
    # B: content starts 3 frames before its left handle (soft trim 3).
    b = movie("B", start=7.0, left=10, right=19)
    plan = mapping.plan_transition(a, b, 2, 25.0)
    # Frame before the strip: 8 -> content offset 7 + hard trim 2 = source 9.
    assert (plan.start, plan.a.index) == (9, 9)
    # Frame after the strip: 11 -> 11 - 7 = source 4.
    assert plan.b.index == 4


def test_held_frames_beyond_the_content():
    # Handles dragged out beyond the content hold its first/last frame (Blender's clamp).
    a = movie(start=20, left=10, right=30, length=10)
    assert [a.source_index(f) for f in (10, 19, 20, 29)] == [0, 0, 0, 9]
    b = movie("B", start=30, left=30, right=50, length=10)
    plan = mapping.plan_transition(a, b, 2, 25.0, BRIDGE)
    assert (plan.a.index, plan.b.index) == (9, 0)


def test_image_strips_name_the_exact_file():
    files = ("shot.0001.png", "shot.0003.png", "shot.0010.png")  # gaps: the list is the truth
    a = images("A", files=files, start=1)
    b = images("B", files=("b.png",), start=4)
    plan = mapping.plan_transition(a, b, 1, 24.0, BRIDGE)
    assert (plan.a.clip, plan.a.index, plan.a.colorspace) == ("/media/seq/shot.0010.png", 0, "ACEScg")
    assert (plan.b.clip, plan.b.index) == ("/media/seq/b.png", 0)


def test_image_hard_trim_indexes_all_elements():
    # Blender keeps hard-trimmed files in `elements`; the trim offsets into them.
    a = images("A", files=("f1.png", "f2.png", "f3.png", "f4.png"), start=1, trim=1)
    assert a.right_handle == 4
    assert mapping.clip_frame(a, 3).clip == "/media/seq/f4.png"
    assert mapping.clip_frame(a, 1).clip == "/media/seq/f2.png"


def test_windows_paths_keep_their_separator():
    a = replace(images("A"), directory="C:\\media\\seq")
    assert mapping.clip_frame(a, 1).clip == "C:\\media\\seq\\a.0001.png"


# -- refusals --------------------------------------------------------------------------


def test_too_short_for_centred():
    with pytest.raises(Refusal, match="'A' is too short: 8 frames centred on the cut need 5 visible frames"):
        mapping.plan_transition(movie(length=4), movie("B", start=5), 8, 25.0)
    with pytest.raises(Refusal, match="'B' is too short: 8 frames centred on the cut need 5 visible frames"):
        mapping.plan_transition(movie(), movie("B", start=13, length=4), 8, 25.0)


def test_too_short_for_bridge():
    with pytest.raises(Refusal, match="'B' is too short: bridging covers its first 5 frames, it has 4"):
        mapping.plan_transition(movie(), movie("B", start=13, length=4), 5, 25.0, BRIDGE)


def test_frame_rates():
    with pytest.raises(Refusal, match="'A' is 25.000 fps but the scene is 24.000 fps"):
        mapping.plan_transition(movie(), movie("B", start=13), 2, 24.0)
    with pytest.raises(Refusal, match="different frame rates"):
        mapping.plan_transition(movie(), replace(movie("B", start=13), fps=30.0), 2, 25.0)
    ntsc = 30000 / 1001
    a, b = replace(movie(), fps=29.97002997), replace(movie("B", start=13), fps=29.97003)
    mapping.plan_transition(a, b, 2, ntsc)  # the same rate, written two ways


@pytest.mark.parametrize(("change", "message"), [
    ({"reversed": True}, "plays reversed"),
    ({"strobe": 2.0}, "is strobed"),
    ({"retimed": True}, "is retimed"),
    ({"filepath": ""}, "has no movie file"),
])
def test_unsupported_strip_settings(change, message):
    with pytest.raises(Refusal, match=f"'B' {message}"):
        mapping.plan_transition(movie(), replace(movie("B", start=13), **change), 2, 25.0)


@pytest.mark.parametrize(("frames", "placement", "message"), [
    (0, CENTERED, "frames must be at least 1"),
    (2, "MIDDLE", "placement must be one of CENTERED, BRIDGE"),
])
def test_bad_arguments(frames, placement, message):
    with pytest.raises(Refusal, match=message):
        mapping.plan_transition(movie(), movie("B", start=13), frames, 25.0, placement)


# -- the request and the result strip --------------------------------------------------


def test_spec_fields():
    plan = mapping.plan_transition(movie(), movie("B", start=13), 2, 25.0)
    assert plan.spec("/out/x", model="classic", ocio_config="/blender/config.ocio") == {
        "clip_a": "/media/A.mp4", "clip_b": "/media/B.mp4", "frames": 2, "out_dir": "/out/x",
        "a_out": 10, "b_in": 1, "model": "classic", "format": "png", "colorspace_a": "sRGB",
        "colorspace_b": "sRGB", "ocio_config": "/blender/config.ocio"}
    assert "ocio_config" not in plan.spec("/out/x")  # empty: the daemon's default


def test_lowest_free_channel():
    occupied = [(1, 0, 100), (2, 8, 12), (3, 20, 30), (4, 0, 5)]
    assert mapping.lowest_free_channel(occupied, 10, 14, min_channel=2) == 3
    assert mapping.lowest_free_channel(occupied, 12, 14, min_channel=2) == 2  # touching is not overlapping
    assert mapping.lowest_free_channel(occupied, 10, 14, min_channel=2, unavailable={3}) == 4
    with pytest.raises(Refusal, match="no free channel above channel 1"):
        mapping.lowest_free_channel([(c, 0, 10) for c in range(1, 129)], 0, 5, min_channel=2)


def test_result_name_fits_blender():
    assert mapping.result_name("take 1", "take 2") == "take 1 → take 2"
    long = mapping.result_name("a" * 60, "b" * 60)
    assert len(long.encode()) <= mapping.MAX_NAME_BYTES and long.startswith("aaa") and "→ bbb" in long
    accented = mapping.result_name("é" * 40, "ü" * 40)
    assert len(accented.encode()) <= mapping.MAX_NAME_BYTES
    accented.encode().decode()  # never a split character


def test_output_folder_name_is_safe_and_unique():
    plan = mapping.plan_transition(movie("Take 1/ä"), movie("..B", start=13), 2, 25.0)
    assert mapping.output_folder_name(plan, "abcd") == "Take_1--B-f13-abcd"
    assert mapping.output_folder_name(plan) != mapping.output_folder_name(plan)


# -- many cuts (send to a farm) --------------------------------------------------------


def test_pick_cuts_finds_every_cut_in_timeline_order():
    a, b, c = movie("A"), movie("B", start=13), movie("C", start=25)
    other = movie("X", channel=3, start=25)
    sound = StripValues(name="S", kind="SOUND", channel=2, content_start=1.0, left_handle=13, right_handle=40,
                        content_duration=27)
    assert mapping.pick_cuts([c, sound, other, a, b]) == [(a, b), (b, c)]  # B meets C on its channel, not X
    assert mapping.pick_cuts([images("I", channel=4, start=40), movie("M", channel=4, start=42)]) == [
        (images("I", channel=4, start=40), movie("M", channel=4, start=42))]


@pytest.mark.parametrize("strips,message", [
    ([movie("A"), movie("B", start=20)], "none of the 2 selected strips meet at a cut"),
    ([movie("A")], "none of the 1 selected"),
    ([movie("A"), movie("B", channel=2, start=13), movie("C", channel=3, start=13)], "meets several selected"),
    ([movie("A"), movie("Z", channel=2), movie("B", channel=3, start=13)], "several selected strips end where"),
])
def test_pick_cuts_refuses_what_is_not_a_cut_or_is_ambiguous(strips, message):
    with pytest.raises(Refusal, match=message):
        mapping.pick_cuts(strips)
