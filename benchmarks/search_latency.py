"""Exact stem-search latency of :class:`phalar_asteroid.inference.library.StemLibrary` on this CPU.

For each library size (10^4, 10^5, 10^6 random stems of one window each, 1,024 real features:
PHALAR's ``H y`` as ``[Re | Im]``) and key storage (float32, float16), builds the library in
memory (not timed), then times ``library.search(query, [0], top)`` -- one real matrix-vector
product over every stored row plus an ``argpartition`` for the top k -- ``--repeats`` times and
prints the median and the maximum, with the memory the keys take and the process's peak RSS.
Peak memory is about 6 GB with the defaults (4 GB of float32 keys at 10^6, then 2 GB of float16).

Example::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/search_latency.py
"""

import argparse
import gc
import resource
import statistics
import time

import numpy as np

from phalar_asteroid.inference.library import StemLibrary

FEATURES = 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16"])
    parser.add_argument("--repeats", type=int, default=15, help="timed queries per size")
    parser.add_argument("--top", type=int, default=10)
    return parser.parse_args()


def random_keys(rng, n, dtype):
    """``(n, FEATURES)`` random keys, generated in blocks to bound the float32 temporaries."""
    keys = np.empty((n, FEATURES), dtype=dtype)
    for start in range(0, n, 65536):
        stop = min(start + 65536, n)
        keys[start:stop] = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
    return keys


def library_of(keys):
    n = len(keys)
    # One window per stem: rows are already in (window, file) order, offsets [0, n].
    return StemLibrary(keys, np.arange(n), np.array([0, n]), [f"s{i}" for i in range(n)], {})


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    print(f"{'stems':>9}  {'keys':>7}  {'memory':>9}  {'median':>9}  {'max':>9}  {'peak RSS':>9}")
    for dtype in args.dtypes:
        for n in args.sizes:
            library = library_of(random_keys(rng, n, np.dtype(dtype)))
            query = rng.standard_normal((1, FEATURES), dtype=np.float32)
            library.search(query, [0], args.top)  # warm-up: page in, allocate
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                library.search(query, [0], args.top)
                times.append(time.perf_counter() - start)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            print(
                f"{n:>9,}  {dtype:>7}  {library.keys.nbytes / 2**20:>6.0f} MB"
                f"  {1e3 * statistics.median(times):>6.1f} ms  {1e3 * max(times):>6.1f} ms"
                f"  {peak:>6.2f} GB",
                flush=True,
            )
            del library
            gc.collect()


if __name__ == "__main__":
    main()
