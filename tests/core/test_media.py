"""Tests for core.media: readers (movies, sequences, stills), writers, ffmpeg lookup.

Movies and 16-bit / float images are made at test time (by ffmpeg, OpenCV and
OpenEXR) from the committed Big Buck Bunny frames and from synthetic frames whose
index is written into the picture as six black/white blocks, so any frame read
back says which frame it is.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from segue.core.errors import InputError
from segue.core.media import Clip, open_clip, write_frame
from segue.core.media import ffmpeg as ffmpeg_mod
from segue.core.media import movie as movie_mod
from segue.core.media import writers as writers_mod
from segue.core.media.ffmpeg import error_reason, find_ffmpeg
from segue.core.media.images import png_pixels_only, read_image
from segue.core.media.probe import pix_fmt_depth
from segue.core.media.sequence import natural_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BBB_DIR = FIXTURES / "bbb"
BBB_NUMBERS = [36, 38, 40, 42]
BBB_FILES = [BBB_DIR / f"bbb.{n:04d}.png" for n in BBB_NUMBERS]

CODED_COUNT = 40  # frames in the synthetic "which frame am I" movies
CODED_W, CODED_H = 96, 64
CODED_BITS = 6
# An 8-bit quantisation step: tolerances for lossy codecs are stated in these units.
STEP8 = 1 / 255


# --------------------------------------------------------------------------- helpers


def ffmpeg(*args: str | os.PathLike[str]) -> None:
    subprocess.run(
        [find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", *map(str, args)],
        check=True,
    )


def coded_frame(i: int) -> np.ndarray:
    """uint8 RGB frame showing ``i`` in binary.

    Block b of a 2 x 3 grid is white if bit b of ``i`` is set.
    """
    img = np.zeros((CODED_H, CODED_W, 3), np.uint8)
    img[:, :, 2] = 40 + 5 * i  # a per-frame tint too, so frames differ everywhere
    bh, bw = CODED_H // 2, CODED_W // 3
    for b in range(CODED_BITS):
        r, c = divmod(b, 3)
        if (i >> b) & 1:
            img[r * bh : (r + 1) * bh, c * bw : (c + 1) * bw] = 255
    return img


def frame_number(img: np.ndarray) -> int:
    """Inverse of `coded_frame`, read from block centres (robust to lossy coding)."""
    bh, bw = CODED_H // 2, CODED_W // 3
    value = 0
    for b in range(CODED_BITS):
        r, c = divmod(b, 3)
        if img[r * bh + bh // 2, c * bw + bw // 2, 0] > 0.5:
            value |= 1 << b
    return value


def bbb_rgb(i: int) -> np.ndarray:
    return cv2.imread(str(BBB_FILES[i]), cv2.IMREAD_UNCHANGED)[:, :, ::-1]


def write_exr_direct(
    path: Path, rgb: np.ndarray | None = None, **channels: np.ndarray
) -> None:
    """Write an EXR with the OpenEXR bindings (independent of core.media's writer)."""
    if rgb is not None:
        channels = {c: np.ascontiguousarray(rgb[..., k]) for k, c in enumerate("RGB")}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))


@pytest.fixture(scope="session")
def coded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("coded")
    for i in range(CODED_COUNT):
        cv2.imwrite(str(folder / f"c_{i:04d}.png"), coded_frame(i)[:, :, ::-1])
    return folder


