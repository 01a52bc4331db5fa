"""Segue on a render farm: a retime or a transition as chunks that any number of nodes render.

Segue has no scheduler of its own: a farm job runs on the farm engines studios already
run (Open Job Description / Deadline Cloud, OpenCue), as three steps:

1. **plan** (one task): check the job as the local command does, claim the output, run
   what the whole job needs once (a retime's analysis) and write the plan to the job's
   work folder (`chunks.work_folder`);
2. **render** (one task per chunk, any order, any node): the chunk's output frames;
3. **assemble** (one task, after every chunk): a retime's movie, the reports, previews.

Every step takes the same options as ``segue retime`` / ``segue transition`` plus the
number of chunks, so a farm template is the local command three times over. The output
is byte for byte what the local command writes, whatever the number of chunks, their
order or the processes that ran them; a chunk killed midway leaves nothing its rerun
would not replace, and every step can run again. Modules: `chunks` (the split, where the
parts go), `parts` (the work folder), `segments` (a movie chunk's lossless frames),
`retime` and `transition` (the three steps of each), `openjd` (job bundles), `cuts`
(many transitions as one job: an editor's cuts).
"""
from __future__ import annotations

from segue.core.farm.chunks import MAX_CHUNKS, split, work_folder
from segue.core.farm.cuts import MAX_CUTS, write_cuts_bundle
from segue.core.farm.retime import assemble_retime, plan_retime, render_retime_chunk
from segue.core.farm.transition import assemble_transition, plan_transition, render_transition_chunk

__all__ = ["MAX_CHUNKS", "MAX_CUTS", "assemble_retime", "assemble_transition", "plan_retime", "plan_transition",
           "render_retime_chunk", "render_transition_chunk", "split", "work_folder", "write_cuts_bundle"]
