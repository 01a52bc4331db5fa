"""An OpenCue job of a farm job: a PyOutline outline, serialized to Cuebot's job spec.

Three layers, each a shell command per frame (``outline.modules.shell.Shell``):

* ``plan``: one frame (range ``1-1``);
* ``render``: one frame per chunk (range ``1-N``, chunk size 1), the chunk number being
  Cuebot's ``#IFRAME#`` token; it depends on ``plan`` layer on layer;
* ``assemble``: one frame, depending on all of ``render``.

Each layer asks for the cores and memory of the job's frame size (`openjd.host_memory_mib`,
`openjd.VCPUS`). The spec is built without a Cuebot: PyOutline's launcher serializes it
(``use_pycuerun=False``: the commands run as written, no PyOutline wrapper needed on the
render nodes). PyOutline writes a session folder while it does so; it is kept in a
temporary folder and removed. Needs the ``farm`` extra (``opencue-pyoutline``).
"""
from __future__ import annotations

import os
import shlex
import tempfile

from segue.core.errors import InputError
from segue.core.farm.openjd import VCPUS, host_memory_mib

#: what a frame's command puts where the chunk number goes: Cuebot replaces it per frame
FRAME_TOKEN = "#IFRAME#"


def layer_commands(command: str, kind: str, args: list[str], chunks: int) -> dict[str, str]:
    """The shell command of each layer: ``segue farm STEP KIND ARGS --chunks N`` (the render
    layer's with ``--chunk #IFRAME#``); ``args``: the paths and options, unquoted."""
    def line(step: str, *extra: str) -> str:
        return shlex.join([command, "farm", step, kind, *args, "--chunks", str(chunks), *extra, "--quiet"])

    # shlex quotes the token ('#IFRAME#'): Cuebot replaces it inside the quotes all the same
    return {"plan": line("plan"), "render": line("render", "--chunk", FRAME_TOKEN), "assemble": line("assemble")}


def job_spec(name: str, commands: dict[str, str], chunks: int, width: int, height: int,
             show: str, shot: str, user: str) -> str:
    """Cuebot's XML job spec of the outline (see module docstring)."""
    session = tempfile.TemporaryDirectory(prefix="segue-outline-")
    os.environ["OUTLINE_OUTLINE_SESSION_DIR"] = session.name  # read when PyOutline is first imported
    try:
        import outline
        from outline import cuerun
        from outline.depend import DependType
        from outline.modules.shell import Shell
    except ImportError as exc:
        session.cleanup()
        raise InputError("segue farm opencue needs OpenCue's PyOutline: pip install -e '.[farm]' in Segue's "
                         f"checkout ({exc})") from None
    outline.config.set("outline", "session_dir", session.name)  # in case PyOutline was imported before
    try:
        memory = f"{host_memory_mib(width, height)}m"
        job = outline.Outline(_safe(name), show=show, shot=shot, user=user)
        util = outline.constants.LayerType.UTIL
        plan = Shell("plan", command=commands["plan"], range="1-1", chunk=1, cores=1, memory=memory, type=util)
        render = Shell("render", command=commands["render"], range=f"1-{chunks}", chunk=1, cores=VCPUS,
                       memory=memory)
        assemble = Shell("assemble", command=commands["assemble"], range="1-1", chunk=1, cores=VCPUS,
                         memory=memory, type=util)
        render.depend_on(plan, DependType.LayerOnLayer)
        assemble.depend_on(render, DependType.LayerOnLayer)
        for layer in (plan, render, assemble):
            job.add_layer(layer)
        return cuerun.OutlineLauncher(job, nomail=True).serialize(use_pycuerun=False)
    finally:
        session.cleanup()


def _safe(name: str) -> str:
    """A job name Cuebot takes: letters, digits, ``_``, ``-`` and ``.``."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "segue"