@pytest.fixture(scope="session")
def movies(
    coded_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Test movies encoded by ffmpeg now, keyed by a short name."""
    out = tmp_path_factory.mktemp("movies")
    src = coded_dir / "c_%04d.png"
    # ffmpeg's image2 input needs consecutive numbers; the fixture's numbers step by 2.
    for k, f in enumerate(BBB_FILES):
        shutil.copy(f, out / f"b_{k:04d}.png")
    made = {
        # B-frames and a keyframe every 12 frames: seeking must land inside GOPs.
        "h264.mp4": ["-framerate", "24000/1001", "-i", src, "-c:v", "libx264", "-g", "12",
                     "-bf", "3", "-crf", "12", "-pix_fmt", "yuv420p"],
        "h264.mkv": ["-framerate", "25", "-i", src, "-c:v", "libx264", "-g", "7", "-crf", "12",
                     "-pix_fmt", "yuv420p"],
        # MPEG-TS: its seek points land on frames that need earlier references.
        "h264.ts": ["-framerate", "24", "-i", src, "-c:v", "libx264", "-g", "12", "-crf", "12",
                    "-pix_fmt", "yuv420p"],
        # AVI with B-frames carries no presentation timestamps.
        "mpeg4.avi": ["-framerate", "24", "-i", src, "-c:v", "mpeg4", "-g", "9", "-bf", "2",
                      "-q:v", "2"],
        "prores10.mov": ["-framerate", "24", "-i", src, "-c:v", "prores_ks", "-profile:v", "3",
                         "-pix_fmt", "yuv422p10le"],
        # Real footage; 4:4:4 so that chroma subsampling does not dominate the error.
        "bbb.mp4": ["-framerate", "25", "-i", out / "b_%04d.png", "-c:v", "libx264", "-crf", "10",
                    "-pix_fmt", "yuv444p"],
    }  # fmt: skip
    paths = {}
    for name, args in made.items():
        ffmpeg(*args, out / name)
        paths[name] = out / name
    return paths


@pytest.fixture(scope="session")
def gradient16(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 16-bit RGB PNG whose every sample is a distinct 16-bit code value."""
    folder = tmp_path_factory.mktemp("g16")
    rng = np.random.default_rng(7)
    data = rng.permutation(65536)[: 48 * 64 * 3].astype(np.uint16).reshape(48, 64, 3)
    path = folder / "g16.png"
    cv2.imwrite(str(path), data[:, :, ::-1])
    return path, data


# ----------------------------------------------------------------------------- movies


def test_movie_metadata_and_pixels_match_source(movies: dict[str, Path]) -> None:
    clip = open_clip(movies["bbb.mp4"])
    assert isinstance(clip, Clip)
    assert (clip.kind, clip.frame_count, clip.width, clip.height) == (
        "movie",
        4,
        160,
        90,
    )
    assert clip.fps == Fraction(25) and isinstance(clip.fps, Fraction)
    assert (clip.bit_depth, clip.is_float, clip.colorspace) == (
        8,
        False,
        "sRGB - Texture",
    )
    assert clip.path == str(movies["bbb.mp4"])
    sources = [bbb_rgb(i) / 255.0 for i in range(4)]
    for i in range(4):
        frame = clip.read_frame(i)
        assert frame.dtype == np.float32 and frame.shape == (90, 160, 3)
        assert frame.flags.c_contiguous
        errors = [np.abs(frame - s).mean() for s in sources]
        # Close to its own source (high quality x264, 4:4:4) and closer than to any other.
        assert errors[i] < 3 * STEP8
        assert int(np.argmin(errors)) == i


def test_movie_file_name_that_looks_like_an_option_or_url(
    movies: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = tmp_path / "-take: 1 %d.mp4"
    shutil.copy(movies["bbb.mp4"], odd)
    monkeypatch.chdir(tmp_path)
    clip = open_clip(odd.name)  # relative, starts with "-", has ":" and "%d"
    assert clip.kind == "movie" and clip.frame_count == 4
    assert clip.read_frame(2).shape == (90, 160, 3)


def test_movie_exact_ntsc_rate(movies: dict[str, Path]) -> None:
    clip = open_clip(movies["h264.mp4"])
    assert clip.fps == Fraction(24000, 1001)
    assert clip.frame_count == CODED_COUNT


@pytest.mark.parametrize(
    "name", ["h264.mp4", "h264.mkv", "h264.ts", "mpeg4.avi", "prores10.mov"]
)
def test_movie_frame_accurate_in_any_order(movies: dict[str, Path], name: str) -> None:
    clip = open_clip(movies[name])
    assert clip.frame_count == CODED_COUNT
    order = list(range(CODED_COUNT))
    random.Random(name).shuffle(order)
    for i in [*order[:20], CODED_COUNT - 1, 0, 1]:
        assert frame_number(clip.read_frame(i)) == i, f"{name}: asked for frame {i}"
    # Negative indices count from the end.
    assert frame_number(clip.read_frame(-1)) == CODED_COUNT - 1
    assert frame_number(clip.read_frame(-CODED_COUNT)) == 0
    # Sequential reads (batched decode) stay exact too.
    assert [frame_number(clip.read_frame(i)) for i in range(25, 35)] == list(
        range(25, 35)
    )


def test_movie_seek_that_garbles_falls_back_to_decoding_from_the_start() -> None:
    """A keyframe that only decodes after its predecessors: the seek is caught, not trusted.

    ffmpeg lands on the right timestamp, so only the decoder's complaints reveal that the
    frame it delivers is green garbage (see tests/fixtures/SOURCE.md).
    """
    path = FIXTURES / "movies" / "keyframe_needs_history.mp4"
    sequential = open_clip(path)
    sequential.seeking = False
    truth = sequential.read_frame(78)
    clip = open_clip(path)
    frame = clip.read_frame(78)
    assert not clip.seeking
    np.testing.assert_array_equal(frame, truth)
    # and the truth is a picture, not a decoder's fill: close to the frame before it and
    # grey-ish (the garbled decode is green: G - R ~ 0.7 on average)
    assert float(np.abs(frame - sequential.read_frame(77)).mean()) < 0.06
    assert float(np.abs(frame[..., 1] - frame[..., 0]).mean()) < 0.1


@pytest.fixture
def ffmpeg_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argument lists of every ffmpeg run the movie reader makes from now on."""
    calls: list[list[str]] = []
    real = movie_mod.run_ffmpeg

    def spy(args, **kw):  # type: ignore[no-untyped-def]
        calls.append(list(args))
        return real(args, **kw)

    monkeypatch.setattr(movie_mod, "run_ffmpeg", spy)
    return calls


def test_movie_seeks_by_timestamp(movies: dict[str, Path], ffmpeg_calls: list[list[str]]) -> None:
    """A late frame is fetched by seeking (-ss before -i), not by decoding from frame 0."""
    clip = open_clip(movies["h264.mp4"])
    calls = ffmpeg_calls
    calls.clear()  # the probe's run
    assert frame_number(clip.read_frame(33)) == 33
    assert len(calls) == 1
    args = calls[0]
    assert args.index("-ss") < args.index("-i")
    seek = float(args[args.index("-ss") + 1])
    # Between frames 32 and 33 of a 24000/1001 fps clip starting at 0.
    assert 32 * 1001 / 24000 < seek < 33 * 1001 / 24000
    assert args[args.index("-frames:v") + 1] == "1"
    assert clip.seeking  # the seek was verified as landing on frame 33

    # A repeated read is served from the cache, and callers get their own copy.
    frame = clip.read_frame(33)
    frame[:] = -1.0
    assert frame_number(clip.read_frame(33)) == 33
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["h264.mp4", "mpeg4.avi"])
def test_movie_reads_a_run_of_frames_in_one_decode(
    movies: dict[str, Path], ffmpeg_calls: list[list[str]], name: str
) -> None:
    """`Clip.read_frames`: a transition's frames and their context, one ffmpeg run a side."""
    clip = open_clip(movies[name])
    calls = ffmpeg_calls
    calls.clear()  # the probe's run
    run = clip.read_frames(-3, 3)
    assert [frame_number(f) for f in run] == [CODED_COUNT - 3, CODED_COUNT - 2, CODED_COUNT - 1]
    assert len(calls) == 1 and calls[0][calls[0].index("-frames:v") + 1] == "3"
    # cached now: the same run, or part of it, costs no decode
    assert [frame_number(f) for f in clip.read_frames(CODED_COUNT - 2, 2)] == [CODED_COUNT - 2, CODED_COUNT - 1]
    assert len(calls) == 1
    with pytest.raises(InputError, match=rf"{name}: frame {CODED_COUNT} out of range"):
        clip.read_frames(CODED_COUNT - 1, 2)
    with pytest.raises(InputError, match="asked for 0 frames"):
        clip.read_frames(0, 0)


def test_sequence_reads_a_run_of_frames(tmp_path: Path) -> None:
    for k in range(4):
        write_frame(tmp_path / f"f_{k:04d}.png", np.full((4, 6, 3), k / 10, np.float32), "png")
    clip = open_clip(str(tmp_path / "f_%04d.png"))
    run = clip.read_frames(1, 3)
    assert [round(float(f.mean()) * 10) for f in run] == [1, 2, 3]


def test_movie_high_bit_depth_keeps_precision(movies: dict[str, Path]) -> None:
    clip = open_clip(movies["prores10.mov"])
    assert clip.bit_depth == 10 and not clip.is_float
    frame = clip.read_frame(5)
    # Decoded through rgb48: most samples are not on the 8-bit grid.
    off_grid = np.abs(frame * 255 - np.round(frame * 255)) > 0.05
    assert off_grid.mean() > 0.3
    assert frame_number(frame) == 5


def test_movie_16bit_lossless_is_exact(
    gradient16: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    png, data = gradient16
    mkv = tmp_path / "g16.mkv"
    ffmpeg("-i", png, "-c:v", "ffv1", "-pix_fmt", "rgb48le", mkv)
    clip = open_clip(mkv)
    assert (clip.bit_depth, clip.frame_count, clip.width, clip.height) == (
        16,
        1,
        64,
        48,
    )
    np.testing.assert_array_equal(clip.read_frame(0), data.astype(np.float32) / 65535)


def test_movie_rotation_metadata_is_applied(
    movies: dict[str, Path], tmp_path: Path
) -> None:
    rotated = tmp_path / "rot.mp4"
    ffmpeg("-display_rotation", "90", "-i", movies["h264.mp4"], "-c", "copy", rotated)
    clip = open_clip(rotated)
    assert (clip.width, clip.height) == (CODED_H, CODED_W)
    assert clip.read_frame(3).shape == (CODED_W, CODED_H, 3)


# ------------------------------------------------------------------ sequences, stills


def test_printf_and_hash_patterns(tmp_path: Path) -> None:
    for f in BBB_FILES:
        shutil.copy(f, tmp_path / f.name)
    # Wrong padding and other names must not join the sequence.
    shutil.copy(BBB_FILES[0], tmp_path / "bbb.36.png")
    shutil.copy(BBB_FILES[0], tmp_path / "other.0001.png")
    for pattern in ("bbb.%04d.png", "bbb.####.png"):
        clip = open_clip(str(tmp_path / pattern))
        assert (clip.kind, clip.frame_count, clip.fps) == ("sequence", 4, None)
        assert clip.frame_numbers == BBB_NUMBERS
        assert (clip.width, clip.height, clip.bit_depth) == (160, 90, 8)
        assert clip.colorspace == "sRGB - Texture"
        np.testing.assert_array_equal(
            clip.read_frame(1), bbb_rgb(1).astype(np.float32) / 255
        )
        np.testing.assert_array_equal(
            clip.read_frame(-1), bbb_rgb(3).astype(np.float32) / 255
        )
    unpadded = open_clip(str(tmp_path / "bbb.%d.png"))
    assert unpadded.frame_numbers == [36]


def test_pattern_from_committed_fixture_folder() -> None:
    clip = open_clip(BBB_DIR / "bbb.%04d.png")
    assert clip.frame_count == 4
    assert clip.files[2].endswith("bbb.0040.png")


def test_folder_natural_order_single_type(tmp_path: Path) -> None:
    for n, name in enumerate(["f10.png", "f2.png", "f1.png"]):
        cv2.imwrite(str(tmp_path / name), np.full((4, 5, 3), n * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / ".hidden.png").write_bytes(b"junk")
    clip = open_clip(tmp_path, colorspace="ACEScg")
    assert clip.kind == "sequence" and clip.frame_count == 3
    assert [Path(f).name for f in clip.files] == ["f1.png", "f2.png", "f10.png"]
    assert clip.colorspace == "ACEScg"  # declared colourspace wins
    assert clip.read_frame(0)[0, 0, 0] == pytest.approx(100 / 255)
    assert clip.read_frame(2)[0, 0, 0] == 0.0
    assert natural_key("a2b") < natural_key("a10b")


def test_still_8bit_png() -> None:
    clip = open_clip(str(BBB_FILES[2]))
    assert (clip.kind, clip.frame_count, clip.fps, clip.bit_depth) == (
        "still",
        1,
        None,
        8,
    )
    expected = bbb_rgb(2).astype(np.float32) / 255
    np.testing.assert_array_equal(clip.read_frame(0), expected)
    np.testing.assert_array_equal(clip.read_frame(-1), expected)


def test_still_16bit_png_exact(gradient16: tuple[Path, np.ndarray]) -> None:
    path, data = gradient16
    clip = open_clip(path)
    assert clip.bit_depth == 16 and not clip.is_float
    assert clip.colorspace == "sRGB - Texture"
    np.testing.assert_array_equal(clip.read_frame(0), data.astype(np.float32) / 65535)


def test_still_tiff_16bit_and_float(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data16 = rng.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "a.tif"), data16[:, :, ::-1])
    clip = open_clip(tmp_path / "a.tif")
    assert clip.bit_depth == 16
    np.testing.assert_array_equal(clip.read_frame(0), data16.astype(np.float32) / 65535)

    dataf = rng.uniform(-0.5, 8.0, (10, 12, 3)).astype(np.float32)
    # Explicit lossless compression: OpenCV 4.x defaults float TIFF to lossy LogLuv.
    cv2.imwrite(
        str(tmp_path / "f.tiff"),
        dataf[:, :, ::-1].copy(),
        [cv2.IMWRITE_TIFF_COMPRESSION, 8],
    )
    clip = open_clip(tmp_path / "f.tiff")
    assert (clip.bit_depth, clip.is_float) == (32, True)
    assert clip.colorspace == "Linear Rec.709 (sRGB)"
    np.testing.assert_array_equal(clip.read_frame(0), dataf)  # not clipped, not scaled


def test_still_exr_half_float_and_grey(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rgb = rng.uniform(-1.0, 20.0, (6, 7, 3)).astype(np.float32)
    write_exr_direct(tmp_path / "f.exr", rgb)
    write_exr_direct(tmp_path / "h.exr", rgb.astype(np.float16))
    write_exr_direct(tmp_path / "y.exr", Y=rgb[..., 0].copy())

    full = open_clip(tmp_path / "f.exr")
    assert (full.bit_depth, full.is_float, full.colorspace) == (
        32,
        True,
        "Linear Rec.709 (sRGB)",
    )
    np.testing.assert_array_equal(full.read_frame(0), rgb)

    half = open_clip(tmp_path / "h.exr")
    assert (half.bit_depth, half.is_float) == (16, True)
    np.testing.assert_array_equal(
        half.read_frame(0), rgb.astype(np.float16).astype(np.float32)
    )

    grey = open_clip(tmp_path / "y.exr").read_frame(0)
    np.testing.assert_array_equal(grey, np.repeat(rgb[..., :1], 3, axis=2))


def test_alpha_dropped_and_grey_expanded(tmp_path: Path) -> None:
    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 10, 200, 77  # B, R, alpha
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((3, 4), 128, np.uint8))
    rgba = open_clip(tmp_path / "rgba.png").read_frame(0)
    assert rgba.shape == (3, 4, 3)
    np.testing.assert_allclose(rgba[0, 0], [200 / 255, 0, 10 / 255])
    grey = open_clip(tmp_path / "grey.png").read_frame(0)
    assert grey.shape == (3, 4, 3) and np.all(grey == np.float32(128 / 255))


def test_jpeg_still(tmp_path: Path) -> None:
    cv2.imwrite(
        str(tmp_path / "a.jpg"),
        bbb_rgb(0)[:, :, ::-1].copy(),
        [cv2.IMWRITE_JPEG_QUALITY, 95],
    )
    clip = open_clip(tmp_path / "a.jpg")
    assert (clip.width, clip.height, clip.bit_depth) == (160, 90, 8)
    assert np.abs(clip.read_frame(0) - bbb_rgb(0) / 255).mean() < 3 * STEP8


def png_file(path: Path, rgb: np.ndarray, *chunks: tuple[bytes, bytes]) -> Path:
    """An 8-bit RGB PNG of ``rgb`` with extra ``(type, data)`` chunks before its pixels, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    h, w = rgb.shape[:2]
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + b"".join(chunk(k, d) for k, d in chunks) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"tEXt", b"Comment\x00made by hand") + chunk(b"IEND", b""))
    return path


def test_png_with_a_profile_libpng_rejects_reads_silently(tmp_path: Path) -> None:
    """libpng prints warnings about a PNG's colour chunks straight to stderr while OpenCV decodes
    ("libpng warning: iCCP: known incorrect sRGB profile" in files from image editors); Segue
    reads such a file with nothing on stderr and the same pixels."""
    rgb = np.random.default_rng(7).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    plain = png_file(tmp_path / "plain.png", rgb)
    profile = b"sRGB IEC61966-2.1\x00\x00" + zlib.compress(bytes(132))  # an ICC profile libpng refuses
    noisy = png_file(tmp_path / "noisy.png", rgb, (b"iCCP", profile), (b"sRGB", b"\x09"), (b"gAMA", bytes(4)))
    script = ("import sys, numpy as np\nfrom segue.core.media.images import read_image\n"
              "a, b = (read_image(p).pixels for p in sys.argv[1:])\nprint(np.array_equal(a, b), a.shape)\n")
    done = subprocess.run([sys.executable, "-c", script, str(noisy), str(plain)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.split() == ["True", "(6,", "5,", "3)"], done.stdout + done.stderr
    assert done.stderr == ""
    # the same file decoded as OpenCV alone would: libpng's warnings, the noise kept off the terminal
    bare = subprocess.run([sys.executable, "-c", "import cv2, sys; cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)",
                           str(noisy)], capture_output=True, text=True, check=False)
    assert "libpng warning: iCCP" in bare.stderr and "libpng warning: sRGB" in bare.stderr
    assert np.array_equal(read_image(noisy).pixels, rgb.astype(np.float32) / 255)


def test_png_transparency_is_kept(tmp_path: Path) -> None:
    """``tRNS`` changes the decoded channels (an alpha): it is the one ancillary chunk kept."""
    rgb = np.zeros((2, 2, 3), np.uint8)
    path = png_file(tmp_path / "t.png", rgb, (b"tRNS", b"\x00\x00\x00\x00\x00\x00"))
    kept = png_pixels_only(path.read_bytes())
    assert b"tRNS" in kept and b"tEXt" not in kept
    assert cv2.imdecode(np.frombuffer(kept, np.uint8), cv2.IMREAD_UNCHANGED).shape == (2, 2, 4)
    assert png_pixels_only(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xffIHDR") == b"\x89PNG\r\n\x1a\n\x00\x00\xff\xffIHDR"


# ------------------------------------------------------------------------ bad input


@pytest.fixture(scope="session")
def bad_media(
    movies: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    good = movies["h264.mp4"].read_bytes()
    (folder / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (folder / "garbage.mp4").write_bytes(
        bytes(random.Random(1).randrange(256) for _ in range(4096))
    )
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (folder / "notes.txt").write_text("hello")
    (folder / "garbage.exr").write_bytes(b"not an exr" * 50)
    write_exr_direct(folder / "whole.exr", np.ones((64, 64, 3), np.float32))
    whole = (folder / "whole.exr").read_bytes()
    (folder / "truncated.exr").write_bytes(whole[: len(whole) // 2])
    (folder / "empty_dir").mkdir()
    mixed = folder / "mixed"
    mixed.mkdir()
    shutil.copy(BBB_FILES[0], mixed / "a.png")
    write_exr_direct(mixed / "b.exr", np.zeros((2, 2, 3), np.float32))
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=duration=0.5",
        "-c:a",
        "aac",
        folder / "audio_only.mp4",
    )
    return folder


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.mp4", "no such file"),
        ("missing.png", "no such file"),
        ("truncated.mp4", "cannot read video"),
        ("garbage.mp4", "cannot read video"),
        ("empty.mp4", "file is empty"),
        ("audio_only.mp4", "no video stream"),
        ("corrupt.png", "cannot decode image"),
        ("garbage.exr", "cannot read EXR"),
        ("truncated.exr", "cannot read EXR"),
        ("notes.txt", "unsupported extension"),
        ("nothing.%04d.png", "no files match"),
        ("empty_dir", "no image files"),
        ("mixed", "mixes image types"),
        ("shot.%04d.xyz", "unsupported image extension"),
    ],
)
def test_bad_input_raises_input_error_naming_the_file(
    bad_media: Path, name: str, expected: str
) -> None:
    source = str(bad_media / name)
    with pytest.raises(InputError) as info:
        open_clip(source).read_frame(0)
    message = str(info.value)
    assert message.startswith(source + ":"), message
    assert expected in message
    assert "\n" not in message


def test_frame_out_of_range_message(movies: dict[str, Path]) -> None:
    clip = open_clip(movies["bbb.mp4"])
    with pytest.raises(
        InputError, match=r"^.*bbb\.mp4: frame 120 out of range \(clip has 4 frames\)$"
    ):
        clip.read_frame(120)
    with pytest.raises(InputError, match=r"frame -5 out of range"):
        clip.read_frame(-5)
    with pytest.raises(InputError, match="must be an integer"):
        clip.read_frame(1.0)  # type: ignore[arg-type]
    still = open_clip(BBB_FILES[0])
    with pytest.raises(InputError, match=r"frame 1 out of range \(clip has 1 frame\)"):
        still.read_frame(1)


def test_bad_frame_inside_sequence_names_frame_and_file(tmp_path: Path) -> None:
    for n in range(3):
        shutil.copy(BBB_FILES[n], tmp_path / f"s.{n:04d}.png")
    (tmp_path / "s.0001.png").write_bytes(b"not a png")
    cv2.imwrite(str(tmp_path / "s.0002.png"), np.zeros((10, 10, 3), np.uint8))
    clip = open_clip(str(tmp_path / "s.%04d.png"))
    with pytest.raises(
        InputError, match=r"s\.%04d\.png: frame 1 \(s\.0001\.png\): cannot decode image"
    ):
        clip.read_frame(1)
    with pytest.raises(
        InputError, match=r"frame 2 \(s\.0002\.png\): frame is 10x10, clip is 160x90"
    ):
        clip.read_frame(2)


# ---------------------------------------------------------------------------- writers


@pytest.mark.parametrize(
    ("fmt", "bits", "ext", "tolerance"),
    [
        ("png", 8, "png", 0.5 / 255),
        ("png", 16, "png", 0.5 / 65535),
        ("tiff", 8, "tif", 0.5 / 255),
        ("tiff", 16, "tif", 0.5 / 65535),
        ("tiff", 32, "tif", 0.0),
        ("exr", 32, "exr", 0.0),
        ("exr", 16, "exr", 2e-3),  # half: 10-bit mantissa
    ],
)
def test_write_frame_round_trip(
    tmp_path: Path, fmt: str, bits: int, ext: str, tolerance: float
) -> None:
    rng = np.random.default_rng(bits)
    image = rng.uniform(-0.25, 1.5, (9, 11, 3)).astype(np.float32)
    path = tmp_path / f"frame_0001.{ext}"
    write_frame(path, image, fmt, bits)  # type: ignore[arg-type]
    clip = open_clip(path)
    assert (clip.width, clip.height, clip.bit_depth) == (11, 9, bits)
    back = clip.read_frame(0)
    is_float = fmt == "exr" or bits == 32
    expected = image if is_float else np.clip(image, 0.0, 1.0)
    np.testing.assert_allclose(
        back, expected, atol=tolerance, rtol=1e-3 if fmt == "exr" else 0
    )
    if is_float:
        assert back.max() > 1.0 and back.min() < 0.0  # float formats do not clip
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_write_frame_defaults_and_validation(tmp_path: Path) -> None:
    image = np.full((2, 3, 3), 0.5, np.float32)
    for fmt, ext, bits in [("png", "png", 8), ("tiff", "tif", 16), ("exr", "exr", 16)]:
        write_frame(tmp_path / f"d.{ext}", image, fmt)  # type: ignore[arg-type]
        assert open_clip(tmp_path / f"d.{ext}").bit_depth == bits
    with pytest.raises(InputError, match=r"x\.png: png cannot be written at 12 bits"):
        write_frame(tmp_path / "x.png", image, "png", 12)
    with pytest.raises(InputError, match="unknown output format 'jpg'"):
        write_frame(tmp_path / "x.jpg", image, "jpg")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        write_frame(tmp_path / "no" / "x.png", image, "png")
    with pytest.raises(ValueError):
        write_frame(tmp_path / "x.png", image[..., 0], "png")
    # NaN cannot become an integer code value: it is written as 0.
    write_frame(tmp_path / "nan.png", np.full((1, 1, 3), np.nan, np.float32), "png")
    assert open_clip(tmp_path / "nan.png").read_frame(0).max() == 0.0


def test_write_frame_failure_keeps_old_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "frame.png"
    write_frame(path, np.zeros((4, 4, 3), np.float32), "png")
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writers_mod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_frame(path, np.ones((4, 4, 3), np.float32), "png")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["frame.png"]


def test_write_frame_killed_before_rename_leaves_no_final_file(tmp_path: Path) -> None:
    """A process that dies mid-write (here: right before the rename) leaves no frame file."""
    target = tmp_path / "frame_0001.exr"
    script = (
        "import os, numpy as np\n"
        "from segue.core.media import writers\n"
        "writers.os.replace = lambda *a: os._exit(9)\n"
        f"writers.write_frame({str(target)!r}, np.ones((8, 8, 3), np.float32), 'exr')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", script], env=env, check=False)
    assert proc.returncode == 9
    assert not target.exists()
    leftovers = os.listdir(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".frame_0001.exr.tmp-")


# ----------------------------------------------------------------------------- ffmpeg


def fake_ffmpeg(folder: Path, version_line: str, exit_code: int = 0) -> Path:
    """An executable named ffmpeg: ``-version`` prints ``version_line`` (and logs each call in
    ``calls`` beside it); any other use leaves ``used`` beside it and fails."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "ffmpeg"
    exe.write_text(f"""#!/bin/sh
if [ "$1" = "-version" ]; then echo call >> "{folder}/calls"; echo "{version_line}"; exit {exit_code}; fi
echo "$@" >> "{folder}/used"
exit 1
""")
    exe.chmod(0o755)
    return exe


def test_find_ffmpeg_takes_the_bundled_build_never_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    monkeypatch.delenv(ffmpeg_mod.ENV_VAR, raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    fake = fake_ffmpeg(tmp_path / "bin", "ffmpeg version 5.1.6 Copyright (c) 2000-2024 the FFmpeg developers")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    bundled = find_ffmpeg()
    assert bundled != str(fake) and Path(bundled).parent == Path(imageio_ffmpeg.__file__).parent / "binaries"
    # imageio-ffmpeg's own lookup honours IMAGEIO_FFMPEG_EXE first; Segue does not
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    assert find_ffmpeg() == bundled
    assert ffmpeg_mod.ffmpeg_version(bundled) >= ffmpeg_mod.MIN_VERSION
    assert not (fake.parent / "calls").exists() and not (fake.parent / "used").exists()


def test_segue_ffmpeg_is_checked_once_and_refused_if_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new = fake_ffmpeg(tmp_path / "new", "ffmpeg version n7.1.1-5-gabc Copyright (c) 2000-2025 the FFmpeg developers")
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, str(new))
    assert find_ffmpeg() == find_ffmpeg() == str(new)
    assert (new.parent / "calls").read_text() == "call\n"  # asked once per process

    old = fake_ffmpeg(tmp_path / "old", "ffmpeg version 5.1.6 Copyright (c) 2000-2024 the FFmpeg developers")
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, str(old))
    for _ in range(2):
        with pytest.raises(InputError) as refused:
            find_ffmpeg()
        assert str(refused.value) == (
            f"SEGUE_FFMPEG={old}: ffmpeg 5.1 is older than 6.0, the oldest Segue runs with; name a newer build, "
            "or unset SEGUE_FFMPEG to use the bundled one")
    assert (old.parent / "calls").read_text() == "call\n"


@pytest.mark.parametrize(("version_line", "exit_code", "expected"), [
    # a development snapshot has no release number: its libavformat says which release it follows
    ("ffmpeg version N-113000-g0123abc\nlibavformat    61.  3.100 / 61.  3.100", 0, (7, 0)),
    ("ffmpeg version 2024-03-04-git-e30369bc1c-full_build\nlibavformat    59. 27.100 / 59. 27.100", 0,
     "older than 6.0"),
    ("ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023", 0, (6, 1)),
    ("Usage: not-ffmpeg [options]", 0, "not an ffmpeg Segue can use"),
    ("ffmpeg version 7.0", 3, "failed (exit 3"),
])  # fmt: skip
def test_segue_ffmpeg_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version_line: str, exit_code: int,
                               expected: tuple[int, int] | str) -> None:
    exe = fake_ffmpeg(tmp_path / "bin", version_line, exit_code)
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, str(exe))
    if isinstance(expected, tuple):
        assert find_ffmpeg() == str(exe) and ffmpeg_mod.ffmpeg_version(str(exe)) == expected
        return
    for _ in range(2):
        with pytest.raises(InputError, match=f"^SEGUE_FFMPEG={exe}: .*{re.escape(expected)}"):
            find_ffmpeg()
    assert (exe.parent / "calls").read_text() == "call\n"  # a refused build is not asked again either


