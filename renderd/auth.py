"""Bearer-token authentication for every call, unary and streaming alike.

A daemon always has a token (unless ``--no-token``): ``--token-file``, or else this
user's own, created on the first start in a file only this user can read
(`local_token`), which the user's clients find by themselves. The daemon expects each
call to carry the metadata ``authorization: Bearer <token>``; anything else is refused
with UNAUTHENTICATED before the servicer runs. The check is a server interceptor, so no RPC (health included) can
forget it. Tokens are compared in constant time.

Without TLS the token travels in clear text: fine on loopback or a trusted render
network, otherwise pair it with ``--tls-cert/--tls-key``; `load_tls` reads that pair and
says which file is wrong before gRPC (whose only answer is "failed to bind") sees it.

Secrets readable by other users (the token file, the TLS key) get a warning at start.
Refused calls are logged at ``info``, rate-limited: the first one, then at most one
line per `REFUSAL_LOG_SECONDS` carrying how many were refused unlogged meanwhile, so a
client hammering the daemon without a token cannot flood its log.
"""
from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import ssl
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from segue.renderd import logs

MIN_TOKEN_LENGTH = 16
METADATA_KEY = "authorization"
#: at most one ``auth.refused`` line per this many seconds (the first refusal is always logged)
REFUSAL_LOG_SECONDS = 60.0
_log = logs.get("auth")


class TokenError(Exception):
    """The token file is unusable; the message names it."""


class TlsError(Exception):
    """The TLS certificate or key is unusable; the message names the file and the setting."""


def warn_if_readable(path: str, mode: int, event: str) -> None:
    """Log ``event`` as a warning if ``mode`` lets users other than the owner read ``path``."""
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logs.event(_log, logging.WARNING, event, path=path, hint="other users can read this secret; chmod 600 it")


def load_tls(cert_path: str, key_path: str) -> tuple[bytes, bytes]:
    """The PEM certificate chain and private key, checked to be a matching pair.

    Raises `TlsError` naming the file at fault (unreadable, not PEM, a key of another
    certificate, a key encrypted with a passphrase). Warns if the key is readable by
    other users.
    """
    data = {}
    for setting, path in (("tls_cert", cert_path), ("tls_key", key_path)):
        try:
            with open(path, "rb") as f:
                data[setting] = f.read()
                if setting == "tls_key":
                    warn_if_readable(path, os.fstat(f.fileno()).st_mode, "auth.tls_key_readable")
        except OSError as exc:
            raise TlsError(f"{setting}: cannot read {path} ({exc.strerror or exc})") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cadata=data["tls_cert"].decode("ascii", errors="replace"))
    except (ssl.SSLError, ValueError) as exc:
        raise TlsError(f"tls_cert: {cert_path} holds no PEM certificate ({_reason(exc)})") from None

    def passphrase() -> bytes:
        raise TlsError(f"tls_key: {key_path} is encrypted with a passphrase; the daemon needs an unencrypted "
                       "key (keep it chmod 600)")

    try:
        context.load_cert_chain(cert_path, key_path, password=passphrase)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsError(f"tls_key: {key_path} is not the private key of the certificate in {cert_path}") from None
        raise TlsError(f"tls_key: {key_path} holds no PEM private key ({_reason(exc)})") from None
    return data["tls_cert"], data["tls_key"]


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc)


def load_token(path: str) -> str:
    """Read the token (surrounding whitespace dropped) from ``path``.

    Raises `TokenError` if the file is unreadable, the token is shorter than
    `MIN_TOKEN_LENGTH` or holds characters a header cannot carry. Logs a warning when
    other users may read the file.
    """
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
            mode = os.fstat(f.fileno()).st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(f"token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"token file {path}: the token must be at least {MIN_TOKEN_LENGTH} characters "
                         "(e.g. `openssl rand -hex 32 > FILE`)")
    if not all(0x21 <= ord(c) <= 0x7E for c in token):
        raise TokenError(f"token file {path}: the token must be printable ASCII without spaces")
    warn_if_readable(path, mode, "auth.token_file_readable")
    return token


