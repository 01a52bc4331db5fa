"""A real segue-renderd in a subprocess on a free 127.0.0.1 port, and its generated stub.

The shared fixtures are in `renderd_fixtures`, a pytest plugin that test modules load
with ``pytest_plugins = ("renderd_fixtures",)``, rather than in a ``conftest.py``: pytest
imports every ``conftest.py`` under the one module name ``conftest``, so a second one
would shadow ``tests/conftest.py`` for suites that ``from conftest import ...`` after it.

`RenderdProcess` starts ``python -m renderd serve --listen 127.0.0.1:0`` and reads the
bound address (and, without ``--token-file``, the file of the token the daemon made for
this user) from the daemon's own ``server.serving`` log line, so no port is ever
guessed. Its JSON log lines are collected for assertions. Waits are event-driven; the
timeouts only keep a broken daemon from hanging the suite.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
from conftest import RUN_AS_ROOT

from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc
from segue.renderd.client import read_token

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
BBB = sorted((FIXTURES / "bbb").glob("bbb.*.png"))
DEMO = REPO / "core" / "assets" / "demo"
TAKE_A, TAKE_B = DEMO / "take_a.mp4", DEMO / "take_b.mp4"
SAFETY = 120  # seconds: a safety net for waits, never an expectation
TOKEN = "test-token-0123456789abcdef"
FINAL = (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)


class RenderdProcess:
    """One daemon process. ``args`` are extra ``serve`` flags."""

    def __init__(self, store: Path, *args: str, listen: str = "127.0.0.1:0", token: str | None = None) -> None:
        self.store = store
        self.token = token
        cmd = [sys.executable, "-m", "segue.renderd", "serve", "--listen", listen, "--store", str(store), *RUN_AS_ROOT,
               *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        serving = self.wait_for_log(lambda e: e.get("event") == "server.serving")
        self.address: str = serving["address"]
        if self.token is None and serving.get("token_file"):  # the daemon's own token (no --token-file)
            self.token = read_token(serving["token_file"])
        self._channel: grpc.Channel | None = None

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def events(self) -> list[dict]:
        """The log lines parsed (every line must be JSON)."""
        with self._changed:
            return [json.loads(line) for line in self.lines]

    def wait_for_log(self, predicate: Callable[[dict], bool]) -> dict:
        """The first log event matching ``predicate``, waiting for it to be logged."""
        def found() -> dict | None:
            for line in self.lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if predicate(event):
                    return event
            return None

        with self._changed:
            ok = self._changed.wait_for(lambda: found() is not None or self.proc.poll() is not None, SAFETY)
            event = found()
        if event is None:
            raise AssertionError(f"daemon never logged the awaited event (exit {self.proc.poll()}, ok={ok}):\n"
                                 + "\n".join(self.lines[-30:]))
        return event

    @property
    def metadata(self) -> tuple:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = grpc.insecure_channel(self.address)
        return self._channel

    def stub(self) -> render_pb2_grpc.RenderStub:
        return render_pb2_grpc.RenderStub(self.channel())

    def call(self, method: str, request, **kw):
        """A unary call through the generated stub with this daemon's token and a safety deadline."""
        kw.setdefault("metadata", self.metadata)
        return getattr(self.stub(), method)(request, timeout=SAFETY, **kw)

    def watch(self, job_id: str):
        """The WatchJob stream (an iterator of WatchJobResponse)."""
        return self.stub().WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=self.metadata, timeout=SAFETY)

    def submit(self, spec: pb.TransitionSpec, key: str | None = None) -> pb.Job:
        request = pb.SubmitTransitionRequest(idempotency_key=key or uuid.uuid4().hex, spec=spec)
        return self.call("SubmitTransition", request).job

    def wait_final(self, job_id: str) -> tuple[pb.Job, list[pb.WatchJobResponse]]:
        """Watch a job to its final state; returns it and every event seen."""
        events = list(self.watch(job_id))
        assert events and events[-1].job.state in FINAL, events[-1:] or "no events"
        return events[-1].job, events

    def stop(self) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(SAFETY)
        self._close()
        return code

    def kill9(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(SAFETY)
        self._close()

    def _close(self) -> None:
        self._reader.join(SAFETY)
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def rooted_daemon(tmp_path_factory, name: str) -> tuple[RenderdProcess, Path, Path]:
    """A daemon with one worker, a token file and two allowed roots: a fresh folder ``name``
    and the demo takes. Returns ``(daemon, folder, token file)``; `RenderdProcess.stop` it."""
    root = tmp_path_factory.mktemp(name)
    token = root / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    daemon = RenderdProcess(tmp_path_factory.mktemp(f"{name}-store"), "--workers", "1", "--token-file", str(token),
                            "--allow-root", str(root), "--allow-root", str(DEMO), token=TOKEN)
    return daemon, root, token


def transition(clip_a: Path, clip_b: Path, out: Path, frames: int = 1, **kw) -> pb.TransitionSpec:
    """A request spec with absolute paths."""
    return pb.TransitionSpec(clip_a=str(clip_a), clip_b=str(clip_b), frames=frames, out_dir=str(out), **kw)


def frame_files(folder: Path) -> dict[str, bytes]:
    """Visible frame files of an output folder, name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("frame_*"))}
