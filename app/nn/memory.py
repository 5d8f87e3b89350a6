"""The C allocator's reuse of freed memory, for processes that run batches over and over.

glibc serves each block of 128 KiB or more (the dynamic threshold grows to at most 32 MiB)
with its own mmap and hands it back to the kernel when freed, so a training loop whose
layer outputs are megabytes each faults every page of them in again on every pass: at
batch 64, lenet5's forward+backward spent 8-17 % of its CPU time in those faults (same-run
A/B in bench/results.md). keep_freed_memory raises the mmap threshold and the trim
threshold, so freed blocks stay in the heap for the next pass. The process's resident size
then stays at its peak instead of shrinking between passes: right for training and
benchmarks, a choice to make knowingly for a long-lived server.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 256 << 20  # blocks below this come from the heap (glibc max: 32 MiB
TRIM_THRESHOLD_BYTES = 1 << 30  # on 64-bit by default); free memory kept at the heap's top


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD_BYTES,
                      trim_threshold: int = TRIM_THRESHOLD_BYTES) -> bool:
    """Tell glibc's malloc to keep freed blocks below `mmap_threshold` bytes for reuse and
    not to trim less than `trim_threshold` bytes of free heap back to the kernel (the
    effect of MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment, set from
    inside the process). -> True if applied; False where there is no glibc (nothing done)."""
    for value in (mmap_threshold, trim_threshold):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 31:
            raise ValueError(f"a threshold must be an int in [0, 2**31), got {value!r}")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold)
    )
