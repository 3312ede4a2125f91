"""Stem-search latency, recall, build time and memory: numpy exact, faiss exact, faiss IVF.

For each library size (10^4, 10^5, 10^6 stems of one window each, 1,024 real features: PHALAR's
``H y`` as ``[Re | Im]``), builds the library in memory, then times

* ``numpy``: :meth:`StemLibrary.search <phalar_asteroid.inference.library.StemLibrary.search>`
  (one matrix-vector product over every row and an ``argpartition``);
* ``exact``: the same search through a faiss ``IndexFlatIP``
  (:class:`~phalar_asteroid.inference.ann.AnnIndex`, same stems and scores);
* ``ivf``: faiss ``IndexIVFFlat`` (``--nlist`` cells, default ``sqrt(n)``; one row per ``nprobe``
  setting) with exact re-ranking of the candidates.

Per engine: median and p95 latency of one query (``library.search``), the per-query time of a
batch of 64 independent queries (numpy: one ``keys @ Q`` product; faiss: one ``index.search`` of
the batch, then the exact re-ranking of each query's candidates), recall@10 against exact, build
time, the engine's own memory (beyond the keys) and the process's peak RSS. For the exact engines
it also prints the memory-bandwidth figure: bytes of keys read per query / median time.

Keys (``--real``, recommended): i.i.d. Gaussian vectors understate how hard IVF search is, so the
library is grown from real PHALAR keys (``benchmarks/real_keys.py``: windows of a rendered corpus,
embedded by the shipped model): each synthetic key is a random convex mixture of a real key ``a``
and one of its 10 nearest real neighbours ``b``, ``a + t (b - a)`` with ``t ~ U(0, 0.5)``, plus
Gaussian noise of norm 0.1 x the distance from ``a`` to its nearest neighbour; the queries are the
real mix windows' query vectors. Without ``--real``: Gaussian keys and queries.

Example::

    python benchmarks/real_keys.py /tmp/corpus --out /tmp/real_keys.npz
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/search_latency.py --real /tmp/real_keys.npz
"""

import argparse
import gc
import resource
import time

import numpy as np

from phalar_asteroid.inference.ann import AnnIndex, set_threads
from phalar_asteroid.inference.library import StemLibrary

FEATURES = 1024
BLOCK = 65536


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--real", help="npz of real keys and queries (benchmarks/real_keys.py)")
    parser.add_argument("--queries", type=int, default=50, help="timed single queries per engine")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--nlist", type=int, help="IVF cells (default: sqrt(stems))")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--train-rows", type=int, default=40000)
    parser.add_argument("--engines", nargs="+", default=["numpy", "exact", "ivf"])
    parser.add_argument(
        "--faiss-threads",
        type=int,
        default=1,
        help="faiss OpenMP threads (default 1: on 2 shared cores, 2 threads oversubscribe and "
        "slow batches 3x; faiss parallelises over queries, so a single query uses one anyway)",
    )
    return parser.parse_args()


def synthetic(rng, n, real):
    """``(n, FEATURES)`` float32 keys and a query source (see the module docstring)."""
    keys = np.empty((n, FEATURES), dtype=np.float32)
    if real is None:
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            keys[start:stop] = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
        return keys
    base = real
    dist = ((base**2).sum(1)[:, None] + (base**2).sum(1)[None] - 2 * base @ base.T).clip(0)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1)[:, :10]
    nearest = np.sqrt(dist.min(axis=1))
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        a = rng.integers(0, len(base), stop - start)
        b = neighbours[a, rng.integers(0, 10, stop - start)]
        t = rng.uniform(0, 0.5, (stop - start, 1)).astype(np.float32)
        noise = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
        noise *= (0.1 * nearest[a] / np.sqrt(FEATURES))[:, None].astype(np.float32)
        keys[start:stop] = base[a] + t * (base[b] - base[a]) + noise
    return keys


def library_of(keys):
    n = len(keys)
    # One window per stem: rows are already in (window, file) order, offsets [0, n].
    return StemLibrary(keys, np.arange(n), np.array([0, n]), [f"s{i}" for i in range(n)], {})


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def numpy_batch(library, queries, top):
    scores = library.keys @ queries.T
    best = np.argpartition(-scores, top - 1, axis=0)[:top]
    return [b[np.argsort(-scores[b, j])] for j, b in enumerate(best.T)]


