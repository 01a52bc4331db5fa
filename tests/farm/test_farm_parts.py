"""The pieces of a farm job: the split, the work folder, lossless segments, the options a
template repeats, the YAML it is written in, and a plan's analysis read back from disk."""
from __future__ import annotations

import json
import shlex
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml  # PyYAML comes with openjd-cli: an independent reader of what to_yaml writes

from segue.cli import build_parser, retime_spec, transition_spec
from segue.core.errors import InputError
from segue.core.farm import chunks, commands, openjd
from segue.core.farm.parts import WorkFolder, check_ranges
from segue.core.farm.segments import SegmentWriter, read_segment
from segue.core.media.encode import pipe_pixels
from segue.core.retime import RetimeSpec
from segue.core.retime.analysis import Analysis
from segue.core.retime.scenes import Cues
from segue.core.transition import TransitionSpec


@pytest.mark.parametrize("total,count", [(1, 1), (60, 7), (7, 7), (5, 9), (10000, 3), (61, 8)])
def test_split_tiles_the_frames_evenly(total: int, count: int) -> None:
    ranges = chunks.split(total, count)
    assert len(ranges) == count and sum(1 for r in ranges if r) == min(total, count)  # empty ones last
    assert [i for r in ranges for i in r] == list(range(total))
    sizes = [len(r) for r in ranges]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert check_ranges([[r.start, r.stop] for r in ranges], total) == ranges


@pytest.mark.parametrize("count", [0, -1, chunks.MAX_CHUNKS + 1, 2.5, True])
def test_split_refuses_a_bad_count(count) -> None:
    with pytest.raises(InputError, match="--chunks"):
        chunks.split(10, count)


@pytest.mark.parametrize("damaged", [[], [[0, 5]], [[0, 5], [6, 10]], [[0, 5], [5, 4], [4, 10]], [[0, "5"], [5, 10]],
                                     [[1, 10]], "0-10", [[0, 5, 7], [5, 10]]])
def test_a_damaged_chunk_list_is_refused(damaged) -> None:
    with pytest.raises(InputError, match="damaged"):
        check_ranges(damaged, 10)


def test_check_chunk_names_the_valid_numbers() -> None:
    ranges = chunks.split(20, 4)
    assert chunks.check_chunk(4, ranges) == range(15, 20)
    for bad in (0, 5, -1):
        with pytest.raises(InputError, match="from 1 to 4"):
            chunks.check_chunk(bad, ranges)


def test_work_folder_is_beside_a_movie_and_inside_a_folder(tmp_path: Path) -> None:
    assert chunks.work_folder(str(tmp_path / "take_50.mp4")) == tmp_path / ".take_50.mp4.segue-farm"
    assert chunks.work_folder(str(tmp_path / "out")) == tmp_path / "out" / ".segue-farm"
    assert chunks.work_folder(str(tmp_path / "seq" / "shot.%04d.exr")) == tmp_path / "seq" / ".segue-farm"


def test_work_folder_reads_only_its_own_records(tmp_path: Path) -> None:
    work = WorkFolder.create(tmp_path / ".segue-farm")
    work.write("chunk_0001.json", {"key": "k"})
    assert work.read("chunk_0001.json") == {"key": "k"}
    (work.path / "chunk_0002.json").write_text(json.dumps({"key": "k"}))  # planted: not in the ledger
    assert work.read("chunk_0002.json") is None
    with pytest.raises(InputError, match="segue farm plan"):
        work.plan("retime", "k")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="in the way"):
        WorkFolder.create(tmp_path / "file")


@pytest.mark.parametrize("bit_depth", [8, 10])
@pytest.mark.parametrize("size", [(1, 1), (37, 53), (64, 48)])
def test_segments_give_back_the_encoders_pixels_exactly(tmp_path: Path, bit_depth: int, size) -> None:
    h, w = size
    rng = np.random.default_rng(bit_depth + h)
    frames = [rng.random((h, w, 3), dtype=np.float32) for _ in range(4)] + [np.zeros((h, w, 3), np.float32),
                                                                          np.ones((h, w, 3), np.float32)]
    recorded = []
    writer = SegmentWriter(tmp_path / "chunk_0001.mkv", w, h, Fraction(30000, 1001), bit_depth, recorded.append)
    for i, frame in enumerate(frames):
        writer.write(i, frame)
    writer.finish()
    assert len(recorded) == 1 and not Path(recorded[0]).exists()  # recorded, then renamed into place
    back = list(read_segment(tmp_path / "chunk_0001.mkv", w, h, bit_depth))
    assert len(back) == len(frames)
    for got, frame in zip(back, frames):
        assert np.array_equal(got, pipe_pixels(frame, bit_depth))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk_0001.mkv"]


