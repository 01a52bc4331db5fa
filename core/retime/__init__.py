"""Whole-clip retime: a clip in, the same clip at another frame rate or slowed down out.

    from segue.core.retime import RetimeSpec, run_retime
    report = run_retime(RetimeSpec("in.mov", "out.mp4", fps="59.94"))

Modules, one concept each: `timing` (exact rational time mapping, the plan), `scenes`
(scene-cut score and decision), `duplicates` (held-frame detection), `analysis` (the
cheap first pass over the clip), `target` (what OUTPUT means), `stream` (the render
pipeline with bounded queues), `job` (`run_retime`, and `near_miss_lines` for a
terminal), `preflight` (what a service checks and follows before and between runs).
Reading and writing movies is `core.media`'s (`source`, `probe`, `ycbcr`, `encode`). The
names below are the package's public surface; the daemon uses nothing else.
See docs/retime.md.
"""
from __future__ import annotations

from segue.core.retime.job import RetimeSpec, near_miss_lines, run_retime
from segue.core.retime.preflight import (
    AUDIO_MODES,
    CODECS,
    check_output,
    output_frames,
    output_key,
    output_marker,
    preview_path,
    writes_sequence,
)
from segue.core.retime.stream import Progress

__all__ = ["AUDIO_MODES", "CODECS", "Progress", "RetimeSpec", "check_output", "near_miss_lines", "output_frames",
           "output_key", "output_marker", "preview_path", "run_retime", "writes_sequence"]
