"""Previews of a transition: the preview movie, the dissolve to compare with, the contact sheet."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import read_rgb

from segue.core import InputError, preview
from segue.core.demo import TAKE_A, TAKE_B
from segue.core.media import open_clip
from segue.core.media.probe import probe_movie
from segue.core.metrics import psnr
from segue.core.transition import REPORT_FILE, TransitionSpec, render_transition

FRAMES = 4


def _to8(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("previews") / "cut"
    spec = TransitionSpec(str(TAKE_A), str(TAKE_B), FRAMES, str(out), model="classic")
    return out, render_transition(spec)


def test_the_report_lists_the_previews(rendered):
    out, report = rendered
    entry = report["previews"]
    assert json.loads((out / REPORT_FILE).read_text())["previews"] == entry
    assert (entry["movie"], entry["dissolve"], entry["contact_sheet"]) == preview.FILES
    assert all((out / name).is_file() for name in preview.FILES)
    assert entry["fps"] == "25" and entry["handles"] == [preview.HANDLES, preview.HANDLES]


def test_the_preview_movie_is_a_tail_the_frames_and_a_head_at_the_clips_rate(rendered):
    out, report = rendered
    info = probe_movie(str(out / preview.MOVIE))
    assert (info.codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 25)
    assert (info.width, info.height) == (640, 360)
    assert (info.colour.matrix, info.colour.primaries, info.colour.transfer) == ("bt709", "bt709", "iec61966-2-1")
    assert info.frame_count == 2 * preview.HANDLES + FRAMES
    movie = [_to8(im) for im in open_clip(str(out / preview.MOVIE)).read_frames(0, info.frame_count)]
    a, b = open_clip(str(TAKE_A)), open_clip(str(TAKE_B))
    tail = [_to8(im) for im in a.read_frames(a.frame_count - preview.HANDLES, preview.HANDLES)]
    head = [_to8(im) for im in b.read_frames(0, preview.HANDLES)]
    ours = [read_rgb(out / f["file"]) for f in report["frames"]]
    expected = [*tail, *ours, *head]
    # each preview frame is the frame it stands for, through one H.264 encode (CRF 16)
    assert min(psnr(got, want) for got, want in zip(movie, expected)) > 35


def test_the_dissolve_preview_differs_only_in_the_middle(rendered):
    out, report = rendered
    movie = open_clip(str(out / preview.MOVIE))
    dissolve = open_clip(str(out / preview.DISSOLVE))
    assert dissolve.frame_count == movie.frame_count
    a, b = open_clip(str(TAKE_A)).read_frame(-1), open_clip(str(TAKE_B)).read_frame(0)
    for k, frame in enumerate(report["frames"]):
        i = preview.HANDLES + k
        t = frame["t"]
        want = _to8((1 - t) * a + t * b)
        got = _to8(dissolve.read_frame(i))
        assert psnr(got, want) > 35
        # the synthesized frame is not the dissolve (the demo's bunny moves)
        assert psnr(_to8(movie.read_frame(i)), want) < psnr(got, want) - 3
    assert psnr(_to8(movie.read_frame(0)), _to8(dissolve.read_frame(0))) > 45  # same handles, same encode


def test_the_contact_sheet_shows_a_every_frame_and_b(rendered):
    out, _ = rendered
    sheet = read_rgb(out / preview.SHEET)
    # 6 thumbnails 320 wide, 5 per row with 6 px gaps: two rows
    assert sheet.shape[1] == 5 * 326 + 6 and sheet.shape[0] > 2 * 180


@pytest.mark.parametrize("size,expected", [((640, 360), (640, 360)), ((1920, 1080), (1280, 720)),
                                           ((1001, 3001), (426, 1280)), ((3, 3), (2, 2))])
def test_preview_size_is_bounded_and_even(size, expected):
    assert preview.preview_size(*size) == expected


def test_no_preview_writes_none_and_removes_earlier_ones(tmp_path):
    spec = TransitionSpec(str(TAKE_A), str(TAKE_B), 2, str(tmp_path), model="classic")
    render_transition(spec)
    assert (tmp_path / preview.MOVIE).is_file()
    spec.preview = False
    report = render_transition(spec)
    assert report["previews"] is None
    assert not any((tmp_path / name).exists() for name in preview.FILES)
    assert (tmp_path / "frame_0002.png").is_file()


def test_a_users_file_named_like_a_preview_is_never_replaced(tmp_path):
    mine = tmp_path / preview.DISSOLVE
    mine.write_bytes(b"an editor's own movie")
    with pytest.raises(InputError, match="preview_dissolve.mp4"):
        render_transition(TransitionSpec(str(TAKE_A), str(TAKE_B), 2, str(tmp_path), model="classic"))
    assert mine.read_bytes() == b"an editor's own movie"


def test_a_short_clip_gives_shorter_handles(tmp_path):
    # out point at A's frame 1 (one frame before it), in point three frames before B's end
    spec = TransitionSpec(str(TAKE_A), str(TAKE_B), 1, str(tmp_path), a_out=1, b_in=-3, model="classic")
    report = render_transition(spec)
    assert report["previews"]["handles"] == [2, 3]
    assert probe_movie(str(tmp_path / preview.MOVIE)).frame_count == 2 + 1 + 3


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: seeks to the last frame, draws it and reports its size, the duration and the mean green level
PAGE = """<!doctype html><video id=v muted playsinline preload=auto src="{src}"></video><pre id=r>pending</pre>
<script>
const v = document.getElementById('v'), r = document.getElementById('r');
v.addEventListener('error', () => r.textContent = 'error ' + (v.error && v.error.code));
v.addEventListener('loadedmetadata', () => {{ v.currentTime = v.duration - 0.02; }});
// a frame can reach the canvas a moment after 'seeked': look again until it has pixels
function report(tries) {{
  const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 1; i < d.length; i += 4) s += d[i];
  if (s === 0 && tries > 0) {{ setTimeout(() => report(tries - 1), 100); return; }}
  const green = (s / (d.length / 4)).toFixed(1);
  r.textContent = `decoded ${{v.videoWidth}}x${{v.videoHeight}} ${{v.duration.toFixed(2)}} ${{green}}`;
}}
v.addEventListener('seeked', () => report(50));
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; CI installs it)")
@pytest.mark.parametrize("name", [preview.MOVIE, preview.DISSOLVE])
def test_chromium_plays_the_previews_with_their_colours(rendered, tmp_path, name):
    out, _ = rendered
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(src=(out / name).as_uri()))
    for _ in range(3):  # a loaded machine can spend the page's virtual time before the movie has loaded
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                               page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
        if ">pending<" not in done.stdout:  # an answer, right or wrong (an 'error' is never retried)
            break
    found = re.search(r"decoded (\d+)x(\d+) ([\d.]+) ([\d.]+)", done.stdout)
    assert found, done.stdout[-2000:]
    movie = open_clip(str(out / name))
    assert (int(found[1]), int(found[2])) == (640, 360)
    assert float(found[3]) == pytest.approx(movie.frame_count / 25, abs=0.02)
    # the browser read the tags as written: its last frame is ours within rounding
    assert float(found[4]) == pytest.approx(255 * movie.read_frame(-1)[..., 1].mean(), abs=2.0)
