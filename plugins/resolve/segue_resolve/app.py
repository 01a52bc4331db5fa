"""The flow of one run: find the cut, check it, ask, render on the daemon, place the result.

Every refusal is raised before Resolve is changed and shown as a dialog; so is every
failure after that (with Resolve's partial work undone). Nothing reaches the user as a
traceback; ``SEGUE_DEBUG=1`` prints one to Resolve's console for bug reports. A success
ends with a window that says where the clip went (track, timecodes) and where the frames
are: editors rarely open the Console, so the Console only repeats it.

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
from .daemon import Daemon, client_module, job_progress, open_daemon
from .dialogs import Choices, Done, make_dialogs
from .errors import Refusal
from .host import find_host, optional
from .resolve_timeline import (
    BIN_NAME,
    PlacementError,
    clip_source,
    current_timeline,
    import_and_place,
    import_previews,
    preferred_tracks,
    read_view,
    timecode_at,
)
from .settings import Settings, default_render_root

PLACED, REFUSED, CANCELLED, FAILED = "placed", "refused", "cancelled", "failed"
#: the preview movies of transition.json's "previews" that go into the bin (not the contact sheet)
PREVIEW_KEYS = ("movie", "dissolve")


def main(script_globals: Mapping[str, Any], lib_dir: str | None, flow: type[Run] | None = None) -> str:
    """Run ``flow`` (default: `Flow`, one transition) once against the Resolve in
    ``script_globals``; returns the outcome."""
    host = find_host(script_globals)
    dialogs = make_dialogs(host.fusion, host.bmd)
    try:
        if host.resolve is None:
            raise Refusal("Resolve not found", "Segue could not reach Resolve's scripting API. Run it from "
                          "Workspace > Scripts > Edit, or enable external scripting in Resolve's preferences.")
        return (flow or Flow)(host.resolve, dialogs, lib_dir).run()
    except Refusal as refusal:
        print(f"Segue: {refusal}")
        dialogs.message(refusal.title, refusal.message, refusal.detail)
        return REFUSED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a dialog, not a traceback
        if os.environ.get("SEGUE_DEBUG"):
            traceback.print_exc()
        dialogs.message("Internal error", "Something went wrong inside Segue; Resolve was left as it was. "
                        "To report it, set SEGUE_DEBUG=1, run the script again and copy what Workspace > Console "
                        "shows.", f"{type(exc).__name__}: {exc}")
        return FAILED


class Run:
    """One run of a menu item: Resolve, the dialogs, and the install folder (settings)."""

    def __init__(self, resolve: Any, dialogs: Any, lib_dir: str | None) -> None:
        self.resolve = resolve
        self.dialogs = dialogs
        self.lib_dir = lib_dir

    def run(self) -> str:
        """Do it; returns the outcome, or raises `Refusal`."""
        raise NotImplementedError


class Flow(Run):
    """Synthesize Transition: the steps in order, each refusing with a clear message."""

    def run(self) -> str:
        """Find the cut, check it, ask, render and place; returns the outcome, or raises `Refusal`."""
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

        settings, daemon = open_daemon(self.lib_dir)
        try:
            return self._render_and_place(project, view, cut, a, b, daemon, settings)
        finally:
            daemon.close()

    def _render_and_place(self, project: Any, view: Any, cut: mapping.Cut, a: mapping.ClipSource,
                          b: mapping.ClipSource, daemon: Daemon, settings: Settings) -> str:
        caps = daemon.capabilities()
        root = mapping.output_root(a, optional(project, "GetName") or "", settings.output_root or default_render_root(),
                                   settings.output_beside_media)
        options = self.dialogs.ask_options(self._choices(view, cut, a, b, caps, root))
        if options is None:
            return CANCELLED
        plan = mapping.plan_transition(a, b, cut.frame, options.frames, options.placement)
        fields = mapping.transition_fields(a, b, plan, options.model, options.format)
        out_dir = mapping.output_folder(root, a, b, fields)
        job = daemon.submit(dict(fields, out_dir=out_dir))

        final, cancelled = self.dialogs.progress(
            "Rendering the transition",
            work=lambda report: daemon.watch(job.job_id, lambda j: report(job_progress(j))),
            cancel=lambda: daemon.cancel(job.job_id))
        if cancelled:  # even if the job finished meanwhile: the user asked for nothing to change
            print(f"Segue: cancelled; finished frames stay in {out_dir} (running the same request resumes them)")
            return CANCELLED
        if daemon.is_cancelled(final):
            raise Refusal("Render cancelled", f"The job was cancelled on the daemon (by another client or its "
                          f"operator). Finished frames stay in {out_dir}; run the script again to resume.")
        if not daemon.is_succeeded(final):
            raise Refusal("Render failed", *daemon.failure_message(final))
        frames, report = daemon.result(job.job_id)
        if len(frames) != plan.frames:
            raise Refusal("Render failed", f"The daemon reports {len(frames)} frames for the {plan.frames} asked. "
                          "Run the script again.")

        media_pool = project.GetMediaPool()
        # the daemon's own paths (it may have resolved symlinks in the output folder)
        folder = os.path.dirname(frames[0])
        pattern = mapping.frames_pattern(folder, options.format)
        name = mapping.result_name(a, b)
        try:
            track = import_and_place(media_pool, view, cut.track, pattern, name, plan)
        except PlacementError as exc:
            raise Refusal("Could not place the transition", f"Resolve did not take the frames; the timeline is "
                          f"as it was. The frames are in {folder}.", str(exc)) from None
        lines = self._placed_lines(view, cut, plan, track, name)
        caution = client_module().low_confidence_warning(report)
        if caution:
            lines.append(caution)
        if options.previews:
            lines.append(self._previews(media_pool, folder, report))
        elif isinstance(report.get("previews"), dict):  # said only when the daemon wrote them
            lines.append("The folder also holds a contact sheet and two preview movies (Segue's frames and a "
                         "plain dissolve).")
        for line in lines:
            print(f"Segue: {line}")
        print(f"Segue: frames in {folder}")
        self.dialogs.done(Done("Transition placed", lines, folder))
        return PLACED

    def _placed_lines(self, view: Any, cut: mapping.Cut, plan: mapping.Plan, track: int, name: str) -> list[str]:
        """Where the clip went, in the editor's terms: track, timecodes, placement, bin."""
        how = ("centred on the cut at" if plan.placement == mapping.CENTERED else "starting at the cut at")
        return [f"{plan.frames} frames on track V{track}, from {timecode_at(view, plan.record_start)} to "
                f"{timecode_at(view, plan.record_end - 1)} ({how} {timecode_at(view, cut.frame)} on V{cut.track}).",
                f"Media pool: \"{name}\" in the {BIN_NAME} bin."]

    def _previews(self, media_pool: Any, folder: str, report: dict[str, Any]) -> str:
        """Import the preview movies into the Segue bin; one line on how that went (never fatal)."""
        listed = report.get("previews")
        if not isinstance(listed, dict):
            return ("No previews to import: the daemon wrote none (an older segue-renderd, or previews turned "
                    "off).")
        paths = [os.path.join(folder, str(listed[key])) for key in PREVIEW_KEYS if listed.get(key)]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing or not paths:
            return (f"Previews not imported: {', '.join(os.path.basename(p) for p in missing) or 'none listed'} "
                    "cannot be read from here (Resolve and the daemon must see the same folders).")
        try:
            imported, present = import_previews(media_pool, paths)
        except PlacementError as exc:
            return f"Previews not imported: {exc}"
        names = ", ".join(os.path.basename(p) for p in imported + present)
        if imported:
            return f"Previews in the {BIN_NAME} bin (not on the timeline): {names}."
        return f"Previews already in the {BIN_NAME} bin: {names}."

    def _choices(self, view: Any, cut: mapping.Cut, a: mapping.ClipSource, b: mapping.ClipSource,
                 caps: Any, root: str) -> Choices:
        summary = (f"Cut at {timecode_at(view, cut.frame)} on V{cut.track}: A \"{a.name}\" into B \"{b.name}\". "
                   "The new frames go on the track above.")
        return choices(caps, summary, [(a, b)], root)


def choices(caps: Any, summary: str, pairs: list[tuple[mapping.ClipSource, mapping.ClipSource]], folder: str,
            chunks: int | None = None) -> Choices:
    """The options dialog's offer for these cuts (``(A, B)`` each): the frame limits every cut
    allows, the daemon's models and formats; ``chunks`` set: a render-farm job's."""
    limits = {p: min([mapping.max_frames(a, b, p) for a, b in pairs] + [int(caps.max_frames) or 10_000])
              for p in mapping.PLACEMENTS}
    placement = mapping.CENTERED if limits[mapping.CENTERED] >= 1 else mapping.BRIDGE
    client = client_module()
    names = list(caps.models) or [client.AUTO_MODEL]
    formats = list(caps.formats) or ["png"]
    return Choices(summary=summary, frames=min(mapping.DEFAULT_FRAMES, limits[placement]), limits=limits,
                   placement=placement, models=names,
                   model=client.AUTO_MODEL if client.AUTO_MODEL in names else names[0],
                   formats=formats, format="png" if "png" in formats else formats[0],
                   model_labels=client.model_labels(names), model_tips=[client.model_description(n) for n in names],
                   render_folder=folder, previews=False, chunks=chunks)


