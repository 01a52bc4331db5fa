"""Shared fixtures of the model tests: one tiny training run, made once per session.

A pytest plugin that test modules load with ``pytest_plugins = ("model_fixtures",)``
rather than a conftest.py: the suites import tests/conftest.py as ``conftest``, and a
second module of that name would shadow it (tests/renderd does the same).
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny.toml"


def tiny_config(folder: Path, **overrides: str) -> Path:
    """configs/tiny.toml with its run and cache folders moved under ``folder``."""
    text = TINY.read_text()
    text = text.replace('"~/segue-runs/tiny"', f'"{folder / "run"}"')
    text = text.replace('"~/.cache/segue/train"', f'"{folder / "cache"}"')
    for old, new in overrides.items():
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "tiny.toml"
    path.write_text(text)
    return path


def _train_tiny(folder: Path) -> dict:
    from segue.cli import main

    folder.mkdir(parents=True)
    config = tiny_config(folder)
    assert main(["train", "--config", str(config)]) == 0
    ckpts = sorted((folder / "run" / "checkpoints").glob("step_*.pt"))
    return {"folder": folder, "config": config, "checkpoints": ckpts, "final": ckpts[-1]}


def _export_tiny(checkpoint: Path, out: Path) -> Path:
    from segue.cli import main

    assert main(["export", "--checkpoint", str(checkpoint), "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> dict:
    """The tiny config trained to the end through the real `segue train` command."""
    return _train_tiny(tmp_path_factory.getbasetemp() / "model-tiny")


@pytest.fixture(scope="session")
def exported(tiny_run, tmp_path_factory) -> Path:
    """The tiny run's final checkpoint exported (fp32 and int8) through `segue export`."""
    return _export_tiny(tiny_run["final"], tmp_path_factory.getbasetemp() / "model-export")
