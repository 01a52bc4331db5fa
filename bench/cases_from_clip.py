"""Benchmark cases with ground truth from any clip, for `segue bench --data OUT`.

    python bench/cases_from_clip.py CLIP OUT [--gap 2 --gap 4] [--every 6] [--set NAME]

For each gap n (frame intervals between the two inputs) it writes the set
``OUT/<set>_gap<n>/<first frame>/`` with ``input0.png`` (frame i), ``input1.png``
(frame i + n) and ``target_<k/n>.png`` (frames i + k, 0 < k < n), starting a case every
``--every`` frames, and, where the clip has them within the same shot, the context frames
of DESIGN.md (``before_2``, ``before_1``, ``after_1``, ``after_2``: frames i - 2, i - 1,
i + n + 1, i + n + 2) with ``case.json`` giving their times. Windows with a scene cut or
without motion are skipped, by the same test the training footage uses
(`training.footage.is_usable`). Frames are the clip's
own decoded 8-bit RGB, as `segue bench` reads PNGs. Each set is written into a hidden
``OUT/.<set>.part`` folder (which `segue bench` skips) and renamed when complete; an
existing set is never overwritten.

This is how Segue checks a model on real footage it never saw (the model card's
held-out clip); point it at your own footage to see what the model does on it. A clip
used this way must stay out of training: `training.footage` refuses the held-out clip
the model card names.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segue.core.cases import DEFAULT_GAPS, write_cases
from segue.core.errors import InputError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clip", help="a movie, image sequence or folder of frames")
    p.add_argument("out", help="benchmark folder to write (sets are added beside existing ones)")
    p.add_argument("--gap", type=int, action="append",
                   help="frame intervals between the inputs (repeatable; default 2 and 4)")
    p.add_argument("--every", type=int, default=6, help="frames between the starts of two cases (default 6)")
    p.add_argument("--set", dest="set_name", help="set name prefix (default: the clip's file name)")
    args = p.parse_args(argv)
    try:
        written = write_cases(args.clip, Path(args.out), args.gap or DEFAULT_GAPS, args.every, args.set_name)
    except InputError as exc:
        print(f"cases_from_clip: error: {exc}", file=sys.stderr)
        return 2
    for name, count in written.items():
        print(f"{name}: {count} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
