"""A finished transition against the frames that should have been there: PSNR and SSIM, beside a dissolve.

When the true in-between frames exist (the continuous take a jump cut was made from, a
clip's held-back frames), `score` compares each synthesized frame with its true frame as
the frame-interpolation literature does (`core.metrics`: 8-bit RGB, every pixel), and a
plain cross-dissolve of the transition's two source frames at the same times likewise,
so the numbers say what Segue bought over the dissolve.

Frames are compared as the transition wrote them: its files, in its output colourspace,
as 8-bit. The truth and the dissolve's two source frames are read with the engine's
readers, taken through the working space to that colourspace with OCIO (B conformed to
A's size as the render did, by the report's ``conform``), and rounded to 8 bits. The
report is read as input: a frame it lists must be a frame file of the transition's own
name (``frame_NNNN.ext``) in its folder. The dissolve is mixed in the
working space, as the daemon's ``preview_dissolve.mp4`` is.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from segue.core.color import ColorManager
from segue.core.conform import conform
from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.core.media import open_clip
from segue.core.media.images import read_image
from segue.core.metrics import psnr, ssim
from segue.core.output import frame_name
from segue.core.transition import REPORT_FILE

#: PSNR of identical frames is infinite; reported as this many dB
IDENTICAL_DB = 100.0


def score(folder: str | Path, truth: str | Path, first: int = 0) -> dict:
    """Score the transition in ``folder`` against ``truth``'s frames ``first`` .. ``first + N - 1``.

    Returns ``{"frames": [{"index", "t", "psnr", "ssim", "dissolve_psnr", "dissolve_ssim"}, ...],
    "mean": {...the same four...}}``. `InputError` naming the file for a folder without a
    finished transition, a truth clip too short or of another size.
    """
    folder = Path(folder)
    try:
        report = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
        sources, output, records = report["sources"], report["output"], report["frames"]
        width, height = int(output["width"]), int(output["height"])
        files = [folder / frame_name(int(r["index"]), output["format"]) for r in records]
        if any(r["file"] != f.name for r, f in zip(records, files)):
            raise ValueError("a frame that is not one of the transition's")
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{folder}: no finished transition here ({REPORT_FILE} is missing or unreadable)") from None
    colour = ColorManager(output.get("ocio_config"))
    clip = open_clip(truth)
    if not isinstance(first, int) or isinstance(first, bool) or first < 0:
        raise InputError(f"the first true frame must be a whole number from 0, got {first!r}")
    if clip.frame_count < first + len(records):
        raise InputError(f"{truth} has {clip.frame_count} frames: the {len(records)} frames of the transition need "
                         f"frames {first} to {first + len(records) - 1} of it")
    if (clip.width, clip.height) != (width, height):
        raise InputError(f"{truth} is {clip.width}x{clip.height}, the transition {width}x{height}: give the true "
                         "frames at the transition's size")

    def working(source: dict) -> np.ndarray:
        image = open_clip(source["path"]).read_frame(int(source["frame"]))
        return conform(colour.to_working(image, source["colorspace"]), width, height, output.get("conform", "fit"))

    def shown(image: np.ndarray) -> np.ndarray:
        return to_uint8(colour.from_working(image, output["colorspace"]))

    a, b = working(sources["a"]), working(sources["b"])
    true_frames = clip.read_frames(first, len(records))
    rows = []
    for record, file, true in zip(records, files, true_frames):
        t = float(record["t"])
        frame = to_uint8(np.asarray(read_image(file).pixels, np.float32))
        true8 = shown(colour.to_working(true, clip.colorspace))
        dissolve = shown((1.0 - t) * a + t * b)
        rows.append({"index": record["index"], "t": t, "psnr": _db(psnr(frame, true8)), "ssim": ssim(frame, true8),
                     "dissolve_psnr": _db(psnr(dissolve, true8)), "dissolve_ssim": ssim(dissolve, true8)})
    keys = ("psnr", "ssim", "dissolve_psnr", "dissolve_ssim")
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys}
    return {"frames": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
            "mean": mean, "first": first}


def _db(value: float) -> float:
    return IDENTICAL_DB if math.isinf(value) else value
