"""Media I/O: read frames from movies, sequences and stills; write frames atomically.

    from segue.core.media import open_clip, write_frame
    clip = open_clip("a.mov")     # or "shot.%04d.exr", "shot.####.png", a folder, a still
    frame = clip.read_frame(-1)               # float32 (H, W, 3) RGB, file encoding
    write_frame("out/frame_0001.png", frame, "png", 16)

Modules: `clip` (the `Clip` contract), `readers` (`open_clip`), `movie` (ffmpeg,
frame-accurate), `sequence` (patterns, folders, stills), `images` (one image file),
`exr`, `headers` (image sizes from headers alone), `writers` (`write_frame`), `ffmpeg`
(locating and running ffmpeg, and the one way a user's file is opened with it); for
whole-clip work: `probe` (streams, timestamps, colour tags and audio of a movie),
`source` (a clip streamed in order), `ycbcr` (Y'CbCr range, matrix and tags), `encode`
(the ffmpeg encoder and muxer, codecs, audio).
"""

from __future__ import annotations

from segue.core.media.clip import Clip
from segue.core.media.ffmpeg import find_ffmpeg
from segue.core.media.readers import open_clip
from segue.core.media.sequence import find_folder_files, find_pattern_files, is_pattern
from segue.core.media.writers import write_frame

__all__ = ["Clip", "find_ffmpeg", "find_folder_files", "find_pattern_files", "is_pattern", "open_clip", "write_frame"]
