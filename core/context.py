"""Context frames of a pair: checked, matched to the pair's frames, turned into motion.

Context frames are ``(time, image)`` frames of the same shot around a pair, times in the
pair's units (``t < 0`` before frame 0, ``t > 1`` after frame 1). `fit_motion` takes up to
`CONTEXT_PER_SIDE` a side, nearest first, makes the flows `core.motion` needs (from the
side's frame to each context frame) and how well each match holds (`core.motion.match_error`),
and fits the pair's `core.motion.Motion`.

Without a cache every flow is matched directly. With a stream's `core.flowcache.FlowCache`
(a retime's), only one-frame flows are matched: the flow to the far context frame is
composed of the side's flow to the near one and the near one's to the far one, which the
neighbouring pairs need too, so a pair of a steady retime costs two new flows. Measured
on ``../shared/data``: composed far flows change the gap targets by -0.08 dB and the
triplets by +0.02 dB against direct ones.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segue.core import motion
from segue.core.errors import InputError
from segue.core.flow import FlowPair, flows_between, resize_image, to_gray8
from segue.core.flowcache import FlowCache
from segue.core.warp import backward_warp

#: context frames used per side of a pair, nearest first (`core.motion` fits one, validates on the next)
CONTEXT_PER_SIDE = 2
#: ``(time, image)`` frames around a pair, times in the pair's units (module docstring)
Context = Sequence[tuple[float, np.ndarray]]


def check_context(context: Context | None, shape: tuple[int, ...]) -> list[tuple[float, np.ndarray]]:
    """Context frames checked (times outside [0, 1], finite; images of ``shape``); `InputError` if not."""
    checked = []
    for item in context or ():
        try:
            t, image = item
            t = float(t)
        except (TypeError, ValueError):
            raise InputError(f"context entries are (time, image) pairs, got {type(item).__name__}") from None
        if not np.isfinite(t) or 0.0 <= t <= 1.0:
            raise InputError(f"context frame at t={t:g}: context lies outside the pair (t < 0 or t > 1)")
        if not isinstance(image, np.ndarray) or image.shape != tuple(shape):
            got = image.shape if isinstance(image, np.ndarray) else type(image).__name__
            raise InputError(f"context frame at t={t:g} is {got}, the pair's frames are {tuple(shape)}")
        checked.append((t, image))
    return checked


def fit_motion(image0: np.ndarray, image1: np.ndarray, small0: np.ndarray, small1: np.ndarray, flows: FlowPair,
               context: list[tuple[float, np.ndarray]], finest: int,
               cache: FlowCache | None = None) -> motion.Motion | None:
    """The pair's motion fitted to its checked context (None without any).

    ``image0``/``image1`` are the pair at full size (the cache knows frames by them),
    ``small0``/``small1`` at the analysis size of ``flows``; ``finest`` as in `core.flow`.
    """
    if not context:
        return None
    return motion.fit(flows, *context_flows(image0, image1, small0, small1, context, finest, cache))


def context_flows(image0: np.ndarray, image1: np.ndarray, small0: np.ndarray, small1: np.ndarray,
                  context: list[tuple[float, np.ndarray]], finest: int,
                  cache: FlowCache | None = None) -> tuple[list[motion.ContextFlow], list[motion.ContextFlow]]:
    """The context as each side sees it: (frame 0's, frame 1's) `core.motion.ContextFlow` lists, nearest first."""
    before, after = _side(context, -1), _side(context, 1)
    size = (small0.shape[1], small0.shape[0])
    if cache is None:
        gray0, gray1 = to_gray8(small0), to_gray8(small1)
        others = [to_gray8(resize_image(im, size)) for _, im in (*before, *after)]
        origins = [gray0] * len(before) + [gray1] * len(after)
        found = flows_between(list(zip(origins, others)), finest)
    else:
        origins, others, found = [], [], []
        for frame, side in ((image0, before), (image1, after)):
            for k, (_, im) in enumerate(side):
                origins.append(cache.analysis(frame, size)[1])
                others.append(cache.analysis(im, size)[1])
                found.append(cache.flows([(frame, im)], size, finest)[0] if k == 0
                             else cache.composed(frame, side[k - 1][1], im, size, finest))
    contexts = [motion.ContextFlow(-t if t < 0 else t - 1, flow, _match_error(origin, other, flow))
                for (t, _), origin, other, flow in zip((*before, *after), origins, others, found)]
    return contexts[:len(before)], contexts[len(before):]


def prefetch(cache: FlowCache, image0: np.ndarray, image1: np.ndarray, context: list[tuple[float, np.ndarray]],
             size: tuple[int, int], finest: int) -> None:
    """Make every one-step flow the pair and its context need in one batch (the new ones run side by side)."""
    steps = [(image0, image1), (image1, image0)]
    for frame, side in ((image0, _side(context, -1)), (image1, _side(context, 1))):
        chain = [frame, *(im for _, im in side)]
        steps += list(zip(chain[:-1], chain[1:]))
    cache.flows(steps, size, finest)


def _side(context: list[tuple[float, np.ndarray]], direction: int) -> list[tuple[float, np.ndarray]]:
    """The context before frame 0 (``direction`` -1) or after frame 1 (+1), nearest first, as many as used."""
    if direction < 0:
        return sorted((c for c in context if c[0] < 0), key=lambda c: -c[0])[:CONTEXT_PER_SIDE]
    return sorted((c for c in context if c[0] > 1), key=lambda c: c[0])[:CONTEXT_PER_SIDE]


def _match_error(origin: np.ndarray, other: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """How well ``other`` (uint8 grey), warped back by ``flow``, matches ``origin``."""
    side, seen = (np.ascontiguousarray(g, dtype=np.float32)[..., None] / 255.0 for g in (origin, other))
    return motion.match_error(side[..., 0], backward_warp(seen, flow)[..., 0])
