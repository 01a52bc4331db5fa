"""One use of the operator: the selection's plan, its daemon job, and the strip it adds.

The operator only routes Blender's calls here:

* ``execute`` from a script: `TransitionRun.prepare` → `TransitionRun.run_blocking` →
  `TransitionRun.finish`;
* from the UI: `prepare` → `start` (worker thread), then on each timer event `update`
  (status bar and header text, never waits), on Esc `cancel`, and `finish` once
  `done` — the same `finish` as a script's, so both add the same strip.

Refusals are raised before anything is sent, as `mapping.Refusal` or
`connection.ConnectionProblem`, with a message for ``Operator.report``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import bpy

from . import connection, job, mapping, preferences, strips


@dataclass(frozen=True)
class Outcome:
    """What the operator returns and reports: ``status`` is ``FINISHED`` or ``CANCELLED``."""

    status: str
    level: str
    message: str
    strip_name: str = ""


class TransitionRun:
    """Render and place the transition for the selected cut of one scene."""

    def __init__(self, scene: Any, plan: mapping.TransitionPlan, transition_job: job.TransitionJob,
                 add_preview: bool = False) -> None:
        self.scene_name = scene.name
        self.plan = plan
        self.job = transition_job
        self.add_preview = add_preview
        self._area: Any = None

    @classmethod
    def prepare(cls, context: Any, frames: int, placement: str, model: str, file_format: str,
                add_preview: bool = False) -> TransitionRun:
        """Read the selection, plan the transition and build (not start) its job.

        ``add_preview``: also load the daemon's ``preview.mp4`` as a muted movie strip
        above the result (see `strips.add_preview_strip`).

        Raises:
            mapping.Refusal: the selection cannot be bridged.
            connection.ConnectionProblem: the daemon may not be contacted (online access).
        """
        scene = strips.sequencer_scene(context)
        editor = scene.sequence_editor if scene is not None else None
        if editor is None:
            raise mapping.Refusal("the scene has no strips")
        selected = [strips.strip_values(s) for s in strips.selected_strips(editor)]
        a, b = mapping.pick_pair(selected)
        plan = mapping.plan_transition(a, b, frames, strips.scene_fps(scene), placement)
        # Fail now, not after the render, if there is no room above the cut.
        mapping.lowest_free_channel(strips.occupied(editor), plan.start, plan.end, plan.min_channel,
                                    strips.unavailable_channels(editor))
        settings = preferences.settings(context)
        connection.check_online_access(settings)
        out_dir = os.path.join(preferences.output_root(context), mapping.output_folder_name(plan))
        ocio = preferences.daemon_ocio_config(context) or strips.ocio_config()
        spec = plan.spec(out_dir, model=model, file_format=file_format, ocio_config=ocio)
        return cls(scene, plan, job.TransitionJob(settings, spec), add_preview)

    # -- blocking (scripts) ------------------------------------------------------------

    def run_blocking(self) -> None:
        """Render on the calling thread; returns when the job is over."""
        self.job.run()

    # -- modal (UI) --------------------------------------------------------------------

    def start(self, context: Any) -> None:
        """Start the job on its thread and show the first status line."""
        self._area = context.area if context.area is not None and context.area.type == "SEQUENCE_EDITOR" else None
        self.job.start()
        self.update(context)

    @property
    def done(self) -> bool:
        return self.job.done

    def update(self, context: Any) -> None:
        """Show the job's progress in the status bar and the sequencer's header."""
        self._show(context, self.job.progress.text())

    def cancel(self, context: Any = None) -> None:
        """Ask the daemon to stop (Esc); `done` turns true once it has."""
        self.job.cancel()
        if context is not None:
            self.update(context)

    # -- both --------------------------------------------------------------------------

    def finish(self, context: Any) -> Outcome:
        """Clear the status text and, if the render succeeded, add the strip (and its preview)."""
        self._show(context, None)
        result = self.job.result
        if result is None:
            return Outcome("CANCELLED", "ERROR", "Segue: the render has not finished")
        if result.state == job.CANCELLED:
            return Outcome("CANCELLED", "WARNING", f"Segue: {result.message}; no strip added")
        if result.state != job.SUCCEEDED:
            return Outcome("CANCELLED", "ERROR", f"Segue: {result.message}")
        folder = os.path.dirname(result.frames[0])
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None or scene.sequence_editor is None:
            return Outcome("CANCELLED", "ERROR",
                           f"Segue: the scene {self.scene_name!r} was deleted during the render; the frames are "
                           f"in {folder}")
        try:
            strip = strips.add_result_strip(scene, self.plan, result.frames, result.colorspace)
        except (mapping.Refusal, ValueError) as exc:
            return Outcome("CANCELLED", "ERROR", f"Segue: {exc}; the frames are in {folder}")
        message = (f"Segue: added {strip.name!r}, {self.plan.frames} frames from frame {strip.frame_final_start} "
                   f"on channel {strip.channel}; the frames are in {folder}")
        level = "INFO"
        if result.caution:  # the frames Segue doubts: said where the editor looks, as a warning
            message, level = f"{message}. {result.caution}", "WARNING"
        if not self.add_preview:
            return Outcome("FINISHED", level, message, strip.name)
        if "movie" not in result.previews:
            return Outcome("FINISHED", "WARNING", f"{message}. No preview strip: the daemon wrote no preview movie "
                           "(an older segue-renderd?)", strip.name)
        try:
            preview = strips.add_preview_strip(scene, self.plan, strip, result.previews["movie"], result.handles)
        except (mapping.Refusal, RuntimeError, ValueError) as exc:
            return Outcome("FINISHED", "WARNING", f"{message}. No preview strip: {exc}", strip.name)
        return Outcome("FINISHED", level, f"{message}. The preview is on channel {preview.channel}, muted: "
                       "unmute it to compare", strip.name)

    def _show(self, context: Any, text: str | None) -> None:
        workspace = getattr(context, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(text)
        area = self._area
        if area is not None:
            try:
                area.header_text_set(text)
            except ReferenceError:  # the area was closed meanwhile
                self._area = None
