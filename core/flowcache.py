"""Flows between the frames of one stream, computed once and reused by neighbouring pairs.

A retime interpolates pair after pair of consecutive frames, each with context frames on
both sides (`core.motion`), so the flow from a frame to its neighbour is wanted by up to
four pairs. `FlowCache` keeps each frame's analysis images and every one-way flow made
between frames it has seen, and makes the flow to a frame two steps away by composing
two one-step flows, ``F_ac(x) = F_ab(x) + F_bc(x + F_ab(x))``, instead of matching again.
In a steady retime a pair then costs two new flows, as it did without context.

Frames are known by identity (the same numpy array object): the caller promises not to
change a frame after passing it. The cache holds a reference to every frame it keys, so
an identity cannot be reused while cached, and forgets all but the `capacity` frames seen
last, with their flows: seven is a pair, two context frames a side and the frame the
next pair adds, so a retime's window of frames is what it keeps alive anyway.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from segue.core.flow import flows_between, resize_image, to_gray8
from segue.core.warp import backward_warp


class FlowCache:
    """Analysis images and one-way flows of a stream's frames (module docstring)."""

    def __init__(self, capacity: int = 7) -> None:
        self.capacity = capacity
        self._frames: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._flows: dict[tuple[int, int], np.ndarray] = {}

    def analysis(self, frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``frame`` at the analysis ``size`` = (width, height), and its uint8 grey for DIS."""
        key = id(frame)
        entry = self._frames.get(key)
        if entry is None or entry[1].shape[1::-1] != size:
            small = resize_image(frame, size)
            entry = (frame, small, to_gray8(small))
            self._frames[key] = entry
            self._forget()
        self._frames.move_to_end(key)
        return entry[1], entry[2]

    def flows(self, pairs: list[tuple[np.ndarray, np.ndarray]], size: tuple[int, int],
              finest: int) -> list[np.ndarray]:
        """One-way flows ``src -> dst`` at ``size`` for frame pairs, made once (`core.flow.flows_between`)."""
        keys = [(id(a), id(b)) for a, b in pairs]
        missing = [key for key in dict.fromkeys(keys) if key not in self._flows]
        if missing:
            frames = {id(a): a for pair in pairs for a in pair}
            grays = {key: self.analysis(frames[key], size)[1] for pair in missing for key in pair}
            for key, flow in zip(missing, flows_between([(grays[s], grays[d]) for s, d in missing], finest)):
                self._flows[key] = flow
        return [self._flows[key] for key in keys]

    def composed(self, first: np.ndarray, via: np.ndarray, last: np.ndarray, size: tuple[int, int],
                 finest: int) -> np.ndarray:
        """The flow ``first -> last`` as ``first -> via`` followed by ``via -> last`` (module docstring)."""
        step1, step2 = self.flows([(first, via), (via, last)], size, finest)
        return np.ascontiguousarray(step1 + backward_warp(step2, step1), dtype=np.float32)

    def _forget(self) -> None:
        while len(self._frames) > self.capacity:
            gone, _ = self._frames.popitem(last=False)
            for key in [k for k in self._flows if gone in k]:
                del self._flows[key]
