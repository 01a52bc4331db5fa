"""Other users of the machine cannot use a daemon: its own token by default, no root by accident.

A ``segue-renderd serve`` without ``--token-file`` guards itself with this user's token,
made on the first start in a file only this user can read; the user's own clients send
it by themselves. As root, the daemon starts only when asked to.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import pytest
from conftest import RUN_AS_ROOT
from renderd_harness import BBB, SAFETY, RenderdProcess, transition

from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import LOCAL_TOKEN_NAME, read_token

NOBODY = 65534


@pytest.fixture()
def config_home(monkeypatch) -> Path:
    """A fresh per-user config folder, traversable by other users (so only the token's own
    modes keep them out), for this test's daemons and clients."""
    folder = Path(tempfile.mkdtemp(prefix="segue-home-"))
    folder.chmod(0o755)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segue.renderd", "serve", *args], check=False, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=SAFETY)


def capabilities(daemon: RenderdProcess, metadata=()) -> pb.GetCapabilitiesResponse:
    return daemon.stub().GetCapabilities(pb.GetCapabilitiesRequest(), metadata=metadata, timeout=SAFETY)


def test_a_daemon_without_token_file_makes_and_requires_this_users_own_token(config_home, tmp_path):
    token_file = config_home / "segue" / LOCAL_TOKEN_NAME
    daemon = RenderdProcess(tmp_path / "store")
    try:
        assert daemon.events[-1]["token_file"] == str(token_file)
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
        token = read_token(token_file)
        assert len(token) == 64 and daemon.token == token
        for metadata in ((), (("authorization", "Bearer " + "0" * 64),)):
            with pytest.raises(grpc.RpcError) as refused:
                capabilities(daemon, metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert capabilities(daemon, daemon.metadata).max_frames > 0
        # the user's own command line finds the token by itself
        env = {k: v for k, v in os.environ.items() if k != "SEGUE_RENDERD_TOKEN_FILE"}
        out = tmp_path / "cut"
        result = subprocess.run([sys.executable, "-m", "segue", "transition", str(BBB[0]), str(BBB[1]), "--frames",
                                 "1", "-o", str(out), "--model", "classic", "--server", daemon.address, "-q"],
                                capture_output=True, text=True, env=env, timeout=SAFETY, check=False)
        assert result.returncode == 0, result.stderr
        assert (out / "frame_0001.png").is_file()
    finally:
        assert daemon.stop() == 0
    again = RenderdProcess(tmp_path / "store")  # the next start keeps the same token
    try:
        assert again.token == token
    finally:
        assert again.stop() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_can_read_neither_the_token_nor_its_folder(config_home, tmp_path):
    daemon = RenderdProcess(tmp_path / "store")
    try:
        token_file = config_home / "segue" / LOCAL_TOKEN_NAME
        for target in (token_file, token_file.parent):
            other = subprocess.run(["/bin/ls" if target.is_dir() else "/bin/cat", str(target)], user=NOBODY,
                                   group=NOBODY, extra_groups=[], capture_output=True, text=True, timeout=SAFETY,
                                   check=False)
            assert other.returncode != 0 and "Permission denied" in other.stderr, other
        request = pb.SubmitTransitionRequest(idempotency_key="k", spec=transition(BBB[0], BBB[1], tmp_path / "out"))
        with pytest.raises(grpc.RpcError) as refused:  # and without it, nothing is answered
            daemon.stub().SubmitTransition(request, timeout=SAFETY)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert not (tmp_path / "out").exists()
    finally:
        assert daemon.stop() == 0


@pytest.mark.parametrize("make", ["loose", "symlink", "other user"])
def test_a_token_file_others_could_read_or_swap_is_refused(config_home, tmp_path, make):
    token_file = config_home / "segue" / LOCAL_TOKEN_NAME
    token_file.parent.mkdir(mode=0o700)
    if make == "loose":
        token_file.write_text("a" * 64)
        token_file.chmod(0o644)
        words = ["other users may read", "chmod 600"]
    elif make == "symlink":
        (tmp_path / "elsewhere").write_text("a" * 64)
        token_file.symlink_to(tmp_path / "elsewhere")
        words = ["not a file of this user's"]
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to give the file to another user")
        token_file.write_text("a" * 64)
        token_file.chmod(0o600)
        os.chown(token_file, NOBODY, NOBODY)
        words = ["not a file of this user's"]
    result = serve("--listen", "127.0.0.1:0", "--store", str(tmp_path / "store"), *RUN_AS_ROOT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("segue-renderd: error: token file") and all(w in last for w in words), last


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the refusal is of root")
def test_running_as_root_needs_the_flag_and_says_why(config_home, tmp_path):
    result = serve("--listen", "127.0.0.1:0", "--store", str(tmp_path / "store"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "refusing to run as root" in last and "--run-as-root" in last and "any file" in last
    assert not (tmp_path / "store").exists() and not (config_home / "segue").exists()


def test_no_token_opens_a_loopback_daemon_to_every_local_user_and_nothing_else(config_home, tmp_path):
    result = serve("--no-token", "--listen", "0.0.0.0:0", "--store", str(tmp_path / "s1"), *RUN_AS_ROOT)
    assert result.returncode == 2 and "loopback only" in result.stderr
    daemon = RenderdProcess(tmp_path / "s2", "--no-token")
    try:
        assert daemon.token is None and capabilities(daemon).max_frames > 0
        assert not (config_home / "segue").exists()
    finally:
        assert daemon.stop() == 0
