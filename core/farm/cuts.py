"""Many transitions as one farm job: a documentary's jump cuts, an editor's selected cuts.

`write_cuts_bundle` writes the Open Job Description bundle of a list of `TransitionSpec`s
(`openjd.cuts_template`): ``segue farm openjd cuts`` and the render daemon's
``WriteFarmBundle`` (the Blender and Resolve integrations) both call it. `check_cuts`
holds the cuts to what one template can carry; the bundle's answer includes each cut's
`PlannedOutput` (the files it will write, their colourspace), so an editor can put
placeholder strips on its timeline before anything is rendered.

A cut's clips, output folder, frame numbers and colourspaces are its own (task
parameters); everything else is shared by the job, so the cuts must agree on it.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from segue.core.color import ColorManager
from segue.core.errors import InputError
from segue.core.farm import commands, openjd
from segue.core.farm.chunks import split
from segue.core.transition import PlannedOutput, TransitionSpec, planned_output

#: an Open Job Description task parameter lists at most 1024 values: one per cut
MAX_CUTS = 1024
#: longest text of one task parameter value (a path) the specification allows
MAX_VALUE = 1024
#: what every cut of one job shares (the template's options)
SHARED = ("model", "format", "colorspace_out", "ocio_config", "conform", "preview", "maps", "movie")


def check_cuts(specs: list[TransitionSpec]) -> None:
    """Refuse cuts one job cannot render: too many, options that differ, a shared output
    folder, values a template cannot hold. `InputError` says ``cut K: ...``; its field
    is ``cuts[K-1].NAME``."""
    if not 1 <= len(specs) <= MAX_CUTS:
        raise InputError(f"give 1 to {MAX_CUTS} cuts per job (got {len(specs)}); split them into several jobs",
                         field="cuts")
    first = specs[0]
    seen: dict[str, int] = {}
    for k, spec in enumerate(specs, start=1):
        for name in SHARED:
            if getattr(spec, name) != getattr(first, name):
                raise InputError(f"cut {k}: {name} {getattr(spec, name)!r} differs from cut 1's "
                                 f"{getattr(first, name)!r}: one job renders every cut with the same {name}",
                                 field=f"cuts[{k - 1}].{name}")
        for name in ("clip_a", "clip_b", "out_dir", "colorspace_a", "colorspace_b"):
            value = getattr(spec, name) or ""
            openjd.check_template_text(f"cut {k}: {name}", value, f"cuts[{k - 1}].{name}")
            if len(os.path.abspath(value) if name in ("clip_a", "clip_b", "out_dir") else value) > MAX_VALUE:
                raise InputError(f"cut {k}: {name} is longer than the {MAX_VALUE} characters a job template "
                                 "allows", field=f"cuts[{k - 1}].{name}")
        folder = os.path.realpath(spec.out_dir)
        if folder in seen:
            raise InputError(f"cut {k}: cuts {seen[folder]} and {k} both write to {folder}: give each its own "
                             "output folder", field=f"cuts[{k - 1}].out_dir")
        seen[folder] = k


def write_cuts_bundle(specs: list[TransitionSpec], chunks: int, bundle: str,
                      name: str | None = None) -> tuple[list[Path], list[PlannedOutput]]:
    """Write the job bundle that renders every cut in ``chunks`` chunks into the folder ``bundle``.

    Returns the bundle's files and each cut's `PlannedOutput`, in the cuts' order.
    `InputError` for anything `check_cuts` refuses, a clip that does not open, or a
    bundle folder that cannot be written (`openjd.write_bundle`).
    """
    split(1, chunks)  # refuse a count no plan would take
    check_cuts(specs)
    colour = ColorManager(specs[0].ocio_config)
    planned = []
    for k, spec in enumerate(specs, start=1):
        try:
            planned.append(planned_output(spec, colour))
        except InputError as exc:
            raise InputError(f"cut {k}: {exc}", field=f"cuts[{k - 1}].{exc.field}" if exc.field else None) from None
    largest = max(planned, key=lambda p: p.width * p.height)
    own_colourspaces = any(s.colorspace_a != specs[0].colorspace_a or s.colorspace_b != specs[0].colorspace_b
                           for s in specs)
    cuts = []
    for spec in specs:
        cut = {"clip_a": os.path.abspath(spec.clip_a), "clip_b": os.path.abspath(spec.clip_b),
               "out_dir": os.path.abspath(spec.out_dir), "frames": spec.frames, "a_out": spec.a_out,
               "b_in": spec.b_in}
        if own_colourspaces:  # "": the clip's own default, as when the option is not given
            cut.update(colorspace_a=spec.colorspace_a or "", colorspace_b=spec.colorspace_b or "")
        cuts.append(cut)
    # what the cuts share: their options but a cut's own (--frames N, --a-out, --b-in, colourspaces)
    shared = replace(specs[0], a_out=-1, b_in=0, **({"colorspace_a": None, "colorspace_b": None}
                                                     if own_colourspaces else {}))
    template = openjd.cuts_template(name or f"Segue {len(specs)} transitions", cuts,
                                    commands.transition_options(shared)[2:], chunks, largest.width, largest.height)
    return openjd.write_bundle(bundle, template, {"Chunks": chunks}), planned
