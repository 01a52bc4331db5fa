"""Long work as a user meets it at the terminal: the ETA, the question before a very long
transition, counts in words, `--version`, SIGTERM, and `segue bench`'s check of its data.

Every test runs the real `segue` console script in a subprocess. Nothing here asserts a
duration: the tests wait for the lines the command prints (timeouts only stop a hung run).
"""
from __future__ import annotations

import os
import pty
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, TRIPLETS

from segue.cli import CONFIRM_FRAMES
from segue.core import __version__
from segue.core.demo import TAKE_A, TAKE_B

BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
SAFETY = 300.0  # seconds: only a hung run ever reaches it


def segue_cmd() -> list[str]:
    exe = shutil.which("segue", path=os.path.dirname(sys.executable)) or shutil.which("segue")
    return [exe] if exe else [sys.executable, "-m", "segue"]


def segue(*args, **kwargs) -> subprocess.CompletedProcess:
    """Run `segue` to its end, with no terminal on stdin (as CI runs it)."""
    return subprocess.run([*segue_cmd(), *map(str, args)], capture_output=True, text=True,
                          stdin=kwargs.pop("stdin", subprocess.DEVNULL), timeout=SAFETY, **kwargs)


def read_until(fd: int, marker: str, proc: subprocess.Popen) -> str:
    """Read ``fd`` until ``marker`` has come (progress lines end with a carriage return, not a newline)."""
    seen = b""
    deadline = time.monotonic() + SAFETY
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while marker.encode() not in seen:
            assert time.monotonic() < deadline, f"no {marker!r} in: {seen.decode(errors='replace')}"
            if sel.select(timeout=1.0):
                chunk = os.read(fd, 65536)
                assert chunk, f"output ended before {marker!r}: {seen.decode(errors='replace')} (exit {proc.wait()})"
                seen += chunk
    return seen.decode(errors="replace")


# ------------------------------------------------------------------------ --version, counts, ETA


