"""``segue farm``: a retime or transition as a chunked render-farm job (docs/farm.md).

    segue farm plan|render|assemble retime INPUT (--fps F|--factor X|--slowmo N) -o OUTPUT --chunks N [--chunk K]
    segue farm plan|render|assemble transition CLIP_A CLIP_B --frames N -o DIR --chunks N [--chunk K]
    segue farm openjd retime|transition ... --chunks N --bundle DIR
    segue farm openjd cuts CUTS.json [--frames N] --chunks N --bundle DIR     (many transitions, one job)
    segue farm opencue retime|transition ... --chunks N --spec FILE.xml

The steps take ``segue retime``'s and ``segue transition``'s own options (the same
parsers), so a farm template is the local command with a step in front.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path

from segue.core.errors import InputError

#: where a render task looks for its node's warm daemon: segue-renderd serve's default address,
#: or what ``$SEGUE_FARM_SERVER`` says (a node whose daemon listens elsewhere)
NODE_DAEMON = "127.0.0.1:50051"
NODE_DAEMON_ENV = "SEGUE_FARM_SERVER"
STEPS = {
    "plan": "check the job, claim the output and write the plan (run once, first)",
    "render": "render one chunk of a planned job (one task per chunk, any order, any node)",
    "assemble": "check every chunk is rendered; encode the movie, write the report and previews (run once, last)",
    "openjd": "write an Open Job Description job bundle (openjd run, Deadline Cloud) of the job",
    "opencue": "write the OpenCue job spec (XML, PyOutline's) of the job, for a Cuebot",
}


def add_farm_parser(sub, parser_class, add_retime_arguments, add_transition_arguments,
                    add_transition_options) -> None:
    """Add ``farm`` and its steps to the subcommands ``sub`` of `segue`'s parser."""
    farm = sub.add_parser("farm", help="render a retime or transition as chunks on a render farm (docs/farm.md)",
                          description="A farm job is three steps: plan (once), render (one task per chunk), "
                                      "assemble (once). See docs/farm.md.")
    steps = farm.add_subparsers(dest="step", required=True, parser_class=parser_class)
    for step, help_text in STEPS.items():
        kinds = steps.add_parser(step, help=help_text, description=help_text).add_subparsers(
            dest="kind", required=True, parser_class=parser_class)
        for kind, add in (("retime", add_retime_arguments), ("transition", add_transition_arguments)):
            p = kinds.add_parser(kind, help=f"a {kind} job (the options of segue {kind})")
            add(p)
            p.add_argument("--chunks", type=int, required=True, help="number of chunks the output frames are split in")
            if step == "render":
                p.add_argument("--chunk", type=int, required=True, help="the chunk to render, 1 to --chunks")
                where = p.add_mutually_exclusive_group()
                where.add_argument("--server", metavar="HOST:PORT",
                                   help=f"render on this segue-renderd (default: the node's own at ${NODE_DAEMON_ENV} "
                                        f"or {NODE_DAEMON} when one answers, else in this process)")
                where.add_argument("--no-server", action="store_true", help="render in this process")
            if step == "openjd":
                p.add_argument("--bundle", required=True, help="folder to write the job bundle in")
            elif step == "opencue":
                p.add_argument("--spec", required=True, help="XML file to write the job spec to")
                p.add_argument("--show", default="segue", help="OpenCue show (default segue)")
                p.add_argument("--shot", default="transitions", help="OpenCue shot (default transitions)")
                p.add_argument("--user", help="OpenCue user (default: you)")
                p.add_argument("--segue-command", default="segue",
                               help="the segue command on the render nodes (default: segue, on their PATH)")
            if step in ("openjd", "opencue"):
                p.add_argument("--name", help="the job's name on the farm (default: Segue KIND NAME-OF-OUTPUT)")
            else:
                p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
            p.set_defaults(func=run_farm)
        if step == "openjd":
            c = kinds.add_parser("cuts", help="many transitions (an editor's cuts) as one job")
            c.add_argument("cuts", metavar="CUTS.json",
                           help='a list of cuts: [{"clip_a": ..., "clip_b": ..., "out_dir": ..., "frames": 8, '
                                '"a_out": -1, "b_in": 0}, ...] (frames, a_out, b_in, colorspace_a and colorspace_b '
                                'optional)')
            c.add_argument("--frames", type=int, help="frames of a cut that does not say (no default: each must)")
            add_transition_options(c)
            c.add_argument("--chunks", type=int, required=True, help="number of chunks each cut's frames are split in")
            c.add_argument("--bundle", required=True, help="folder to write the job bundle in")
            c.add_argument("--name", help="the job's name on the farm (default: Segue N transitions)")
            c.set_defaults(func=run_farm_cuts)


