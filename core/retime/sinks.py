"""Where a retime's output frames go: a movie encoder, or an image sequence that can resume.

Both sinks take frames in output order (`core.retime.stream.Sink`). The sequence sink
writes every frame atomically and keeps the folder's state file (`target.STATE_FILE`):
the job's identity and length, so a later run with ``--resume`` (or another chunk of a
farm job, `core.farm`) keeps the frames already there.
"""
from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

from segue.core.errors import InputError
from segue.core.media import ycbcr
from segue.core.media.encode import MovieEncoder, VideoFormat, choose_format, plan_audio
from segue.core.media.source import Source
from segue.core.media.writers import write_frame
from segue.core.output import atomic_write_text
from segue.core.ownership import Ledger
from segue.core.retime.target import SEQUENCE_REPORT, STATE_FILE, Target

#: a state file claiming more frames than this is not one Segue wrote (46 days at 24 fps)
_MAX_STATE_FRAMES = 10**8


def movie_format(target: Target, source: Source) -> VideoFormat:
    """The video format a movie output gets from ``source`` (`InputError` if it cannot be written)."""
    media = source.media
    chroma = media.chroma if media is not None else "rgb"
    src_colour = source.colour
    video = choose_format(target.codec, chroma, source.bit_depth, source.is_float, src_colour,
                          output_colour=lambda rgb, limited: ycbcr.output_colour(
                              src_colour, rgb_output=rgb, limited_only=limited))
    if video.pix_fmt.startswith(("yuv420", "yuv422")) and (source.width % 2 or source.height % 2):
        raise InputError(f"{source.path} is {source.width}x{source.height}: {target.codec} {video.pix_fmt} needs "
                         "an even width and height (use --codec ffv1 with an .mkv, or write frames)")
    return video


def make_sink(target: Target, source: Source, out_fps: Fraction, speed: Fraction, keep_audio: bool):
    """The sink for ``target`` and what the report says of the output: ``(sink, info)``."""
    if target.kind == "sequence":
        depth = image_depth(target.codec, source)
        return SequenceSink(target, depth), {"format": target.codec, "bit_depth": depth}
    video = movie_format(target, source)
    streams = source.media.audio if source.media is not None else ()
    audio = plan_audio(streams, target.muxer, speed, keep_audio)
    encoder = MovieEncoder(target.path, target.muxer, source.width, source.height, out_fps, video,
                           audio=audio, audio_source=source.path, video_offset=source.start / speed,
                           before_replace=Ledger(target.path.parent).recorder(target.path.name))
    info = {"codec": video.codec, "pix_fmt": video.pix_fmt, "bit_depth": video.bit_depth,
            "container": target.muxer, "colour": video.colour.as_dict(), "audio": audio.as_dict(streams)}
    return MovieSink(encoder), info


def image_depth(fmt: str, source: Source) -> int:
    """Bits per channel of a sequence's frames: deep or float sources give deep or float frames."""
    deep = source.bit_depth > 8 or source.is_float
    if fmt == "png":
        return 16 if deep else 8
    if fmt == "tiff":
        return 32 if source.is_float else (16 if deep else 8)
    return 32 if source.bit_depth >= 32 else 16


class MovieSink:
    """Frames piped to one `MovieEncoder`, started at the first frame."""

    def __init__(self, encoder: MovieEncoder) -> None:
        self.encoder = encoder
        self.started = False

    def exists(self, index: int) -> bool:
        return False

    def write(self, index: int, image) -> None:
        if not self.started:
            self.encoder.start()
            self.started = True
        self.encoder.write(image)

    def finish(self) -> None:
        if not self.started:
            self.encoder.start()
        self.encoder.finish()

    def abort(self) -> None:
        self.encoder.abort()


