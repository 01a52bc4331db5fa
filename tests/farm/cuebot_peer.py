"""A test acting as OpenCue's Cuebot toward a real RQD (OpenCue's render-node daemon).

Cuebot is a Java service with a database; what RQD needs of it is small: the report
interface RQD calls (startup, status, frame completion), and Cuebot's side of a frame
launch, RQD's own ``LaunchFrame`` gRPC call with a ``RunFrame``. This peer implements
exactly that with OpenCue's own protobuf messages (opencue-proto), and dispatches the
frames of a serialized job spec as Cuebot would: layer by layer, the ``#IFRAME#`` token
replaced by the frame number.
"""
from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent import futures
from pathlib import Path

import grpc
from opencue_proto import report_pb2, report_pb2_grpc, rqd_pb2, rqd_pb2_grpc


class Cuebot(report_pb2_grpc.RqdReportInterfaceServicer):
    """The report interface RQD calls; every report is queued for the test."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()

    def ReportRqdStartup(self, request, context):  # noqa: N802 - the gRPC method names
        self.events.put(("startup", request.boot_report))
        return report_pb2.RqdReportRqdStartupResponse()

    def ReportStatus(self, request, context):  # noqa: N802
        self.events.put(("status", request.host_report))
        return report_pb2.RqdReportStatusResponse()

    def ReportRunningFrameCompletion(self, request, context):  # noqa: N802
        self.events.put(("complete", request.frame_complete_report))
        return report_pb2.RqdReportRunningFrameCompletionResponse()

    def wait_for(self, kind: str, limit: float):
        """The next report of ``kind`` (others are skipped); a bound on waiting, not a timed check."""
        end = time.monotonic() + limit
        while True:
            try:
                got, message = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"RQD sent no {kind} report within {limit} s") from None
            if got == kind:
                return message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def rqd_node(folder: Path):
    """A real RQD on 127.0.0.1 reporting to a `Cuebot` peer: yields ``(cuebot, rqd stub)``."""
    folder.mkdir(parents=True, exist_ok=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    cuebot = Cuebot()
    report_pb2_grpc.add_RqdReportInterfaceServicer_to_server(cuebot, server)
    cuebot_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    rqd_port = _free_port()
    config = folder / "rqd.conf"
    # frames run as RQD's own user (no user switching: that needs root and real accounts)
    config.write_text(f"""[Override]
OVERRIDE_CUEBOT = 127.0.0.1
CUEBOT_GRPC_PORT = {cuebot_port}
RQD_GRPC_PORT = {rqd_port}
RQD_NETWORK_INTERFACE = lo
OVERRIDE_HOSTNAME = 127.0.0.1
OVERRIDE_NIMBY = False
OVERRIDE_CORES = 2
RQD_BECOME_JOB_USER = False
""")
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    log = open(folder / "rqd.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "rqd", "-c", str(config), "--nimbyoff"], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder,
                            env={**os.environ, "TMPDIR": str(tmp)})
    channel = grpc.insecure_channel(f"127.0.0.1:{rqd_port}")
    try:
        cuebot.wait_for("startup", 60)
        yield cuebot, rqd_pb2_grpc.RqdInterfaceStub(channel)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        channel.close()
        server.stop(0)
        log.close()


def parse_spec(xml: str) -> ET.Element:
    """The ``<spec>`` element of a Cuebot job spec (without its XML declaration and doctype)."""
    body = xml[xml.index("<spec>"):]
    return ET.fromstring(body)


def run_job(spec: ET.Element, cuebot: Cuebot, rqd, logs: Path, env: dict[str, str]) -> list[tuple[str, int, int]]:
    """Dispatch every frame of ``spec``, layer after layer as its dependencies say; return
    ``(layer, frame, exit status)`` of each, in order. Frames of a layer run one at a time."""
    job = spec.find("job")
    job_name = f"{spec.findtext('show')}-{spec.findtext('shot')}-{spec.findtext('user')}_{job.get('name')}"
    results = []
    for layer in job.iter("layer"):
        first, last = (int(v) for v in layer.findtext("range").split("-"))
        for frame in range(first, last + 1):
            frame_name = f"{frame:04d}-{layer.get('name')}"
            command = layer.findtext("cmd").replace("#IFRAME#", str(frame))
            run = rqd_pb2.RunFrame(
                resource_id=f"res-{frame_name}", job_id="job-1", job_name=job_name, frame_id=f"id-{frame_name}",
                frame_name=frame_name, layer_id=f"layer-{layer.get('name')}", command=command,
                user_name=spec.findtext("user"), log_dir=str(logs), show=spec.findtext("show"),
                shot=spec.findtext("shot"), num_cores=int(float(layer.findtext("cores")) * 100),
                start_time=int(time.time() * 1000),
                environment={**env, "CUE_IFRAME": str(frame), "CUE_LAYER": layer.get("name")})
            rqd.LaunchFrame(rqd_pb2.RqdStaticLaunchFrameRequest(run_frame=run), timeout=30)
            done = cuebot.wait_for("complete", 600)
            assert done.frame.frame_name == frame_name
            results.append((layer.get("name"), frame, done.exit_status))
    return results
