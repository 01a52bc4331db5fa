"""``segue web``'s HTTP API against its real embedded segue-renderd: uploads, refusals, rules.

Bad uploads (a text file named .mp4, a 30000x30000 PNG, a declared 2 GB body, a type the
page does not take) are refused in words and leave nothing on disk, and the daemon keeps
rendering; the security rules (Host, the page's header, the token beyond loopback, file
names from a fixed list) hold.
"""
from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from hostile_media import png_bomb
from retime_clips import encode, pan, texture
from web_harness import TAKE_A, TAKE_B, WebProcess, leftovers


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    process = WebProcess(tmp_path_factory.mktemp("web-root"))
    yield process
    assert process.stop() == 0


def test_an_upload_is_described_and_a_transition_renders(web) -> None:
    status, a = web.upload(TAKE_A)
    assert status == 201 and (a["width"], a["height"], a["frames"], a["fps"]) == (640, 360, 12, "25")
    assert "path" not in a and str(web.root) not in str(a)
    status, b = web.upload(TAKE_B)
    status, job = web.json("POST", "/api/jobs", {"a": a["id"], "b": b["id"], "frames": 3, "model": "classic"})
    assert status == 201, job
    status, _, events = web.call("GET", f"/api/jobs/{job['id']}/events")
    assert status == 200 and b'"state": "succeeded"' in events and events.count(b'"frame": {') == 3
    status, done = web.json("GET", f"/api/jobs/{job['id']}")
    assert done["state"] == "succeeded" and [f["index"] for f in done["frame_list"]] == [1, 2, 3]
    assert set(done["report"]["previews"]) == {"movie", "dissolve", "contact_sheet"}
    status, headers, part = web.call("GET", done["report"]["previews"]["movie"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(part) == 100 and headers["Content-Range"].startswith("bytes 0-99/")


@pytest.mark.parametrize("make,name,words", [
    (lambda d: d.joinpath("notes.txt").write_text("not a movie") and d / "notes.txt", "notes.mp4",
     ["notes.mp4", "Segue cannot use this file"]),
    (lambda d: png_bomb(d / "huge.png", 30000, 30000), "huge.png", ["huge.png", "30000x30000"]),
    (lambda d: d.joinpath("a.doc").write_bytes(b"x") and d / "a.doc", "a.doc", ["not a file type Segue reads"]),
])
def test_a_bad_upload_is_refused_in_words_and_leaves_nothing(web, tmp_path: Path, make, name, words) -> None:
    before = leftovers(web.root)
    status, answer = web.upload(make(tmp_path), name)
    assert 400 <= status < 500 and all(w in answer["error"] for w in words), answer
    assert "Traceback" not in answer["error"] and str(web.root) not in answer["error"]
    assert leftovers(web.root) == before
    assert web.json("GET", "/api/capabilities")[0] == 200  # the daemon is fine


def test_a_2_gb_upload_is_refused_before_a_byte_is_stored(web) -> None:
    before = leftovers(web.root)
    connection = http.client.HTTPConnection(web.host, web.port, timeout=30)
    connection.putrequest("POST", "/api/uploads?name=big.mp4")
    connection.putheader("X-Segue", "1")
    connection.putheader("Content-Length", str(2 << 30))
    connection.endheaders()
    connection.send(b"\0" * 65536)  # the rest never comes: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413 and b"big.mp4 is 2.0 GB" in response.read()
    connection.close()
    assert leftovers(web.root) == before


def test_the_rules_of_every_request(web) -> None:
    assert web.call("GET", "/api/capabilities", headers={"Host": "evil.example:80"})[0] == 421
    assert web.call("POST", "/api/jobs", b"{}", page=False)[0] == 403  # another site's page cannot send X-Segue
    status, headers, _ = web.call("GET", "/")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    for path in ("/api/jobs/../../etc/passwd", "/static/../app.py", "/api/jobs/abc/files/..%2F..%2Fweb.json",
                 "/api/jobs/" + "0" * 32 + "/files/transition.json", "/api/uploads/" + "f" * 32):
        method = "DELETE" if path.startswith("/api/uploads") else "GET"
        assert web.call(method, path)[0] == 404, path


def test_beyond_loopback_a_token_is_needed(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("a-token-of-the-page-0123456789\n")
    exposed = WebProcess(tmp_path / "root", "--listen", "0.0.0.0:0", "--token-file", str(token))
    try:
        assert exposed.url.endswith("?token=a-token-of-the-page-0123456789")
        host = {"Host": f"127.0.0.1:{exposed.port}"}
        assert exposed.call("GET", "/", headers=host)[0] == 401
        assert exposed.call("GET", "/api/capabilities", headers=host)[0] == 401
        status, headers, _ = exposed.call("GET", "/?token=a-token-of-the-page-0123456789", headers=host)
        assert status == 200 and "HttpOnly" in headers["Set-Cookie"]
        cookie = headers["Set-Cookie"].split(";")[0]
        assert exposed.call("GET", "/api/capabilities", headers={**host, "Cookie": cookie})[0] == 200
        assert exposed.call("GET", "/api/capabilities", headers={**host, "Cookie": "segue_token=wrong"})[0] == 401
    finally:
        exposed.stop()


def test_the_true_frames_score_the_transition_beside_a_dissolve(web, tmp_path: Path) -> None:
    frames = pan(texture(), 24, dx=3, dy=1)  # a continuous pan; the cut removes frames 10-13
    clips = {name: encode(frames[lo:hi], tmp_path / f"{name}.mp4")
             for name, (lo, hi) in {"a": (0, 10), "b": (14, 24), "truth": (10, 14)}.items()}
    ids = {name: web.upload(path)[1]["id"] for name, path in clips.items()}
    status, job = web.json("POST", "/api/jobs", {"a": ids["a"], "b": ids["b"], "frames": 4, "placement": "bridge",
                                                 "model": "classic"})
    assert status == 201, job
    assert b'"state": "succeeded"' in web.call("GET", f"/api/jobs/{job['id']}/events")[2]
    status, scores = web.json("POST", f"/api/jobs/{job['id']}/truth", {"truth": ids["truth"], "first": 0})
    assert status == 200 and scores["truth"] == "truth.mp4" and len(scores["frames"]) == 4
    mean = scores["mean"]
    assert mean["psnr"] > 30 and mean["psnr"] > mean["dissolve_psnr"] + 5 and mean["ssim"] > mean["dissolve_ssim"]
    status, refused = web.json("POST", f"/api/jobs/{job['id']}/truth", {"truth": ids["truth"], "first": 2})
    assert status == 422 and "truth.mp4 has 4 frames" in refused["error"] and str(web.root) not in refused["error"]


def test_one_clip_cut_inside_it(web, tmp_path: Path) -> None:
    take = encode(pan(texture(), 24, dx=3, dy=1), tmp_path / "take.mp4")
    clip = web.upload(take)[1]["id"]
    status, headers, png = web.call("GET", f"/api/uploads/{clip}/frames/9.png")
    assert status == 200 and headers["Content-Type"] == "image/png" and png.startswith(b"\x89PNG")
    assert web.call("GET", f"/api/uploads/{clip}/frames/24.png")[0] == 404
    backwards = {"a": clip, "b": clip, "a_end": 14, "b_start": 9, "frames": 4}
    status, refused = web.json("POST", "/api/jobs", backwards)
    assert status == 400 and "the cut must go forward in take.mp4" in refused["error"]
    status, job = web.json("POST", "/api/jobs", {"a": clip, "b": clip, "a_end": 9, "b_start": 14, "frames": 4,
                                                 "placement": "bridge", "model": "classic"})
    assert status == 201 and (job["a_end"], job["b_start"]) == (9, 14)
    assert b'"state": "succeeded"' in web.call("GET", f"/api/jobs/{job['id']}/events")[2]
    status, scores = web.json("POST", f"/api/jobs/{job['id']}/truth", {"truth": clip, "first": 10})
    assert status == 200 and scores["mean"]["psnr"] > 30 and scores["mean"]["psnr"] > scores["mean"]["dissolve_psnr"]
