"""The `segue` command line.

Exit codes: 0 success, 2 bad input or usage, 1 internal failure, 130 interrupted (Ctrl-C),
143 stopped by SIGTERM (128 + the signal's number, what a shell reports for a process the
signal killed), 141 when the reader of stdout went away.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections import deque
from pathlib import Path

from segue.core import __version__
from segue.core.allocator import keep_frame_buffers
from segue.core.errors import CancelledError, InputError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_BROKEN_PIPE = 130, 143, 141
#: Above this many frames, `segue transition` and `segue demo` ask before starting (with no
#: terminal to ask on, they need --yes). A cut's bridge is 8-24 frames; 240 is ten seconds
#: of 24 fps footage synthesized, minutes of CPU at 1080p, and a mistyped --frames 10000
#: is hours that would otherwise start silently.
CONFIRM_FRAMES = 240
_ETA_WINDOW = 32  # frames the transition's time per frame is averaged over (the recent ones)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread. A KeyboardInterrupt, so that every command unwinds
    as it does for Ctrl-C (finished frames kept, temporaries removed, a daemon job cancelled)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class _Stderr:
    """stderr that remembers whether a progress line (redrawn after a carriage return, with no
    newline) is open: a message printed after one must start a new line, and no other needs an
    empty line before it."""

    open_line = False

    def write(self, text: str) -> int:
        if text:
            sys.stderr.write(text)
            self.open_line = not text.endswith("\n")
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _Stderr()


def _say(message: str) -> None:
    """One line on stderr, after the progress line if one is open."""
    print(("\n" if _STDERR.open_line else "") + message, file=_STDERR, flush=True)


def _count(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep one style
        self.print_usage(sys.stderr)
        print(f"segue: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _progress(quiet: bool):
    """A terminal progress line for transition frames (stderr, so stdout stays scriptable).

        [#####               ] frame 2/8  t=0.222  confidence 0.93  412 ms  ETA 0:03

    As `segue retime`'s bar: the ETA counts the frames still to render at the mean time of
    the recent ones this run rendered (frames kept from an earlier run cost nothing);
    ``--:--`` until one is rendered.
    """
    if quiet:
        return None
    from segue.core.retime.progress import format_eta

    recent: deque[float] = deque(maxlen=_ETA_WINDOW)

    def show(event) -> None:
        r = event.record
        if not event.resumed:
            recent.append(r.seconds)
        final = r.index == event.total
        per_frame = sum(recent) / len(recent) if recent else float("nan")
        eta = 0.0 if final else (event.total - r.index) * per_frame
        note = "(kept from an earlier run)" if event.resumed else f"{r.seconds * 1000:.0f} ms"
        bar = "#" * round(20 * r.index / event.total)
        print(f"\r[{bar:<20s}] frame {r.index}/{event.total}  t={r.t:.3f}  confidence {r.confidence:.2f}  {note}  "
              f"ETA {format_eta(eta)}   ", end="\n" if final else "", file=_STDERR, flush=True)
    return show


def _confirm_frames(frames: int, yes: bool) -> None:
    """Ask before a job of more than `CONFIRM_FRAMES` frames; without a terminal, require ``--yes``.

    `InputError` (exit 2) when it may not start. Counts the spec refuses anyway are left to it.
    """
    from segue.core.transition import MAX_FRAMES

    if yes or not CONFIRM_FRAMES < frames <= MAX_FRAMES:
        return
    long_job = f"--frames {frames} is a long job (more than {CONFIRM_FRAMES} frames, each synthesized on the CPU)"
    if not sys.stdin or not sys.stdin.isatty():
        raise InputError(f"{long_job}; pass --yes to start it (there is no terminal to ask on)")
    print(f"segue: {long_job}. Start it? [y/N] ", end="", file=_STDERR, flush=True)
    answer = sys.stdin.readline()  # "" at end of input (Ctrl-D): a no
    _STDERR.open_line = not answer.endswith("\n")
    if answer.strip().lower() not in ("y", "yes"):
        raise InputError(f"not started: --frames {frames} was not confirmed")


def cmd_demo(args: argparse.Namespace) -> int:
    from segue.core.demo import run_demo

    _confirm_frames(args.frames, args.yes)
    report, _ = run_demo(args.output, frames=args.frames, model=args.model, on_frame=_progress(args.quiet))
    folder = report["output"]["folder"]
    print(f"{_count(len(report['frames']), 'frame')} written to {folder}")
    print(f"report: {Path(folder) / 'transition.json'}")
    _report_outcome(report)
    return EXIT_OK


def cmd_interpolate(args: argparse.Namespace) -> int:
    from segue.core.color import ColorManager
    from segue.core.engine import Engine, check_times
    from segue.core.media import open_clip, write_frame
    from segue.core.output import prepare_folder

    times = check_times(args.times)
    engine = Engine(model=args.model)
    colour = ColorManager(args.ocio_config)
    clips = [open_clip(p) for p in (args.in0, args.in1)]
    for clip in clips:
        if clip.kind != "still":
            raise InputError(f"{clip.path}: interpolate takes two images; use `segue transition` for clips")
    if clips[0].size != clips[1].size:
        raise InputError(f"{args.in0} is {clips[0].width}x{clips[0].height} but {args.in1} is "
                         f"{clips[1].width}x{clips[1].height}: interpolate needs frames of one size")
    spaces = [colour.resolve(c.colorspace) for c in clips]
    frames = [colour.to_working(c.read_frame(0), cs) for c, cs in zip(clips, spaces)]
    folder = prepare_folder(args.output)
    # PNG output: in the first input's colourspace unless that is a float (scene-linear) one.
    out_space = spaces[0] if not clips[0].is_float else colour.resolve(colour.default_for(8, False))
    depth = 16 if any(c.bit_depth > 8 or c.is_float for c in clips) else 8
    for t, result in zip(times, engine.interpolate_working(frames[0], frames[1], times)):
        path = folder / f"out_{t:.3f}.png"
        write_frame(path, colour.from_working(result.image, out_space), "png", depth)
        print(path)
    return EXIT_OK


def transition_spec(args: argparse.Namespace):
    """The `TransitionSpec` of parsed `add_transition_arguments` options."""
    from segue.core.transition import TransitionSpec

    return TransitionSpec(
        clip_a=args.clip_a, clip_b=args.clip_b, frames=args.frames, out_dir=args.output,
        a_out=-1 if args.a_out is None else args.a_out, b_in=0 if args.b_in is None else args.b_in,
        **transition_options(args))


def transition_options(args: argparse.Namespace) -> dict:
    """The `TransitionSpec` fields of parsed `add_transition_options` options (how it is rendered)."""
    return {"model": args.model, "format": args.format, "colorspace_a": args.colorspace_a,
            "colorspace_b": args.colorspace_b, "colorspace_out": args.colorspace_out,
            "ocio_config": args.ocio_config, "conform": args.conform, "preview": not args.no_preview,
            "maps": args.maps, "movie": args.movie}


def cmd_transition(args: argparse.Namespace) -> int:
    from segue.core.transition import mean_confidence, render_transition

    spec = transition_spec(args)
    spec.validate()  # a count it refuses is not worth a question
    _confirm_frames(args.frames, args.yes)
    if args.server:
        # grpc is loaded only for --server: core never imports it
        from segue.renderd.remote import render_on_server

        report = render_on_server(args.server, spec, on_frame=_progress(args.quiet))
    else:
        report = render_transition(spec, on_frame=_progress(args.quiet))
    print(f"{_count(len(report['frames']), 'frame')} written to {report['output']['folder']} "
          f"(mean confidence {mean_confidence(report):.2f}, {report['timings']['total']:.2f} s)")
    _report_outcome(report)
    return EXIT_OK


def _report_outcome(report: dict) -> None:
    """Where to look at the result, and which frames to look at first (a warning on stderr)."""
    folder = Path(report["output"]["folder"])
    previews = report.get("previews")
    if previews:
        print(f"preview: {folder / previews['movie']} (beside a plain dissolve: "
              f"{folder / previews['dissolve']}; contact sheet: {folder / previews['contact_sheet']})")
    low = report.get("low_confidence") or {}
    if low.get("frames"):
        frames = ", ".join(str(k) for k in low["frames"][:12]) + (" ..." if len(low["frames"]) > 12 else "")
        _say(f"segue: warning: low confidence (under {low['threshold']:g}) in "
             f"{_count(len(low['frames']), 'frame')} ({frames}): {low['advice']}")


def cmd_bench(args: argparse.Namespace) -> int:
    from segue.core import quality
    from segue.core.engine import resolve_model
    from segue.core.model.infer import model_label

    data = Path(args.data)
    if args.make_cases:
        from segue.core.cases import DEFAULT_GAPS, write_cases

        for clip in args.make_cases:
            written = write_cases(clip, data, args.gap or DEFAULT_GAPS, args.every)
            print(", ".join(f"{name}: {_count(count, 'case')}" for name, count in written.items()))
    if not data.is_dir():
        raise InputError(f"--data {data}: no such folder")
    quality.find_cases(data)  # a folder without cases is refused before the header is printed
    label = model_label(resolve_model(args.model, transition=args.jump_cut))  # what "auto" is today, for the record
    path = "jump-cut path" if args.jump_cut else "interpolation"
    context = "without context frames" if args.no_context else "with the cases' context frames"
    print(f"model: {label} ({path}, {context})   PSNR/SSIM on 8-bit RGB, all pixels, mean over target frames")
    print(quality.HEADER)
    results = quality.run(data, model=args.model, jump_cut=args.jump_cut, context=not args.no_context)
    print(quality.format_row(quality.overall(results)))
    for row in quality.overall_by_kind(results):
        print(quality.format_row(row))
    if args.json:
        quality.write_json(Path(args.json), label, results, jump_cut=args.jump_cut, context=not args.no_context)
        print(f"results: {args.json}")
    return EXIT_OK


def retime_spec(args: argparse.Namespace):
    """The `RetimeSpec` of parsed `add_retime_arguments` options."""
    from segue.core.retime import RetimeSpec

    return RetimeSpec(
        input=args.input, output=args.output, fps=args.fps, factor=args.factor, slowmo=args.slowmo,
        codec=args.codec, model=args.model, scene_threshold=args.scene_threshold, dedup=not args.no_dedup,
        dup_threshold=args.dup_threshold, audio=args.audio, input_fps=args.input_fps,
        colorspace_in=args.colorspace_in, colorspace_out=args.colorspace_out, ocio_config=args.ocio_config,
        resume=getattr(args, "resume", False), overwrite=args.overwrite)


def cmd_retime(args: argparse.Namespace) -> int:
    from segue.core.retime import near_miss_lines, run_retime
    from segue.core.retime.progress import ProgressBar

    spec = retime_spec(args)
    bar = None if args.quiet else ProgressBar(stream=_STDERR)
    try:
        if args.server:  # render on a segue-renderd; grpc is loaded only then
            from segue.renderd.remote import retime_on_server
            report = retime_on_server(args.server, spec, on_progress=bar)
        else:
            report = run_retime(spec, on_progress=bar, on_stage=bar.stage if bar else None)
    except Terminated:
        raise  # main's one line for SIGTERM
    except KeyboardInterrupt:
        _say("segue: interrupted; nothing was left under the output name"
             " (image frames already written are kept: rerun with --resume)")
        return EXIT_INTERRUPTED
    f, t = report["frames"], report["target"]
    print(f"{_count(t['frame_count'], 'frame')} at {t['fps_float']:g} fps written to {report['output']['path']} "
          f"({f['synthesized']} synthesized, {f['copied']} copied, {f['held']} held, "
          f"{_count(report['scene_cuts']['count'], 'scene cut')}, "
          f"{_count(report['duplicates']['repeated_frames'], 'repeated source frame')}; "
          f"{report['timings']['total']:.1f} s)")
    for line in near_miss_lines(report):
        _say(f"segue: {line}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from segue.training.train import train
    except ImportError as exc:
        raise InputError(f"training needs the train extra (pip install -e '.[train]'): {exc}") from None

    summary = train(args.config, resume=args.resume, log=lambda msg: print(msg, flush=True))
    print(f"checkpoint: {summary['checkpoint']} (step {summary['step']})")
    return EXIT_OK if not summary["interrupted"] else EXIT_INTERRUPTED


def cmd_export(args: argparse.Namespace) -> int:
    try:
        from segue.training.export import export
    except ImportError as exc:
        raise InputError(f"export needs the train extra (pip install -e '.[train]'): {exc}") from None

    manifest = export(Path(args.checkpoint), Path(args.output), int8=not args.no_int8,
                      log=lambda msg: print(msg, flush=True))
    print(f"model: {Path(args.output) / manifest['model']['file']}")
    return EXIT_OK


def cmd_install(args: argparse.Namespace) -> int:
    from segue.install_resolve import InstallError, describe, install

    settings = {"address": args.server, "token_file": args.token_file, "tls_ca": args.tls_ca,
                "output_root": args.output_root}
    try:
        result = install(args.dest, args.lib, settings=settings, force=args.force)
    except InstallError as exc:
        raise InputError(str(exc)) from None
    print(describe(result))
    return EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    from segue.web.app import run

    return run(args.listen, args.server, args.root, args.max_upload_mb, args.token_file, args.own_daemon)


OCIO_HELP = "OCIO config for colourspace names (default: $OCIO, else OCIO's studio config)"
MODEL_HELP = "auto (best shipped model), classic (optical flow, no learning) or PATH.onnx"


def add_transition_arguments(t: argparse.ArgumentParser) -> None:
    """What a transition is: `segue transition`'s arguments, shared by `segue farm`."""
    t.add_argument("clip_a", help="movie, image-sequence pattern (name.%%04d.png), folder of frames or still")
    t.add_argument("clip_b", help="same kinds as CLIP_A")
    t.add_argument("--frames", type=int, required=True, help="number of frames to synthesize (>= 1)")
    t.add_argument("-o", "--output", required=True, help="output folder: frame_0001.<ext> ... and transition.json")
    t.add_argument("--a-out", type=int,
                   help="frame of A to leave from (0-based, negative from the end; default -1, the last)")
    t.add_argument("--b-in", type=int, help="frame of B to arrive at (0-based; default 0, the first)")
    add_transition_options(t)


def add_transition_options(t: argparse.ArgumentParser) -> None:
    """How a transition is rendered (model, format, colour, conform, previews): what cuts of a batch share."""
    t.add_argument("--model", default="auto", help=MODEL_HELP)
    t.add_argument("--format", choices=("png", "exr", "tiff"), default="png", help="output format (default png)")
    t.add_argument("--colorspace-a",
                   help="colourspace of A (default: sRGB for integer files, linear Rec.709 for float)")
    t.add_argument("--colorspace-b", help="colourspace of B (same default)")
    t.add_argument("--colorspace-out", help="colourspace of the output frames (default: A's; linear Rec.709 for EXR)")
    t.add_argument("--ocio-config", help=OCIO_HELP)
    t.add_argument("--conform", choices=("fit", "fill", "stretch"), default="fit",
                   help="how B is brought to A's size if they differ (default fit: letterbox, no crop)")
    t.add_argument("--no-preview", action="store_true",
                   help="skip preview.mp4, preview_dissolve.mp4 and contact_sheet.png beside the frames")
    t.add_argument("--movie", choices=("h264", "prores"),
                   help="also write the bridged section (a few frames of A, the new frames, a few of B) at full size "
                        "as transition.mp4 (h264) or transition.mov (prores: ProRes 422 HQ)")
    t.add_argument("--maps", action="store_true",
                   help="also write flow.png (where pixels move, as a colour wheel) and confidence_NNNN.png (each "
                        "frame's per-pixel confidence) beside the frames")


def add_retime_arguments(r: argparse.ArgumentParser) -> None:
    """What a retime is: `segue retime`'s arguments, shared by `segue farm`."""
    r.add_argument("input", help="movie, image-sequence pattern (name.%%04d.png) or folder of frames")
    r.add_argument("-o", "--output", required=True,
                   help="movie (.mp4 .mov .mkv), sequence pattern (name.%%06d.png/.tif/.exr) or folder")
    rate = r.add_mutually_exclusive_group(required=True)
    rate.add_argument("--fps", help="output frame rate, exact: 59.94 = 60000/1001, 23.976, 25, 60000/1001")
    rate.add_argument("--factor", help="output rate = source rate x FACTOR (2, 2.5, 5/2)")
    rate.add_argument("--slowmo", help="slow motion: N times longer at the source's frame rate")
    r.add_argument("--codec", help="h264, prores, ffv1 (movies) or png, tiff, exr (frames); default by extension")
    r.add_argument("--model", default="auto", help=MODEL_HELP)
    r.add_argument("--scene-threshold", type=float, default=0.06,
                   help="scene-cut score threshold in (0, 1]; lower finds more cuts (default 0.06, see docs/retime.md)")
    r.add_argument("--no-dedup", action="store_true",
                   help="do not detect repeated frames (animation on twos/threes): treat every frame as unique")
    r.add_argument("--dup-threshold", type=float, default=0.012,
                   help="largest block difference of a repeated frame (default 0.012, see docs/retime.md)")
    r.add_argument("--audio", choices=("keep", "drop"), default="keep",
                   help="keep (default: copied; stretched with pitch kept for --slowmo) or drop the audio")
    r.add_argument("--input-fps", help="frame rate of an image-sequence input (default 24)")
    r.add_argument("--colorspace-in", help="colourspace of the input (default: sRGB for integer files and movies, "
                   "linear Rec.709 for float)")
    r.add_argument("--colorspace-out", help="colourspace of the output (default: the input's; linear Rec.709 for EXR)")
    r.add_argument("--ocio-config", help=OCIO_HELP)
    r.add_argument("--overwrite", action="store_true", help="replace an earlier output of Segue's")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="segue", description="Segue: synthesize in-between frames and jump-cut transitions.")
    p.add_argument("--version", action="version", version=f"segue {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    yes_help = f"start a job of more than {CONFIRM_FRAMES} frames without asking (needed when not run from a terminal)"

    d = sub.add_parser("demo", help="transition on the embedded demo clips")
    d.add_argument("-o", "--output", default="segue-demo", help="output folder (default: ./segue-demo)")
    d.add_argument("--frames", type=int, default=8, help="number of in-between frames (default 8)")
    d.add_argument("--model", default="auto", help=MODEL_HELP)
    d.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    d.add_argument("-y", "--yes", action="store_true", help=yes_help)
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("interpolate", help="in-between frames of two images")
    i.add_argument("in0", help="first image (t=0)")
    i.add_argument("in1", help="second image (t=1)")
    i.add_argument("--times", type=float, nargs="+", required=True, help="times in (0, 1), e.g. 0.25 0.5 0.75")
    i.add_argument("-o", "--output", required=True, help="output folder: writes out_<t>.png")
    i.add_argument("--model", default="auto", help=MODEL_HELP)
    i.add_argument("--ocio-config", help=OCIO_HELP)
    i.set_defaults(func=cmd_interpolate)

    t = sub.add_parser("transition", help="bridge the cut from clip A to clip B with N synthesized frames")
    add_transition_arguments(t)
    t.add_argument("--server", metavar="HOST:PORT", help="render on a segue-renderd daemon")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    t.add_argument("-y", "--yes", action="store_true", help=yes_help)
    t.set_defaults(func=cmd_transition)

    b = sub.add_parser("bench", help="PSNR/SSIM/ms per frame on a benchmark folder, beside a cross-dissolve")
    b.add_argument("--data", required=True, help="folder of <set>/<case>/input0.png, input1.png, target_<t>.png")
    b.add_argument("--json", help="also write the results to this JSON file")
    b.add_argument("--make-cases", metavar="CLIP", action="append",
                   help="first cut cases with ground truth from this clip into --data (repeatable): frames i and "
                        "i + gap as inputs, the frames between as truth, windows across a cut skipped")
    b.add_argument("--gap", type=int, action="append",
                   help="with --make-cases: frame intervals between the inputs (repeatable; default 2 and 4)")
    b.add_argument("--every", type=int, default=6,
                   help="with --make-cases: frames between the starts of two cases (default 6)")
    b.add_argument("--model", default="auto", help=MODEL_HELP)
    b.add_argument("--jump-cut", action="store_true",
                   help="score the jump-cut path (alignment, exposure ramp, fallback) that segue transition runs")
    b.add_argument("--no-context", action="store_true",
                   help="do not give the engine the cases' context frames (before_*/after_*), for comparison")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("retime", help="retime a whole clip: another frame rate, or slow motion")
    add_retime_arguments(r)
    r.add_argument("--resume", action="store_true", help="continue an interrupted image-sequence render")
    r.add_argument("--server", metavar="HOST:PORT", help="render on a segue-renderd daemon")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_retime)

    tr = sub.add_parser("train", help="train the learned model (needs the train extra)")
    tr.add_argument("--config", required=True, help="training config, e.g. configs/flow.toml")
    tr.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                    help="continue the run from its newest checkpoint (or from CHECKPOINT)")
    tr.set_defaults(func=cmd_train)

    ex = sub.add_parser("export", help="export a training checkpoint to ONNX + manifest.json")
    ex.add_argument("--checkpoint", required=True, help="a step_NNNNNNN.pt file of a training run")
    ex.add_argument("-o", "--output", required=True, help="output folder (segue_fusion.onnx, manifest.json)")
    ex.add_argument("--no-int8", action="store_true", help="skip the int8 (quantised) variant")
    ex.set_defaults(func=cmd_export)

    ins = sub.add_parser("install", help="install an editor integration: the DaVinci Resolve Scripts menu entry")
    ins.add_argument("target", choices=("resolve",), help="resolve: Workspace > Scripts > Edit > Segue Synthesize "
                     "Transition (docs/resolve.md)")
    ins.add_argument("--dest", help="Resolve's Scripts/Edit folder (default: the per-user one of this platform)")
    ins.add_argument("--lib", help="folder for the script's package (default: a per-user Segue data folder)")
    ins.add_argument("--server", metavar="HOST:PORT", help="daemon address the script uses (default 127.0.0.1:50051)")
    ins.add_argument("--token-file", help="bearer token file of the daemon (path as Resolve's machine sees it)")
    ins.add_argument("--tls-ca", help="PEM file of the CA to trust; turns TLS on")
    ins.add_argument("--output-root",
                     help="where the daemon writes transitions, one folder per Resolve project "
                          "(default: ~/Videos/Segue, ~/Movies/Segue on macOS)")
    ins.add_argument("--force", action="store_true", help="replace files in the way that Segue did not write")
    ins.set_defaults(func=cmd_install)

    w = sub.add_parser("web", help="serve the web page: upload two clips, preview the transition, download it",
                       description="Serve Segue's web page (docs/web.md) until Ctrl-C.")
    w.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                   help="where the page is served (default 127.0.0.1:8080, this computer only; any other address "
                        "needs a token)")
    where = w.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="HOST:PORT",
                       help="the segue-renderd to render on (default: the one at 127.0.0.1:50051 if it answers, "
                            "else the page starts its own)")
    where.add_argument("--own-daemon", action="store_true",
                       help="always render on the page's own segue-renderd, even when another one answers")
    w.add_argument("--root", help="folder for uploads and results (default: ~/.local/share/segue/web)")
    w.add_argument("--max-upload-mb", type=int, default=1024, help="largest upload in MB (default 1024)")
    w.add_argument("--token-file", help="the page's token when served beyond this computer (default: a new one, "
                                        "printed in the page's address)")
    w.set_defaults(func=cmd_web)

    from segue.farm_cli import add_farm_parser

    add_farm_parser(sub, _Parser, add_retime_arguments, add_transition_arguments, add_transition_options)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `segue` console script."""
    # First: a SIGTERM from here on ends every command the same way (exit 143, one line).
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        args = build_parser().parse_args(argv)
        keep_frame_buffers()
        return _run(args)
    except Terminated:  # also during parsing and start-up
        _say("segue: stopped (SIGTERM)")
        return EXIT_TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    """Run the command; errors become one line on stderr and an exit code (module docstring)."""
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except InputError as exc:
        _say(f"segue: error: {exc}")
        return EXIT_USAGE
    except CancelledError as exc:
        _say(f"segue: {exc}")
        return EXIT_INTERNAL
    except Terminated:
        raise
    except KeyboardInterrupt:
        _say("segue: interrupted; finished frames are kept and a rerun resumes")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`segue bench ... | head`): not an error of ours; point stdout
        # at /dev/null so the interpreter's final flush does not complain again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE  # 128 + SIGPIPE, what a shell reports for a command killed by it
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if os.environ.get("SEGUE_DEBUG"):
            traceback.print_exc()
        _say(f"segue: internal error: {type(exc).__name__}: {exc} (set SEGUE_DEBUG=1 for details)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
