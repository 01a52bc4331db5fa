"""The terminal progress bar of ``segue retime`` (stderr, so stdout stays scriptable).

    [##########          ] 512/1024 frames  8.4 fps  ETA 1:01

The rate and ETA count only frames rendered by this run (frames kept by ``--resume``
cost nothing) and use the recent rate, so a slow start (model loading, the first pair's
flow) does not distort the estimate for long. Redrawn at most `REDRAW_SECONDS` apart.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from typing import TextIO

from segue.core.retime.stream import Progress

REDRAW_SECONDS = 0.25
_RATE_WINDOW = 32  # frames the recent rate is measured over


def format_eta(seconds: float) -> str:
    """``1:01``, ``1:02:03``; ``--:--`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """Callable for `core.retime.run_retime`'s ``on_progress`` and ``on_stage``."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 20) -> None:
        self.stream, self.width = stream, width
        self._last_draw = 0.0
        self._recent: deque[tuple[float, int]] = deque(maxlen=_RATE_WINDOW)

    def stage(self, name: str, done: int, total: int) -> None:
        """Progress of a preparatory pass (the analysis)."""
        if done == total or time.monotonic() - self._last_draw >= REDRAW_SECONDS:
            self._draw(f"{name}: frame {done}/{total}", done, total, final=done == total)

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        if not event.resumed:
            self._recent.append((now, event.rendered))
        final = event.done == event.total
        if not final and now - self._last_draw < REDRAW_SECONDS:
            return
        rate = self._rate()
        remaining = event.total - event.done
        eta = remaining / rate if rate > 0 else float("nan")
        text = f"{event.done}/{event.total} frames  {rate:.1f} fps  ETA {format_eta(0 if final else eta)}"
        self._draw(text, event.done, event.total, final)

    def _rate(self) -> float:
        if len(self._recent) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._recent[0], self._recent[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def _draw(self, text: str, done: int, total: int, final: bool) -> None:
        self._last_draw = time.monotonic()
        filled = round(self.width * done / total) if total else self.width
        bar = "#" * filled + " " * (self.width - filled)
        print(f"\r[{bar}] {text}   ", end="\n" if final else "", file=self.stream, flush=True)
