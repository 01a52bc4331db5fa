"""The page's transitions: daemon jobs, and the files a browser may fetch from them.

A transition from the page is a `SubmitTransition` to segue-renderd like any other
client's: the clips are two uploads, the frames go to ``ROOT/jobs/<id>/out`` (PNG, so a
browser shows them) with the daemon's previews beside them, and ``ROOT/jobs/<id>/web.json``
keeps what the page shows of it (the clips' names, the settings, the daemon's job id).
The history is the daemon's `ListJobs` joined with those records, so it survives a reload
and a restart of the page until the user deletes a transition (its folder goes with it).

Files are served by name from a fixed list (frames, previews, contact sheet, report, the
zip), never by a path from the browser.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from segue.core import maps, truth
from segue.core.errors import InputError
from segue.renderd._proto import render_pb2 as pb
from segue.renderd.client import FINAL_STATES, RenderClient, RenderError, low_confidence_warning
from segue.web.uploads import Refused, UploadStore

CENTRED, BRIDGE = "centred", "bridge"
PLACEMENTS = (CENTRED, BRIDGE)
MAX_FRAMES = 120
DEFAULT_FRAMES = 8
ID = re.compile(r"[0-9a-f]{32}")
FILE = re.compile(r"frame_\d{4}\.png|preview\.mp4|preview_dissolve\.mp4|contact_sheet\.png|transition\.json"
                  r"|flow\.png|confidence_\d{4}\.png|transition\.mp4|transition\.mov")
#: the movie a transition may come with: "" (none), H.264 or ProRes (`core.preview.write_movie`)
MOVIES = ("", "h264", "prores")
RECORD = "web.json"
ZIP = "frames.zip"
STATES = {pb.JOB_STATE_QUEUED: "queued", pb.JOB_STATE_RUNNING: "running", pb.JOB_STATE_SUCCEEDED: "succeeded",
          pb.JOB_STATE_FAILED: "failed", pb.JOB_STATE_CANCELLED: "cancelled"}


def source_frames(placement: str, frames: int, a_end: int, b_start: int, a_frames: int,
                  b_frames: int) -> tuple[int, int]:
    """``(a_out, b_in)`` for ``frames`` new frames at the cut from A's frame ``a_end`` (the last
    shown before it) to B's frame ``b_start`` (the first shown after it).

    Centred (like Morph Cut): the new frames replace the ``frames // 2`` frames of A up to
    its end and B's first ``frames - frames // 2`` from its start, bridging the frames just
    outside them. Bridge: from A's end frame to B's start frame. `Refused` when the clips
    are too short for it.
    """
    if placement == BRIDGE:
        return a_end, b_start
    before, after = frames // 2, frames - frames // 2
    if a_end - before < 0 or b_start + after > b_frames - 1:
        raise Refused(f"the clips are too short to centre {frames} frames on the cut: that needs {before + 1} frames "
                      f"of A up to the cut (it has {a_end + 1}) and {after + 1} of B from the cut (it has "
                      f"{b_frames - b_start}); ask for fewer frames or bridge the last and first frames")
    return a_end - before, b_start + after


class Jobs:
    """The page's transitions on ``client``'s daemon, their files under ``root/jobs``."""

    def __init__(self, root: Path, client: RenderClient, uploads: UploadStore) -> None:
        self.folder = Path(root) / "jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client = client
        self.uploads = uploads

    def create(self, request: Any, max_frames: int) -> dict:
        """Check the page's request and submit it; returns the new transition (`describe`)."""
        if not isinstance(request, dict):
            raise Refused("send the transition's settings as a JSON object")
        a, a_path = self.uploads.get(request.get("a"))
        b, b_path = self.uploads.get(request.get("b"))
        frames = request.get("frames", DEFAULT_FRAMES)
        limit = min(MAX_FRAMES, max_frames or MAX_FRAMES)
        if type(frames) is not int or not 1 <= frames <= limit:
            raise Refused(f"frames must be a whole number from 1 to {limit}")
        placement = request.get("placement", CENTRED)
        if placement not in PLACEMENTS:
            raise Refused(f"placement must be one of {', '.join(PLACEMENTS)}")
        movie = request.get("movie", "h264")
        if movie not in MOVIES:
            raise Refused("movie must be h264, prores or empty (none)")
        model = request.get("model", "auto")
        if not isinstance(model, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", model):
            raise Refused("model must be one of the daemon's model names")
        if a.fps and b.fps and a.fps != b.fps:
            raise Refused(f"the clips differ in frame rate: {a.name} is {a.fps} fps, {b.name} is {b.fps} fps; "
                          "conform them to one rate first")
        a_end, b_start = request.get("a_end", a.frames - 1), request.get("b_start", 0)
        for name, value, clip in (("a_end", a_end, a), ("b_start", b_start, b)):
            if type(value) is not int or not 0 <= value < clip.frames:
                raise Refused(f"{name} must be a frame of {clip.name}: 0 to {clip.frames - 1}")
        if a.id == b.id and a_end >= b_start:
            raise Refused(f"the cut must go forward in {a.name}: the first frame after it ({b_start}) must come "
                          f"after the last frame before it ({a_end})")
        a_out, b_in = source_frames(placement, frames, a_end, b_start, a.frames, b.frames)
        job_id = secrets.token_hex(16)
        folder = self.folder / job_id
        folder.mkdir()
        record = {"id": job_id, "created": time.time(), "a": a.public, "b": b.public, "frames": frames,
                  "placement": placement, "model": model, "a_end": a_end, "b_start": b_start, "movie": movie}
        spec = {"clip_a": str(a_path), "clip_b": str(b_path), "frames": frames, "out_dir": str(folder / "out"),
                "a_out": a_out, "b_in": b_in, "model": model, "format": "png", "maps": True, "movie": movie or None}
        try:
            record["daemon_job"] = self.client.submit(spec, idempotency_key=job_id).job.job_id
        except RenderError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise Refused(_daemon_says(exc), 400 if exc.code in ("INVALID_ARGUMENT", "NOT_FOUND") else 503) from None
        (folder / RECORD).write_text(json.dumps(record), encoding="utf-8")
        return self.describe(job_id)

    def record(self, job_id: Any) -> tuple[dict, Path]:
        """The page's record of a transition and its folder; `Refused` (404) if there is none."""
        if not isinstance(job_id, str) or not ID.fullmatch(job_id):
            raise Refused("no such transition", 404)
        folder = self.folder / job_id
        try:
            return json.loads((folder / RECORD).read_text(encoding="utf-8")), folder
        except (OSError, ValueError):
            raise Refused("no such transition (it was deleted)", 404) from None

    def describe(self, job_id: str, job: pb.Job | None = None) -> dict:
        """A transition as the page shows it: record, state, progress, frames, report summary.

        ``job``: the daemon's job if the caller has it (a `ListJobs` page), else it is asked for.
        """
        record, folder = self.record(job_id)
        frames = []
        if job is None:
            answer = self.client.get_job(record["daemon_job"], view=pb.JOB_VIEW_FRAMES)
            job, frames = answer.job, [frame_view(job_id, f) for f in answer.frames]
        out = dict(record, state=STATES.get(job.state, "running"), frames_done=job.frames_done,
                   frames_total=job.frames_total, eta=job.eta_seconds if job.HasField("eta_seconds") else None,
                   error=job.error.message if job.HasField("error") else "", frame_list=frames, downloads={})
        report = _report(folder / "out" / "transition.json") if out["state"] == "succeeded" else {}
        if report:
            previews = report.get("previews") if isinstance(report.get("previews"), dict) else {}
            listed = [f for f in report["frames"] if isinstance(f, dict) and FILE.fullmatch(str(f.get("file")))]
            files = f"/api/jobs/{job_id}/files/"
            out["frame_list"] = [{"index": f.get("index"), "t": f.get("t"), "confidence": f.get("confidence"),
                                  "url": files + f["file"], "confidence_map": _map(folder, f.get("index"), files)}
                                 for f in listed]
            out["report"] = {"caution": low_confidence_warning(report),
                             "flow": files + maps.FLOW if (folder / "out" / maps.FLOW).is_file() else "",
                             "fps": (report.get("sources") or {}).get("a", {}).get("fps"),
                             "width": report.get("output", {}).get("width"),
                             "height": report.get("output", {}).get("height"),
                             "previews": {k: files + v for k, v in previews.items()
                                          if isinstance(v, str) and FILE.fullmatch(v)}}
            out["downloads"] = {"zip": f"/api/jobs/{job_id}/frames.zip"}
            made = report.get("movie") if isinstance(report.get("movie"), dict) else {}
            if FILE.fullmatch(str(made.get("file"))) and (folder / "out" / str(made["file"])).is_file():
                out["downloads"]["movie"] = files + made["file"]
        return out

    def history(self) -> list[dict]:
        """Every transition of the page's folder the daemon knows, newest first (`ListJobs`)."""
        mine: dict[str, str] = {}
        for path in self.folder.glob(f"*/{RECORD}"):
            try:
                mine[json.loads(path.read_text(encoding="utf-8"))["daemon_job"]] = path.parent.name
            except (OSError, ValueError, KeyError):
                continue
        out, token = [], ""
        while True:
            page = self.client.list_jobs(page_size=200, page_token=token)
            out += [self.describe(mine[j.job_id], j) for j in page.jobs if j.job_id in mine]
            token = page.next_page_token
            if not token or len(out) >= len(mine):
                return out

    def events(self, job_id: str) -> Iterator[dict]:
        """The transition's progress as it happens: each finished frame, each change of state."""
        record, _ = self.record(job_id)
        for event in self.client.watch(record["daemon_job"]):
            job = event.job
            message = {"state": STATES.get(job.state, "running"), "frames_done": job.frames_done,
                       "frames_total": job.frames_total,
                       "eta": job.eta_seconds if job.HasField("eta_seconds") else None,
                       "error": job.error.message if job.HasField("error") else ""}
            if event.HasField("frame"):
                message["frame"] = frame_view(job_id, event.frame)
            yield message
            if job.state in FINAL_STATES and not event.HasField("frame"):
                return

    def truth(self, job_id: str, request: Any) -> dict:
        """PSNR/SSIM of the finished transition, and of a dissolve, against an uploaded clip of the true frames.

        ``request``: ``{"truth": UPLOAD_ID, "first": N}``: the clip's frame N is what the
        transition's first frame should be (`core.truth.score`).
        """
        record, folder = self.record(job_id)
        if not isinstance(request, dict):
            raise Refused("send the true frames as a JSON object: {\"truth\": upload id, \"first\": frame}")
        upload, path = self.uploads.get(request.get("truth"))
        first = request.get("first", 0)
        if type(first) is not int or first < 0:
            raise Refused("first must be a whole number from 0: the true clip's frame that matches the first new frame")
        if not (folder / "out" / "transition.json").is_file():
            raise Refused("the transition has not finished: nothing to compare yet", 409)
        try:
            scores = truth.score(folder / "out", path, first)
        except InputError as exc:
            raise Refused(str(exc).replace(str(path), upload.name).replace(str(folder / "out"), "the transition"),
                          422) from None
        return dict(scores, truth=upload.name)

    def cancel(self, job_id: str) -> dict:
        """Ask the daemon to stop the transition."""
        record, _ = self.record(job_id)
        return self.describe(job_id, self.client.cancel_job(record["daemon_job"]))

    def delete(self, job_id: str) -> None:
        """Stop the transition if it runs, and remove its folder (frames, previews, downloads)."""
        record, folder = self.record(job_id)
        try:
            job = self.client.cancel_job(record["daemon_job"])
            for _ in self.client.watch(job.job_id):  # until it is final: no worker writes there any more
                pass
        except RenderError:
            pass  # already final, or forgotten by the daemon: nothing writes there
        shutil.rmtree(folder)

    def file(self, job_id: str, name: str) -> Path:
        """A file of the transition by its name (frames, previews, contact sheet, report)."""
        _, folder = self.record(job_id)
        path = folder / "out" / name
        if not FILE.fullmatch(name) or not path.is_file():
            raise Refused("no such file", 404)
        return path

    def zip(self, job_id: str) -> Path:
        """The frames and transition.json as one zip (made once, on first download)."""
        record, folder = self.record(job_id)
        path = folder / ZIP
        if path.is_file():
            return path
        frames = sorted((folder / "out").glob("frame_*.png"))
        if len(frames) != record["frames"] or not (folder / "out" / "transition.json").is_file():
            raise Refused("the transition has not finished: nothing to download yet", 409)
        part = folder / f".{ZIP}.part"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as archive:  # PNG is compressed already
            for frame in [*frames, folder / "out" / "transition.json"]:
                archive.write(frame, f"{_stem(record)}/{frame.name}")
        part.replace(path)
        return path


def frame_view(job_id: str, frame: pb.Frame) -> dict:
    """A finished frame as the page shows it (its file by URL, never by path)."""
    name = Path(frame.path).name
    return {"index": frame.index, "t": frame.t, "confidence": frame.confidence,
            "url": f"/api/jobs/{job_id}/files/{name}" if FILE.fullmatch(name) else ""}


def _map(folder: Path, index: object, files: str) -> str:
    """The URL of frame ``index``'s confidence map, or "" if the daemon wrote none."""
    name = maps.confidence_name(index) if type(index) is int else ""
    return files + name if name and (folder / "out" / name).is_file() else ""


def _report(path: Path) -> dict:
    """The daemon's transition.json, or {} if it cannot be read as one."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) and isinstance(report.get("frames"), list) else {}


def _stem(record: dict) -> str:
    names = [re.sub(r"[^A-Za-z0-9_-]+", "_", Path(record[k]["name"]).stem).strip("_")[:40] or k for k in "ab"]
    return f"segue_{names[0]}_to_{names[1]}"


def _daemon_says(error: RenderError) -> str:
    """The daemon's refusal in the page's words (it names the field; the page names the clips)."""
    message = re.sub(r"/\S*/uploads/[0-9a-f]{32}/clip\.\w+", "the clip", error.message)
    if error.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return "Segue's render daemon is not answering; try again in a moment"
    return f"Segue's render daemon refused the transition: {message}"
