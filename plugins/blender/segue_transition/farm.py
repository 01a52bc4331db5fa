"""Send the selected cuts to a render farm: one job bundle, and placeholder strips.

The operator ``sequencer.send_transitions_to_farm`` routes here: `FarmSend.prepare`
plans every selected cut (`mapping.pick_cuts`, `mapping.plan_transition`) before
anything is sent; `FarmSend.send` asks the daemon to write the Open Job Description job
bundle (``WriteFarmBundle``: template, parameters and a README of how to submit it)
into the folder the editor picked; `FarmSend.place` then adds one image strip per cut
pointing at the frames the farm will write there. Until the farm has rendered them the
strips show Blender's missing-media placeholder, as strips of a render-farm job do;
once the frames exist, Sequencer > View > Refresh All shows them.

Each cut's frames go in their own folder inside the bundle folder, which the farm's
workers must reach (shared storage), as the README says.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import bpy

from . import connection, job, mapping, preferences, strips


@dataclass
class FarmSend:
    """The selected cuts of one scene, planned, and where their job goes."""

    scene_name: str
    plans: list[mapping.TransitionPlan]
    specs: list[dict]
    bundle_dir: str

    @classmethod
    def prepare(cls, context: Any, frames: int, placement: str, model: str, file_format: str,
                bundle_dir: str) -> FarmSend:
        """Plan every selected cut; nothing is sent or changed yet.

        Raises:
            mapping.Refusal: the selection has no cut to send, or a cut cannot be bridged.
            connection.ConnectionProblem: the daemon may not be contacted (online access).
        """
        scene = strips.sequencer_scene(context)
        editor = scene.sequence_editor if scene is not None else None
        if editor is None:
            raise mapping.Refusal("the scene has no strips")
        if not bundle_dir.strip():
            raise mapping.Refusal("choose the folder for the farm job (on storage the farm's workers can reach)")
        bundle_dir = os.path.normpath(bpy.path.abspath(bundle_dir))
        if not os.path.isabs(bundle_dir) or bundle_dir.startswith("//"):
            raise mapping.Refusal("save the .blend first, or choose an absolute folder for the farm job")
        fps = strips.scene_fps(scene)
        selected = [strips.strip_values(s) for s in strips.selected_strips(editor)]
        plans = [mapping.plan_transition(a, b, frames, fps, placement) for a, b in mapping.pick_cuts(selected)]
        settings = preferences.settings(context)
        connection.check_online_access(settings)
        ocio = preferences.daemon_ocio_config(context) or strips.ocio_config()
        specs = [plan.spec(os.path.join(bundle_dir, mapping.output_folder_name(plan)), model=model,
                           file_format=file_format, ocio_config=ocio) for plan in plans]
        return cls(scene.name, plans, specs, bundle_dir)

    def send(self, settings: connection.Settings, chunks: int, name: str = "") -> Any:
        """Have the daemon write the job bundle; its answer (files, and each cut's future frames).

        Raises:
            connection.ConnectionProblem: no daemon answers (and none could be started).
            mapping.Refusal: the daemon refused the job (the message says why, naming the cut).
        """
        try:
            return connection.connect(settings).write_farm_bundle(self.specs, chunks, self.bundle_dir, name)
        except connection.client_module().RenderError as exc:
            raise mapping.Refusal(self._describe(exc, settings.address)) from None

    def place(self, answer: Any) -> list[Any]:
        """Add one placeholder strip per cut, at the frames the farm will write; all selected."""
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None or scene.sequence_editor is None:
            raise mapping.Refusal(f"the scene {self.scene_name!r} was deleted meanwhile; the farm job is in "
                                  f"{self.bundle_dir}")
        added = [strips.add_result_strip(scene, plan, list(cut.frame_paths), cut.colorspace)
                 for plan, cut in zip(self.plans, answer.cuts)]
        for strip in added:
            strip.select = True
        return added

    def _describe(self, error: Any, address: str) -> str:
        """A refusal naming the cut by its strips (the daemon names it ``cuts[K]``)."""
        message = job.describe_error(error, address, what="the farm job")
        k = error.cut
        return f"cut {self.plans[k].name!r}: {message}" if k is not None and k < len(self.plans) else message