def faiss_batch(index, library, queries, top):
    _, rows = index.indexes[0].search(queries, max(top, index.params["candidates"]))
    out = []
    for q, r in zip(queries, rows):
        stems = library.row_file[r[r >= 0]]
        scores, _ = library.scores(q[None], [0], stems)
        out.append(stems[np.lexsort((stems, -scores))[:top]])
    return out


def measure(name, search, batch, queries, args):
    search(queries[0])  # warm-up
    single = [timed(lambda q=q: search(q))[0] for q in queries[: args.queries]]
    results = [search(q) for q in queries]
    batches = [queries[i : i + args.batch] for i in range(0, len(queries), args.batch)]
    batch_time = sum(timed(lambda b=b: batch(b))[0] for b in batches) / len(queries)
    return dict(
        name=name,
        median=np.median(single),
        p95=np.percentile(single, 95),
        batch=batch_time,
        results=results,
    )


def recall(results, truth, top):
    return np.mean([len(set(r) & set(t)) / top for r, t in zip(results, truth)])


def report(n, row, truth, args, build=None, memory=None):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gbs = n * FEATURES * 4 / row["median"] / 1e9
    print(
        f"{n:>9,}  {row['name']:>14}  {1e3 * row['median']:>8.2f}  {1e3 * row['p95']:>8.2f}"
        f"  {1e3 * row['batch']:>9.2f}  {recall(row['results'], truth, args.top):>6.3f}"
        f"  {'' if build is None else f'{build:.1f} s':>8}"
        f"  {'' if memory is None else f'{memory / 2**20:.0f} MB':>9}  {peak:>6.2f} GB"
        + (f"  ({gbs:.1f} GB/s of keys)" if row["name"] in ("numpy", "exact") else ""),
        flush=True,
    )


def main():
    args = parse_args()
    set_threads(args.faiss_threads)
    rng = np.random.default_rng(0)
    real = None if args.real is None else np.load(args.real)
    print(
        f"{'stems':>9}  {'engine':>14}  {'median':>8}  {'p95':>8}  {'batch/q':>9}  {'R@10':>6}"
        f"  {'build':>8}  {'memory':>9}  {'peakRSS':>9}   (ms per query)"
    )
    for n in args.sizes:
        keys = synthetic(rng, n, None if real is None else real["keys"])
        library = library_of(keys)
        if real is None:
            queries = rng.standard_normal((max(args.queries, args.batch), FEATURES))
        else:
            queries = np.resize(real["queries"], (max(args.queries, args.batch), FEATURES))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        rows = {}
        truth = [library.search(q[None], [0], args.top)[0] for q in queries]
        if "numpy" in args.engines:
            rows["numpy"] = measure(
                "numpy",
                lambda q: library.search(q[None], [0], args.top)[0],
                lambda b: numpy_batch(library, b, args.top),
                queries,
                args,
            )
            report(n, rows["numpy"], truth, args, memory=0)
        if "exact" in args.engines:
            build, index = timed(lambda: AnnIndex.build(library, "exact", candidates=args.top))
            row = measure(
                "exact",
                lambda q: library.search(q[None], [0], args.top, index=index)[0],
                lambda b: faiss_batch(index, library, b, args.top),
                queries,
                args,
            )
            report(n, row, truth, args, build, index.nbytes)
            del index
            gc.collect()
        if "ivf" in args.engines:
            nlist = args.nlist or int(round(np.sqrt(n)))
            build, index = timed(
                lambda: AnnIndex.build(
                    library, "ivf", nlist=nlist, candidates=args.top, train_rows=args.train_rows
                )
            )
            for nprobe in args.nprobe:
                index.set_search(nprobe=nprobe)
                row = measure(
                    f"ivf{nlist}/p{nprobe}",
                    lambda q: library.search(q[None], [0], args.top, index=index)[0],
                    lambda b: faiss_batch(index, library, b, args.top),
                    queries,
                    args,
                )
                report(n, row, truth, args, build, index.nbytes)
                build = None
            del index
            gc.collect()
        del library, keys
        gc.collect()


if __name__ == "__main__":
    main()
