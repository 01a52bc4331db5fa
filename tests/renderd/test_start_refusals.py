"""What `segue-renderd serve` says when it will not start: one line of its own, with
everything to fix at once, and nothing of gRPC's or ffmpeg's beside it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from conftest import RUN_AS_ROOT
from renderd_harness import SAFETY, TOKEN

AS_ROOT = bool(RUN_AS_ROOT)


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segue.renderd", "serve", *args], check=False, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=SAFETY, env=env)


def only_line(result: subprocess.CompletedProcess) -> str:
    """The refusal: exit 2 and exactly one line on stderr, the daemon's."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("segue-renderd: error: "), result.stderr
    return lines[0]


def test_a_port_in_use_gets_the_daemons_message_only(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = only_line(serve("--listen", f"127.0.0.1:{port}", "--no-token", "--store", str(tmp_path / "s"),
                               *RUN_AS_ROOT))
    # gRPC's own "E... add_port.cc] Failed to add port to server" line is gone; its cause is kept
    assert line == (f"segue-renderd: error: cannot listen on 127.0.0.1:{port}: address already in use; "
                    "is another daemon running there?")


def test_a_network_address_lists_everything_it_lacks_at_once(tmp_path):
    line = only_line(serve("--listen", "0.0.0.0:0", "--store", str(tmp_path / "s")))
    assert "0.0.0.0:0 is reachable from other machines" in line
    assert "--token-file" in line and "--allow-root" in line and "--tls-cert" in line, line
    # as root (as CI runs), the refusal of root comes in the same line
    assert ("refusing to run as root" in line) == AS_ROOT, line

    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    line = only_line(serve("--listen", "0.0.0.0:0", "--token-file", str(token), "--store", str(tmp_path / "s"),
                           *RUN_AS_ROOT))
    assert "--allow-root" in line and "without --token-file" not in line, line

    line = only_line(serve("--listen", "0.0.0.0:0", "--no-token", "--store", str(tmp_path / "s"), *RUN_AS_ROOT))
    assert "loopback only" in line and "--token-file" in line and "--allow-root" in line, line
    assert not (tmp_path / "s").exists()


def test_an_old_segue_ffmpeg_stops_the_start(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text('#!/bin/sh\necho "ffmpeg version 5.1.6"\n')
    fake.chmod(0o755)
    line = only_line(serve("--listen", "127.0.0.1:0", "--no-token", "--store", str(tmp_path / "s"), *RUN_AS_ROOT,
                           env=dict(os.environ, SEGUE_FFMPEG=str(fake))))
    assert line.startswith(f"segue-renderd: error: SEGUE_FFMPEG={fake}: ffmpeg 5.1 is older than 6.0"), line
    assert not (tmp_path / "s").exists()
