"""Keeping freed memory in the process while frames stream through Python.

The frames themselves are sampled into reused canvases, but the upsampled stills (22 MB each at
720p) and a crossfade's blended frames are allocated and freed as a render goes. With glibc's
default dynamic thresholds that memory is often handed back to the kernel right away and faulted
in again for the next one: over the render benchmark the composer's own process takes about
56 000 page faults with them, 36 000 with fixed thresholds (before the canvases, 340 a 720p frame). Fixed thresholds keep freed
memory for reuse (up to ``TRIM_THRESHOLD`` at the top of a heap) and serve allocations below
``MMAP_THRESHOLD`` from the heaps; glibc's ``mallopt`` is the documented way to set them.
"""

from __future__ import annotations

import ctypes
import functools
import os

#: ``mallopt`` parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Freed memory a heap keeps at its top before it is returned to the kernel.
TRIM_THRESHOLD = 64 << 20
#: Allocations from this size on are mapped on their own (glibc's largest allowed value on 64-bit).
MMAP_THRESHOLD = 32 << 20


def is_glibc() -> bool:
    """Whether this process runs on glibc (``mallopt`` and its parameters are glibc's)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or no such name
        return False


@functools.cache
def keep_freed_memory() -> bool:
    """Set the fixed thresholds once per process; True when set, False where there is no glibc."""
    if not is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
