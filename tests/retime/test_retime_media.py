"""Movie outputs checked the way ffprobe would (with `core.media.probe`, ffmpeg only):
frame count, exact frame rate, duration, audio length, pixel format and colour tags.
"""
from __future__ import annotations

import json
import math
import subprocess
from fractions import Fraction

import numpy as np
import pytest
from retime_clips import decode, encode, exact_rate, pan, psnr, read_png, segue, texture

from segue.core.media.ffmpeg import find_ffmpeg
from segue.core.media.probe import decoded_audio_seconds, probe_movie

NTSC24, NTSC60 = Fraction(24000, 1001), Fraction(60000, 1001)
AAC_FRAME = Fraction(1024, 48000)  # one audio frame


def audio_crcs(path) -> list[str]:
    """CRCs of the audio packets: equal lists mean the audio was copied untouched."""
    out = subprocess.run([find_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0",
                          "-c", "copy", "-f", "framecrc", "pipe:1"], capture_output=True, text=True, check=True)
    return [line.split(",")[5].strip() for line in out.stdout.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def clip23976(tmp_path_factory):
    """48 frames at 24000/1001 fps, H.264 tagged BT.709 limited range, with 2 s of AAC audio."""
    folder = tmp_path_factory.mktemp("c23976")
    tags = ("-vf", ("scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
            "setparams=range=tv:colorspace=bt709:color_primaries=bt709:color_trc=bt709"))
    return encode(pan(texture(0), 48, dx=2, dy=1), folder / "in.mp4", "24000/1001",
                  (*tags, "-c:v", "libx264", "-crf", "14"), audio_seconds=2.0)


def test_23976_to_5994_h264_with_audio_untouched(tmp_path, clip23976):
    out = tmp_path / "out.mp4"
    r = segue("retime", clip23976, "-o", out, "--fps", "59.94", "-q")
    assert r.returncode == 0, r.stderr
    src, got = probe_movie(str(clip23976)), probe_movie(str(out))
    assert got.frame_count == math.ceil(src.frame_count * Fraction(5, 2)) == 120
    assert exact_rate(got.times) == {Fraction(1001, 60000)}  # 59.94 exactly, every frame
    assert got.fps == NTSC60
    assert got.times[-1] - got.times[0] + got.durations[-1] == Fraction(120 * 1001, 60000)
    assert (got.codec, got.pix_fmt) == ("h264", "yuv420p")
    assert (got.colour.range, got.colour.matrix, got.colour.primaries, got.colour.transfer) == (
        "tv", "bt709", "bt709", "bt709")
    assert audio_crcs(out) == audio_crcs(clip23976)  # passed through packet for packet
    s_src, s_out = decoded_audio_seconds(str(clip23976))[1], decoded_audio_seconds(str(out))[1]
    assert abs(s_out - s_src) <= AAC_FRAME
    report = json.loads((tmp_path / "out.mp4.json").read_text())
    assert report["output"]["audio"]["mode"] == "copy"
    assert (report["frames"]["copied"], report["frames"]["synthesized"], report["frames"]["held"]) == (24, 94, 2)
    # Copied frames are the source's, colours included (no range or matrix slip).
    ours, theirs = decode(out), decode(clip23976)
    for k in range(0, 120, 5):
        assert psnr(ours[k], theirs[k * 2 // 5]) > 38


def test_slowmo_prores_stretches_audio_or_drops_it(tmp_path, clip23976):
    out = tmp_path / "slow.mov"
    r = segue("retime", clip23976, "-o", out, "--slowmo", "2", "-q")
    assert r.returncode == 0, r.stderr
    got = probe_movie(str(out))
    assert got.frame_count == 96 and got.fps == NTSC24
    assert (got.codec, got.pix_fmt) == ("prores", "yuv422p10le")
    assert (got.colour.range, got.colour.matrix) == ("tv", "bt709")
    src_audio = decoded_audio_seconds(str(clip23976))[1]
    assert abs(decoded_audio_seconds(str(out))[1] - 2 * src_audio) <= AAC_FRAME
    report = json.loads((tmp_path / "slow.mov.json").read_text())
    assert report["output"]["audio"]["mode"] == "stretch" and report["target"]["speed"] == "1/2"

    r = segue("retime", clip23976, "-o", tmp_path / "mute.mov", "--slowmo", "2", "--audio", "drop", "-q")
    assert r.returncode == 0, r.stderr
    assert probe_movie(str(tmp_path / "mute.mov")).audio == ()


def gradient(bits: int) -> list[np.ndarray]:
    """Frames with a smooth 16-bit ramp (more than 256 levels) and moving texture."""
    tex = pan(texture(0), 6, dx=2, dy=1)
    ramp = np.linspace(0.1, 0.9, tex[0].shape[1])[None, :, None]
    frames = []
    for t in tex:
        f = 0.5 * ramp + 0.5 * (t / 255.0) * 0.2 + 0.1 * ramp
        frames.append(np.round(np.clip(f, 0, 1) * 65535).astype(np.uint16))
    return frames


@pytest.mark.parametrize("codec, ext, pix_fmt", [("h264", "mp4", "yuv420p10le"), ("ffv1", "mkv", "yuv420p10le")])
def test_ten_bit_bt2020_source_stays_ten_bit_with_its_tags(tmp_path, codec, ext, pix_fmt):
    tags = ("-vf", ("scale=out_color_matrix=bt2020:out_range=tv,format=yuv420p10le,"
            "setparams=range=tv:colorspace=bt2020nc:color_primaries=bt2020:color_trc=smpte2084"))
    src = encode(gradient(10), tmp_path / "in10.mkv", "25", (*tags, "-c:v", "ffv1"))
    out = tmp_path / f"out.{ext}"
    r = segue("retime", src, "-o", out, "--factor", "2", "--codec", codec, "-q")
    assert r.returncode == 0, r.stderr
    got = probe_movie(str(out))
    assert got.frame_count == 12 and got.pix_fmt == pix_fmt
    assert (got.colour.range, got.colour.matrix, got.colour.primaries, got.colour.transfer) == (
        "tv", "bt2020nc", "bt2020", "smpte2084")
    ours, theirs = decode(out, "rgb48le"), decode(src, "rgb48le")
    for k in range(0, 12, 2):
        assert len(np.unique(ours[k][..., 1] >> 6)) > 300  # more levels than 8 bits can hold
        assert psnr(ours[k], theirs[k // 2], 65535) > (50 if codec == "ffv1" else 45)


def test_ten_bit_to_png_writes_sixteen_bit_frames(tmp_path):
    src = encode(gradient(10), tmp_path / "in10.mkv", "25", ("-c:v", "ffv1", "-pix_fmt", "yuv444p10le"))
    r = segue("retime", src, "-o", tmp_path / "frames" / "f.%04d.png", "--factor", "2", "-q")
    assert r.returncode == 0, r.stderr
    frame = read_png(tmp_path / "frames" / "f.0001.png")
    assert frame.dtype == np.uint16 and len(np.unique(frame[..., 1])) > 300
    assert (tmp_path / "frames" / "retime.json").is_file()


def test_full_range_bt601_source_keeps_its_range_and_colours(tmp_path):
    tags = ("-vf", ("scale=out_color_matrix=smpte170m:out_range=pc,format=yuv420p,"
            "setparams=range=pc:colorspace=smpte170m:color_primaries=smpte170m:color_trc=smpte170m"))
    frames = pan(texture(0), 8, dx=2, dy=1)
    src = encode(frames, tmp_path / "full.mp4", "25", (*tags, "-c:v", "libx264", "-crf", "10"))
    out = tmp_path / "out.mp4"
    r = segue("retime", src, "-o", out, "--factor", "2", "-q")
    assert r.returncode == 0, r.stderr
    got = probe_movie(str(out))
    assert (got.colour.range, got.colour.matrix) == ("pc", "smpte170m")
    # ffmpeg's own decodes, each driven by its file's tags: the copied frames must match
    ours, theirs = decode(out), decode(src)
    for k in range(0, 16, 2):
        bias = (ours[k].astype(float) - theirs[k // 2]).mean(axis=(0, 1))
        assert np.all(np.abs(bias) < 1.5), bias  # a range slip shifts levels by ~10, a matrix slip by several
        assert psnr(ours[k], theirs[k // 2]) > 38


def test_image_sequence_in_movie_out(tmp_path):
    import cv2

    folder = tmp_path / "seq"
    folder.mkdir()
    for k, f in enumerate(pan(texture(0), 10, dx=2, dy=1)):
        cv2.imwrite(str(folder / f"shot.{k + 1001:04d}.png"), f[..., ::-1])
    out = tmp_path / "out.mkv"
    r = segue("retime", folder / "shot.%04d.png", "-o", out, "--factor", "2", "--input-fps", "25", "-q")
    assert r.returncode == 0, r.stderr
    got = probe_movie(str(out))
    assert got.frame_count == 20 and got.fps == 50 and got.is_rgb  # lossless RGB stays RGB (ffv1 stores bgr0)
    assert got.colour.range == "pc"
    assert np.array_equal(decode(out)[4], cv2.imread(str(folder / "shot.1003.png"))[..., ::-1])
