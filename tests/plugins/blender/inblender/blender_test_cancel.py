"""Cancelling leaves no strip and no files; the modal path renders and places like EXEC.

Blender as a module has no event loop, so a modal operator's timer never fires here.
The modal tests therefore call the operator class's own ``modal`` with the events the
window manager would send (TIMER, Esc, mouse moves), on a stand-in for the operator
instance that holds a real `run.TransitionRun` and a real window-manager timer.
"""
from __future__ import annotations

import time
from pathlib import Path

import bpy
from blender_fixtures import (
    SAFETY,
    TAKE_A,
    TAKE_B,
    add_movie,
    cancel_on_first_frame,
    output_folders,
    select_only,
    strip_names,
)

pytest_plugins = ("blender_fixtures",)
LONG = 40  # frames: long enough (about 3 s) to cancel after the first one


def long_cut():
    """take_a and take_b meeting at frame 101, each held long enough for `LONG` frames centred."""
    a = add_movie("a", TAKE_A, 1, 89)  # content 89..100
    a.frame_offset_start = -30  # visible from 59: the first frame held for 30 frames
    b = add_movie("b", TAKE_B, 1, 101)  # content 101..112
    b.frame_offset_end = -30  # visible until 142: the last frame held
    select_only(a, b)


def test_exec_job_cancelled_on_the_daemon(addon, project):
    long_cut()
    canceller = cancel_on_first_frame(addon.client)
    assert bpy.ops.sequencer.synthesize_transition(frames=LONG) == {"CANCELLED"}
    canceller.join(SAFETY)
    assert strip_names() == {"a", "b"}
    assert output_folders(project) == []  # the partial frames were removed


class Event:
    """What ``modal`` reads of a Blender event."""

    def __init__(self, type: str, value: str = "NOTHING") -> None:
        self.type, self.value = type, value


class ModalOperator:
    """Stands in for the running operator instance the window manager would drive.

    ``modal`` is the operator class's own function, called with this object as
    ``self``: the same code path as a TIMER event or an Esc press in the UI.
    """

    def __init__(self, addon, frames: int) -> None:
        self.cls = addon.operator.SEQUENCER_OT_synthesize_transition
        self.reports: list[tuple[set, str]] = []
        self._run = addon.run.TransitionRun.prepare(bpy.context, frames, "CENTERED", "auto", "png")
        self._timer = bpy.context.window_manager.event_timer_add(0.2, window=bpy.context.window)
        self._run.start(bpy.context)

    def report(self, level, message):
        self.reports.append((level, message))

    def _stop_timer(self, context):
        self.cls._stop_timer(self, context)

    def _report(self, outcome):
        return self.cls._report(self, outcome)

    def modal(self, event: Event):
        return self.cls.modal(self, bpy.context, event)

    def until_done(self, event_type: str = "TIMER") -> set[str]:
        deadline = time.monotonic() + SAFETY
        while time.monotonic() < deadline:
            status = self.modal(Event(event_type))
            if status != {"PASS_THROUGH"}:
                return status
            time.sleep(0.05)
        raise AssertionError("the modal operator never finished")


def test_escape_cancels_the_running_job(addon, project):
    long_cut()
    op = ModalOperator(addon, LONG)
    deadline = time.monotonic() + SAFETY
    while op._run.job.progress.frames_done < 1 and time.monotonic() < deadline:
        assert op.modal(Event("TIMER")) == {"PASS_THROUGH"}  # Blender stays usable meanwhile
        time.sleep(0.05)
    assert op.modal(Event("MOUSEMOVE")) == {"PASS_THROUGH"}
    assert op.modal(Event("ESC", "PRESS")) == {"RUNNING_MODAL"}
    assert op._run.job.progress.state == "CANCELLING"
    assert op.until_done() == {"CANCELLED"}
    assert op._timer is None
    (level, message), = op.reports
    assert level == {"WARNING"} and "cancelled after" in message and "no strip added" in message
    assert strip_names() == {"a", "b"}
    assert output_folders(project) == []  # partial frames removed
    assert addon.client().get_job(op._run.job.job_id).job.state == 5  # CANCELLED on the daemon too


def test_modal_run_adds_the_strip_when_done(addon, project):
    a = add_movie("take_a", TAKE_A, 1, 1)
    b = add_movie("take_b", TAKE_B, 1, 13)
    select_only(a, b)
    op = ModalOperator(addon, 2)
    assert op.until_done() == {"FINISHED"}
    (level, message), = op.reports
    strip = bpy.context.scene.sequence_editor.strips_all["take_a → take_b"]
    assert (strip.frame_final_start, strip.frame_final_duration, strip.channel) == (12, 2, 2)
    folder = Path(bpy.path.abspath(strip.directory))
    # the demo's swinging arm ghosts: a warning names the frames to check before using them
    assert level == {"WARNING"} and message == ("Segue: added 'take_a → take_b', 2 frames from frame 12 on channel 2; "
                                                f"the frames are in {folder}. Check frames 1, 2 before using them: "
                                                "Segue is not confident in them (they may ghost or tear). Fewer "
                                                "frames, the other placement or a plain dissolve may look better.")


def test_invoke_without_a_ui_renders_synchronously(addon, project):
    # A background Blender has no event loop to drive a modal operator: INVOKE runs like EXEC.
    a = add_movie("take_a", TAKE_A, 1, 1)
    b = add_movie("take_b", TAKE_B, 1, 13)
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition("INVOKE_DEFAULT", frames=2) == {"FINISHED"}
    assert "take_a → take_b" in strip_names()


def test_cancel_before_submit_sends_nothing(addon, project):
    long_cut()
    run = addon.run.TransitionRun.prepare(bpy.context, LONG, "CENTERED", "auto", "png")
    before = len(addon.client().list_jobs().jobs)
    run.cancel()
    run.run_blocking()
    assert run.finish(bpy.context).status == "CANCELLED"
    assert len(addon.client().list_jobs().jobs) == before
    assert output_folders(project) == []