def local_token(path: str) -> str:
    """This user's daemon token at ``path`` (`renderd.client.local_token_file`), created if missing.

    The token that guards a daemon started without ``--token-file``: 64 random hex digits
    in a file only this user can read (0600, in a 0700 folder), so the user's own clients
    (the CLI, the Blender add-on, the Resolve script) read it and no other local user can.
    The file appears complete or not at all (written aside, then linked into place), so two
    daemons starting at once agree on one token. Raises `TokenError` if the file is not
    this user's regular file or others may read or write it.
    """
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not os.path.lexists(path):
            tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="ascii") as f:
                    f.write(secrets.token_hex(32) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                with contextlib.suppress(FileExistsError):  # another daemon was first: its token wins
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        st, folder_st = os.lstat(path), os.stat(folder)
    except OSError as exc:
        raise TokenError(f"token file {path}: cannot create it ({exc.strerror or exc}); "
                         "give one with --token-file") from None
    euid = os.geteuid() if hasattr(os, "geteuid") else st.st_uid
    if not stat.S_ISREG(st.st_mode) or st.st_uid != euid:
        raise TokenError(f"token file {path}: not a file of this user's; remove it and start again")
    if os.name == "posix" and (folder_st.st_uid != euid or folder_st.st_mode & 0o022):
        raise TokenError(f"token file {path}: its folder is not this user's alone (others could replace the "
                         f"token); chmod 700 {folder}")
    if os.name == "posix" and st.st_mode & 0o077:
        raise TokenError(f"token file {path}: other users may read or change it (mode {stat.S_IMODE(st.st_mode):o}); "
                         f"chmod 600 {path}")
    return load_token(path)


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuse every call whose ``authorization`` metadata is not ``Bearer <token>``."""

    def __init__(self, token: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._expected = f"Bearer {token}".encode()
        self._clock = clock
        self._log_lock = threading.Lock()
        self._logged_at: float | None = None  # when the last auth.refused line was written
        self._unlogged = 0  # refusals since then that got no line of their own

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:  # unknown method: let grpc answer UNIMPLEMENTED
            return None
        supplied = next((v for k, v in details.invocation_metadata or () if k == METADATA_KEY), None)
        if supplied is not None and hmac.compare_digest(str(supplied).encode(), self._expected):
            return handler
        reason = "missing" if supplied is None else "wrong"
        self._log_refusal(details.method, reason)
        return _refusal(handler, f"{reason} bearer token: send metadata "
                                 f"'{METADATA_KEY}: Bearer <token>' with the daemon's token")

    def _log_refusal(self, method: str, reason: str) -> None:
        """``auth.refused`` for the first refusal, then at most once per `REFUSAL_LOG_SECONDS`."""
        with self._log_lock:
            now = self._clock()
            if self._logged_at is not None and now - self._logged_at < REFUSAL_LOG_SECONDS:
                self._unlogged += 1
                return
            unlogged, self._unlogged, self._logged_at = self._unlogged, 0, now
        logs.event(_log, logging.INFO, "auth.refused", method=method, reason=reason, unlogged_before=unlogged)

    def flush(self) -> None:
        """Log how many refusals are still unlogged (the daemon calls this when it stops)."""
        with self._log_lock:
            unlogged, self._unlogged = self._unlogged, 0
        if unlogged:
            logs.event(_log, logging.INFO, "auth.refused_unlogged", count=unlogged)


def _refusal(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that aborts with UNAUTHENTICATED."""
    def abort(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    def abort_stream(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this a generator, as a streaming handler must be

    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(abort, **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(abort_stream, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(abort, **kwargs)
    return grpc.stream_stream_rpc_method_handler(abort_stream, **kwargs)
