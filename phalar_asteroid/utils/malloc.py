"""glibc's allocator asked, from inside the process, to keep freed memory for reuse.

By default glibc serves large blocks with ``mmap`` and returns them (and the heap's free top) to
the OS on every ``free``: a CPU training step that allocates and frees the same big activations
every step then pays page faults on each of them again. ``mallopt(M_MMAP_MAX, 0)`` and a high
``M_TRIM_THRESHOLD`` keep them in the heap instead, which is what
``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...`` does at start-up. With
a few distinct tensor sizes the freed blocks are reused; with a new size every step (crops of
any length) the heap fragments and grows, hence
:class:`~phalar_asteroid.data.pairs.RandomCropCollate`'s ``step_seconds``.
"""

import ctypes
import ctypes.util

#: ``mallopt`` parameters, from glibc's ``malloc.h``.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: The highest trim threshold ``mallopt`` takes (an ``int``): the heap is trimmed only when more
#: than this much is free at its top.
MAX_TRIM_THRESHOLD = 2**31 - 1


def keep_freed_memory() -> bool:
    """Stops glibc's malloc from returning freed memory to the OS (this process and its forks).

    Returns:
        bool: True when applied; False where the C library has no ``mallopt`` (musl, macOS,
        Windows) or refused it, and nothing changed.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, MAX_TRIM_THRESHOLD) == 1
