"""The page in a real browser: Debian's chromium, headless, driven by Playwright.

A user's path through it: drop the two demo takes, render 6 frames, watch them arrive,
play the result beside the dissolve, download the frames (the same bytes as the daemon's
output and as ``segue transition`` with the same settings), reload and find the history;
a long render cancelled; refusals shown as messages; a phone-width window; the true frames
of a cut pan giving PSNR and SSIM beside the dissolve.
"""
from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import pytest
from retime_clips import encode, pan, segue, texture
from web_harness import SAFETY, TAKE_A, TAKE_B, WebProcess, leftovers

from segue.core.media import open_clip

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; "
                                                          "CI installs it)")
#: what the test machine's chromium needs headless: no sandbox as root, no network of its own
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    process = WebProcess(tmp_path_factory.mktemp("web-page"))
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, web):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(SAFETY * 1000)
    page.goto(web.url)
    page.wait_for_selector("body[data-ready='1']", state="attached")
    yield page
    context.close()


def wait_until(page, script: str) -> None:
    """Poll ``script`` in the page until it is true (``wait_for_function`` would need eval, which
    the page's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + SAFETY  # a net for a hang, not a timed assertion
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(50)


def drop_takes(page) -> None:
    page.set_input_files("#file-a", str(TAKE_A))
    page.set_input_files("#file-b", str(TAKE_B))
    page.wait_for_selector("#info-a:not([hidden])")
    page.wait_for_selector("#info-b:not([hidden])")


def test_render_preview_download_and_history(page, web, tmp_path: Path) -> None:
    drop_takes(page)
    assert "640 x 360" in page.inner_text("#info-a") and "12 at 25 fps" in page.inner_text("#info-b")
    page.fill("#frames", "6")
    page.select_option("#model", "classic")
    page.select_option("#movie", "prores")
    page.click("#render")
    page.wait_for_selector("#result:not([hidden])")
    assert page.locator("#thumbs li").count() == 6  # each frame appeared as it was written
    # the preview plays beside the dissolve
    for video in ("#video-segue", "#video-dissolve"):
        wait_until(page, f"document.querySelector('{video}').readyState >= 2")
        assert page.eval_on_selector(video, "v => v.duration") > 0
    assert page.locator("#metrics tr").count() == 6
    # a closer look at a frame: its confidence map, the flow field
    page.check("input[name='closer-view'][value='confidence']")
    page.select_option("#closer-frame", "3")
    wait_until(page, "document.querySelector('#closer-image').complete && "
                     "document.querySelector('#closer-image').naturalWidth > 0")
    assert page.eval_on_selector("#closer-image", "i => i.src").endswith("/files/confidence_0003.png")
    page.locator("#metrics tr").nth(4).click()  # a row of the table picks its frame
    page.check("input[name='closer-view'][value='flow']")
    assert page.eval_on_selector("#closer-image", "i => i.src").endswith("/files/flow.png")
    assert page.input_value("#closer-frame") == "5"

    with page.expect_download() as download:
        page.click("#download-zip")
    archive = tmp_path / "frames.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        got = {Path(n).name: z.read(n) for n in z.namelist()}
    [out] = list((web.root / "jobs").glob("*/out"))
    assert {n: d for n, d in got.items() if n.startswith("frame_")} == {
        p.name: p.read_bytes() for p in sorted(out.glob("frame_*.png"))}
    # centred: 6 frames replace A's last 3 and B's first 3, bridging A's frame -4 and B's frame 3
    local = segue("transition", TAKE_A, TAKE_B, "--frames", "6", "--a-out=-4", "--b-in", "3", "--model", "classic",
                  "-o", tmp_path / "local", "-q")
    assert local.returncode == 0, local.stderr
    assert {n: d for n, d in got.items() if n.startswith("frame_")} == {
        p.name: p.read_bytes() for p in sorted((tmp_path / "local").glob("frame_*.png"))}

    # the movie: the 6 frames with the clips' frames around them, full size, ProRes
    assert page.inner_text("#download-movie") == "Download the movie (ProRes, .mov)"
    with page.expect_download() as download:
        page.click("#download-movie")
    movie = tmp_path / "transition.mov"
    download.value.save_as(movie)
    clip = open_clip(movie)
    assert (clip.width, clip.height, clip.bit_depth) == (640, 360, 10) and clip.frame_count > 6

    page.reload()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    item = page.locator("#history li[data-state='succeeded']")
    assert item.count() >= 1 and "take_a.mp4 into take_b.mp4, 6 frames" in item.first.inner_text()
    item.first.get_by_role("button", name="Show").click()
    page.wait_for_selector("#result:not([hidden])")
    assert page.eval_on_selector("#video-segue", "v => v.src").endswith("/files/preview.mp4")


def test_a_long_render_is_cancelled(page) -> None:
    drop_takes(page)
    page.fill("#frames", "100")
    page.select_option("#model", "classic")
    page.check("input[value='bridge']")
    page.click("#render")
    page.wait_for_selector("#thumbs li")
    page.click("#cancel")
    wait_until(page, "document.querySelector('#progress-text').textContent === 'Cancelled.'")
    page.wait_for_selector("#history li[data-state='cancelled']")  # the history says so too
    assert page.is_hidden("#result")


def test_refusals_are_messages(page, web, tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is a text file\n")
    before = leftovers(web.root)
    page.set_input_files("#file-a", str(fake))
    page.wait_for_selector("#message:not([hidden])")
    assert "holiday.mp4: Segue cannot use this file" in page.inner_text("#message")
    assert leftovers(web.root) == before

    huge = tmp_path / "huge.mov"
    with open(huge, "wb") as f:
        f.truncate(2 << 30)  # 2 GB, sparse: refused before it is sent
    page.set_input_files("#file-b", str(huge))
    wait_until(page, "document.querySelector('#message').textContent.includes('huge.mov is 2.0 GB')")
    assert page.is_disabled("#render")

    drop_takes(page)  # the daemon is fine: the next uploads and the centring check work
    page.fill("#frames", "40")
    page.click("#render")
    wait_until(page, "document.querySelector('#message').textContent.includes('too short to centre 40 frames')")


def test_keyboard_and_a_phone_width_window(browser, web) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(web.url)
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the side
    labels = page.eval_on_selector_all("input, select", "els => els.filter(e => !e.labels || !e.labels.length)"
                                                        ".map(e => e.id || e.name)")
    assert labels == []  # every control has a label
    page.focus("#file-a")
    reached = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.name"))
    assert {"file-b", "frames", "placement", "model"} <= reached
    context.close()


def test_the_true_frames_give_psnr_and_ssim_beside_the_dissolve(page, tmp_path: Path) -> None:
    frames = pan(texture(), 24, dx=3, dy=1)  # a continuous pan; the cut removes frames 10-13
    clips = {name: encode(frames[lo:hi], tmp_path / f"{name}.mp4")
             for name, (lo, hi) in {"a": (0, 10), "b": (14, 24), "truth": (10, 14)}.items()}
    page.set_input_files("#file-a", str(clips["a"]))
    page.set_input_files("#file-b", str(clips["b"]))
    page.wait_for_selector("#info-b:not([hidden])")
    page.fill("#frames", "4")
    page.check("input[value='bridge']")
    page.select_option("#model", "classic")
    page.click("#render")
    page.wait_for_selector("#result:not([hidden])")
    page.set_input_files("#file-truth", str(clips["truth"]))
    page.wait_for_selector("#truth-table:not([hidden])")
    rows = page.locator("#truth-rows tr")
    assert rows.count() == 5
    mean = rows.nth(4).locator("td").all_inner_texts()
    segue_db, dissolve_db = float(mean[1].split()[0]), float(mean[3].split()[0])
    assert mean[0] == "mean" and segue_db > 30 and segue_db > dissolve_db + 5


def test_one_clip_with_the_cut_picked_on_the_scrubber(page, tmp_path: Path) -> None:
    take = encode(pan(texture(), 24, dx=3, dy=1), tmp_path / "take.mp4")
    page.check("input[name='mode'][value='one']")
    assert page.is_hidden("#drop-b")
    page.set_input_files("#file-a", str(take))
    page.wait_for_selector("#scrubber:not([hidden])")
    wait_until(page, "[...document.querySelectorAll('#strip img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#strip img").count() == 8
    page.fill("#cut-out", "9")
    page.fill("#cut-in", "14")
    assert page.inner_text("#cut-out-at") == "frame 9 (0.36 s)" and page.inner_text("#cut-in-at").startswith("frame 14")
    assert page.eval_on_selector("#in-img", "i => i.src").endswith("/frames/14.png")
    page.fill("#frames", "4")
    page.check("input[value='bridge']")
    page.select_option("#model", "classic")
    page.click("#render")
    page.wait_for_selector("#result:not([hidden])")
    assert "take.mp4, cut from frame 9 to frame 14: 4 frames" in page.inner_text("#result-names")
    page.fill("#truth-first", "10")
    page.set_input_files("#file-truth", str(take))
    page.wait_for_selector("#truth-table:not([hidden])")
    mean = page.locator("#truth-rows tr").nth(4).locator("td").all_inner_texts()
    assert float(mean[1].split()[0]) > 30
