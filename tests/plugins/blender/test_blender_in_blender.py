"""The extension in the real Blender (bpy 5.0.1), headless, against a real segue-renderd.

This module builds the extension zip for this platform (wheels included), makes sure
the Blender test venv exists (`blender_env`: bpy 5.0.1 needs numpy<2, the project runs
numpy 2), and runs the in-Blender suite (``inblender/``) with that venv's pytest. The
daemons those tests use run from this venv, as real processes on 127.0.0.1.

One test here stands for the whole suite; its inner results are checked one by one
from the suite's JUnit report, so a skipped or missing inner test fails it too.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import blender_env
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INNER = HERE / "inblender"
sys.path.insert(0, str(REPO / "plugins" / "blender"))
import build_extension

pytestmark = pytest.mark.slow
#: inner tests this suite must have run and passed (a guard against silently collecting none)
MIN_INNER_TESTS = 20
TIMEOUT = 900


def test_extension_in_blender(tmp_path):
    python = blender_env.ensure()
    (zip_path,) = build_extension.build(tmp_path / "dist", [build_extension.current_platform()])
    renderd_exe = Path(sys.executable).parent / "segue-renderd"
    env = {
        **os.environ,
        "BLENDER_USER_RESOURCES": str(tmp_path / "blender-user"),
        "SEGUE_EXTENSION_ZIP": str(zip_path),
        "SEGUE_RENDERD_CMD": json.dumps([sys.executable, "-m", "segue.renderd"]),
        "SEGUE_RENDERD_EXE": str(renderd_exe if renderd_exe.exists() else shutil.which("segue-renderd")),
        "SEGUE_REPO": str(REPO),
    }
    env.pop("PYTHONPATH", None)  # the Blender venv must not see this venv's packages
    env.pop("OCIO", None)  # use Blender's own colour config
    report = tmp_path / "inner.xml"
    result = subprocess.run([str(python), "-m", "pytest", "-q", f"--junitxml={report}", "--basetemp",
                             str(tmp_path / "inner-tmp"), str(INNER)],
                            cwd=INNER, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    print(result.stdout[-20000:])
    print(result.stderr[-5000:], file=sys.stderr)
    assert report.exists(), f"the in-Blender suite did not run (exit {result.returncode})"
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = {f"{c.get('classname')}::{c.get('name')}": [child.tag for child in c] for c in cases}
    bad = {name: tags for name, tags in outcomes.items() if set(tags) & {"failure", "error", "skipped"}}
    assert not bad, f"in-Blender tests not passed: {bad}\n{result.stdout[-8000:]}"
    assert len(outcomes) >= MIN_INNER_TESTS, sorted(outcomes)
    assert result.returncode == 0, result.stdout[-8000:]
