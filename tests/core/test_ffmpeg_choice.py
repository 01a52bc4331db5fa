"""Which ffmpeg `segue` runs, as a user's machine presents it: an older ffmpeg first on PATH
is not used (the bundled build is), and one named by SEGUE_FFMPEG is checked first."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, encode_movie, read_rgb

from segue.core.media.ffmpeg import ENV_VAR, bundled_ffmpeg

BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
OLD_FFMPEG = """#!/bin/sh
# Debian 12's ffmpeg, as far as a version check can tell; any other use is recorded and fails
if [ "$1" = "-version" ]; then echo "ffmpeg version 5.1.6 Copyright (c) 2000-2024 the FFmpeg developers"; exit 0; fi
echo "$@" >> "$(dirname "$0")/used"
exit 1
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return encode_movie(BBB[:2], folder / "a.mp4"), encode_movie(BBB[2:], folder / "b.mp4")


@pytest.fixture
def old_ffmpeg(tmp_path) -> Path:
    exe = tmp_path / "bin" / "ffmpeg"
    exe.parent.mkdir()
    exe.write_text(OLD_FFMPEG)
    exe.chmod(0o755)
    return exe


def transition(clips: tuple[Path, Path], out: Path, **env: str) -> subprocess.CompletedProcess:
    exe = shutil.which("segue", path=os.path.dirname(sys.executable))
    environment = {k: v for k, v in os.environ.items() if k != ENV_VAR} | env
    return subprocess.run([exe, "transition", *map(str, clips), "--frames", "2", "-o", str(out), "-q"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, env=environment, check=False)


def frames(folder: Path) -> list[np.ndarray]:
    return [read_rgb(folder / f"frame_{k:04d}.png") for k in (1, 2)]


def test_an_older_ffmpeg_on_path_is_not_used(clips, old_ffmpeg, tmp_path):
    plain = transition(clips, tmp_path / "plain")
    assert plain.returncode == 0, plain.stderr
    shadowed = transition(clips, tmp_path / "shadowed", PATH=f"{old_ffmpeg.parent}{os.pathsep}{os.environ['PATH']}")
    assert shadowed.returncode == 0, shadowed.stderr
    assert not (old_ffmpeg.parent / "used").exists()
    for ours, theirs in zip(frames(tmp_path / "shadowed"), frames(tmp_path / "plain")):
        assert np.array_equal(ours, theirs)


def test_segue_ffmpeg_older_than_the_minimum_is_refused(clips, old_ffmpeg, tmp_path):
    r = transition(clips, tmp_path / "out", SEGUE_FFMPEG=str(old_ffmpeg))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"segue: error: SEGUE_FFMPEG={old_ffmpeg}: ffmpeg 5.1 is older than 6.0, the oldest Segue runs with; "
        "name a newer build, or unset SEGUE_FFMPEG to use the bundled one"]
    assert not (old_ffmpeg.parent / "used").exists()  # asked for its version, never given a file
    assert not list((tmp_path / "out").glob("frame_*"))


def test_segue_ffmpeg_naming_the_bundled_build_works(clips, tmp_path):
    plain = transition(clips, tmp_path / "plain")
    named = transition(clips, tmp_path / "named", SEGUE_FFMPEG=bundled_ffmpeg())
    assert plain.returncode == 0 and named.returncode == 0, plain.stderr + named.stderr
    for ours, theirs in zip(frames(tmp_path / "named"), frames(tmp_path / "plain")):
        assert np.array_equal(ours, theirs)
