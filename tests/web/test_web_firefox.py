"""The page in Debian's Firefox ESR too: headless, driven over WebDriver BiDi by puppeteer-core
(``tests/web/firefox``: a Node script; no browser download, no geckodriver).

A refusal shown as a message, two takes rendered, the result playing beside the dissolve,
a phone-width window; the same page the Chromium tests drive in depth.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from web_harness import SAFETY, TAKE_A, TAKE_B, WebProcess

HERE = Path(__file__).resolve().parent / "firefox"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    FIREFOX is None or NODE is None or not (HERE / "node_modules" / "puppeteer-core").is_dir(),
    reason="needs Debian's firefox-esr (with libavcodec for H.264), Node.js and `npm ci --prefix tests/web/firefox` "
           "(CI installs all three)")


def test_the_page_works_in_firefox(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("a text file, named like a movie\n")
    web = WebProcess(tmp_path / "root")
    try:
        done = subprocess.run([NODE, str(HERE / "check_page.mjs"), web.url, str(TAKE_A), str(TAKE_B), str(fake)],
                              capture_output=True, text=True, timeout=SAFETY * 3, cwd=HERE,
                              env={"SEGUE_FIREFOX": FIREFOX, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                              check=False)
    finally:
        web.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "holiday.mp4: Segue cannot use this file" in seen["refusal"]
    assert "640 x 360" in seen["info"]
    assert seen["thumbs"] == 4 and seen["metrics"] == 4 and seen["videos"] == [True, True]
    assert seen["download"].endswith("/frames.zip") and seen["phoneWidth"] <= 390
