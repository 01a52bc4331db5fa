"""Fixtures of the Resolve script suites: real media, a real segue-renderd, the entry script.

A pytest plugin (``pytest_plugins = ("resolve_fixtures",)``), not a ``conftest.py``: pytest
imports every conftest under the one name ``conftest``, and a second one would shadow
``tests/conftest.py``. The daemon is started with the renderd suites' own harness.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import resolve_harness  # noqa: F401 - puts the renderd harness and segue_resolve on sys.path
from renderd_harness import BBB, TAKE_A, TAKE_B, TOKEN, RenderdProcess


@pytest.fixture(scope="session")
def resolve_media(tmp_path_factory) -> dict:
    """Copies of the demo takes (so outputs beside them stay out of the repo) and a 24 fps movie."""
    from conftest import encode_movie  # tests/conftest.py: the real ffmpeg Segue uses

    root = tmp_path_factory.mktemp("media")
    a, b = root / "take_a.mp4", root / "take_b.mp4"
    shutil.copyfile(TAKE_A, a)
    shutil.copyfile(TAKE_B, b)
    other = encode_movie(BBB * 3, root / "bbb_24fps.mp4", fps="24")  # 12 frames
    return {"root": root, "a": a, "b": b, "24fps": other}


@pytest.fixture(scope="session")
def resolve_token_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def resolve_daemon(tmp_path_factory, resolve_media, resolve_token_file):
    """A real segue-renderd on a free 127.0.0.1 port, token required, limited to the test folders."""
    process = RenderdProcess(tmp_path_factory.mktemp("store"), "--workers", "2",
                             "--token-file", str(resolve_token_file),
                             "--allow-root", str(tmp_path_factory.getbasetemp()), token=TOKEN)
    yield process
    assert process.stop() == 0


@pytest.fixture
def resolve_connected(monkeypatch, resolve_daemon, resolve_token_file, tmp_path):
    """The script's settings point at the test daemon; results go under this test's folder."""
    monkeypatch.setenv("SEGUE_RENDERD_ADDRESS", resolve_daemon.address)
    monkeypatch.setenv("SEGUE_RENDERD_TOKEN_FILE", str(resolve_token_file))
    monkeypatch.setenv("SEGUE_RESOLVE_OUTPUT_ROOT", str(tmp_path / "out"))
    monkeypatch.delenv("SEGUE_RENDERD_TLS_CA", raising=False)
    return resolve_daemon
