"""Helpers of the farm tests: the demo takes, comparing a farm's output with a local run,
and running Open Job Description bundles for real with ``openjd`` (openjd-cli).

At the tests' root (like `retime_clips`) so that the farm, daemon and plugin suites share
them whichever of them runs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "core" / "assets" / "demo"
A, B = str(DEMO / "take_a.mp4"), str(DEMO / "take_b.mp4")
BIN = Path(sys.executable).parent
OPENJD = shutil.which("openjd", path=str(BIN)) or shutil.which("openjd")
SEGUE = shutil.which("segue", path=str(BIN)) or shutil.which("segue")


def product_files(folder: Path) -> dict[str, bytes]:
    """What a user gets in ``folder`` (not Segue's bookkeeping: ledger, state, work folder)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def comparable(report_path: Path) -> dict:
    """transition.json without what records a run rather than the result (when, how long, where)."""
    report = json.loads(report_path.read_text())
    report.pop("created"), report.pop("timings"), report["output"].pop("folder")
    for frame in report["frames"]:
        frame.pop("seconds")
    return report


def same_folders(local: Path, farm: Path) -> None:
    """The farm's transition folder holds what the local one does (transition.json: `comparable`)."""
    want, got = product_files(local), product_files(farm)
    assert want.keys() == got.keys()
    assert {"frame_0001.png", "preview.mp4", "preview_dissolve.mp4", "contact_sheet.png"} <= want.keys()
    assert all(got[name] == data for name, data in want.items() if name != "transition.json")
    assert comparable(local / "transition.json") == comparable(farm / "transition.json")


def openjd(*args: str, wait: bool = True):
    """Run ``openjd ARGS`` (done process), or start it in its own session (``wait=False``)."""
    assert OPENJD, "openjd-cli is installed with the test extra (pip install -e '.[test]')"
    cmd = [OPENJD, *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)


def run_step(bundle: Path, step: str, *extra: str, params: Path | None = None):
    """``openjd run`` one step of the bundle (``--run-dependencies``: with the steps before it)."""
    return openjd("run", bundle / "template.yaml", "--job-param", f"file://{params or bundle / 'params.json'}",
                  "--job-param", f"SegueCommand={SEGUE}", "--step", step, *extra)