def run_farm(args: argparse.Namespace) -> int:
    """Run ``segue farm STEP KIND``."""
    from segue import cli

    spec = cli.retime_spec(args) if args.kind == "retime" else cli.transition_spec(args)
    spec.validate()
    if args.step == "openjd":
        return _openjd(args, spec)
    if args.step == "opencue":
        return _opencue(args, spec)
    from segue.core import farm
    from segue.core.retime.progress import ProgressBar

    retime = args.kind == "retime"
    bar = None if args.quiet or not retime else ProgressBar(stream=cli._STDERR)
    on_frame = None if retime else cli._progress(args.quiet)
    address = _daemon(args) if args.step == "render" else None
    if address is not None:
        from segue.renderd.remote import render_on_server, retime_on_server

        chunk = (args.chunks, args.chunk)
        record = retime_on_server(address, spec, on_progress=bar, farm_chunk=chunk) if retime else \
            render_on_server(address, spec, on_frame=on_frame, farm_chunk=chunk)
    elif args.step == "plan":
        plan = farm.plan_retime(spec, args.chunks, on_stage=bar.stage if bar else None) if retime else \
            farm.plan_transition(spec, args.chunks)
    elif args.step == "render":
        record = farm.render_retime_chunk(spec, args.chunks, args.chunk, on_progress=bar) if retime else \
            farm.render_transition_chunk(spec, args.chunks, args.chunk, on_frame=on_frame)
    else:
        report = farm.assemble_retime(spec, args.chunks) if retime else farm.assemble_transition(spec, args.chunks)
    output = spec.output if args.kind == "retime" else spec.out_dir
    if args.step == "plan":
        ranges = plan["chunks"]
        print(f"planned {cli._count(plan['frames'], 'output frame')} of {output} in "
              f"{cli._count(len(ranges), 'chunk')} ({_ranges(ranges)}); work folder {farm.work_folder(output)}")
    elif args.step == "render":
        lo, hi = record["frames"]
        frames = f"output frames {lo + 1}-{hi}" if hi > lo else "no frames (more chunks than frames)"
        print(f"chunk {args.chunk} of {args.chunks}: {frames} of {output} rendered")
    else:
        where = report["output"].get("path") or report["output"].get("folder")
        print(f"assembled {where} from {cli._count(args.chunks, 'chunk')}")
        if args.kind == "transition":
            cli._report_outcome(report)
    return cli.EXIT_OK


#: a cut's fields in CUTS.json: type, and whether it must be given (else the command's option)
_CUT_FIELDS = {"clip_a": str, "clip_b": str, "out_dir": str, "frames": int, "a_out": int, "b_in": int,
               "colorspace_a": str, "colorspace_b": str}
_OPTIONAL = ("colorspace_a", "colorspace_b")


def read_cuts(path: str, args: argparse.Namespace) -> list:
    """The cuts of a CUTS.json file as `TransitionSpec`s sharing ``args``' options; `InputError`
    naming the file, the cut and the field for anything else."""
    from segue.cli import transition_options
    from segue.core.farm.cuts import MAX_CUTS, check_cuts
    from segue.core.transition import TransitionSpec

    try:
        with open(path, encoding="utf-8") as f:
            data = json.loads(f.read(16 * 2**20))
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not a JSON list of cuts ({exc})") from None
    if not isinstance(data, list) or not data or len(data) > MAX_CUTS:
        raise InputError(f'{path}: give a list of 1 to {MAX_CUTS} cuts, e.g. [{{"clip_a": "a.mov", '
                         '"clip_b": "b.mov", "out_dir": "cut1", "frames": 8}]')
    specs = []
    for k, cut in enumerate(data, start=1):
        where = f"{path}: cut {k}"
        if not isinstance(cut, dict):
            raise InputError(f"{where}: not an object with clip_a, clip_b, out_dir")
        unknown = sorted(set(cut) - set(_CUT_FIELDS))
        if unknown:
            raise InputError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_CUT_FIELDS)})")
        shared = transition_options(args)
        values = {"frames": args.frames, "a_out": -1, "b_in": 0, "colorspace_a": shared.pop("colorspace_a"),
                  "colorspace_b": shared.pop("colorspace_b"), **cut}
        for name, kind in _CUT_FIELDS.items():
            if values.get(name) is None:
                if name in _OPTIONAL:
                    continue
                raise InputError(f"{where}: {name} is missing" + (" (or give --frames)" if name == "frames" else ""))
            if type(values[name]) is not kind:
                raise InputError(f"{where}: {name} must be {'a whole number' if kind is int else 'text'}, "
                                 f"got {values[name]!r}")
        spec = TransitionSpec(**{n: values[n] for n in _CUT_FIELDS}, **shared)
        try:
            spec.validate()
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        specs.append(spec)
    try:
        check_cuts(specs)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return specs


def run_farm_cuts(args: argparse.Namespace) -> int:
    """``segue farm openjd cuts CUTS.json``: one Open Job Description job of many transitions."""
    from segue.core.farm import cuts

    specs = read_cuts(args.cuts, args)
    written, _ = cuts.write_cuts_bundle(specs, args.chunks, args.bundle, args.name)
    _print_bundle(Path(args.bundle), written)
    return 0


