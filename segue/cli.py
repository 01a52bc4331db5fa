"""The `segue` command line. Exit codes: 0 success, 2 bad input or usage, 1 internal failure."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from segue.core.allocator import keep_frame_buffers
from segue.core.errors import CancelledError, InputError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep one style
        self.print_usage(sys.stderr)
        print(f"segue: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _progress(quiet: bool):
    """A terminal progress line for transition frames (stderr, so stdout stays scriptable)."""
    if quiet:
        return None

    def show(event) -> None:
        r = event.record
        note = " (kept from an earlier run)" if event.resumed else f" {r.seconds * 1000:.0f} ms"
        end = "\n" if r.index == event.total else ""
        bar = "#" * round(20 * r.index / event.total)
        print(f"\r[{bar:<20s}] frame {r.index}/{event.total} t={r.t:.3f} confidence {r.confidence:.2f}{note}   ",
              end=end, file=sys.stderr, flush=True)
    return show


def cmd_demo(args: argparse.Namespace) -> int:
    from segue.core.demo import run_demo

    report, sheet = run_demo(args.output, frames=args.frames, model=args.model, on_frame=_progress(args.quiet))
    folder = report["output"]["folder"]
    print(f"{len(report['frames'])} frames written to {folder}")
    print(f"contact sheet: {sheet}")
    print(f"report: {Path(folder) / 'transition.json'}")
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


def cmd_transition(args: argparse.Namespace) -> int:
    from segue.core.transition import TransitionSpec, mean_confidence, render_transition

    spec = TransitionSpec(
        clip_a=args.clip_a, clip_b=args.clip_b, frames=args.frames, out_dir=args.output,
        a_out=-1 if args.a_out is None else args.a_out, b_in=0 if args.b_in is None else args.b_in,
        model=args.model, format=args.format, colorspace_a=args.colorspace_a, colorspace_b=args.colorspace_b,
        colorspace_out=args.colorspace_out, ocio_config=args.ocio_config, conform=args.conform)
    if args.server:
        # grpc is loaded only for --server: core never imports it
        from segue.renderd.remote import render_on_server

        report = render_on_server(args.server, spec, on_frame=_progress(args.quiet))
    else:
        report = render_transition(spec, on_frame=_progress(args.quiet))
    print(f"{len(report['frames'])} frames written to {report['output']['folder']} "
          f"(mean confidence {mean_confidence(report):.2f}, {report['timings']['total']:.2f} s)")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from segue.core import quality
    from segue.core.engine import resolve_model
    from segue.core.model.infer import model_label

    label = model_label(resolve_model(args.model, transition=args.jump_cut))  # what "auto" is today, for the record
    path = "jump-cut path" if args.jump_cut else "interpolation"
    context = "without context frames" if args.no_context else "with the cases' context frames"
    print(f"model: {label} ({path}, {context})   PSNR/SSIM on 8-bit RGB, all pixels, mean over target frames")
    print(quality.HEADER)
    results = quality.run(Path(args.data), model=args.model, jump_cut=args.jump_cut, context=not args.no_context)
    print(quality.format_row(quality.overall(results)))
    for row in quality.overall_by_kind(results):
        print(quality.format_row(row))
    if args.json:
        quality.write_json(Path(args.json), label, results, jump_cut=args.jump_cut, context=not args.no_context)
        print(f"results: {args.json}")
    return EXIT_OK


def cmd_retime(args: argparse.Namespace) -> int:
    import signal

    from segue.core.retime import RetimeSpec, run_retime
    from segue.core.retime.progress import ProgressBar

    spec = RetimeSpec(
        input=args.input, output=args.output, fps=args.fps, factor=args.factor, slowmo=args.slowmo,
        codec=args.codec, model=args.model, scene_threshold=args.scene_threshold, dedup=not args.no_dedup,
        dup_threshold=args.dup_threshold, audio=args.audio, input_fps=args.input_fps,
        colorspace_in=args.colorspace_in, colorspace_out=args.colorspace_out, ocio_config=args.ocio_config,
        resume=args.resume, overwrite=args.overwrite)
    bar = None if args.quiet else ProgressBar()

    def terminate(signum, frame):  # a kill cleans up like Ctrl-C: no half-written output
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        if args.server:  # render on a segue-renderd; grpc is loaded only then
            from segue.renderd.remote import retime_on_server
            report = retime_on_server(args.server, spec, on_progress=bar)
        else:
            report = run_retime(spec, on_progress=bar, on_stage=bar.stage if bar else None)
    except KeyboardInterrupt:
        print("\nsegue: interrupted; nothing was left under the output name"
              " (image frames already written are kept: rerun with --resume)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    f, t = report["frames"], report["target"]
    print(f"{t['frame_count']} frames at {t['fps_float']:g} fps written to {report['output']['path']} "
          f"({f['synthesized']} synthesized, {f['copied']} copied, {f['held']} held, "
          f"{report['scene_cuts']['count']} scene cuts, {report['duplicates']['repeated_frames']} repeated "
          f"source frames; {report['timings']['total']:.1f} s)")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from segue.training.train import train
    except ImportError as exc:
        raise InputError(f"training needs the train extra (pip install -e '.[train]'): {exc}") from None

    summary = train(args.config, resume=args.resume, log=lambda msg: print(msg, flush=True))
    print(f"checkpoint: {summary['checkpoint']} (step {summary['step']})")
    return EXIT_OK if not summary["interrupted"] else 130


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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="segue", description="Segue: synthesize in-between frames and jump-cut transitions.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ocio_help = "OCIO config for colourspace names (default: $OCIO, else OCIO's studio config)"
    model_help = "auto (best shipped model), classic (optical flow, no learning) or PATH.onnx"

    d = sub.add_parser("demo", help="transition on the embedded demo clips")
    d.add_argument("-o", "--output", default="segue-demo", help="output folder (default: ./segue-demo)")
    d.add_argument("--frames", type=int, default=8, help="number of in-between frames (default 8)")
    d.add_argument("--model", default="auto", help=model_help)
    d.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("interpolate", help="in-between frames of two images")
    i.add_argument("in0", help="first image (t=0)")
    i.add_argument("in1", help="second image (t=1)")
    i.add_argument("--times", type=float, nargs="+", required=True, help="times in (0, 1), e.g. 0.25 0.5 0.75")
    i.add_argument("-o", "--output", required=True, help="output folder: writes out_<t>.png")
    i.add_argument("--model", default="auto", help=model_help)
    i.add_argument("--ocio-config", help=ocio_help)
    i.set_defaults(func=cmd_interpolate)

    t = sub.add_parser("transition", help="bridge the cut from clip A to clip B with N synthesized frames")
    t.add_argument("clip_a", help="movie, image-sequence pattern (name.%%04d.png), folder of frames or still")
    t.add_argument("clip_b", help="same kinds as CLIP_A")
    t.add_argument("--frames", type=int, required=True, help="number of frames to synthesize (>= 1)")
    t.add_argument("-o", "--output", required=True, help="output folder: frame_0001.<ext> ... and transition.json")
    t.add_argument("--a-out", type=int,
                   help="frame of A to leave from (0-based, negative from the end; default -1, the last)")
    t.add_argument("--b-in", type=int, help="frame of B to arrive at (0-based; default 0, the first)")
    t.add_argument("--model", default="auto", help=model_help)
    t.add_argument("--format", choices=("png", "exr", "tiff"), default="png", help="output format (default png)")
    t.add_argument("--colorspace-a",
                   help="colourspace of A (default: sRGB for integer files, linear Rec.709 for float)")
    t.add_argument("--colorspace-b", help="colourspace of B (same default)")
    t.add_argument("--colorspace-out", help="colourspace of the output frames (default: A's; linear Rec.709 for EXR)")
    t.add_argument("--ocio-config", help=ocio_help)
    t.add_argument("--conform", choices=("fit", "fill", "stretch"), default="fit",
                   help="how B is brought to A's size if they differ (default fit: letterbox, no crop)")
    t.add_argument("--server", metavar="HOST:PORT", help="render on a segue-renderd daemon")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    t.set_defaults(func=cmd_transition)

    b = sub.add_parser("bench", help="PSNR/SSIM/ms per frame on a benchmark folder, beside a cross-dissolve")
    b.add_argument("--data", required=True, help="folder of <set>/<case>/input0.png, input1.png, target_<t>.png")
    b.add_argument("--json", help="also write the results to this JSON file")
    b.add_argument("--model", default="auto", help=model_help)
    b.add_argument("--jump-cut", action="store_true",
                   help="score the jump-cut path (alignment, exposure ramp, fallback) that segue transition runs")
    b.add_argument("--no-context", action="store_true",
                   help="do not give the engine the cases' context frames (before_*/after_*), for comparison")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("retime", help="retime a whole clip: another frame rate, or slow motion")
    r.add_argument("input", help="movie, image-sequence pattern (name.%%04d.png) or folder of frames")
    r.add_argument("-o", "--output", required=True,
                   help="movie (.mp4 .mov .mkv), sequence pattern (name.%%06d.png/.tif/.exr) or folder")
    rate = r.add_mutually_exclusive_group(required=True)
    rate.add_argument("--fps", help="output frame rate, exact: 59.94 = 60000/1001, 23.976, 25, 60000/1001")
    rate.add_argument("--factor", help="output rate = source rate x FACTOR (2, 2.5, 5/2)")
    rate.add_argument("--slowmo", help="slow motion: N times longer at the source's frame rate")
    r.add_argument("--codec", help="h264, prores, ffv1 (movies) or png, tiff, exr (frames); default by extension")
    r.add_argument("--model", default="auto", help=model_help)
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
    r.add_argument("--ocio-config", help=ocio_help)
    r.add_argument("--resume", action="store_true", help="continue an interrupted image-sequence render")
    r.add_argument("--overwrite", action="store_true", help="replace an earlier output of Segue's")
    r.add_argument("--server", metavar="HOST:PORT", help="render on a segue-renderd daemon")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_retime)

    tr = sub.add_parser("train", help="train the learned model (needs the train extra)")
    tr.add_argument("--config", required=True, help="training config, e.g. configs/base.toml")
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
                     help="where the daemon writes transitions (default: a Segue folder beside clip A)")
    ins.add_argument("--force", action="store_true", help="replace files in the way that Segue did not write")
    ins.set_defaults(func=cmd_install)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `segue` console script."""
    args = build_parser().parse_args(argv)
    keep_frame_buffers()
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except InputError as exc:
        print(f"segue: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CancelledError as exc:
        print(f"segue: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("\nsegue: interrupted; finished frames are kept and a rerun resumes", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`segue bench ... | head`): not an error of ours; point stdout
        # at /dev/null so the interpreter's final flush does not complain again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by it
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if os.environ.get("SEGUE_DEBUG"):
            traceback.print_exc()
        print(f"segue: internal error: {type(exc).__name__}: {exc} (set SEGUE_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
