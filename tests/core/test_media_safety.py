"""Hostile media against the engine's readers and the command line (issue 16, faults 3 and 4).

* ffmpeg opens only the file it was given: playlists and lists that name other files are
  refused with a message that says what the file is, and every container Segue reads
  keeps working;
* frames over the pixel limit (`core.limits`) are refused from the header, before any
  decoder allocates them, by every reader and by ``segue`` (exit 2, one line).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hostile_media import (
    HLS_NAME,
    ffconcat_list,
    hls_playlist,
    png_bomb,
    png_movie,
    small_movie,
)

from segue.core import limits
from segue.core.errors import InputError
from segue.core.media import images, open_clip
from segue.core.media.exr import write_exr
from segue.core.media.ffmpeg import find_ffmpeg, input_url
from segue.core.media.images import read_image
from segue.core.media.source import open_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))


@pytest.fixture(autouse=True)
def default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the default limit, whatever the environment says."""
    monkeypatch.delenv(limits.ENV_VAR, raising=False)
    limits.configure(None)


def segue(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The ``segue`` command in a real process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "segue", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, timeout=600, check=False)


def assert_one_line_exit_2(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("segue: error:"), result.stderr
    for word in words:
        assert word in last, last


# --------------------------------------------------------------- ffmpeg reads one file


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A movie outside the "allowed" folder and, inside it, files that make ffmpeg read it."""
    outside = tmp_path_factory.mktemp("outside")
    secret = small_movie(outside / "secret.mp4", size="96x64")
    inside = tmp_path_factory.mktemp("inside")
    return {
        "secret": secret,
        "hls": hls_playlist(secret, outside, inside / HLS_NAME),
        "ffconcat": ffconcat_list(secret, inside / "list.mp4"),
    }


@pytest.mark.parametrize(("kind", "words"), [("hls", "is an HLS playlist, which references other files"),
                                             ("ffconcat", "is an ffconcat list, which references other files")])
def test_a_file_that_names_other_files_is_refused_by_every_reader(planted, kind, words):
    path = str(planted[kind])
    for opener in (open_clip, open_source):
        with pytest.raises(InputError) as info:
            opener(path)
        message = str(info.value)
        assert message.startswith(f"{path}: {words}"), message
        assert "Segue reads only self-contained movie files" in message


def test_the_planted_files_do_read_the_outside_movie_when_ffmpeg_is_unrestricted(planted):
    """The repro itself, so the refusals above are not vacuous: opened the way every reader
    opened files before issue 16 (plain ``-i file:PATH``), each planted file yields the
    outside movie's pixels."""
    def pixels(path: Path) -> bytes:
        return subprocess.run([find_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", input_url(path),
                               "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                              capture_output=True, check=True, timeout=120).stdout

    secret = pixels(planted["secret"])
    assert secret
    for kind in ("hls", "ffconcat"):
        assert pixels(planted[kind]) == secret, kind


def test_retime_and_transition_commands_refuse_a_playlist(planted, tmp_path):
    out = tmp_path / "out.mp4"
    assert_one_line_exit_2(segue("retime", planted["hls"], "--fps", "48", "-o", out, "--model", "classic"),
                           str(planted["hls"]), "HLS playlist")
    assert not out.exists()
    assert_one_line_exit_2(segue("transition", planted["ffconcat"], BBB[1], "--frames", "1", "-o", tmp_path / "t",
                                 "--model", "classic", "-q"), str(planted["ffconcat"]), "ffconcat list")
    assert not list(tmp_path.glob("t/frame_*"))


# (extension, encoder arguments): one of each container Segue reads (core.media.movie.MOVIE_EXTENSIONS)
CONTAINERS = [
    (".mp4", ("-c:v", "libx264")), (".m4v", ("-c:v", "libx264", "-f", "mp4")), (".mov", ("-c:v", "prores_ks")),
    (".mkv", ("-c:v", "ffv1")), (".webm", ("-c:v", "libvpx-vp9")), (".avi", ("-c:v", "mpeg4")),
    (".mxf", ("-c:v", "mpeg2video")), (".mpg", ("-c:v", "mpeg2video")), (".vob", ("-c:v", "mpeg2video")),
    (".ts", ("-c:v", "libx264")), (".m2ts", ("-c:v", "libx264", "-f", "mpegts", "-mpegts_m2ts_mode", "1")),
    (".wmv", ("-c:v", "wmv2")), (".flv", ("-c:v", "flv")), (".ogv", ("-c:v", "libtheora")),
    (".3gp", ("-c:v", "h263", "-s", "176x144")), (".y4m", ("-pix_fmt", "yuv420p")), (".nut", ("-c:v", "ffv1")),
    (".gif", ()), (".dv", ("-c:v", "dvvideo", "-s", "720x480", "-pix_fmt", "yuv411p", "-r", "30000/1001")),
    ("-elementary.mpg", ("-c:v", "mpeg2video", "-f", "mpeg2video")),
]


@pytest.mark.parametrize(("suffix", "codec"), CONTAINERS, ids=[s for s, _ in CONTAINERS])
def test_every_container_segue_reads_still_opens(tmp_path, suffix, codec):
    movie = small_movie(tmp_path / f"clip{suffix}", frames=4, codec=codec,
                        rate="30000/1001" if suffix == ".dv" else "24")
    clip = open_clip(movie)
    assert clip.frame_count == 4
    frame = clip.read_frame(-1)
    assert frame.shape == (clip.height, clip.width, 3)
    assert float(frame.std()) > 0.01  # a real test pattern, not a blank
    assert open_source(str(movie)).frame_count == 4


def test_the_allow_list_is_ffmpegs_names_of_self_contained_formats():
    from segue.core.media.ffmpeg import MOVIE_DEMUXERS, input_args

    assert not {"hls", "concat", "dash", "imf", "image2", "sdp", "rtp", "rtsp", "lavfi", "tee"} & set(MOVIE_DEMUXERS)
    args = input_args("/x/y.mp4")
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[-2:] == ["-i", "file:/x/y.mp4"]
    assert "enable_drefs" not in args


# ---------------------------------------------------------------------- pixel limits


def test_a_png_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    bomb = png_bomb(tmp_path / "bomb.png", 12000, 12000)  # 144 MP in a ~20 KB file
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(images.cv2, "imdecode", _no_decoding)
    for read in (open_clip, read_image):
        with pytest.raises(InputError) as info:
            read(str(bomb))
        message = str(info.value)
        assert message.startswith(f"{bomb}: frame is 12000x12000")
        assert "limit of 40,000,000 pixels" in message and "SEGUE_MAX_PIXELS=144000000" in message


def test_a_side_over_16384_is_refused_whatever_the_pixel_limit(tmp_path, monkeypatch):
    bomb = png_bomb(tmp_path / "wide.png", 20000, 8)
    monkeypatch.setenv(limits.ENV_VAR, str(limits.MAX_PIXELS_CEILING))
    with pytest.raises(InputError, match=r"wide\.png: frame is 20000x8; .* at most 16384 pixels per side"):
        open_clip(str(bomb))


def test_opening_a_still_or_sequence_decodes_nothing(tmp_path, monkeypatch):
    """The daemon opens clips on its request threads: only headers may be read there."""
    seq = tmp_path / "seq"
    seq.mkdir()
    for k, path in enumerate(BBB):
        shutil.copy(path, seq / f"f.{k:04d}.png")
    write_exr(str(tmp_path / "still.exr"), np.full((9, 16, 3), 0.5, np.float32), half=True)
    cv2.imwrite(str(tmp_path / "still.tif"), np.zeros((9, 16, 3), np.uint16))
    monkeypatch.setattr(images.cv2, "imdecode", _no_decoding)
    monkeypatch.setattr(images, "read_exr", _no_decoding)
    assert open_clip(str(seq / "f.%04d.png")).size == (160, 90)
    assert open_clip(str(tmp_path / "still.exr")).bit_depth == 16
    assert open_clip(str(tmp_path / "still.tif")).bit_depth == 16
    assert open_source(str(seq)).frame_count == len(BBB)


def _no_decoding(*args, **kwargs):
    raise AssertionError("decoded pixels")


def test_header_and_decoder_agree_on_every_kind_of_image(tmp_path):
    from segue.core.media.images import read_image_header

    rng = np.random.default_rng(3)
    made = []
    for channels in (1, 3, 4):
        for dtype in (np.uint8, np.uint16):
            pixels = (rng.random((7, 9, channels)) * np.iinfo(dtype).max).astype(dtype).squeeze()
            for ext in (".png", ".tif"):
                made.append(tmp_path / f"{channels}-{dtype.__name__}{ext}")
                assert cv2.imwrite(str(made[-1]), pixels)
        if channels != 4:
            made.append(tmp_path / f"{channels}.jpg")
            assert cv2.imwrite(str(made[-1]), (rng.random((7, 9, channels)) * 255).astype(np.uint8).squeeze())
    made.append(tmp_path / "float.tif")
    assert cv2.imwrite(str(made[-1]), rng.random((7, 9, 3)).astype(np.float32))
    made.append(tmp_path / "progressive.jpg")
    assert cv2.imwrite(str(made[-1]), np.zeros((7, 9, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    for half in (True, False):
        made.append(tmp_path / f"half-{half}.exr")
        write_exr(str(made[-1]), rng.random((7, 9, 3)).astype(np.float32), half)
    made.append(png_bomb(tmp_path / "one-bit.png", 9, 7))
    for path in made:
        header, image = read_image_header(path), read_image(path)
        assert (header.height, header.width) == image.pixels.shape[:2], path
        assert (header.bit_depth, header.is_float) == (image.bit_depth, image.is_float), path


def test_a_header_that_lies_about_the_size_is_an_error(tmp_path, monkeypatch):
    real = images._HEADER_READERS[".png"]

    def smaller(f):
        h = real(f)
        return type(h)(h.width // 2, h.height // 2, h.bit_depth, h.is_float, h.channels)

    monkeypatch.setitem(images._HEADER_READERS, ".png", smaller)
    with pytest.raises(InputError, match=r"the header says 80x45 but the image decodes to 160x90"):
        read_image(BBB[0])


def test_exr_windows_and_channels_count(tmp_path, monkeypatch):
    from segue.core.media.images import read_image_header

    exr = tmp_path / "aovs.exr"
    write_exr(str(exr), np.zeros((100, 100, 3), np.float32), half=True)
    monkeypatch.setenv(limits.ENV_VAR, "10000")
    assert read_image_header(exr).width == 100
    monkeypatch.setenv(limits.ENV_VAR, "9999")
    with pytest.raises(InputError, match=r"aovs\.exr: frame is 100x100 .* limit of 9,999 pixels"):
        open_clip(str(exr))
    monkeypatch.setenv(limits.ENV_VAR, "10000")
    monkeypatch.setattr(limits, "MAX_SAMPLES_PER_PIXEL", 2)  # 3 channels of 10000 pixels > 2 x 10000
    with pytest.raises(InputError, match=r"30,000 samples in all its channels"):
        read_image(exr)


def test_an_exr_with_a_huge_display_window_is_refused(tmp_path):
    """7x5 pixels stored, 12000x12000 displayed: the reader would allocate the display window."""
    import OpenEXR

    box = lambda w, h: (np.array([0, 0], np.int32), np.array([w - 1, h - 1], np.int32))  # noqa: E731
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              "dataWindow": box(7, 5), "displayWindow": box(12000, 12000)}
    bomb = tmp_path / "window.exr"
    OpenEXR.File(header, {c: np.zeros((5, 7), np.float16) for c in "RGB"}).write(str(bomb))
    assert bomb.stat().st_size < 1000
    with pytest.raises(InputError, match=r"window\.exr: frame is 12000x12000 .* over the limit"):
        open_clip(str(bomb))


def test_a_movie_over_the_limit_is_refused_by_the_probe(tmp_path):
    movie = png_movie(png_bomb(tmp_path / "frame.png", 12000, 12000), tmp_path / "bomb.mkv")
    for opener in (open_clip, open_source):
        with pytest.raises(InputError) as info:
            opener(str(movie))
        assert str(info.value).startswith(f"{movie}: frame is 12000x12000 (144.0 megapixels), over the limit")


def test_an_oversized_file_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "1000")
    sparse = tmp_path / "sparse.png"
    shutil.copy(BBB[0], sparse)
    with open(sparse, "r+b") as f:
        f.truncate(limits.max_file_bytes() + 1)  # sparse: no disk used
    with pytest.raises(InputError, match=r"sparse\.png: file is [\d,]+ bytes, larger than any image"):
        read_image(sparse)


def test_the_limit_comes_from_the_environment_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "14400")  # exactly 160x90
    assert open_clip(str(BBB[0])).read_frame(0).shape == (90, 160, 3)
    monkeypatch.setenv(limits.ENV_VAR, "14399")
    with pytest.raises(InputError, match="SEGUE_MAX_PIXELS=14400"):
        open_clip(str(BBB[0]))
    for bad in ("1e9", "-5", "0", "12345678901", "4000000000"):
        monkeypatch.setenv(limits.ENV_VAR, bad)
        with pytest.raises(InputError, match="SEGUE_MAX_PIXELS"):
            limits.max_pixels()


def test_commands_refuse_a_bomb_in_one_line(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png", 12000, 12000)
    movie = png_movie(bomb, tmp_path / "bomb.mkv")
    words = ("12000x12000", "limit of 40,000,000 pixels", "SEGUE_MAX_PIXELS=")
    assert_one_line_exit_2(segue("transition", bomb, BBB[1], "--frames", "1", "-o", tmp_path / "t", "-q",
                                 "--model", "classic"), str(bomb), *words)
    assert_one_line_exit_2(segue("interpolate", BBB[0], bomb, "--times", "0.5", "-o", tmp_path / "i",
                                 "--model", "classic"), str(bomb), *words)
    assert_one_line_exit_2(segue("retime", movie, "--fps", "50", "-o", tmp_path / "r.mp4", "--model", "classic"),
                           str(movie), *words)
    # and the way out the message names works
    done = segue("interpolate", BBB[0], BBB[1], "--times", "0.5", "-o", tmp_path / "ok", "--model", "classic",
                 env={limits.ENV_VAR: "14400"})
    assert done.returncode == 0, done.stderr
