"""How a farm job's output frames are split into chunks, and the folder a job keeps its parts in.

A chunk is a contiguous range of output frames. The split depends only on the frame count
and the number of chunks, so every process of a job computes the same ranges; and since
an output frame is the same whichever frames are rendered with it, the chunks together
give byte for byte what one local run gives, whatever their number, order or process.
"""
from __future__ import annotations

from pathlib import Path

from segue.core.errors import InputError
from segue.core.media.encode import CONTAINERS
from segue.core.retime.target import TOKEN

#: most chunks one job may have (a task per chunk: a farm's scheduler, not ours, spreads them)
MAX_CHUNKS = 10000


def split(total: int, chunks: int) -> list[range]:
    """``total`` output frames in ``chunks`` contiguous ranges as even as can be (the first ones
    one frame longer when it does not divide). With more chunks than frames the last ones are
    empty: a farm runs the number of tasks its template says, and an empty one has nothing to do.
    """
    if type(chunks) is not int or not 1 <= chunks <= MAX_CHUNKS:
        raise InputError(f"--chunks must be a whole number from 1 to {MAX_CHUNKS}, got {chunks!r}", field="chunks")
    if total < 1:
        raise ValueError("a job has at least one frame")
    size, extra = divmod(total, chunks)
    bounds = [k * size + min(k, extra) for k in range(chunks + 1)]
    return [range(lo, hi) for lo, hi in zip(bounds, bounds[1:])]


def check_chunk(chunk: int, ranges: list[range]) -> range:
    """The frames of 1-based ``chunk``; `InputError` naming the valid numbers otherwise."""
    if type(chunk) is not int or not 1 <= chunk <= len(ranges):
        raise InputError(f"--chunk must be from 1 to {len(ranges)} for this job, got {chunk!r}", field="chunk")
    return ranges[chunk - 1]


def work_folder(output: str) -> Path:
    """Where a farm job writing ``output`` keeps its plan and parts.

    Beside a movie, a hidden folder named after it (``.take_50.mp4.segue-farm``); inside a
    folder of frames (or a sequence pattern's folder), ``.segue-farm``.
    """
    path = Path(output)
    if path.suffix.lower() in CONTAINERS and not TOKEN.search(path.name):
        return path.parent / f".{path.name}.segue-farm"
    return (path.parent if TOKEN.search(path.name) else path) / ".segue-farm"
