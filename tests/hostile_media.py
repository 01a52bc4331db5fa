"""Hostile media for the tests, made for real and cheaply: decompression bombs and files that
make ffmpeg read other files.

* `png_bomb`: a valid PNG of any size (1-bit grey, all black) written row by row through
  zlib, so a 20000x20000 image is a ~50 KB file and the test never holds the pixels;
* `png_movie`: such a PNG stream-copied into a movie (no decoding), a movie bomb;
* `hls_playlist` / `ffconcat_list`: a text file under a movie's name that makes ffmpeg read
  a movie elsewhere (the `--allow-root` bypass of issue 16).
"""
from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

from segue.core.media.ffmpeg import find_ffmpeg

#: An HLS playlist under a .mp4 name: ffmpeg takes the extension from the URL path and
#: drops the "?..." query, so it sees "m3u8" and opens the playlist as HLS.
HLS_NAME = "playlist.m3u8?.mp4"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid all-black 1-bit PNG of ``width`` x ``height``; memory used: one row."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none" + packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale, not interlaced
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([find_ffmpeg(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *map(str, args)],
                   check=True, timeout=120)


def png_movie(png: Path, movie: Path) -> Path:
    """One-frame movie holding ``png`` as its video (stream copy: nothing is decoded)."""
    ffmpeg("-i", png, "-c", "copy", movie)
    return movie


def small_movie(path: Path, size: str = "64x48", frames: int = 6, codec: tuple[str, ...] = ("-c:v", "libx264"),
                rate: str = "24") -> Path:
    """A short test-pattern movie (different content every frame)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}", "-frames:v", str(frames), *codec, path)
    return path


def hls_playlist(movie: Path, segments: Path, playlist: Path) -> Path:
    """An HLS playlist at ``playlist`` whose segments (``movie`` re-muxed) are in ``segments``,
    referenced by absolute path."""
    ffmpeg("-i", movie, "-c", "copy", "-f", "hls", "-hls_playlist_type", "vod",
           "-hls_base_url", f"{segments}/", segments / "index.m3u8")
    playlist.write_text((segments / "index.m3u8").read_text())
    return playlist


def ffconcat_list(target: Path, listing: Path) -> Path:
    """An ffconcat list at ``listing`` reading ``target`` through a symlink beside it (the concat
    demuxer's "safe" mode refuses absolute paths, not links)."""
    link = listing.parent / f"{listing.stem}-part.mp4"
    link.symlink_to(target)
    listing.write_text(f"ffconcat version 1.0\nfile '{link.name}'\n")
    return listing
