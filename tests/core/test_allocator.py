"""core.allocator: a freed frame buffer stays in the process for the next frame."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from segue.core.allocator import MMAP_THRESHOLD

# A child process, so that this test session's own allocator is left alone. It frees a
# 25 MB frame (1920x1080 float32 RGB) and reports how much free memory glibc's heap holds.
CHILD = r"""
import ctypes, sys
import numpy as np
from segue.core.allocator import keep_frame_buffers

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
tuned = keep_frame_buffers() if sys.argv[1] == "tuned" else None
frame = np.ones((1080, 1920, 3), np.float32)
del frame
print(tuned, libc.mallinfo2().fordblks)
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is glibc's mallopt")


def freed_heap_bytes(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    tuned, free = out.split()
    return tuned, int(free)


def test_freed_frame_stays_in_the_heap_only_when_tuned():
    frame_bytes = 1080 * 1920 * 3 * 4
    assert frame_bytes < MMAP_THRESHOLD  # a 1080p frame is within what the tuning keeps
    tuned, kept = freed_heap_bytes("tuned")
    assert tuned == "True"
    assert kept >= frame_bytes
    # Without the tuning glibc maps the frame on its own and unmaps it on free.
    _, default = freed_heap_bytes("default")
    assert default < frame_bytes
