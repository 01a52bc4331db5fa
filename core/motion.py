"""Where each pixel of a frame pair is at time t, from the pair and the frames around it.

Without context, motion is linear: frame 0's pixel ``p`` is at ``p + t F01(p)`` at time
``t``, frame 1's pixel ``q`` at ``q + (1-t) F10(q)``. An editor nearly always has more
frames than the two (clip A's frames before its out point, clip B's after its in point, a
retime's neighbours), and motion that starts, stops or turns within the gap is not a
straight line. With context frames each side gets a per-pixel acceleration ``a``:

    x(tau) = tau F + a tau (tau - 1) / 2

in the side's own time ``tau`` (0 at its frame, 1 at the other frame of the pair; for
side 1, ``tau = 1 - t`` and ``F = F10``). ``x(1) = F`` still lands on the pair's match, and
``a`` is the one value that also passes through the pixel's position in the nearest
context frame at ``tau = -s`` (Quadratic Video Interpolation, Xu et al., NeurIPS 2019):
``a = 2 (C + s F) / (s (s + 1))`` with ``C`` the flow from the side's frame to that
context frame. Linear motion gives ``C = -s F`` and so ``a = 0``.

A one-frame acceleration is noisy wherever motion is slow or the camera hand-held, so
it is gated (each choice measured on ``../shared/data``, see docs/classic.md):

* **validation on the second context frame**: the quadratic and the straight line both
  predict where the pixel is in the context frame farther out; their squared errors are
  pooled over `POOL` x `POOL` pixels and the acceleration is weighted by
  ``e_line / (e_line + e_quad)``: kept where the curve predicts the held-out frame better,
  dropped where the line does (a context frame across a cut predicts nothing and is
  ignored the same way);
* **shrinkage**: an acceleration no larger than what `FLOW_NOISE` pixels of error in the
  context flow would produce is shrunk towards 0 (``a |a|^2 / (|a|^2 + n^2)``); with a
  single context frame on a side (a clip's second frame), this is the only gate, with
  `SINGLE_FLOW_NOISE`;
* **the match itself**: where the context frame, warped by its flow, does not look like
  the side's frame (pooled mean absolute error above `TRUSTED_ERROR`, nothing left at
  `UNTRUSTED_ERROR`: a context frame from another shot, an occlusion), the context says
  nothing; the near frame's acceleration fades out, a far frame's validation gives way to
  the single-frame gate. The same test on the frame's median error drops a whole context
  frame from another shot. Real context matches on ``../shared/data`` err 0.005 (median)
  to 0.016 (90th percentile) of full scale.

All flows are at the analysis size (`core.flow.analysis_size`), in pixels of that size.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from segue.core.flow import FlowPair

#: pixels over which the validation errors are pooled (a 7x7 box at the analysis size)
POOL = 7
#: error of a context flow, in pixels, below which an acceleration is treated as noise
FLOW_NOISE = 0.5
#: the same with a single context frame, which nothing validates
SINGLE_FLOW_NOISE = 1.0
#: pooled photometric error of a context match (0..1) up to which the context is trusted ...
TRUSTED_ERROR = 0.03
#: ... and from which it is ignored
UNTRUSTED_ERROR = 0.08


@dataclass(frozen=True)
class ContextFlow:
    """A context frame as one side of the pair sees it.

    ``spacing``: how far beyond the side's frame the context frame lies, in the pair's time
    units (> 0: ``0.25`` for the frame before frame 0 of a pair four frames apart);
    ``flow``: (H, W, 2) float32 flow from the side's frame (0 or 1) to the context frame;
    ``error``: (H, W) float32 photometric error of that match (`match_error`), or None
    if unknown (then the match is trusted).
    """

    spacing: float
    flow: np.ndarray
    error: np.ndarray | None = None

    @property
    def trust(self) -> np.ndarray | float:
        """1 where the match can be trusted, 0 where it cannot (module docstring).

        Per pixel, and for the whole frame by its median error: a frame from another shot
        matches nowhere, bar a few flat patches that would otherwise pass.
        """
        if self.error is None:
            return 1.0
        ramp = lambda e: np.clip((UNTRUSTED_ERROR - e) / (UNTRUSTED_ERROR - TRUSTED_ERROR), 0.0, 1.0)  # noqa: E731
        return ramp(self.error) * float(ramp(np.median(self.error[::4, ::4])))  # every 16th pixel: a median's worth


@dataclass(frozen=True)
class Motion:
    """Per-pixel trajectories of both frames of a pair (module docstring).

    ``accel0`` / ``accel1``: (H, W, 2) float32 accelerations of frame 0's / frame 1's
    pixels in their own time, or None for straight lines.
    """

    flows: FlowPair
    accel0: np.ndarray | None = None
    accel1: np.ndarray | None = None

    def from0(self, t: float) -> np.ndarray:
        """(H, W, 2) displacement of each pixel of frame 0 from time 0 to ``t``."""
        return _position(self.flows.flow01, self.accel0, t)

    def from1(self, t: float) -> np.ndarray:
        """(H, W, 2) displacement of each pixel of frame 1 from time 1 to ``t``."""
        return _position(self.flows.flow10, self.accel1, 1.0 - t)

    @property
    def linear(self) -> bool:
        """True if both sides move in straight lines."""
        return self.accel0 is None and self.accel1 is None


def _position(flow: np.ndarray, accel: np.ndarray | None, tau: float) -> np.ndarray:
    out = tau * flow
    if accel is not None:
        out += (tau * (tau - 1) / 2) * accel
    return out.astype(np.float32, copy=False)


def fit(flows: FlowPair, before: Sequence[ContextFlow] = (), after: Sequence[ContextFlow] = ()) -> Motion:
    """The pair's `Motion` given context flows from frame 0 (``before``) and frame 1 (``after``).

    Each sequence is ordered nearest first; the first one or two are used. Without any,
    the motion is linear.
    """
    return Motion(flows, side_acceleration(flows.flow01, before), side_acceleration(flows.flow10, after))


def side_acceleration(flow: np.ndarray, context: Sequence[ContextFlow]) -> np.ndarray | None:
    """Gated acceleration of one side's pixels (module docstring), or None without context.

    ``flow``: the side's flow to the other frame of the pair; ``context``: nearest first.
    """
    if not context:
        return None
    near = context[0]
    accel = _through(near, flow)
    single = _shrink(accel, near.spacing, SINGLE_FLOW_NOISE)
    if len(context) == 1:
        return (single * _plane(near.trust)).astype(np.float32)
    far = context[1]
    s = far.spacing
    line = far.flow + s * flow  # where the straight line misses the far context frame
    curve = line - accel * (s * (s + 1) / 2)  # where the curve misses it
    e_line = cv2.blur(_norm2(line), (POOL, POOL))
    e_curve = cv2.blur(_norm2(curve), (POOL, POOL))
    weight = e_line / (e_line + e_curve + 1e-6)
    validated = _shrink(accel, near.spacing, FLOW_NOISE) * weight[..., None]
    far_trust = _plane(far.trust)
    return ((far_trust * validated + (1 - far_trust) * single) * _plane(near.trust)).astype(np.float32)


def match_error(image: np.ndarray, warped: np.ndarray) -> np.ndarray:
    """Pooled photometric error of a match: mean absolute difference of two (H, W) images over `POOL` pixels."""
    return cv2.blur(np.abs(image - warped).astype(np.float32), (POOL, POOL))


def _plane(trust: np.ndarray | float) -> np.ndarray | float:
    return trust[..., None] if isinstance(trust, np.ndarray) else trust


def _through(context: ContextFlow, flow: np.ndarray) -> np.ndarray:
    """The acceleration of the quadratic through the side's frame, the pair's match and ``context``."""
    s = context.spacing
    return (2.0 / (s * (s + 1))) * (context.flow + s * flow)


def _shrink(accel: np.ndarray, spacing: float, noise: float) -> np.ndarray:
    """Shrink accelerations comparable to those ``noise`` pixels of context-flow error make."""
    floor = 2.0 * noise / (spacing * (spacing + 1))
    m2 = _norm2(accel)
    return (accel * (m2 / (m2 + floor * floor))[..., None]).astype(np.float32)


def _norm2(vectors: np.ndarray) -> np.ndarray:
    """Squared length of (H, W, 2) vectors; channel by channel, which numpy does 5x faster than a sum over axis 2."""
    x, y = vectors[..., 0], vectors[..., 1]
    return x * x + y * y
