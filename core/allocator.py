"""Let a rendering process reuse its freed frame buffers (glibc only).

By default glibc serves every allocation above 128 KB with a fresh ``mmap`` once the
program has freed a large block, and gives the block back to the kernel on ``free``. A
render loop allocates frame-sized arrays (a 1920x1080 float32 RGB frame is 25 MB) many
times per frame, so each of them costs thousands of page faults and the kernel zeroing
every page again. Raising the mmap threshold to glibc's maximum (32 MB) and not trimming
the heap keeps freed frames in the process for the next one: measured with
``bench/bench_engine.py`` (1920x1080, same process), classic 323 -> 275 ms and the learned
path 1182 -> 711 ms per in-between frame. The cost is that the process keeps its peak heap
until it exits, which is what a renderer wants.

Only Segue's own processes call this (the `segue` CLI, `segue-renderd`, the benchmarks):
importing `core` never changes the allocator of someone else's program.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest accepted mmap threshold on 64-bit systems (larger values are refused)
MMAP_THRESHOLD = 32 * 1024 * 1024
#: free memory kept at the heap's top before any is returned (mallopt takes an int: 2 GB)
TRIM_THRESHOLD = 2**31 - 1


def keep_frame_buffers() -> bool:
    """Tune glibc's allocator so freed frame buffers are reused; True if it took effect.

    A no-op returning False off glibc (macOS, Windows, musl).
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
