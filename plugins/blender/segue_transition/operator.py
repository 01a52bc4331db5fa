"""``sequencer.synthesize_transition``, its contact-sheet companion and their menu entries.

Thin glue to `run`. From a script (``bpy.ops.sequencer.synthesize_transition(frames=8)``,
EXEC) the render runs synchronously and the call returns ``{'FINISHED'}`` with the strip
added. From the Strip menu (INVOKE) a dialog asks for the settings, then the render runs
modally: a timer updates the status bar, Esc cancels the daemon's job, and Blender stays
usable. ``sequencer.open_transition_contact_sheet`` opens the contact sheet of the active
Segue strip in the system's image viewer. ``sequencer.send_transitions_to_farm`` writes a
render-farm job for every selected cut and adds placeholder strips (`farm`).

Wording: every report says what happened and what to do in plain words; technical
detail (a daemon's status, a model's technical name) comes last or in a tooltip.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from . import connection, mapping, preferences, strips
from .farm import FarmSend
from .run import Outcome, TransitionRun

FALLBACK_MODELS = ("auto", "classic")
FALLBACK_FORMATS = ("png", "exr", "tiff")
FORMAT_DESCRIPTIONS = {
    "png": "PNG files, 8 or 16 bits like the clips: right for most edits",
    "exr": "OpenEXR files, float and scene-linear: for a float or ACES pipeline",
    "tiff": "TIFF files, 8 or 16 bits like the clips (float for float clips)",
}
PLACEMENTS = ((mapping.CENTERED, "Centred on the Cut",
               "Over the end of A and the start of B, like Morph Cut: from A's frame before the new frames to B's "
               "frame after them"),
              (mapping.BRIDGE, "Bridge Last and First Frames",
               "From A's last to B's first visible frame; the strip starts at the cut, over the start of B"))
TIMER_SECONDS = 0.2
T = TypeVar("T")
# Blender reads dynamic enum strings after the callback returns: keep them referenced.
_items_alive: dict[str, list[tuple[str, str, str]]] = {}


def _capabilities(context: Any) -> Any:
    try:
        return connection.cached_capabilities(preferences.settings(context or bpy.context), fetch_if_missing=True)
    except Exception:  # noqa: BLE001 - an enum callback must never raise
        return None


def _attempt(operator: Any, work: Callable[[], T]) -> T | None:
    """``work()``, or None when it refused (the reason reported on ``operator``) or failed (a bug:
    the editor gets a message, the console the traceback)."""
    try:
        return work()
    except (mapping.Refusal, connection.ConnectionProblem) as exc:
        operator.report({"ERROR"}, f"Segue: {exc}")
    except Exception as exc:  # noqa: BLE001 - whatever it is, it reaches the editor as a message
        traceback.print_exc()
        operator.report({"ERROR"}, f"Segue: something went wrong inside the add-on; the console has the details "
                                   f"for a bug report ({type(exc).__name__}: {exc})")
    return None


def _model_items(_self: Any, context: Any) -> list[tuple[str, str, str]]:
    caps = _capabilities(context)
    names = list(caps.models) if caps is not None and caps.models else list(FALLBACK_MODELS)
    names = ["auto"] + [n for n in names if n != "auto"]  # 'auto' first: index 0 is the default
    # identifier: the daemon's technical name; shown: words; tooltip: what it does, with the name
    client = connection.client_module()
    items = [(n, label, client.model_description(n)) for n, label in zip(names, client.model_labels(names))]
    _items_alive["model"] = items
    return items


def _format_items(_self: Any, context: Any) -> list[tuple[str, str, str]]:
    caps = _capabilities(context)
    names = list(caps.formats) if caps is not None and caps.formats else list(FALLBACK_FORMATS)
    names = sorted(names, key=lambda n: n != "png")  # PNG first: the default
    items = [(n, n.upper(), FORMAT_DESCRIPTIONS.get(n, f"Write the frames as {n.upper()} files")) for n in names]
    _items_alive["format"] = items
    return items


class SEQUENCER_OT_synthesize_transition(bpy.types.Operator):
    """Render in-between frames that bridge the cut between the two selected strips (Segue)"""

    bl_idname = "sequencer.synthesize_transition"
    bl_label = "Synthesize Transition"
    # UNDO: adding the strip is one undo step. No REGISTER: "Adjust Last Operation" would
    # re-run the render synchronously and freeze the UI.
    bl_options = {"UNDO"}  # noqa: RUF012 - Blender's class convention

    frames: IntProperty(name="Frames", description="How many new frames to make between the two clips",
                        default=8, min=1, soft_max=48)
    placement: EnumProperty(name="Placement", default=mapping.CENTERED, items=PLACEMENTS)
    model: EnumProperty(name="Model", description="How the new frames are made", items=_model_items)
    file_format: EnumProperty(name="Format", description="File type of the new frames", items=_format_items)
    add_preview: BoolProperty(
        name="Add Preview Strip", default=False,
        description="Also load the daemon's preview movie (a few frames of A, the new frames, a few of B) as a "
                    "muted movie strip above the result, to compare")

    @classmethod
    def poll(cls, context: Any) -> bool:
        scene = strips.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            cls.poll_message_set("The scene has no sequencer strips")
            return False
        return True

    def invoke(self, context: Any, event: Any) -> set[str]:
        self._interactive = True
        return context.window_manager.invoke_props_dialog(self, confirm_text="Synthesize")

    def execute(self, context: Any) -> set[str]:
        run = _attempt(self, lambda: TransitionRun.prepare(context, self.frames, self.placement, self.model,
                                                           self.file_format, self.add_preview))
        if run is None:
            return {"CANCELLED"}
        # Modal only from the UI: a background Blender has no event loop to drive the timer.
        if getattr(self, "_interactive", False) and context.window is not None and not bpy.app.background:
            return self._start_modal(context, run)
        run.run_blocking()
        return self._report(run.finish(context))

    # -- modal -------------------------------------------------------------------------

    def _start_modal(self, context: Any, run: TransitionRun) -> set[str]:
        self._run = run
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_SECONDS, window=context.window)
        wm.modal_handler_add(self)
        run.start(context)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type == "ESC" and event.value == "PRESS":
            self._run.cancel(context)
            return {"RUNNING_MODAL"}
        if event.type == "TIMER":  # ours, or any other: polling more often costs nothing
            if not self._run.done:
                self._run.update(context)
                return {"PASS_THROUGH"}
            self._stop_timer(context)
            return self._report(self._run.finish(context))
        return {"PASS_THROUGH"}  # the rest of Blender stays usable while the daemon renders

    def cancel(self, context: Any) -> None:
        # Blender frees the handler (file loaded, window closed): stop the daemon's job too.
        self._run.cancel()
        self._stop_timer(context)
        self._run.finish(context)

    def _stop_timer(self, context: Any) -> None:
        if getattr(self, "_timer", None) is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def _report(self, outcome: Outcome) -> set[str]:
        self.report({outcome.level}, outcome.message)
        return {outcome.status}


class SEQUENCER_OT_send_transitions_to_farm(bpy.types.Operator):
    """Write a render-farm job for every selected cut, and add strips where its frames will land (Segue)"""

    bl_idname = "sequencer.send_transitions_to_farm"
    bl_label = "Send Transitions to Render Farm"
    bl_options = {"UNDO"}  # noqa: RUF012 - Blender's class convention

    directory: StringProperty(
        name="Job Folder", subtype="DIR_PATH",
        description="Where the farm job (template, parameters, README) and the cuts' frames go: a folder the "
                    "farm's workers can reach")
    frames: IntProperty(name="Frames", description="How many new frames to make at each cut", default=8, min=1,
                        soft_max=48)
    placement: EnumProperty(name="Placement", default=mapping.CENTERED, items=PLACEMENTS)
    model: EnumProperty(name="Model", description="How the new frames are made", items=_model_items)
    file_format: EnumProperty(name="Format", description="File type of the new frames", items=_format_items)
    chunks: IntProperty(name="Tasks per Cut", default=1, min=1, soft_max=16,
                        description="Render tasks each cut's frames are split into (more: more workers on one cut)")
    job_name: StringProperty(name="Job Name", default="",
                             description="The job's name on the farm (empty: Segue N transitions)")

    @classmethod
    def poll(cls, context: Any) -> bool:
        return SEQUENCER_OT_synthesize_transition.poll(context)

    def invoke(self, context: Any, event: Any) -> set[str]:
        context.window_manager.fileselect_add(self)  # the folder, with the settings beside it
        return {"RUNNING_MODAL"}

    def execute(self, context: Any) -> set[str]:
        send = _attempt(self, lambda: FarmSend.prepare(context, self.frames, self.placement, self.model,
                                                       self.file_format, self.directory))
        if send is None:
            return {"CANCELLED"}
        answer = _attempt(self, lambda: send.send(preferences.settings(context), self.chunks, self.job_name.strip()))
        added = None if answer is None else _attempt(self, lambda: send.place(answer))
        if added is None:
            return {"CANCELLED"}
        readme = next((f for f in answer.files if os.path.basename(f) == "README.md"), send.bundle_dir)
        self.report({"INFO"}, f"Segue: wrote the farm job for {len(added)} cut(s) to {send.bundle_dir}; {readme} "
                              "says how to submit it. The new strips show the frames once the farm has rendered "
                              "them (View > Refresh All)")
        return {"FINISHED"}


class SEQUENCER_OT_open_transition_contact_sheet(bpy.types.Operator):
    """Open the contact sheet of the active Segue strip: A's frame, the new frames with their confidence, B's frame"""

    bl_idname = "sequencer.open_transition_contact_sheet"
    bl_label = "Open Transition Contact Sheet"

    @classmethod
    def poll(cls, context: Any) -> bool:
        scene = strips.sequencer_scene(context)
        editor = scene.sequence_editor if scene is not None else None
        if editor is None or not strips.transition_folder(editor.active_strip):
            cls.poll_message_set("Make a strip that Segue added (or its preview) the active strip")
            return False
        return True

    def execute(self, context: Any) -> set[str]:
        strip = strips.sequencer_scene(context).sequence_editor.active_strip
        sheet = strips.contact_sheet(strip)
        if not sheet:
            self.report({"ERROR"}, f"Segue: {strip.name!r} has no contact sheet: the daemon wrote none (an older "
                                   "segue-renderd?); synthesize the transition again to get one")
            return {"CANCELLED"}
        if bpy.app.background:  # no desktop to show it on: say where it is
            self.report({"INFO"}, f"Segue: the contact sheet is {sheet}")
            return {"FINISHED"}
        bpy.ops.wm.path_open(filepath=sheet)  # the system's image viewer, outside Blender's data
        self.report({"INFO"}, f"Segue: opened the contact sheet {sheet}")
        return {"FINISHED"}


class SEGUE_OT_check_daemon(bpy.types.Operator):
    """Ask Segue's render daemon for its version and models (starts a local one if allowed)"""

    bl_idname = "segue.check_daemon"
    bl_label = "Check Connection"

    def execute(self, context: Any) -> set[str]:
        settings = preferences.settings(context)
        try:
            connection.connect(settings)
            caps = connection.capabilities(settings)
        except Exception as exc:  # noqa: BLE001 - shown to the user, whatever it is
            self.report({"ERROR"}, f"Segue: {exc}")
            return {"CANCELLED"}
        names = ["auto"] + [n for n in caps.models if n != "auto"]
        self.report({"INFO"}, f"Segue: connected to the render daemon at {settings.address} (segue-renderd "
                              f"{caps.version}); models: {', '.join(connection.client_module().model_labels(names))}; "
                              f"{caps.workers} worker(s)")
        return {"FINISHED"}


def menu_draw(menu: Any, context: Any) -> None:
    """The menu entries, in the Strip menu and the strip context menu."""
    if getattr(context.space_data, "view_type", "SEQUENCER") == "PREVIEW":
        return  # the preview's context menu is about images, not cuts
    layout = menu.layout
    layout.separator()
    layout.operator_context = "INVOKE_DEFAULT"
    layout.operator(SEQUENCER_OT_synthesize_transition.bl_idname, text="Synthesize Transition",
                    icon="RENDER_ANIMATION")
    layout.operator(SEQUENCER_OT_send_transitions_to_farm.bl_idname, text="Send Transitions to Render Farm…",
                    icon="NETWORK_DRIVE")
    layout.operator(SEQUENCER_OT_open_transition_contact_sheet.bl_idname, text="Open Transition Contact Sheet",
                    icon="IMAGE_DATA")
