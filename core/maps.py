"""Diagnostic pictures of a transition: where the pixels move, and how sure Segue is of each.

Written beside the frames when a transition asks for them (`TransitionSpec.maps`,
``segue transition --maps``):

* ``flow.png``: the correspondence from A's frame to B's (the flow every synthesized frame
  follows) as a colour wheel: the hue is the direction a pixel moves (right red, down
  yellow-green, left cyan, up violet, as the angle turns), the saturation its distance
  (white: still; full colour: the frame's 99th-percentile motion or more);
* ``confidence_NNNN.png``: frame N's per-pixel confidence in grey (white: the warped
  pixels agree; black: the frame falls back to a dissolve there).

Both are at the engine's analysis size (at most `core.flow.DOWNSAMPLE_ABOVE_WIDTH` wide)
and are data, not pictures of the scene: 8-bit PNGs, no colourspace conversion.
"""
from __future__ import annotations

import re

import cv2
import numpy as np

FLOW = "flow.png"
#: every map file name of a transition
FILE = re.compile(r"flow\.png|confidence_\d{4,}\.png")


def confidence_name(index: int) -> str:
    """``confidence_0001.png`` for frame ``index`` (1-based)."""
    return f"confidence_{index:04d}.png"


def names(frames: int) -> list[str]:
    """The map files of a transition of ``frames`` frames."""
    return [FLOW, *(confidence_name(k) for k in range(1, frames + 1))]


def flow_picture(flow: np.ndarray) -> np.ndarray:
    """An (H, W, 2) flow in pixels as an (H, W, 3) uint8 RGB colour wheel (module docstring)."""
    dx, dy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    magnitude, angle = cv2.cartToPolar(dx, dy, angleInDegrees=True)
    scale = float(np.percentile(magnitude, 99)) if magnitude.size else 0.0
    hsv = np.empty((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV's hue runs 0..180
    hsv[..., 1] = np.clip(magnitude / max(scale, 1e-6) * 255, 0, 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def confidence_picture(confidence: np.ndarray) -> np.ndarray:
    """An (H, W) confidence in [0, 1] as (H, W) uint8 grey."""
    return np.clip(np.rint(np.nan_to_num(confidence) * 255), 0, 255).astype(np.uint8)


def encode_png(picture: np.ndarray) -> bytes:
    """A uint8 grey or RGB picture as PNG bytes."""
    bgr = picture if picture.ndim == 2 else cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise RuntimeError("PNG encoding of a map failed")
    return data.tobytes()
