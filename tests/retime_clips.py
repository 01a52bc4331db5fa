"""Helpers of the retime tests: real clips made with ffmpeg, probing, PSNR, running the CLI.

Clips are built at test time from known content, so the truth is known exactly: a
texture (a Big Buck Bunny frame from tests/fixtures, CC BY 3.0) panned by whole pixels
per frame, rendered at a high rate; tests feed ffmpeg a subset and compare the retime
with the frames they held back.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
from conftest import with_default_sigint

from segue.core.media.ffmpeg import find_ffmpeg

FIXTURES = Path(__file__).resolve().parent / "fixtures"
W, H = 192, 108


def texture(which: int = 0, scale: float = 2.0) -> np.ndarray:
    """A real-footage texture, (h, w, 3) uint8 RGB, larger than the clips (room to pan)."""
    name = ["triplets/bbb_gap4_0044/input0.png", "triplets/bbb_tri_0049/input0.png"][which]
    image = cv2.cvtColor(cv2.imread(str(FIXTURES / name)), cv2.COLOR_BGR2RGB)
    if which == 1:  # a different shot: mirrored and recoloured, so it shares nothing with shot 0
        image = np.ascontiguousarray(image[::-1, ::-1, ::-1])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def pan(tex: np.ndarray, count: int, dx: int = 2, dy: int = 1, x0: int = 20, y0: int = 20,
        size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    """``count`` frames of a window moving (dx, dy) pixels per frame over ``tex``."""
    w, h = size
    return [np.ascontiguousarray(tex[y0 + k * dy:y0 + k * dy + h, x0 + k * dx:x0 + k * dx + w]) for k in range(count)]


def encode(frames: list[np.ndarray], out: Path, fps: str = "25", args: tuple[str, ...] = ("-c:v", "libx264",
           "-crf", "12", "-pix_fmt", "yuv420p"), audio_seconds: float | None = None,
           pre: tuple[str, ...] = ()) -> Path:
    """Encode (H, W, 3) uint8 (rgb24) or uint16 (rgb48) frames with the real ffmpeg."""
    h, w = frames[0].shape[:2]
    fmt = "rgb48le" if frames[0].dtype == np.uint16 else "rgb24"
    cmd = [find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", *pre, "-f", "rawvideo", "-pix_fmt", fmt,
           "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    if audio_seconds:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={audio_seconds}",
                "-c:a", "aac", "-b:a", "128k"]
    cmd += [*args, str(out)]
    data = b"".join(np.ascontiguousarray(f).astype("<u2" if fmt == "rgb48le" else np.uint8).tobytes()
                    for f in frames)
    subprocess.run(cmd, input=data, check=True)
    return out


def decode(path: Path, fmt: str = "rgb24") -> list[np.ndarray]:
    """Every frame of a movie as decoded by ffmpeg's own tag-driven conversion (rgb24 / rgb48le)."""
    from segue.core.media.probe import probe_movie

    info = probe_movie(str(path))
    out = subprocess.run([find_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
                          "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", fmt, "pipe:1"],
                         capture_output=True, check=True).stdout
    dtype = np.dtype("<u2") if fmt == "rgb48le" else np.dtype("u1")
    arr = np.frombuffer(out, dtype).reshape(-1, info.height, info.width, 3)
    return [arr[k] for k in range(arr.shape[0])]


def read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return np.ascontiguousarray(image[..., ::-1])


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else 10 * np.log10(peak * peak / err)


def blend(a: np.ndarray, b: np.ndarray, t: float = 0.5) -> np.ndarray:
    return np.clip((1 - t) * a.astype(np.float64) + t * b.astype(np.float64) + 0.5, 0, 255).astype(np.uint8)


def exact_rate(times: tuple[Fraction, ...]) -> set[Fraction]:
    """The set of frame-to-frame steps of a stream (one element for a constant rate)."""
    return {b - a for a, b in pairwise(times)}


def segue(*args, wait: bool = True, **kwargs):
    """Run the installed ``segue`` console script (a real process, as users run it)."""
    exe = shutil.which("segue", path=os.path.dirname(sys.executable)) or shutil.which("segue")
    cmd = [exe] if exe else [sys.executable, "-m", "segue"]
    full = [*cmd, *map(str, args)]
    if not wait:
        return subprocess.Popen(with_default_sigint(full), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, **kwargs)
    return subprocess.run(full, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, **kwargs)


def assert_user_error(result, *words: str) -> None:
    """Exit code 2 and a one-line ``segue: error:`` message naming the problem."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("segue: error:"), result.stderr
    for w in words:
        assert w in lines[-1], lines[-1]
