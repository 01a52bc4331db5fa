"""Fixtures of the in-Blender suite: the installed extension, a real daemon, fresh scenes.

Runs inside ``bpy`` (Blender 5.0.1 as a Python module), started by
``tests/plugins/blender/test_blender_in_blender.py``, which passes in the environment:

* ``BLENDER_USER_RESOURCES``: a temporary Blender user folder (set before ``bpy`` loads,
  so the tester's own Blender configuration is never touched);
* ``SEGUE_EXTENSION_ZIP``: the zip built by ``plugins/blender/build_extension.py``;
* ``SEGUE_RENDERD_CMD``: JSON list, the command that runs ``segue-renderd`` from the
  project's venv (``[python, "-m", "segue.renderd"]``); ``SEGUE_RENDERD_EXE``: the
  ``segue-renderd`` script itself (for the auto-start test);
* ``SEGUE_REPO``: the repository, for its media.

Test modules load this plugin with ``pytest_plugins = ("blender_fixtures",)``. There is
no ``conftest.py`` here on purpose: the project's main pytest run would import it.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bpy
import pytest

REPO = Path(os.environ["SEGUE_REPO"])
DEMO = REPO / "core" / "assets" / "demo"
TAKE_A, TAKE_B = DEMO / "take_a.mp4", DEMO / "take_b.mp4"
BBB = sorted((REPO / "tests" / "fixtures" / "bbb").glob("bbb.*.png"))
ADDON = "bl_ext.user_default.segue_transition"
SAFETY = 120  # seconds: a safety net for waits, never an expectation


class Renderd:
    """A real ``segue-renderd serve`` on a free 127.0.0.1 port, its log read continuously.

    The log is drained on a thread for the daemon's whole life: a daemon whose stderr
    pipe filled up (or lost its reader) could not log, and so could not shut down.
    """

    def __init__(self, store: Path, listen: str = "127.0.0.1:0") -> None:
        command = [*json.loads(os.environ["SEGUE_RENDERD_CMD"]), "serve", "--listen", listen,
                   "--store", str(store)]
        if os.geteuid() == 0:  # CI runs as root; a daemon refuses root unless asked
            command.append("--run-as-root")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._serving = threading.Event()
        self.address = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._serving.wait(SAFETY) or not self.address:
            self.stop()
            raise AssertionError("segue-renderd did not start:\n" + "\n".join(self.lines[-20:]))

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "server.serving":
                self.address = event["address"]
                self._serving.set()
        self._serving.set()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(SAFETY)
        finally:
            self._reader.join(SAFETY)


@pytest.fixture(scope="session")
def renderd(tmp_path_factory) -> Iterator[Renderd]:
    daemon = Renderd(tmp_path_factory.mktemp("store"))
    yield daemon
    assert daemon.stop() == 0, "\n".join(daemon.lines[-20:])


@pytest.fixture(scope="session")
def extension() -> str:
    """The built zip, installed and enabled the way a user installs it (Install from Disk)."""
    if ADDON not in bpy.context.preferences.addons:
        result = bpy.ops.extensions.package_install_files(
            filepath=os.environ["SEGUE_EXTENSION_ZIP"], repo="user_default", enable_on_install=True)
        assert result == {"FINISHED"}
    assert ADDON in bpy.context.preferences.addons
    return ADDON


@pytest.fixture
def addon(extension, renderd) -> Iterator[Any]:
    """The add-on's modules, with preferences pointing at the test daemon."""
    prefs = bpy.context.preferences.addons[extension].preferences
    saved = {name: getattr(prefs, name) for name in ("address", "auto_start", "renderd_path", "output_dir")}
    prefs.address = renderd.address
    prefs.auto_start = False
    prefs.output_dir = "//segue_transitions"
    yield Addon(extension)
    # Fetched again: a test that disabled and re-enabled the add-on freed the old object.
    prefs = bpy.context.preferences.addons[extension].preferences
    for name, value in saved.items():
        setattr(prefs, name, value)


class Addon:
    """Handles on the installed extension's own modules."""

    def __init__(self, module: str) -> None:
        import importlib

        self.module = module
        self.prefs = bpy.context.preferences.addons[module].preferences
        self.connection = importlib.import_module(f"{module}.connection")
        self.mapping = importlib.import_module(f"{module}.mapping")
        self.job = importlib.import_module(f"{module}.job")
        self.run = importlib.import_module(f"{module}.run")
        self.strips = importlib.import_module(f"{module}.strips")
        self.operator = importlib.import_module(f"{module}.operator")

    def client(self) -> Any:
        """A client of the test daemon: the vendored shared client, with this user's token."""
        module = self.connection.client_module()
        return module.RenderClient(self.prefs.address, token=module.local_token(self.prefs.address))


@pytest.fixture
def project(tmp_path) -> Path:
    """A fresh, saved, empty scene at 25 fps; returns the .blend's folder."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.render.resolution_x, scene.render.resolution_y = 640, 360
    scene.sequence_editor_create()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "project.blend"))
    return tmp_path


def editor() -> Any:
    return bpy.context.scene.sequence_editor


def add_movie(name: str, path: Path, channel: int, start: int) -> Any:
    return editor().strips.new_movie(name=name, filepath=str(path), channel=channel, frame_start=start)


def add_images(name: str, paths: list[Path], channel: int, start: int) -> Any:
    strip = editor().strips.new_image(name=name, filepath=str(paths[0]), channel=channel, frame_start=start)
    for path in paths[1:]:
        assert path.parent == paths[0].parent
        strip.elements.append(path.name)
    return strip


def select_only(*strips: Any) -> None:
    for strip in editor().strips_all:
        strip.select = False
    for strip in strips:
        strip.select = True


def strip_names() -> set[str]:
    return {s.name for s in editor().strips_all}


def output_folders(project: Path) -> list[Path]:
    root = project / "segue_transitions"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def strip_files(strip: Any) -> list[Path]:
    """The files an image strip shows, resolved as Blender resolves them."""
    folder = Path(bpy.path.abspath(strip.directory))
    return [folder / e.filename for e in strip.elements]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cancel_on_first_frame(client_factory: Callable[[], Any]) -> threading.Thread:
    """A thread that cancels the daemon's running job once its first frame is done.

    Stands in for another client (or an editor) cancelling the job while the operator
    waits for it in EXEC mode.
    """
    def watch() -> None:
        client = client_factory()
        try:
            deadline = time.monotonic() + SAFETY
            while time.monotonic() < deadline:
                running = [j for j in client.list_jobs().jobs if j.frames_done >= 1 and j.state in (1, 2)]
                if running:
                    client.cancel_job(running[0].job_id)
                    return
                time.sleep(0.02)
        finally:
            client.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
