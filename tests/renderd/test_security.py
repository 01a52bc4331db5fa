"""Safe defaults: what the daemon refuses to start with, TLS, and one daemon per store."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from conftest import RUN_AS_ROOT
from renderd_harness import SAFETY, TOKEN, RenderdProcess

from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc
from segue.renderd.client import RenderClient, RenderError, Retry


def serve(*args: str, as_root_ok: bool = True) -> subprocess.CompletedProcess:
    """``segue-renderd serve`` expected to refuse before listening (for another reason than root)."""
    extra = RUN_AS_ROOT if as_root_ok else []
    return subprocess.run([sys.executable, "-m", "segue.renderd", "serve", *extra, *args], check=False,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SAFETY)


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("segue-renderd: error:"), last
    for word in words:
        assert word in last, last


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o600)
    return path


def test_network_address_needs_a_token(tmp_path):
    assert_refused(serve("--listen", "0.0.0.0:0", "--store", str(tmp_path / "s")), "--token-file")
    assert_refused(serve("--listen", "[::]:0", "--store", str(tmp_path / "s")), "--token-file")
    assert_refused(serve("--listen", "render-node.example:0", "--store", str(tmp_path / "s")), "--token-file")


def test_network_address_needs_allowed_roots(tmp_path, token_file):
    assert_refused(serve("--listen", "0.0.0.0:0", "--token-file", str(token_file), "--store", str(tmp_path / "s")),
                   "--allow-root")


def test_bad_settings_are_refused_naming_them(tmp_path, token_file):
    store = str(tmp_path / "s")
    short = tmp_path / "short"
    short.write_text("abc")
    assert_refused(serve("--token-file", str(short), "--store", store), "at least 16")
    assert_refused(serve("--token-file", str(tmp_path / "none"), "--store", store), "token_file")
    assert_refused(serve("--tls-cert", str(token_file), "--store", store), "tls_key")
    assert_refused(serve("--allow-root", str(tmp_path / "missing"), "--store", store), "allow_root")
    assert_refused(serve("--listen", "nonsense", "--store", store), "HOST:PORT")
    assert_refused(serve("--workers", "0", "--store", store), "workers")
    config = tmp_path / "renderd.toml"
    config.write_text('listen = "127.0.0.1:0"\nwokers = 2\n')
    assert_refused(serve("--config", str(config), "--store", store), "wokers")


def test_one_daemon_per_store_and_per_port(tmp_path):
    daemon = RenderdProcess(tmp_path / "store")
    try:
        assert_refused(serve("--listen", "127.0.0.1:0", "--store", str(tmp_path / "store")), "in use")
        assert_refused(serve("--listen", daemon.address, "--store", str(tmp_path / "other")), "cannot listen")
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0


def make_certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for localhost / 127.0.0.1, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=SAFETY)
    return str(cert), str(key)


def test_tls_with_token(tmp_path, token_file):
    cert, key = make_certificate(tmp_path)
    daemon = RenderdProcess(tmp_path / "store", "--tls-cert", cert, "--tls-key", key, "--token-file",
                            str(token_file), token=TOKEN)
    try:
        roots = Path(cert).read_bytes()
        with RenderClient(daemon.address, token=TOKEN, root_certificates=roots) as client:
            assert client.capabilities().max_frames == 10000
            assert client.health() == "SERVING"
        with RenderClient(daemon.address, token="x" * 20, root_certificates=roots) as client:
            with pytest.raises(RenderError) as wrong:
                client.capabilities()
            assert wrong.value.code == "UNAUTHENTICATED"
        plain = grpc.insecure_channel(daemon.address)  # a client that does not speak TLS gets nowhere
        with pytest.raises(grpc.RpcError) as info:
            render_pb2_grpc.RenderStub(plain).GetCapabilities(pb.GetCapabilitiesRequest(), metadata=daemon.metadata,
                                                              timeout=SAFETY)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        plain.close()
        with RenderClient(daemon.address, token=TOKEN, tls=True, retry=Retry(attempts=1)) as untrusted:
            with pytest.raises(RenderError) as unknown_ca:  # the system store does not know this certificate
                untrusted.capabilities()
            assert unknown_ca.value.code == "UNAVAILABLE"
    finally:
        assert daemon.stop() == 0
    assert daemon.wait_for_log(lambda e: e.get("event") == "server.serving")["tls"] is True


def test_refused_calls_are_logged_at_info_but_rate_limited(tmp_path, token_file):
    daemon = RenderdProcess(tmp_path / "store", "--token-file", str(token_file), token=TOKEN)
    refusals = 40
    try:
        stub = daemon.stub()
        for n in range(refusals):
            metadata = () if n % 2 else (("authorization", "Bearer wrong-token-0123456789"),)
            with pytest.raises(grpc.RpcError) as info:
                stub.GetCapabilities(pb.GetCapabilitiesRequest(), metadata=metadata, timeout=SAFETY)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        assert daemon.stop() == 0
    lines = [e for e in daemon.events if e["event"] == "auth.refused"]
    assert lines[0]["level"] == "info" and lines[0]["reason"] == "wrong"  # the first one is always logged
    assert len(lines) < refusals / 4  # then a line per minute at most, not one per call
    unlogged = [e for e in daemon.events if e["event"] == "auth.refused_unlogged"]  # the rest, counted at stop
    assert len(lines) + sum(e["unlogged_before"] for e in lines) + sum(e["count"] for e in unlogged) == refusals


def test_a_broken_certificate_or_key_is_named_not_taken_for_a_busy_address(tmp_path):
    cert, key = make_certificate(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_key = make_certificate(tmp_path / "other")  # a valid key, of another certificate
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    encrypted = tmp_path / "encrypted.pem"
    subprocess.run(["openssl", "rsa", "-in", key, "-aes256", "-passout", "pass:secret", "-out", str(encrypted)],
                   check=True, capture_output=True, timeout=SAFETY)
    store = str(tmp_path / "store")
    for tls, words in (((str(garbage), key), ("tls_cert", str(garbage), "no PEM certificate")),
                       ((cert, str(garbage)), ("tls_key", str(garbage), "no PEM private key")),
                       ((cert, other_key), ("tls_key", other_key, f"not the private key of the certificate in {cert}")),
                       ((cert, str(encrypted)), ("tls_key", str(encrypted), "passphrase"))):
        result = serve("--listen", "127.0.0.1:0", "--store", store, "--tls-cert", tls[0], "--tls-key", tls[1])
        assert_refused(result, *words)
        assert "another daemon" not in result.stderr


def test_a_tls_key_readable_by_others_gets_a_warning(tmp_path):
    cert, key = make_certificate(tmp_path)
    for mode, warned in ((0o644, True), (0o600, False)):
        Path(key).chmod(mode)
        daemon = RenderdProcess(tmp_path / f"store-{mode:o}", "--tls-cert", cert, "--tls-key", key)
        assert daemon.stop() == 0
        warnings = [e for e in daemon.events if e["event"] == "auth.tls_key_readable"]
        assert bool(warnings) is warned, daemon.events
        assert all(w["level"] == "warning" and w["path"] == key for w in warnings)
