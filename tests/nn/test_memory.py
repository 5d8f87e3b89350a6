"""app.nn.memory.keep_freed_memory: after it, a process that allocates and frees the same
large arrays pass after pass stops faulting their pages in again; bad thresholds are
refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.nn.memory import keep_freed_memory

ROOT = Path(__file__).resolve().parents[2]

FAULTS = """
import resource, sys
import numpy as np
from app.nn.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def passes():
    for _ in range(10):
        a = np.ones(6_000_000)   # 48 MB: above the most glibc's own threshold grows to
        del a
passes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
passes()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    # Without it each 48 MB block is a fresh mmap (thousands of faults over the passes: the
    # kernel may map some of it in larger pages); with it the heap keeps the block.
    assert faults("default") > 1000
    assert faults("keep") < 100


@pytest.mark.parametrize("bad", [-1, 1 << 31, 1.5, True, "1"])
def test_a_threshold_outside_what_mallopt_takes_is_refused(bad):
    with pytest.raises(ValueError, match="threshold"):
        keep_freed_memory(bad)
    with pytest.raises(ValueError, match="threshold"):
        keep_freed_memory(trim_threshold=bad)
