"""The bridged section as a full-size movie beside the frames (``--movie h264|prores``): A's
last frames, the new frames, B's first frames, as the frames were written."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from farm_runs import A, B

from segue.core import InputError
from segue.core.engine import Engine, to_uint8
from segue.core.media import open_clip
from segue.core.metrics import psnr
from segue.core.transition import TransitionSpec, render_transition


@pytest.mark.parametrize("codec,name", [("h264", "transition.mp4"), ("prores", "transition.mov")])
def test_the_movie_holds_the_frames_with_their_context(tmp_path: Path, codec: str, name: str) -> None:
    out = tmp_path / "cut"
    report = render_transition(TransitionSpec(A, B, 4, str(out), model="classic", movie=codec),
                               engine=Engine("classic"))
    movie = report["movie"]
    assert (movie["file"], movie["codec"], movie["width"], movie["height"]) == (name, codec, 640, 360)
    before, after = movie["handles"]
    clip = open_clip(out / name)
    assert clip.frame_count == before + 4 + after and (clip.width, clip.height) == (640, 360)
    assert clip.bit_depth == (10 if codec == "prores" else 8)
    for k in range(1, 5):  # the new frames, as written, within what the codec keeps
        written = cv2.cvtColor(cv2.imread(str(out / f"frame_{k:04d}.png")), cv2.COLOR_BGR2RGB)
        assert psnr(to_uint8(clip.read_frame(before + k - 1)), written) > 35

    render_transition(TransitionSpec(A, B, 4, str(out), model="classic"))  # asked for no movie: none stays
    assert not (out / name).exists()


def test_a_movie_of_an_odd_size_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    for k in range(3):
        cv2.imwrite(str(odd / f"f.{k:04d}.png"), np.full((51, 65, 3), 60 * k, np.uint8))
    with pytest.raises(InputError, match="65x51: a prores movie needs an even width and height"):
        render_transition(TransitionSpec(str(odd), str(odd), 2, str(tmp_path / "out"), model="classic",
                                         movie="prores"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_farm_jobs_movie_is_the_local_one(tmp_path: Path) -> None:
    from segue.core.farm import assemble_transition, plan_transition, render_transition_chunk

    engine = Engine("classic")
    render_transition(TransitionSpec(A, B, 5, str(tmp_path / "local"), model="classic", movie="h264"), engine=engine)
    spec = TransitionSpec(A, B, 5, str(tmp_path / "farm"), model="classic", movie="h264")
    plan_transition(spec, 2, engine=engine)
    for k in (2, 1):
        render_transition_chunk(spec, 2, k, engine=engine)
    assemble_transition(spec, 2, engine=engine)
    assert (tmp_path / "farm" / "transition.mp4").read_bytes() == (tmp_path / "local" / "transition.mp4").read_bytes()


def test_a_movie_segue_wrote_is_not_removed_when_it_is_the_next_jobs_source(tmp_path: Path) -> None:
    out = tmp_path / "cut"
    render_transition(TransitionSpec(A, B, 2, str(out), model="classic", movie="h264"))
    movie = out / "transition.mp4"
    kept = movie.read_bytes()
    # the movie as clip A of a job in the same folder that asks for no movie (which would remove it)
    with pytest.raises(InputError, match="is a frame of clip A"):
        render_transition(TransitionSpec(str(movie), B, 2, str(out), model="classic"))
    assert movie.read_bytes() == kept
