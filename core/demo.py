"""`segue demo`: a jump cut from the embedded footage, bridged by synthesized frames.

The two takes in ``core/assets/demo`` are cut from Big Buck Bunny ((c) Blender
Foundation, CC BY 3.0; see ``core/assets/demo/SOURCE.md``): take A ends with the bunny
stretching, take B starts ten frames later with the bunny moved.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segue.core.engine import Engine
from segue.core.media import open_clip
from segue.core.output import contact_sheet
from segue.core.transition import FrameEvent, TransitionSpec, render_transition

ASSETS = Path(__file__).resolve().parent / "assets" / "demo"
TAKE_A = ASSETS / "take_a.mp4"
TAKE_B = ASSETS / "take_b.mp4"
SHEET = "contact_sheet.png"


def _read_png(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _to8(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)


def run_demo(out_dir: str, frames: int = 8, model: str = "auto",
             on_frame=None) -> tuple[dict, Path]:
    """Render the demo transition into ``out_dir``; return its report and contact sheet path."""
    spec = TransitionSpec(clip_a=str(TAKE_A), clip_b=str(TAKE_B), frames=frames, out_dir=out_dir, model=model)
    report = render_transition(spec, Engine(model=model), on_frame=on_frame)
    folder = Path(report["output"]["folder"])
    ends = (_to8(open_clip(TAKE_A).read_frame(-1)), _to8(open_clip(TAKE_B).read_frame(0)))
    middle = [_read_png(folder / f["file"]) for f in report["frames"]]
    labels = ["A: last frame", *(f"t={f['t']:.3f}  conf {f['confidence']:.2f}" for f in report["frames"]),
              "B: first frame"]
    sheet = folder / SHEET
    contact_sheet([ends[0], *middle, ends[1]], labels, sheet)
    return report, sheet


__all__ = ["TAKE_A", "TAKE_B", "FrameEvent", "run_demo"]
