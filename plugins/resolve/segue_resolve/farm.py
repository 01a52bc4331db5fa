"""The render-farm flows: send the marked cuts as one farm job; later, import what it rendered.

* **Send** (Workspace > Scripts > Segue Send Cuts to Render Farm): every cut with a
  timeline marker on it (`farm_marks.marked_cuts`) is checked like a single cut, the
  options are asked once for all of them, and the daemon writes the Open Job Description
  job (``WriteFarmBundle``: template, parameters and a README of how to submit it) into a
  new job folder. Each cut's marker then carries a `farm_marks.FarmMark` (its
  ``customData``): where the frames will land and where they go. Nothing else changes:
  Resolve cannot hold media that does not exist yet.
* **Import** (Segue Import Farm Transitions), once the farm has run: every marked cut
  whose frames are all there (and its ``transition.json``: the job's last step ran) is
  imported into the Segue bin and placed above its cut, as a local render would be, and
  its marker's mark is cleared; cuts still rendering are listed and keep their mark, so
  running the import again later picks them up.
"""
from __future__ import annotations

import os
import time

from . import mapping
from .app import CANCELLED, PLACED, Run, choices
from .daemon import open_daemon
from .dialogs import Done
from .errors import Refusal
from .farm_marks import FarmMark, marked_cuts
from .host import optional
from .resolve_timeline import (
    PlacementError,
    clip_source,
    current_timeline,
    import_and_place,
    marker_data,
    markers,
    read_view,
    set_marker_data,
    timecode_at,
)
from .settings import default_render_root

SENT = "sent"
#: the transition's report, written by the farm job's last step: its frames are all there
REPORT_FILE = "transition.json"


class FarmSend(Run):
    """Write the farm job of the marked cuts and mark them for the import."""

    def run(self) -> str:
        """Returns the outcome (``sent`` or ``cancelled``), or raises `Refusal`."""
        project, timeline = current_timeline(self.resolve)
        view = read_view(timeline)
        cuts, elsewhere = marked_cuts(markers(timeline), int(timeline.GetStartFrame()),
                                      view.spans, mapping.track_order([], view.enabled))
        if not cuts:
            raise Refusal("No marked cuts", "Put a marker (M) on each cut to send, on the last frame of clip A or "
                          "the first frame of clip B, then run Segue Send Cuts to Render Farm again."
                          + (f" {elsewhere} marker(s) are not on a cut." if elsewhere else ""))
        pairs = []
        for _, cut in cuts:
            a = clip_source(view.items[cut.track][cut.a], f"A at {timecode_at(view, cut.frame)}")
            b = clip_source(view.items[cut.track][cut.b], f"B at {timecode_at(view, cut.frame)}")
            mapping.check_rates(a, b, view.rate)
            pairs.append((a, b))
        settings, daemon = open_daemon(self.lib_dir)
        try:
            caps = daemon.capabilities()
            root = mapping.output_root(pairs[0][0], optional(project, "GetName") or "",
                                       settings.output_root or default_render_root(), settings.output_beside_media)
            name = f"{optional(timeline, 'GetName') or 'Timeline'} farm job {time.strftime('%Y-%m-%d %H%M%S')}"
            bundle = os.path.join(root, mapping.project_folder_name(name))
            summary = (f"{len(cuts)} marked cut(s), from {timecode_at(view, cuts[0][1].frame)}: one render-farm job."
                       + (f" {elsewhere} marker(s) not on a cut are left out." if elsewhere else "")
                       + " Once the farm has rendered it, run Segue Import Farm Transitions.")
            options = self.dialogs.ask_options(choices(caps, summary, pairs, bundle, chunks=1))
            if options is None:
                return CANCELLED
            plans, specs, labels = [], [], []
            for (_, cut), (a, b) in zip(cuts, pairs):
                plan = mapping.plan_transition(a, b, cut.frame, options.frames, options.placement)
                fields = mapping.transition_fields(a, b, plan, options.model, options.format)
                plans.append(plan)
                specs.append(dict(fields, out_dir=mapping.output_folder(bundle, a, b, fields)))
                labels.append(f"The cut at {timecode_at(view, cut.frame)} on V{cut.track}")
            daemon.write_farm_bundle(specs, options.chunks, bundle, f"Segue {name}", labels)
        finally:
            daemon.close()
        unmarked = []
        for (frame_id, cut), (a, b), plan, spec in zip(cuts, pairs, plans, specs):
            mark = FarmMark(folder=spec["out_dir"], format=options.format, frames=plan.frames,
                            record_start=plan.record_start, track=cut.track, cut=cut.frame,
                            placement=plan.placement, name=mapping.result_name(a, b))
            if not set_marker_data(timeline, frame_id, mark.text()):
                unmarked.append(timecode_at(view, cut.frame))
        lines = [f"The farm job of {len(cuts)} cut(s) is in the job folder below; its README.md says how to submit "
                 "it (openjd run, or deadline bundle submit).",
                 "When the farm has rendered it, run Workspace > Scripts > Segue Import Farm Transitions: each cut's "
                 "frames then go on the track above it."]
        if unmarked:
            lines.append(f"Resolve did not keep the mark of the cut(s) at {', '.join(unmarked)}: those will not be "
                         "imported; send them again.")
        for line in lines:
            print(f"Segue: {line}")
        self.dialogs.done(Done("Farm job written", lines, bundle, folder_label="Job in"))
        return SENT


