"""The flow of one run: find the cut, check it, ask, render on the daemon, place the result.

Every refusal is raised before Resolve is changed and shown as a dialog; so is every
failure after that (with Resolve's partial work undone). Nothing reaches the user as a
traceback; ``SEGUE_DEBUG=1`` prints one to Resolve's console for bug reports.

Cancelling keeps the timeline and the media pool as they were. The frames the daemon
finished stay in the output folder: the same request maps to the same folder, so running
it again resumes them.
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from typing import Any

from . import mapping
from .daemon import Daemon, job_progress
from .dialogs import Choices, make_dialogs
from .errors import Refusal
from .host import find_host, prepare_client_imports
from .resolve_timeline import (
    PlacementError,
    clip_source,
    current_timeline,
    import_frames,
    place,
    preferred_tracks,
    read_view,
)
from .settings import load
from .timecode import from_frames, to_frames

PLACED, REFUSED, CANCELLED, FAILED = "placed", "refused", "cancelled", "failed"


def main(script_globals: Mapping[str, Any], lib_dir: str | None) -> str:
    """Run once against the Resolve in ``script_globals``; returns the outcome."""
    host = find_host(script_globals)
    dialogs = make_dialogs(host.fusion, host.bmd)
    try:
        if host.resolve is None:
            raise Refusal("Resolve not found", "Segue could not reach Resolve's scripting API. Run it from "
                          "Workspace > Scripts > Edit, or enable external scripting in Resolve's preferences.")
        return Flow(host.resolve, dialogs, lib_dir).run()
    except Refusal as refusal:
        print(f"Segue: {refusal.title}: {refusal.message}")
        dialogs.message(refusal.title, refusal.message)
        return REFUSED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a dialog, not a traceback
        if os.environ.get("SEGUE_DEBUG"):
            traceback.print_exc()
        dialogs.message("Internal error", f"{type(exc).__name__}: {exc} (set SEGUE_DEBUG=1 and run again "
                        "for details in Workspace > Console)")
        return FAILED


class Flow:
    """One run: the steps in order, each refusing with a clear message."""

    def __init__(self, resolve: Any, dialogs: Any, lib_dir: str | None) -> None:
        self.resolve = resolve
        self.dialogs = dialogs
        self.lib_dir = lib_dir

    def run(self) -> str:
        project, timeline = current_timeline(self.resolve)
        view = read_view(timeline)
        order = mapping.track_order(preferred_tracks(view), view.enabled)
        cut = mapping.find_cut(view.spans, order, view.playhead)
        if cut is None:
            raise Refusal("No cut at the playhead",
                          f"No two clips meet at a cut next to the playhead ({view.playhead_timecode}) on an "
                          "enabled video track. Park the playhead on the last frame of clip A or the first "
                          "frame of clip B and run Segue again.")
        a = clip_source(view.items[cut.track][cut.a], "A")
        b = clip_source(view.items[cut.track][cut.b], "B")
        mapping.check_rates(a, b, view.rate)

        try:
            settings = load(self.lib_dir)
        except ValueError as exc:
            raise Refusal("Segue settings", str(exc)) from None
        problem = prepare_client_imports(self.lib_dir)
        if problem:
            raise Refusal("Segue client", problem)
        daemon = Daemon(settings)
        try:
            return self._render_and_place(project, view, cut, a, b, daemon, settings)
        finally:
            daemon.close()

    def _render_and_place(self, project: Any, view: Any, cut: mapping.Cut, a: mapping.ClipSource,
                          b: mapping.ClipSource, daemon: Daemon, settings: Any) -> str:
        caps = daemon.capabilities()
        options = self.dialogs.ask_options(self._choices(view, cut, a, b, caps))
        if options is None:
            return CANCELLED
        plan = mapping.plan_transition(a, b, cut.frame, options.frames, options.placement)
        fields = mapping.transition_fields(a, b, plan, options.model, options.format)
        out_dir = mapping.output_folder(settings.output_root or mapping.default_output_root(a), a, b, fields)
        job = daemon.submit(dict(fields, out_dir=out_dir))

        final, cancelled = self.dialogs.progress(
            "Rendering the transition",
            work=lambda report: daemon.watch(job.job_id, lambda j: report(job_progress(j))),
            cancel=lambda: daemon.cancel(job.job_id))
        if cancelled:  # even if the job finished meanwhile: the user asked for nothing to change
            print(f"Segue: cancelled; finished frames stay in {out_dir} (running the same request resumes them)")
            return CANCELLED
        if daemon.is_cancelled(final):
            raise Refusal("Render cancelled",
                          f"The job was cancelled on the daemon; finished frames stay in {out_dir}.")
        if not daemon.is_succeeded(final):
            raise Refusal("Render failed", daemon.failure_message(final))
        frames = daemon.frame_paths(job.job_id)
        if len(frames) != plan.frames:
            raise Refusal("Render failed", f"The daemon reports {len(frames)} frames for {plan.frames} asked.")

        media_pool = project.GetMediaPool()
        # the daemon's own paths (it may have resolved symlinks in the output folder)
        pattern = mapping.frames_pattern(os.path.dirname(frames[0]), options.format)
        try:
            imported = import_frames(media_pool, pattern, plan.frames, mapping.result_name(a, b))
            try:
                track, _ = place(media_pool, view, cut.track, imported, plan)
            except PlacementError:
                imported.undo(media_pool)
                raise
        except PlacementError as exc:
            raise Refusal("Could not place the transition", f"{exc} The frames are in {out_dir}.") from None
        print(f"Segue: {plan.frames} frames on V{track} from {_timecode(view, plan.record_start)} ({out_dir})")
        return PLACED

    def _choices(self, view: Any, cut: mapping.Cut, a: mapping.ClipSource, b: mapping.ClipSource,
                 caps: Any) -> Choices:
        limits = {p: min(mapping.max_frames(a, b, p), int(caps.max_frames) or 10_000) for p in mapping.PLACEMENTS}
        placement = mapping.CENTERED if limits[mapping.CENTERED] >= 1 else mapping.BRIDGE
        models = list(caps.models) or ["auto"]
        formats = list(caps.formats) or ["png"]
        cut_timecode = _timecode(view, cut.frame)
        summary = (f"Cut at {cut_timecode} on V{cut.track}: A \"{a.name}\" into B \"{b.name}\". "
                   f"The transition goes on the track above; daemon: {caps.default_model or 'auto'} model.")
        return Choices(summary=summary, frames=min(mapping.DEFAULT_FRAMES, limits[placement]), limits=limits,
                       placement=placement, models=models, model="auto" if "auto" in models else models[0],
                       formats=formats, format="png" if "png" in formats else formats[0])


def _timecode(view: Any, frame: int) -> str:
    """The timeline timecode of record frame ``frame`` (counted from the playhead's timecode)."""
    return from_frames(max(0, to_frames(view.playhead_timecode, view.rate) + frame - view.playhead), view.rate)
