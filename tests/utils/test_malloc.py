"""keep_freed_memory: glibc keeps a freed 256 MiB block in the process instead of unmapping it."""

import subprocess
import sys

import pytest

# Resident memory (MiB) before, with and after freeing a 256 MiB buffer, in a fresh process (the
# setting lasts for the process: never in the test runner's own heap).
PROBE = """
import os, sys
import numpy as np
from phalar_asteroid.utils.malloc import keep_freed_memory
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
before = rss()
block = np.ones(2**25)  # 256 MiB, every page touched
held = rss()
del block
print(applied, held - before, rss() - before)
"""


def probe(mode: str) -> tuple:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], float(out[1]), float(out[2])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc: Linux")
def test_a_freed_block_stays_resident_only_when_asked():
    applied, held, after = probe("default")
    assert applied == "None" and held > 250 and after < 10  # unmapped at once
    applied, held, after = probe("keep")
    assert applied == "True" and held > 250 and after > 250  # kept for the next allocation
