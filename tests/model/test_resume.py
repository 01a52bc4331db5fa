"""Interrupted runs: Ctrl-C saves a checkpoint, and a resumed run continues bit-exactly."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys

import torch
from conftest import FIXTURES, encode_movie, with_default_sigint
from model_fixtures import tiny_config

from segue.cli import main
from segue.training.train import load_checkpoint

pytest_plugins = ("model_fixtures",)


def _ctrl_c_at(config, marker: str) -> list[str]:
    """Run `segue train` in a child, press Ctrl-C at the first line starting with ``marker``;
    the child must exit 130. Returns its output lines."""
    proc = subprocess.Popen(with_default_sigint([sys.executable, "-m", "segue", "train", "--config", str(config)]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(marker):
                proc.send_signal(signal.SIGINT)
                break
        lines.extend(proc.stdout)
        assert proc.wait() == 130, "".join(lines)
    finally:
        if proc.poll() is None:  # never leave a long run behind
            proc.kill()
    return lines


def test_resume_continues_bit_exactly(tiny_run, tmp_path):
    config = tiny_config(tmp_path)
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    # Same data cache as the uninterrupted run, so only the resume is under test.
    shutil.copytree(tiny_run["folder"] / "cache", tmp_path / "cache")
    shutil.copy(tiny_run["checkpoints"][1], tmp_path / "run" / "checkpoints")
    assert main(["train", "--config", str(config), "--resume"]) == 0
    resumed = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_0000300.pt")
    straight = load_checkpoint(tiny_run["final"])
    assert resumed["step"] == straight["step"] == 300
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    for a, b in zip(straight["optimizer"]["state"].values(), resumed["optimizer"]["state"].values()):
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    assert straight["scheduler"] == resumed["scheduler"]
    assert torch.equal(straight["rng"]["torch"], resumed["rng"]["torch"])


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tiny_run, tmp_path):
    config = tiny_config(tmp_path, **{"steps = 300": "steps = 100000"})
    shutil.copytree(tiny_run["folder"] / "cache", tmp_path / "cache")
    lines = _ctrl_c_at(config, "step 100/")  # the first log line (log_every = 100)
    saved = sorted((tmp_path / "run" / "checkpoints").glob("step_*.pt"))
    assert len(saved) == 1 and load_checkpoint(saved[0])["step"] >= 100
    assert any("continue with --resume" in line for line in lines)


def test_training_on_a_folder_of_clips_survives_ctrl_c_and_resumes(tmp_path):
    # The README's promise: point a footage source at a folder of your clips, interrupt, resume.
    clips = tmp_path / "my clips"
    clips.mkdir()
    frames = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
    encode_movie(frames, clips / "take1.mp4")
    encode_movie(frames[::-1], clips / "take2.mov")
    synthetic = 'kind = "synthetic"\ncount = 8\nphotos = ["skimage"]\nmax_motion = 16.0\ntimes_per_pair = 2'
    config = tiny_config(tmp_path, **{synthetic: f'kind = "footage"\ncount = 8\npaths = ["{clips}"]',
                                      "steps = 300": "steps = 150", "log_every = 100": "log_every = 50"})
    lines = _ctrl_c_at(config, "step 50/")
    assert any("building 8 footage pairs" in line for line in lines), "".join(lines)
    interrupted = load_checkpoint(max((tmp_path / "run" / "checkpoints").glob("step_*.pt")))["step"]
    assert 50 <= interrupted < 150
    assert main(["train", "--config", str(config), "--resume"]) == 0
    assert load_checkpoint(max((tmp_path / "run" / "checkpoints").glob("step_*.pt")))["step"] == 150
