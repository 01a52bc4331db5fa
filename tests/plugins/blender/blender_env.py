"""The Python the in-Blender tests run in: a venv with the real Blender as a module.

Why a second environment: ``bpy==5.0.1`` (Blender 5.0 as a Python module) pins
``numpy<2`` while the project runs on numpy 2, and a real Blender runs its own Python
with the extension's bundled wheels anyway, talking to a daemon in another process. So
the in-Blender suite gets a venv of its own holding only `REQUIREMENTS` (no grpcio: the
extension brings it as wheels), while the daemon runs from the project's venv.

`ensure` creates it in ``build/blender-venv`` on first use (about a minute: bpy is a
~370 MB wheel) and re-creates it when `REQUIREMENTS` change; later runs reuse it.
``SEGUE_BLENDER_PYTHON`` may name another Python that can ``import bpy``.

    python tests/plugins/blender/blender_env.py     # create it and print its python
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_VENV = REPO / "build" / "blender-venv"
#: bpy 5.0.1 is built for CPython 3.11 only
PYTHON_VERSION = (3, 11)
REQUIREMENTS = ("bpy==5.0.1", "pytest>=8")
_STAMP = ".segue-requirements"


def base_python() -> str:
    """A CPython 3.11 to create the venv with (this one, else ``python3.11`` on PATH)."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    name = "python{}.{}".format(*PYTHON_VERSION)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"bpy==5.0.1 needs Python {name[6:]}, and neither this Python "
                           f"({sys.version.split()[0]}) nor a {name} on PATH is one")
    return found


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure(venv: Path = DEFAULT_VENV) -> Path:
    """The venv's python, creating or refreshing the venv if needed."""
    override = os.environ.get("SEGUE_BLENDER_PYTHON")
    if override:
        return Path(override)
    wanted = "\n".join(REQUIREMENTS) + "\n"
    stamp = venv / _STAMP
    python = venv_python(venv)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True)
    log = venv / "install.log"
    with open(log, "w") as out:
        result = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                                 *REQUIREMENTS], stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(f"installing {', '.join(REQUIREMENTS)} into {venv} failed:\n" + "\n".join(tail))
    stamp.write_text(wanted)
    return python


if __name__ == "__main__":
    print(ensure())
