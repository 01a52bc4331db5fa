"""Requests that are not valid protobuf are a client mistake: INVALID_ARGUMENT, no traceback.

Left alone, grpc answers an undecodable request (garbage bytes, a string field with
invalid UTF-8, a message of another type) with INTERNAL and logs the decoder's
traceback as an error, which reads like a daemon bug. This interceptor gives every
handler a deserializer that returns a marker instead of raising, and a behaviour that
answers the marker with INVALID_ARGUMENT and one log line.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from segue.renderd import logs

_log = logs.get("rpc")


class _Undecodable:
    def __init__(self, reason: str) -> None:
        self.reason = reason


class DecodeGuardInterceptor(grpc.ServerInterceptor):
    """Turn undecodable requests into INVALID_ARGUMENT (see the module docstring)."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        decode = handler.request_deserializer
        method = details.method

        def safe_decode(data: bytes) -> Any:
            try:
                return decode(data)
            except (DecodeError, ValueError, TypeError) as exc:
                return _Undecodable(str(exc))

        def refuse(request: _Undecodable, context: grpc.ServicerContext) -> None:
            logs.event(_log, logging.INFO, "request.refused", method=method, code="INVALID_ARGUMENT",
                       message=f"undecodable request: {request.reason}")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a valid message: {request.reason}")

        def guard_unary(behaviour: Callable) -> Callable:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                if isinstance(request, _Undecodable):
                    refuse(request, context)
                return behaviour(request, context)
            return run

        def guard_stream(behaviour: Callable) -> Callable:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                if isinstance(request, _Undecodable):
                    refuse(request, context)
                yield from behaviour(request, context)
            return run

        kwargs = {"request_deserializer": safe_decode, "response_serializer": handler.response_serializer}
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(guard_unary(handler.unary_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(guard_stream(handler.unary_stream), **kwargs)
        return handler  # client-streaming methods: none in this service
