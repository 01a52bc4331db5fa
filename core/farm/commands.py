"""A retime or transition spec as the options of the command that renders it.

A farm step runs ``segue farm STEP KIND`` with the options the job was given, so every
task of a template (`openjd`, `opencue`) repeats them; these functions write them out,
only those that differ from the command's defaults, in the spelling of ``segue retime``
and ``segue transition``. The paths (input, output, clips) are left to the caller: a
template makes them parameters the farm can remap.
"""
from __future__ import annotations

from dataclasses import fields

from segue.core.retime import RetimeSpec
from segue.core.transition import TransitionSpec


def _number(value: float) -> str:
    return repr(float(value))


def retime_options(spec: RetimeSpec) -> list[str]:
    """``segue retime`` options (no input or output) that give ``spec``."""
    default = RetimeSpec("", "")
    out: list[str] = []
    for name in ("fps", "factor", "slowmo"):
        if getattr(spec, name) is not None:
            out += [f"--{name}", str(getattr(spec, name))]
    for name, flag in (("codec", "--codec"), ("input_fps", "--input-fps"), ("colorspace_in", "--colorspace-in"),
                       ("colorspace_out", "--colorspace-out"), ("ocio_config", "--ocio-config")):
        if getattr(spec, name) is not None:
            out += [flag, str(getattr(spec, name))]
    if spec.model != default.model:
        out += ["--model", spec.model]
    if spec.scene_threshold != default.scene_threshold:
        out += ["--scene-threshold", _number(spec.scene_threshold)]
    if spec.dup_threshold != default.dup_threshold:
        out += ["--dup-threshold", _number(spec.dup_threshold)]
    if not spec.dedup:
        out.append("--no-dedup")
    if spec.audio != default.audio:
        out += ["--audio", spec.audio]
    if spec.overwrite:
        out.append("--overwrite")
    return out


def transition_options(spec: TransitionSpec) -> list[str]:
    """``segue transition`` options (no clips or output folder) that give ``spec``."""
    default = TransitionSpec("", "", 1, "")
    out = ["--frames", str(spec.frames)]
    for f in fields(TransitionSpec):
        name = f.name
        value = getattr(spec, name)
        if name in ("clip_a", "clip_b", "out_dir", "frames", "preview", "maps") or value == getattr(default, name):
            continue
        out += ["--" + name.replace("_", "-"), str(value)]
    if not spec.preview:
        out.append("--no-preview")
    if spec.maps:
        out.append("--maps")
    return out
