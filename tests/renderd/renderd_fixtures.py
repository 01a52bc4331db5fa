"""Shared fixtures of the renderd suites: the daemon most tests talk to (see `renderd_harness`)."""
from __future__ import annotations

from pathlib import Path

import pytest
from renderd_harness import DEMO, FIXTURES, TOKEN, RenderdProcess


@pytest.fixture(scope="session")
def allowed_root(tmp_path_factory) -> Path:
    """The folder the shared daemon lets clients use (besides the repo's media folders)."""
    return tmp_path_factory.mktemp("allowed")


@pytest.fixture(scope="session")
def token_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def renderd(tmp_path_factory, allowed_root, token_file):
    """The shared daemon: 2 workers, token required, media limited to the allowed folders."""
    daemon = RenderdProcess(tmp_path_factory.mktemp("store"), "--workers", "2", "--token-file", str(token_file),
                            "--allow-root", str(allowed_root), "--allow-root", str(FIXTURES),
                            "--allow-root", str(DEMO), token=TOKEN)
    yield daemon
    assert daemon.stop() == 0