def test_version():
    r = segue("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"segue {__version__}\n" == "segue 0.1.0\n"


def test_one_frame_is_one_frame(tmp_path):
    r = segue("transition", BBB[0], BBB[1], "--frames", "1", "-o", tmp_path / "o", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"1 frame written to {tmp_path / 'o'} "), r.stdout


def test_every_transition_progress_line_has_an_eta(tmp_path):
    r = segue("transition", BBB[0], BBB[1], "--frames", "3", "-o", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("3 frames written to")
    lines = [line.strip() for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 3, lines
    for k, line in enumerate(lines, 1):
        found = re.fullmatch(rf"\[#*\s*\] frame {k}/3  t=\S+  confidence \S+  \d+ ms  ETA (\d+:\d\d)", line)
        assert found, line
    assert lines[-1].endswith("ETA 0:00")  # done: nothing left

    # a rerun keeps the frames: no time measured this run, so the ETA says it does not know
    again = segue("transition", BBB[0], BBB[1], "--frames", "3", "-o", tmp_path / "o")
    lines = [line.strip() for line in again.stderr.splitlines() if line.strip()]
    assert lines[0].endswith("(kept from an earlier run)  ETA --:--"), lines
    assert lines[-1].endswith("ETA 0:00")


# ------------------------------------------------------------------------ many frames: ask first


def test_many_frames_need_yes_without_a_terminal(tmp_path):
    out = tmp_path / "o"
    for command in (["transition", BBB[0], BBB[1]], ["demo"]):
        r = segue(*command, "--frames", CONFIRM_FRAMES + 1, "-o", out)
        assert r.returncode == 2, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("segue: error: --frames 241 is a long job") and "--yes" in last, last
        assert "Traceback" not in r.stderr and not out.exists()
    # --yes (and a count at the threshold) go on to the job itself: here, its missing clip
    for extra in (["--frames", CONFIRM_FRAMES + 1, "--yes"], ["--frames", CONFIRM_FRAMES]):
        r = segue("transition", tmp_path / "missing.mov", BBB[1], *extra, "-o", out)
        assert r.returncode == 2 and "missing.mov" in r.stderr.strip().splitlines()[-1], r.stderr


def run_on_terminal(args: list, answer: bytes) -> tuple[int, str, str]:
    """`segue` with a terminal on stdin: wait for its question, answer it."""
    parent, child = pty.openpty()
    proc = subprocess.Popen([*segue_cmd(), *map(str, args)], stdin=child, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(child)
    try:
        asked = read_until(proc.stderr.fileno(), "[y/N] ", proc)
        os.write(parent, answer)
        out, err = proc.communicate(timeout=SAFETY)
    finally:
        os.close(parent)
    return proc.returncode, out.decode(), asked + err.decode()


def test_many_frames_are_confirmed_on_a_terminal(tmp_path):
    out = tmp_path / "o"
    code, _, err = run_on_terminal(["transition", BBB[0], BBB[1], "--frames", "500", "-o", out], b"n\n")
    assert code == 2 and "--frames 500 is a long job" in err, err
    # the answer's newline is the terminal's echo, on the terminal: the refusal follows the question here
    assert err.endswith("Start it? [y/N] segue: error: not started: --frames 500 was not confirmed\n"), err
    assert not out.exists()
    # yes: the job starts (and here stops at its missing clip, named)
    code, _, err = run_on_terminal(["transition", tmp_path / "gone.mov", BBB[1], "--frames", "500", "-o", out],
                                   b"y\n")
    assert code == 2 and "gone.mov" in err.strip().splitlines()[-1], err


# ------------------------------------------------------------------------ SIGTERM


@pytest.fixture
def bench_data(tmp_path) -> Path:
    """40 benchmark cases (the fixtures' two, repeated): long enough to be stopped midway."""
    data = tmp_path / "data" / "many"
    data.mkdir(parents=True)
    for k in range(20):
        for case in sorted(TRIPLETS.iterdir()):
            (data / f"{case.name}_{k:02d}").symlink_to(case)
    return data.parent


COMMANDS = {  # command -> (arguments, output stream to watch, what shows it is under way)
    "demo": (["demo", "--frames", "200", "-o", "{tmp}/out"], "stderr", "frame 1/200"),
    "transition": (["transition", str(TAKE_A), str(TAKE_B), "--frames", "200", "-o", "{tmp}/out"], "stderr",
                   "frame 1/200"),
    "retime": (["retime", str(TAKE_A), "--slowmo", "8", "-o", "{tmp}/slow.mp4"], "stderr", "ETA"),
    "bench": (["bench", "--data", "{tmp}/data", "--model", "classic"], "stdout", "PSNR/SSIM"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_stops_every_command_alike(command, tmp_path, bench_data):
    args, stream, marker = COMMANDS[command]
    proc = subprocess.Popen([*segue_cmd(), *(a.format(tmp=tmp_path) for a in args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    read_until(getattr(proc, stream).fileno(), marker, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=SAFETY)
    err = err.decode()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "segue: stopped (SIGTERM)", err
    if command == "retime":  # stopped as by Ctrl-C: no movie under its name, no temporary left
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    if command in ("demo", "transition"):  # finished frames stay for the rerun to resume from
        assert (tmp_path / "out" / "frame_0001.png").is_file()
        assert not (tmp_path / "out" / "frame_0200.png").exists()


# ------------------------------------------------------------------------ bench's --data


def test_bench_checks_its_data_before_its_header(tmp_path):
    r = segue("bench", "--data", tmp_path / "nowhere")
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.strip() == f"segue: error: --data {tmp_path / 'nowhere'}: no such folder"
    (tmp_path / "empty" / "set").mkdir(parents=True)
    r = segue("bench", "--data", tmp_path / "empty")
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert "no benchmark cases" in r.stderr and str(tmp_path / "empty") in r.stderr
