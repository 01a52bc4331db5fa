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

Health is SERVING while the daemon can make progress: it turns NOT_SERVING while the
job store cannot be written (a full disk: `renderd.upkeep`) and back to SERVING, with
the queue running again, once it can.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from segue.core import __version__, limits
from segue.core.conform import MODES
from segue.core.engine import MODEL_NAMES, resolve_model
from segue.core.model.infer import model_label
from segue.core.retime import CODECS as RETIME_CODECS
from segue.core.transition import FORMATS, MAX_FRAMES
from segue.renderd import logs
from segue.renderd._proto import render_pb2 as pb
from segue.renderd._proto import render_pb2_grpc
from segue.renderd.auth import BearerTokenInterceptor, TlsError, load_tls, load_token, local_token
from segue.renderd.client import local_token_file
from segue.renderd.config import ServeConfig
from segue.renderd.errors import StoreError
from segue.renderd.jobs import JobService
from segue.renderd.paths import PathPolicy
from segue.renderd.servicer import RenderServicer
from segue.renderd.store import JobStore
from segue.renderd.wire import DecodeGuardInterceptor

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Render"].full_name  # "segue.render.v1.Render"
UNARY_RESERVE = 8  # server threads kept free of streams
_log = logs.get("server")



def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, which a container or taskset narrows)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def physical_memory() -> int:
    """The machine's physical memory in bytes (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0

class StartError(Exception):
    """The daemon cannot start (address in use, unreadable certificate...)."""


@contextlib.contextmanager
def _fd2_captured() -> Iterator[list[str]]:
    """File descriptor 2 into a temporary file for the block; the list's one item is what came.

    For the bind only: grpc's C core prints why an address cannot be bound straight to
    fd 2 ("E... add_port.cc:83] Failed to add port to server: ... Address already in
    use"), a second message beside the daemon's own. No other thread writes to stderr then
    (nothing serves or works yet), and the captured text is handed back either way.
    """
    said = [""]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said[0] = sink.read().decode("utf-8", errors="replace")


def _bind_cause(log: str) -> str:
    """Why grpc could not bind, from its log: "address already in use; is another daemon
    running there?", "permission denied", ..., else its last line without the log prefix."""
    found = re.search(r"Error in bind for address '[^']*': ([^)\n]+)", log)
    if found:
        cause = found.group(1).strip().rstrip(".")
        cause = cause[:1].lower() + cause[1:]
        return f"{cause}; is another daemon running there?" if "in use" in cause else cause
    lines = [re.sub(r"^[EWI]\d{4} [\d:.]+\s+\d+ \S+\] ", "", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "grpc could not bind it (another program may be using it)"


class Daemon:
    """A configured, startable segue-renderd. Use `start`, then `stop` (or `serve`)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.address = config.listen  # the bound address once started (port 0 resolved)
        self.store: JobStore | None = None
        self.jobs: JobService | None = None
        self.server: grpc.Server | None = None
        self.auth: BearerTokenInterceptor | None = None
        self.token_file: str | None = None  # the token clients must send, once started
        self.health = health.HealthServicer(experimental_non_blocking=True,
                                            experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=2))

    def start(self) -> None:
        """Open the store, recover unfinished jobs, bind and start serving."""
        c = self.config
        # The token is checked first: an unauthenticated caller learns nothing, not even decode errors.
        # Without --token-file the daemon takes this user's own token (created if missing), so no
        # other user of the machine can use it; --no-token (loopback only) opts out.
        self.token_file = c.token_file or (None if c.no_token else local_token_file())
        if self.token_file:
            token = load_token(self.token_file) if c.token_file else local_token(self.token_file)
            self.auth = BearerTokenInterceptor(token)
        interceptors = [self.auth] if self.auth else []
        interceptors.append(DecodeGuardInterceptor())
        policy = PathPolicy(c.allow_root)
        # Process-wide: the submit checks and the workers' engines read media with it.
        limits.configure(c.max_pixels, "the daemon refuses larger media; whoever runs it can raise "
                                       "segue-renderd serve --max-pixels (config key max_pixels)")
        try:
            self.store = JobStore(c.store)
        except StoreError as exc:  # e.g. its disk is full: the message names the database
            raise StartError(str(exc)) from None
        self.jobs = JobService(self.store, policy, workers=c.workers, queue_limit=c.queue_limit,
                               max_watchers=c.max_watchers, keep_days=c.keep_days, keep_jobs=c.keep_jobs)
        self.jobs.upkeep.listen(self._store_health)
        capabilities = pb.GetCapabilitiesResponse(
            version=__version__, models=list(MODEL_NAMES), default_model=model_label(resolve_model("auto")),
            formats=list(FORMATS), conform_modes=list(MODES), max_frames=MAX_FRAMES, workers=c.workers,
            allow_roots=list(policy.roots), queue_limit=c.queue_limit, max_message_bytes=c.max_message_bytes,
            retime_codecs=list(RETIME_CODECS), max_pixels=c.max_pixels, cpu_count=usable_cores(),
            memory_bytes=physical_memory())
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
        try:
            self.jobs.start()
        except StoreError as exc:
            self.store.close()
            raise StartError(str(exc)) from None
        self.server.start()
        self._store_health(self.jobs.upkeep.up)
        logs.event(_log, logging.INFO, "server.serving", address=self.address, store=str(self.store.folder),
                   workers=c.workers, tls=c.tls_cert is not None, token=self.token_file is not None,
                   token_file=self.token_file,
                   allow_root=list(policy.roots))

    def _store_health(self, up: bool) -> None:
        """Health follows the store: NOT_SERVING while it cannot be written (ignored once stopping)."""
        status = health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in ("", SERVICE_NAME):
            self.health.set(service, status)

    def _bind(self) -> int:
        c = self.config
        credentials = None
        if c.tls_cert:
            # Checked here because grpc's only answer to a bad certificate or key is "failed
            # to bind", which would read as an address in use.
            try:
                cert, key = load_tls(c.tls_cert, c.tls_key)
            except TlsError as exc:
                raise StartError(str(exc)) from None
            credentials = grpc.ssl_server_credentials([(key, cert)])
        with _fd2_captured() as grpc_said:
            try:
                if credentials is not None:
                    port = self.server.add_secure_port(c.listen, credentials)
                else:
                    port = self.server.add_insecure_port(c.listen)
            except RuntimeError:  # grpc's way of saying the port could not be bound
                failed = True
            else:
                failed = False
        if not failed:
            sys.stderr.write(grpc_said[0])  # nothing is expected; whatever came is not lost
            return port
        # grpc's log holds the cause; its exception only says to turn on debug logging
        raise StartError(f"cannot listen on {c.listen}: {_bind_cause(grpc_said[0])}") from None

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
        if self.auth is not None:
            self.auth.flush()
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