def test_segue_ffmpeg_must_be_an_executable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(InputError, match=r"SEGUE_FFMPEG=.*nope: not an executable file"):
        find_ffmpeg()
    plain = tmp_path / "ffmpeg"
    plain.write_text("not a program")
    plain.chmod(0o755)  # executable bit, but nothing the kernel can run
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, str(plain))
    with pytest.raises(InputError, match=r"SEGUE_FFMPEG=.*ffmpeg: cannot be run"):
        find_ffmpeg()


def test_segue_ffmpeg_naming_the_bundled_build_works(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = ffmpeg_mod.bundled_ffmpeg()
    monkeypatch.setenv(ffmpeg_mod.ENV_VAR, bundled)
    assert find_ffmpeg() == bundled


def test_error_reason_picks_the_cause() -> None:
    log = (
        "[in#0 @ 0x55] moov atom not found\n"
        "[in#0 @ 0x56] Error opening input: Invalid data found when processing input\n"
        "Error opening input file clip.mp4.\n"
        "Error opening input files: Invalid data found when processing input\n"
    )
    assert error_reason(log) == "moov atom not found"


@pytest.mark.parametrize(
    ("pix_fmt", "expected"),
    [("yuv420p", (8, False)), ("yuv422p10le", (10, False)), ("p010le", (10, False)),
     ("yuv444p12be", (12, False)), ("rgb48le", (16, False)), ("gray16le", (16, False)),
     ("gbrpf32le", (32, True)), ("rgb24", (8, False)), ("yuv420p9le", (10, False))],
)  # fmt: skip
def test_pix_fmt_depth(pix_fmt: str, expected: tuple[int, bool]) -> None:
    assert pix_fmt_depth(pix_fmt) == expected
