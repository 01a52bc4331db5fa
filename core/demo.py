"""`segue demo`: a jump cut from the embedded footage, bridged by synthesized frames.

The two takes in ``core/assets/demo`` are cut from Big Buck Bunny ((c) Blender
Foundation, CC BY 3.0; see ``core/assets/demo/SOURCE.md``): take A ends with the bunny
stretching, take B starts ten frames later with the bunny moved.
"""
from __future__ import annotations

from pathlib import Path

from segue.core.engine import Engine
from segue.core.transition import FrameEvent, TransitionSpec, render_transition

ASSETS = Path(__file__).resolve().parent / "assets" / "demo"
TAKE_A = ASSETS / "take_a.mp4"
TAKE_B = ASSETS / "take_b.mp4"


def run_demo(out_dir: str, frames: int = 8, model: str = "auto",
             on_frame=None) -> tuple[dict, Path]:
    """Render the demo transition into ``out_dir``; return its report and contact sheet path."""
    spec = TransitionSpec(clip_a=str(TAKE_A), clip_b=str(TAKE_B), frames=frames, out_dir=out_dir, model=model)
    report = render_transition(spec, Engine(model=model), on_frame=on_frame)
    return report, Path(report["output"]["folder"]) / report["previews"]["contact_sheet"]


__all__ = ["TAKE_A", "TAKE_B", "FrameEvent", "run_demo"]
