"""Bearer-token authentication for every call, unary and streaming alike.

With ``--token-file`` the daemon expects each call to carry the metadata
``authorization: Bearer <token>``; anything else is refused with UNAUTHENTICATED before
the servicer runs. The check is a server interceptor, so no RPC (health included) can
forget it. Tokens are compared in constant time.

Without TLS the token travels in clear text: fine on loopback or a trusted render
network, otherwise pair it with ``--tls-cert/--tls-key``.
"""
from __future__ import annotations

import hmac
import logging
import os
import stat
from collections.abc import Callable
from typing import Any

import grpc

from renderd import logs

MIN_TOKEN_LENGTH = 16
METADATA_KEY = "authorization"
_log = logs.get("auth")


class TokenError(Exception):
    """The token file is unusable; the message names it."""


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
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logs.event(_log, logging.WARNING, "auth.token_file_readable", path=path,
                   hint="other users can read the token; chmod 600 it")
    return token


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuse every call whose ``authorization`` metadata is not ``Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:  # unknown method: let grpc answer UNIMPLEMENTED
            return None
        supplied = next((v for k, v in details.invocation_metadata or () if k == METADATA_KEY), None)
        if supplied is not None and hmac.compare_digest(str(supplied).encode(), self._expected):
            return handler
        reason = "missing" if supplied is None else "wrong"
        logs.event(_log, logging.INFO, "auth.refused", method=details.method, reason=reason)
        return _refusal(handler, f"{reason} bearer token: send metadata "
                                 f"'{METADATA_KEY}: Bearer <token>' with the daemon's token")


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