def test_an_aborted_segment_leaves_nothing(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path / "chunk_0001.mkv", 8, 8, Fraction(25), 8, lambda p: None)
    writer.write(0, np.zeros((8, 8, 3), np.float32))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


RETIMES = [RetimeSpec("in.mov", "out.mp4", fps="59.94"),
           RetimeSpec("in.mov", "out/", slowmo="4", codec="exr", model="classic", scene_threshold=0.045,
                      dedup=False, audio="drop", colorspace_out="ACEScg", overwrite=True),
           RetimeSpec("a.%04d.png", "o.%06d.tif", factor="5/2", input_fps="24000/1001", dup_threshold=0.02,
                      colorspace_in="sRGB", ocio_config="/cfg/x y.ocio")]
TRANSITIONS = [TransitionSpec("a.mov", "b.mov", 8, "out"),
               TransitionSpec("a.%04d.exr", "b/", 3, "o", a_out=-3, b_in=2, model="classic", format="exr",
                              colorspace_a="ACEScg", colorspace_b="ACEScg", conform="fill", preview=False)]


@pytest.mark.parametrize("spec", RETIMES)
def test_retime_options_parse_back_to_the_same_spec(spec: RetimeSpec) -> None:
    argv = ["retime", spec.input, "-o", spec.output, *commands.retime_options(spec)]
    assert retime_spec(build_parser().parse_args(argv)) == spec


@pytest.mark.parametrize("spec", TRANSITIONS)
def test_transition_options_parse_back_to_the_same_spec(spec: TransitionSpec) -> None:
    argv = ["transition", spec.clip_a, spec.clip_b, "-o", spec.out_dir, *commands.transition_options(spec)]
    assert transition_spec(build_parser().parse_args(argv)) == spec


def test_yaml_is_read_back_as_written() -> None:
    tricky = ["yes", "no", "1.0", "0x10", "a: b", "# c", "{{Param.Input}}", "- x", "'q'", '"dq"', "tab\there",
              "ünïcode ✓", "", "null", "~", "line\nbreak", "/path with spaces/x.mov"]
    value = {"specificationVersion": "jobtemplate-2023-09", "n": 3, "f": 0.25, "on": True, "empty": [],
             "list": tricky, "nested": [{"name": "a", "args": ["1", "2"], "deep": {"k": [1, 2]}}, {"x": {}}]}
    assert yaml.safe_load(openjd.to_yaml(value)) == value


def test_host_memory_grows_with_the_frame() -> None:
    small, hd, uhd = openjd.host_memory_mib(640, 360), openjd.host_memory_mib(1920, 1080), \
        openjd.host_memory_mib(3840, 2160)
    assert openjd.BASE_MEMORY_MIB <= small < hd < uhd and all(m % 256 == 0 for m in (small, hd, uhd))


def test_analysis_round_trips_and_refuses_damage() -> None:
    found = Analysis([False, True, False, False, True], cuts=[2], cut_scores=[0.31], cut_cues=[Cues(0.31, 0.2, 1.5)],
                     seconds=0.25, near_misses=[(3, Cues(0.05, 0.01, 1.0), "below threshold")])
    data = json.loads(json.dumps(found.as_dict()))
    assert Analysis.from_dict(data, 5) == found
    for damage in ({"repeats": [7]}, {"cuts": [2, 3]}, {"cut_cues": [[1, 2]]}, {"near_misses": [[1, [0, 0, 0]]]},
                   {"seconds": "1"}, {"cut_scores": [float("nan")]}, {"repeats": [True]}):
        with pytest.raises((ValueError, KeyError, TypeError)):
            Analysis.from_dict(data | damage, 5)


def test_template_commands_quote_nothing_themselves() -> None:
    # args are a list: a path with spaces is one argument, never re-split by a shell
    spec = RetimeSpec("in.mov", "out.mp4", fps="50", ocio_config="/cfg/x y.ocio")
    assert "/cfg/x y.ocio" in commands.retime_options(spec)
    assert shlex.split(shlex.join(commands.retime_options(spec))) == commands.retime_options(spec)
