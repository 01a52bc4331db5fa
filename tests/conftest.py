"""Shared test helpers: fixture paths and real ffmpeg encodes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRIPLETS = FIXTURES / "triplets"
#: as root a daemon starts only when asked to (`renderd.config.check_user`); tests run as root in CI
RUN_AS_ROOT = ["--run-as-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def pytest_configure(config) -> None:
    """Keep every test's per-user settings (the daemons' own tokens) out of the real home.

    Daemons started without ``--token-file`` create this user's token in the config folder
    (`renderd.client.local_token_file`), and clients read it there; the whole run, its
    daemons and editors included, shares one temporary folder instead of ``~/.config``.
    """
    folder = tempfile.mkdtemp(prefix="segue-test-config-")
    config.stash[_CONFIG_HOME] = (os.environ.get("XDG_CONFIG_HOME"), folder)
    os.environ["XDG_CONFIG_HOME"] = folder


def pytest_unconfigure(config) -> None:
    saved, folder = config.stash[_CONFIG_HOME]
    if saved is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = saved
    shutil.rmtree(folder, ignore_errors=True)


_CONFIG_HOME = pytest.StashKey[tuple]()


def with_default_sigint(cmd: list[str]) -> list[str]:
    """``cmd`` started with SIGINT at its default disposition, as a terminal's Ctrl-C finds it.

    A shell running the tests as a background job starts them with SIGINT ignored, and an
    ignored signal stays ignored across exec: Python would then never see the Ctrl-C. A
    small Python restores it and execs ``cmd`` (same process id, so signals sent to the
    child reach ``cmd``). Not a Popen ``preexec_fn``: Python code between fork and exec in
    a test process where grpc is loaded (the renderd tests) can abort the child in grpc's
    fork handlers.
    """
    reset = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-c", reset, *cmd]


def read_rgb(path: Path) -> np.ndarray:
    """An 8-bit image file as (H, W, 3) uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def encode_movie(frames: list[Path], out: Path, fps: str = "25") -> Path:
    """Encode PNG frames into an H.264 movie with the real ffmpeg Segue uses."""
    from segue.core.media.ffmpeg import find_ffmpeg

    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in frames))
    subprocess.run([find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-r", fps, "-f", "concat", "-safe", "0",
                    "-i", str(listing), "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-r", fps, str(out)],
                   check=True)
    return out


@pytest.fixture(scope="session")
def gap4() -> dict:
    """A real gap of 4 frame intervals (Big Buck Bunny, 320x180) with its 3 true in-betweens."""
    case = TRIPLETS / "bbb_gap4_0044"
    return {"input0": case / "input0.png", "input1": case / "input1.png",
            "targets": {0.25: case / "target_0.250.png", 0.5: case / "target_0.500.png",
                        0.75: case / "target_0.750.png"}}
