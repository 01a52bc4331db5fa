"""The gRPC server: `Render` plus the standard ``grpc.health.v1`` service, started and
stopped in one place.

`Daemon` owns the store, the job service and the server. ``serve`` runs it until
SIGTERM or SIGINT, then shuts down gracefully:

1. health turns NOT_SERVING and new submits are refused with UNAVAILABLE;
2. running jobs stop at their next frame and stay queued (the next start resumes
   them, keeping finished frames); watchers get UNAVAILABLE and can reconnect later;
3. in-flight calls get ``grace`` seconds to finish, then the store is closed.

Threads: the server's pool has room for ``max_watchers`` streams plus a reserve for
unary calls, so a crowd of watchers cannot starve health checks or submits.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from core import __version__
from core.conform import MODES
from core.engine import MODEL_NAMES, resolve_model
from core.model.infer import model_label
from core.transition import FORMATS
from renderd import logs
from renderd._proto import render_pb2 as pb
from renderd._proto import render_pb2_grpc
from renderd.auth import BearerTokenInterceptor, load_token
from renderd.config import ServeConfig
from renderd.jobs import JobService
from renderd.paths import PathPolicy
from renderd.retime import CODECS as RETIME_CODECS
from renderd.servicer import RenderServicer
from renderd.store import JobStore
from renderd.validation import MAX_FRAMES
from renderd.wire import DecodeGuardInterceptor

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Render"].full_name  # "segue.render.v1.Render"
UNARY_RESERVE = 8  # server threads kept free of streams
_log = logs.get("server")


class StartError(Exception):
    """The daemon cannot start (address in use, unreadable certificate...)."""


class Daemon:
    """A configured, startable segue-renderd. Use `start`, then `stop` (or `serve`)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.address = config.listen  # the bound address once started (port 0 resolved)
        self.store: JobStore | None = None
        self.jobs: JobService | None = None
        self.server: grpc.Server | None = None
        self.health = health.HealthServicer(experimental_non_blocking=True,
                                            experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=2))

    def start(self) -> None:
        """Open the store, recover unfinished jobs, bind and start serving."""
        c = self.config
        # The token is checked first: an unauthenticated caller learns nothing, not even decode errors.
        interceptors = [BearerTokenInterceptor(load_token(c.token_file))] if c.token_file else []
        interceptors.append(DecodeGuardInterceptor())
        policy = PathPolicy(c.allow_root)
        self.store = JobStore(c.store)
        self.jobs = JobService(self.store, policy, workers=c.workers, queue_limit=c.queue_limit,
                               max_watchers=c.max_watchers)
        capabilities = pb.GetCapabilitiesResponse(
            version=__version__, models=list(MODEL_NAMES), default_model=model_label(resolve_model("auto")),
            formats=list(FORMATS), conform_modes=list(MODES), max_frames=MAX_FRAMES, workers=c.workers,
            allow_roots=list(policy.roots), queue_limit=c.queue_limit, max_message_bytes=c.max_message_bytes,
            retime_codecs=list(RETIME_CODECS))
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=c.max_watchers + UNARY_RESERVE, thread_name_prefix="renderd-rpc"),
            interceptors=interceptors,
            options=[("grpc.max_receive_message_length", c.max_message_bytes),
                     ("grpc.so_reuseport", 0),  # a second daemon on the same port must fail, not share it
                     # clients keep long watches alive with pings; allow them every 20 s
                     ("grpc.http2.min_recv_ping_interval_without_data_ms", 20_000),
                     ("grpc.keepalive_permit_without_calls", 1)])
        render_pb2_grpc.add_RenderServicer_to_server(RenderServicer(self.jobs, capabilities), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        try:
            port = self._bind()
        except StartError:
            self.store.close()
            raise
        host = c.listen.rpartition(":")[0]
        self.address = f"{host}:{port}"
        self.jobs.start()
        self.server.start()
        for service in ("", SERVICE_NAME):
            self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        logs.event(_log, logging.INFO, "server.serving", address=self.address, store=str(self.store.folder),
                   workers=c.workers, tls=c.tls_cert is not None, token=c.token_file is not None,
                   allow_root=list(policy.roots))

    def _bind(self) -> int:
        c = self.config
        try:
            if c.tls_cert:
                with open(c.tls_key, "rb") as key, open(c.tls_cert, "rb") as cert:
                    credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
                return self.server.add_secure_port(c.listen, credentials)
            return self.server.add_insecure_port(c.listen)
        except OSError as exc:
            raise StartError(f"cannot read TLS files: {exc}") from None
        except RuntimeError as exc:  # grpc's way of saying the port could not be bound
            raise StartError(f"cannot listen on {c.listen} ({exc}); is another daemon running there?") from None

    def stop(self) -> None:
        """Graceful shutdown (module docstring). Safe to call once after `start`."""
        logs.event(_log, logging.INFO, "server.stopping", grace=self.config.grace)
        self.health.enter_graceful_shutdown()
        idle = self.jobs.shutdown(timeout=self.config.grace) if self.jobs is not None else True
        if self.server is not None:
            self.server.stop(self.config.grace).wait()
        if not idle:
            # A worker is inside a long frame. Leave the store open under it: every change
            # is already committed, and its job resumes on the next start.
            logs.event(_log, logging.WARNING, "server.worker_busy_at_exit")
        elif self.store is not None:
            self.store.close()
        logs.event(_log, logging.INFO, "server.stopped")

    def serve(self, on_started: Callable[[], Callable[[], None] | None] | None = None) -> None:
        """`start`, then block until SIGTERM or SIGINT, then `stop`.

        ``on_started`` runs once serving (the CLI captures native stderr there, after any
        start-up error has been printed plainly); what it returns is called after `stop`.
        """
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: done.set())
        self.start()
        undo = on_started() if on_started else None
        try:
            done.wait()
        finally:
            self.stop()
            if undo:
                undo()