class SequenceSink:
    """Atomic frame files plus the folder's state file (see module docstring).

    Every file it writes is recorded in the folder's ledger (`core.ownership`); it
    replaces or removes only files the ledger proves are Segue's, and reads the state
    file only if Segue wrote it (and even then checks it like any other input).
    """

    def __init__(self, target: Target, depth: int) -> None:
        self.target, self.depth = target, depth
        self.resume = self.overwrite = False
        assert target.folder is not None
        self.state_path = target.folder / STATE_FILE
        self.ledger: Ledger | None = None

    def claim(self, key: str, resume: bool, overwrite: bool) -> None:
        """Check the folder against this job; remove an old render of Segue's if ``overwrite``."""
        self.ledger = ledger = Ledger(self.target.folder)  # check_replaceable vetted its report and state file
        state = self._load_state()
        ours = state.get("template") == self.target.template
        previous = self._existing(state["frames"] if ours else 0)
        if resume:
            if not ours:
                raise InputError(f"--resume: {self.target.path} holds no earlier render of Segue's to continue")
            if state.get("key") != key:
                raise InputError(f"--resume: the render in {self.target.path} was made from another source or "
                                 "other options; run without --resume and with --overwrite to start over")
            self.resume = True
        elif previous and not overwrite:
            raise InputError(f"{self.target.path} already holds a render ({len(previous)} frames): pass --resume "
                             "to continue it or --overwrite to start over")
        elif overwrite:
            for path in previous:
                ledger.remove(path.name)
        self.overwrite = overwrite
        ledger.sweep_temporaries(lambda name: name in (STATE_FILE, SEQUENCE_REPORT) or self.target.names_frame(name))
        self.key = key
        self.state = {"key": key, "template": self.target.template, "frames": state["frames"] if ours else 0}

    def holds(self, key: str) -> bool:
        """True if the folder's state file (Segue's) is job ``key``'s: its frames may be kept."""
        self.ledger = Ledger(self.target.folder)
        state = self._load_state()
        return state.get("key") == key and state.get("template") == self.target.template

    def join(self, key: str, frames: range) -> None:
        """Render output frames ``frames`` of job ``key``, which `claim` and `expect` prepared
        (a farm chunk, in its own process): they are written again even if present, since
        a chunk's frames are the same every time; `InputError` if the folder is not that
        job's, or a file in the way is not Segue's.
        """
        if not self.holds(key):
            raise InputError(f"{self.target.path} is no longer prepared for this job (its state file is gone or "
                             "belongs to another render): plan the job again")
        self.key, self.state = key, self._load_state()
        for index in frames:
            path = self.target.frame_path(index + 1)
            if os.path.lexists(path) and not self.ledger.owns(path.name):
                raise InputError(f"{path} already exists and was not written by Segue: remove it or choose "
                                 "another output")

    def _load_state(self) -> dict:
        """The folder's state file if Segue wrote it and it has the expected shape, else empty."""
        empty = {"frames": 0}
        if not self.ledger.owns(STATE_FILE):
            return empty
        state = load_json(self.state_path)
        if not (isinstance(state.get("key"), str) and isinstance(state.get("template"), str)
                and type(state.get("frames")) is int and 0 <= state["frames"] <= _MAX_STATE_FRAMES):
            return empty
        return state

    def expect(self, frames: int) -> None:
        """Record the output's length; refuse to overwrite frame files Segue did not write."""
        for number in range(1, frames + 1):
            path = self.target.frame_path(number)
            if os.path.lexists(path) and not (self.resume and self.ledger.owns(path.name)):
                whose = "Segue's earlier render" if self.ledger.owns(path.name) else "not written by Segue"
                raise InputError(f"{path} already exists ({whose}): choose an empty folder or another name"
                                 + (", or pass --overwrite" if whose.startswith("Segue") else ""))
        self.state["frames"] = max(frames, self.state["frames"])
        atomic_write_text(self.state_path, json.dumps(self.state), before_replace=self.ledger.recorder(STATE_FILE))

    def _existing(self, frames: int) -> list[Path]:
        """Frames 1..``frames`` that are Segue's."""
        return [p for p in (self.target.frame_path(k) for k in range(1, frames + 1)) if self.ledger.owns(p.name)]

    def exists(self, index: int) -> bool:
        return self.resume and self.ledger.owns(self.target.frame_path(index + 1).name)

    def write(self, index: int, image) -> None:
        path = self.target.frame_path(index + 1)
        write_frame(path, image, self.target.codec, self.depth, before_replace=self.ledger.recorder(path.name))

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass  # every frame file on disk is complete (atomic writes): they are kept for --resume


def load_json(path: Path) -> dict:
    """A JSON object from ``path``, or ``{}`` if it cannot be read or is not one."""
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