def _daemon(args: argparse.Namespace) -> str | None:
    """The daemon a render task uses, or None to render in this process; the choice is logged
    (stderr). `InputError` if ``--server`` names one that does not answer."""
    from segue import cli

    if args.no_server:
        return None
    from segue.renderd.remote import unanswered  # grpc is loaded only here

    address = args.server or os.environ.get(NODE_DAEMON_ENV) or NODE_DAEMON
    why = unanswered(address)
    if why is not None and args.server:
        raise InputError(f"--server {address}: {why}; start one with `segue-renderd serve`, or drop --server")
    if why is not None:
        cli._say(f"segue: chunk {args.chunk}: rendering in this process ({why} at {address})")
        return None
    cli._say(f"segue: chunk {args.chunk}: rendering on segue-renderd at {address} (its engine stays loaded "
             "between tasks)")
    return address


def _ranges(ranges: list[list[int]]) -> str:
    shown = [f"{lo + 1}-{hi}" if hi > lo else "none" for lo, hi in ranges[:4]]
    return "frames " + ", ".join(shown) + (", ..." if len(ranges) > 4 else "")


def _describe(args: argparse.Namespace, spec):
    """What a template needs of the job: the output frame size, its paths (``(name, value, flow,
    description, flag)``; flag ``""`` for a positional argument) and the other options."""
    from segue.core.farm import commands

    if args.kind == "retime":
        from segue.core.media.source import open_source
        from segue.core.retime import timing

        input_fps = timing.parse_rate(spec.input_fps, "--input-fps") if spec.input_fps else None
        source = open_source(spec.input, input_fps)
        paths = [("Input", spec.input, "IN", "The clip to retime", ""),
                 ("Output", spec.output, "OUT", "The retimed movie, sequence pattern or folder", "-o")]
        return (source.width, source.height), paths, commands.retime_options(spec)
    from segue.core.conform import output_size
    from segue.core.media import open_clip

    a, b = open_clip(spec.clip_a), open_clip(spec.clip_b)
    paths = [("ClipA", spec.clip_a, "IN", "Clip A (the cut leaves its frame --a-out)", ""),
             ("ClipB", spec.clip_b, "IN", "Clip B (the cut arrives at its frame --b-in)", ""),
             ("OutputDir", spec.out_dir, "OUT", "Folder the transition's frames go in", "-o")]
    return output_size(a.size, b.size), paths, commands.transition_options(spec)


def _job_name(args: argparse.Namespace, output: str) -> str:
    return args.name or f"Segue {args.kind} {Path(output).name}"


def _openjd(args: argparse.Namespace, spec) -> int:
    from segue.core.farm import openjd, split

    split(1, args.chunks)  # refuse a count no plan would take
    (width, height), described, options = _describe(args, spec)
    values: dict[str, object] = {}
    paths = []
    for name, value, flow, description, flag in described:
        value = os.path.abspath(value)
        values[name] = value
        paths.append((openjd.path_parameter(name, value, flow, description), flag))
    values["Chunks"] = args.chunks
    template = openjd.job_template(_job_name(args, described[-1][1]), args.kind, paths, options, args.chunks,
                                   width, height)
    _print_bundle(Path(args.bundle), openjd.write_bundle(args.bundle, template, values))
    return 0


def _print_bundle(bundle: Path, written: list[Path]) -> None:
    print(f"job bundle written to {bundle}: {', '.join(p.name for p in written)}")
    print("render it on this machine: openjd run " + shlex.quote(str(bundle / "template.yaml")) +
          " --job-param " + shlex.quote(f"file://{bundle / 'params.json'}") + " --step Assemble --run-dependencies")
    print("submit it to Deadline Cloud: deadline bundle submit " + shlex.quote(str(bundle)))


def _opencue(args: argparse.Namespace, spec) -> int:
    import getpass

    from segue.core.farm import opencue, split
    from segue.core.output import atomic_write_text
    from segue.core.ownership import Ledger

    split(1, args.chunks)
    (width, height), described, options = _describe(args, spec)
    argv: list[str] = []
    for _, value, _, _, flag in described:
        argv += ([flag] if flag else []) + [os.path.abspath(value)]
    commands = opencue.layer_commands(args.segue_command, args.kind, [*argv, *options], args.chunks)
    xml = opencue.job_spec(_job_name(args, described[-1][1]), commands, args.chunks, width, height,
                           show=args.show, shot=args.shot, user=args.user or getpass.getuser())
    target = Path(args.spec)
    if target.is_dir():
        raise InputError(f"--spec {target} is a folder; name the XML file to write", field="spec")
    target.parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(target.parent)
    ledger.check_free([target.name], "choose another --spec file")
    atomic_write_text(target, xml, before_replace=ledger.recorder(target.name))
    print(f"OpenCue job spec written to {target} (layers plan, render 1-{args.chunks}, assemble)")
    print("submit it to your Cuebot: cueadmin/pycue's opencue.api.launchSpec (docs/farm.md, OpenCue)")
    return 0
