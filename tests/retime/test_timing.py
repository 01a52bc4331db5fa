"""Exact rational time mapping: rates, frame counts, copies, in-betweens, cuts, holds."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest

from segue.core.errors import InputError
from segue.core.media.ffmpeg import format_rate
from segue.core.retime import RetimeSpec
from segue.core.retime.job import target_rates
from segue.core.retime.timing import (
    COPY,
    HOLD,
    SYNTH,
    make_plan,
    parse_rate,
    parse_ratio,
    parse_slowmo,
    runs_from_duplicates,
)

NTSC24, NTSC60 = Fraction(24000, 1001), Fraction(60000, 1001)


def cfr(n: int, fps: Fraction) -> tuple[list[Fraction], Fraction]:
    return [Fraction(i) / fps for i in range(n)], Fraction(n) / fps


@pytest.mark.parametrize("text, rate", [
    ("59.94", NTSC60), ("23.976", NTSC24), ("23.98", NTSC24), ("29.97", Fraction(30000, 1001)),
    ("119.88", Fraction(120000, 1001)), ("60000/1001", NTSC60), ("24000:1001", NTSC24),
    ("25", Fraction(25)), ("12.5", Fraction(25, 2)), ("50", Fraction(50)),
])
def test_parse_rate_is_exact(text, rate):
    assert parse_rate(text) == rate
    assert parse_rate(format_rate(rate)) == rate


@pytest.mark.parametrize("text, word", [("abc", "not a frame rate"), ("0", "positive"), ("-5", "positive"),
                                        ("6000", "limit"), ("1/0", "division by zero")])
def test_parse_rate_rejects_nonsense(text, word):
    with pytest.raises(InputError, match=word):
        parse_rate(text)


# Fraction() accepts all of these and some build a 10^N integer under the interpreter lock
# (1e100000000 froze the daemon for minutes); the bounded syntax refuses them before any
# arithmetic, so this test is quick whatever Fraction would have done.
@pytest.mark.parametrize("text", ["1e100000000", "1e10000000", "1e309", "1E3", "inf", "nan", "Infinity",
                                  "0x10", "1_000", "+25", " 2 . 5", "25.", ".5", "1" * 13, "1/" + "9" * 13,
                                  "٣", "²", "25fps", "", "1" * 100000])
def test_rates_and_ratios_have_a_bounded_syntax(text):
    with pytest.raises(InputError, match="--fps") as refused:
        parse_rate(text)
    assert len(str(refused.value)) < 200  # the message quotes a long field only in part
    with pytest.raises(InputError, match="--factor"):
        parse_ratio(text, "--factor")


def test_parse_ratio():
    assert parse_ratio("2.5", "--factor") == Fraction(5, 2)
    assert parse_ratio("5/2", "--factor") == Fraction(5, 2)
    for bad in ("0", "-1", "x", "100"):
        with pytest.raises(InputError, match="--slowmo"):
            parse_ratio(bad, "--slowmo")


def test_slowmo_below_one_is_refused_and_one_is_allowed():
    assert parse_slowmo("1") == 1 and parse_slowmo("4") == 4 and parse_slowmo("3/2") == Fraction(3, 2)
    for bad in ("0.5", "1/2", "0", "0.999"):
        with pytest.raises(InputError, match="--slowmo must be at least 1") as refused:
            parse_slowmo(bad)
        assert bad in str(refused.value)
    with pytest.raises(InputError, match="limit"):
        parse_slowmo("100")


def test_the_spec_and_the_rates_agree_on_slowmo():
    half = RetimeSpec("in.mp4", "out.mp4", slowmo="0.5")
    with pytest.raises(InputError) as refused:
        half.validate()
    assert refused.value.field == "slowmo" and "--slowmo" in str(refused.value)
    with pytest.raises(InputError, match="spec.slowmo must be at least 1"):  # a service's spelling
        half.validate(name=lambda field: f"spec.{field}")
    with pytest.raises(InputError, match="--slowmo"):  # the rate mapping applies the same rule
        target_rates(half, Fraction(25))
    same = RetimeSpec("in.mp4", "out.mp4", slowmo="1")
    same.validate()
    rates = target_rates(same, Fraction(25))
    assert (rates.out_fps, rates.speed) == (Fraction(25), Fraction(1))


def test_an_hour_of_23976_to_5994_does_not_drift():
    n = 86314  # one hour at 24000/1001
    times, duration = cfr(n, NTSC24)
    plan = make_plan(times, duration, NTSC60)
    assert plan.frame_count == math.ceil(Fraction(n * 5, 2))
    expected_t = {1: 0.4, 2: 0.8, 3: 0.2, 4: 0.6}
    last = None
    for out in plan.frames():
        assert out.time == Fraction(out.index * 1001, 60000)
        phase = out.index % 5
        if out.source_time > times[-1]:
            assert out.kind == HOLD and out.source == n - 1
        elif phase == 0:  # 5 output frames span exactly 2 source frames: every 5th coincides
            assert (out.kind, out.source) == (COPY, out.index * 2 // 5)
        else:
            assert out.kind == SYNTH and out.target == out.source + 1
            assert out.source == out.index * 2 // 5
            assert out.t == pytest.approx(expected_t[phase], abs=1e-12)
        last = out
    assert last.index == plan.frame_count - 1


def test_factor_two_copies_even_frames_and_holds_the_tail():
    times, duration = cfr(10, Fraction(25))
    frames = list(make_plan(times, duration, Fraction(50)).frames())
    assert len(frames) == 20
    assert all(f.kind == COPY and f.source == f.index // 2 for f in frames[0::2])
    assert all(f.kind == SYNTH and f.t == 0.5 for f in frames[1:-1:2])
    assert (frames[-1].kind, frames[-1].source) == (HOLD, 9)


def test_slowmo_four_gives_quarter_steps_at_the_source_rate():
    times, duration = cfr(5, Fraction(25))
    plan = make_plan(times, duration, Fraction(25), speed=Fraction(1, 4))
    frames = list(plan.frames())
    assert plan.frame_count == 20
    assert [f.t for f in frames[1:4]] == [0.25, 0.5, 0.75]
    assert frames[4].kind == COPY and frames[4].source == 1
    assert frames[4].time == Fraction(4, 25)  # output runs at 25 fps, content 4x slower


def test_no_output_frame_is_blended_across_a_cut():
    times, duration = cfr(20, Fraction(25))
    frames = list(make_plan(times, duration, Fraction(50), cuts=[9]).frames())
    assert (frames[19].kind, frames[19].source) == (HOLD, 9)  # between 9 and 10: the side on screen
    assert (frames[20].kind, frames[20].source) == (COPY, 10)  # the cut lands at the source's instant
    assert frames[17].kind == SYNTH and (frames[17].source, frames[17].target) == (8, 9)
    synth = [f for f in frames if f.kind == SYNTH]
    assert all(not (f.source <= 9 < f.target) for f in synth)


def test_cut_with_a_rate_that_does_not_divide():
    times, duration = cfr(48, NTSC24)
    frames = list(make_plan(times, duration, NTSC60, cuts=[23]).frames())
    cut_time = times[24]
    for f in frames:
        if f.kind == SYNTH:
            assert f.target <= 23 or f.source >= 24
        if f.source_time >= cut_time:
            assert f.source >= 24
        else:
            assert f.source <= 23


def test_animation_on_twos_is_timed_from_unique_drawings():
    times, duration = cfr(12, Fraction(24))
    repeats = [i % 2 == 1 for i in range(12)]  # drawings at 0, 2, 4, ...
    runs = runs_from_duplicates(12, repeats)
    assert runs[:2] == [(0, 1), (2, 3)]
    plan = make_plan(times, duration, Fraction(48), runs=runs)
    assert plan.anchors == (0, 2, 4, 6, 8, 10)
    frames = list(plan.frames())
    assert [(f.kind, f.source, f.target, f.t) for f in frames[:5]] == [
        (COPY, 0, None, None), (SYNTH, 0, 2, 0.25), (SYNTH, 0, 2, 0.5), (SYNTH, 0, 2, 0.75), (COPY, 2, None, None)]
    # without dedup the held frame is copied: motion stops every other frame
    plain = list(make_plan(times, duration, Fraction(48)).frames())
    assert (plain[2].kind, plain[2].source) == (COPY, 1)


def test_a_long_hold_stays_still():
    times, duration = cfr(20, Fraction(24))
    repeats = [3 <= i <= 15 for i in range(20)]  # frames 2..15 are one still drawing
    runs = runs_from_duplicates(20, repeats)
    plan = make_plan(times, duration, Fraction(48), runs=runs)
    assert 2 in plan.anchors and 15 in plan.anchors
    for f in plan.frames():
        if Fraction(2, 24) <= f.source_time < Fraction(15, 24):
            assert f.kind in (COPY, HOLD) and 2 <= f.source <= 15
    frames = list(plan.frames())
    assert (frames[31].kind, frames[31].source, frames[31].target) == (SYNTH, 15, 16)


def test_variable_frame_rate_uses_the_timestamps():
    times = [Fraction(0), Fraction(1, 50), Fraction(4, 50), Fraction(5, 50)]  # frames 2 and 3 missing
    plan = make_plan(times, Fraction(6, 50), Fraction(50))
    frames = list(plan.frames())
    assert len(frames) == 6
    assert [(f.kind, f.source) for f in (frames[0], frames[1], frames[4], frames[5])] == [
        (COPY, 0), (COPY, 1), (COPY, 2), (COPY, 3)]
    assert (frames[2].source, frames[2].target, frames[2].t) == (1, 2, pytest.approx(1 / 3))
    assert (frames[3].source, frames[3].target, frames[3].t) == (1, 2, pytest.approx(2 / 3))


def test_plan_rejects_bad_inputs():
    with pytest.raises(ValueError):
        make_plan([Fraction(0), Fraction(0)], Fraction(1), Fraction(25))
    with pytest.raises(ValueError):
        make_plan([Fraction(0), Fraction(1)], Fraction(1, 2), Fraction(25))
    with pytest.raises(ValueError):
        make_plan([Fraction(0), Fraction(1)], Fraction(2), Fraction(25), runs=[(0, 0)])


def test_context_of_a_pair_is_its_neighbouring_anchors_in_pair_units():
    times, duration = cfr(10, Fraction(25))
    plan = make_plan(times, duration, Fraction(50))
    assert plan.context(4, 5) == [(3, -1.0), (2, -2.0), (6, 2.0), (7, 3.0)]
    assert plan.context(0, 1) == [(2, 2.0), (3, 3.0)]  # nothing before the first frame
    assert plan.context(8, 9) == [(7, -1.0), (6, -2.0)]


def test_context_never_crosses_a_cut_or_a_hold():
    times, duration = cfr(12, Fraction(24))
    cut = make_plan(times, duration, Fraction(48), cuts=[5])  # a cut between frames 5 and 6
    assert cut.context(4, 5) == [(3, -1.0), (2, -2.0)]
    assert cut.context(6, 7) == [(8, 2.0), (9, 3.0)]
    assert cut.context(3, 4) == [(2, -1.0), (1, -2.0), (5, 2.0)]
    # frames 4..9 are one drawing held for 6 frames (a real hold, anchored at both ends)
    runs = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 9), (10, 10), (11, 11)]
    held = make_plan(times, duration, Fraction(48), runs=runs)
    assert held.anchors == (0, 1, 2, 3, 4, 9, 10, 11)
    assert held.context(3, 4) == [(2, -1.0), (1, -2.0)]  # nothing from inside the hold
    assert held.context(9, 10) == [(11, 2.0)]


def test_context_times_follow_the_drawings_and_variable_rates():
    times = [Fraction(0), Fraction(1, 24), Fraction(3, 24), Fraction(4, 24), Fraction(6, 24)]
    plan = make_plan(times, Fraction(7, 24), Fraction(48))
    assert plan.context(2, 3) == [(1, -2.0), (0, -3.0), (4, 3.0)]  # times 3/24, 4/24; 1/24, 0; 6/24
    # animation on twos: anchors are the first frames of each drawing, timed from them
    times, duration = cfr(8, Fraction(24))
    twos = make_plan(times, duration, Fraction(48), runs=[(0, 1), (2, 3), (4, 5), (6, 7)])
    assert twos.context(2, 4) == [(0, -1.0), (6, 2.0)]