class FarmImport(Run):
    """Place the frames of every marked cut the farm has rendered."""

    def run(self) -> str:
        """Returns the outcome (``placed``), or raises `Refusal` when nothing could be placed."""
        project, timeline = current_timeline(self.resolve)
        marks = [(frame_id, FarmMark.parse(marker_data(timeline, frame_id))) for frame_id in markers(timeline)]
        marks = [(frame_id, mark) for frame_id, mark in marks if mark is not None]
        if not marks:
            raise Refusal("No farm transitions", "No cut on this timeline waits for frames from a render farm. Send "
                          "marked cuts with Segue Send Cuts to Render Farm first.")
        media_pool = project.GetMediaPool()
        placed, waiting, failed = [], [], []
        for frame_id, mark in marks:
            view = read_view(timeline)  # again each time: a placement changes the tracks
            where = f"{timecode_at(view, mark.cut)} on V{mark.track}"
            missing = [k for k in range(1, mark.frames + 1)
                       if not os.path.isfile(mapping.frame_path(mark.folder, mark.format, k))]
            if missing or not os.path.isfile(os.path.join(mark.folder, REPORT_FILE)):
                waiting.append(f"{where}: {mark.frames - len(missing)} of {mark.frames} frames so far")
                continue
            plan = mapping.Plan(mark.placement, mark.frames, mark.record_start, 0, 0)
            try:
                track = import_and_place(media_pool, view, mark.track, mapping.frames_pattern(mark.folder, mark.format),
                                         mark.name, plan)
            except PlacementError as exc:
                failed.append(f"{where}: {exc}")
                continue
            set_marker_data(timeline, frame_id, "")  # imported: not again
            placed.append(f"{where}: {mark.frames} frames on V{track} from {timecode_at(view, mark.record_start)}.")
        if not placed:
            raise Refusal("Nothing to import yet", "The farm has not finished any of the sent cuts: "
                          + "; ".join(waiting + failed) + ". Run the import again when it has.")
        lines = [f"Placed {len(placed)} transition(s) from the farm:", *placed]
        if waiting:
            lines.append(f"Still rendering ({len(waiting)}): " + "; ".join(waiting) + ". Run the import again later.")
        if failed:
            lines.append("Not placed (the timeline is as it was there): " + "; ".join(failed))
        for line in lines:
            print(f"Segue: {line}")
        self.dialogs.done(Done("Farm transitions placed", lines, os.path.dirname(marks[0][1].folder)))
        return PLACED
