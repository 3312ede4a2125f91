r"""faiss indexes over a :class:`~phalar_asteroid.inference.library.StemLibrary` (``--index``).

The library's score of a stem is the mean, over its windows aligned with an active query window
(same window index), of ``query · key``. Since the rows of window ``w`` are one contiguous block,
an index holds one faiss index per window index; a search

1. asks the index of each query window for its ``k'`` best rows (candidates),
2. re-ranks the union of the candidate stems with their exact aligned mean (every aligned
   window of a candidate counts, found or not: ``StemLibrary.scores(..., stems=candidates)``),
   and
3. (``exact`` only) checks that no stem outside the candidates can beat the ``top``-th score:
   all its aligned scores are at most the ``k'``-th score of each window's list, so its mean is
   at most the largest of those; otherwise ``k'`` is doubled and the search repeated.

``exact`` (``IndexFlatIP``; float16 libraries: ``IndexScalarQuantizer`` with ``QT_fp16``, half
the memory, same decoded values) therefore returns the same stems and scores as
:meth:`StemLibrary.search <phalar_asteroid.inference.library.StemLibrary.search>`.
``ivf`` (``IndexIVFFlat`` over ``nlist`` k-means cells, ``nprobe`` probed) and ``hnsw``
(``IndexHNSWFlat``) are approximate: a stem missed by every window's candidate list is missed,
the scores of the stems returned are exact.

An index can be saved beside the library's ``keys.npy`` (:meth:`AnnIndex.save`, a folder
``ann-<kind>`` written atomically) and loaded back; it records the number of rows and features
it was built from and refuses a library that does not match.
"""

import hashlib
import json
import os

import numpy as np

from ..utils.io import atomic_output

#: Index kinds of ``--index``; ``numpy`` is the library's own exact search.
KINDS = ("exact", "ivf", "hnsw")
META_FILE = "ann.json"
#: Rows converted to float32 at a time when a float16 library is added to a float32 index.
BLOCK_ROWS = 65536


def _faiss():
    import faiss  # only here: importing this module does not import faiss

    return faiss


def set_threads(n: int):
    """Sets the number of OpenMP threads faiss uses (all cores by default)."""
    _faiss().omp_set_num_threads(int(n))


def _blocks(keys, lo: int, hi: int):
    for start in range(lo, hi, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, hi)
        yield np.ascontiguousarray(keys[start:stop], dtype=np.float32)


def fingerprint(library) -> str:
    """A cheap identity of a library's rows: its window map, row map and 64 sampled key rows."""
    digest = hashlib.sha256()
    for part in (library.window_offsets, library.row_file):
        digest.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
    sample = np.linspace(0, len(library.keys) - 1, min(64, len(library.keys))).astype(np.int64)
    digest.update(np.ascontiguousarray(library.keys[sample]).tobytes())
    return digest.hexdigest()


def default_nlist(rows: int) -> int:
    """IVF cells for a window of ``rows`` rows: about ``sqrt(rows)``, at least 1."""
    return int(max(1, min(4096, round(np.sqrt(rows)))))


class AnnIndex:
    """One faiss index per window index of a library, searched with exact re-ranking.

    Build one with :meth:`build` or :meth:`load`.

    Args:
        kind (str): ``"exact"``, ``"ivf"`` or ``"hnsw"``.
        indexes (list): one faiss index (or ``None`` for an empty window) per window index.
        params (dict): the build and search settings (``nlist``, ``nprobe``, ``m``,
            ``ef_search``, ``candidates``).
        shape (tuple): ``(rows, features)`` of the keys indexed.
        library_id (str, optional): :func:`fingerprint` of the library indexed.
    """

    def __init__(self, kind, indexes, params, shape, library_id=None):
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}: one of {', '.join(KINDS)}")
        self.kind = kind
        self.indexes = list(indexes)
        self.params = dict(params)
        self.shape = tuple(int(v) for v in shape)
        self.library_id = library_id
        self._apply_search_params()

    @classmethod
    def build(
        cls,
        library,
        kind: str = "exact",
        nlist: int = None,
        nprobe: int = 16,
        m: int = 32,
        ef_search: int = 128,
        candidates: int = 100,
        train_rows: int = 50000,
        seed: int = 0,
    ):
        """Indexes every window block of a library.

        Args:
            library (StemLibrary): the library (float32 or float16 keys, memory-mapped or not).
            kind (str): ``"exact"`` (flat inner product), ``"ivf"`` (IVF-Flat) or ``"hnsw"``.
            nlist (int, optional): IVF cells per window (default :func:`default_nlist`).
            nprobe (int): IVF cells visited per query.
            m (int): HNSW links per node.
            ef_search (int): HNSW search breadth.
            candidates (int): rows asked of each window's index per query (``k'``, at least
                ``top``) by the approximate kinds; ``exact`` starts there and grows as needed.
            train_rows (int): rows sampled (at most) to train the IVF quantizer.
            seed (int): sampling seed of the IVF training rows.

        Returns:
            AnnIndex: the index.
        """
        faiss = _faiss()
        rows, dim = library.keys.shape
        half = library.keys.dtype == np.float16
        params = dict(nprobe=nprobe, m=m, ef_search=ef_search, candidates=candidates)
        rng = np.random.default_rng(seed)
        indexes = []
        for w in range(library.n_windows):
            lo, hi = int(library.window_offsets[w]), int(library.window_offsets[w + 1])
            if hi == lo:
                indexes.append(None)
                continue
            if kind == "exact":
                if half:
                    index = faiss.IndexScalarQuantizer(
                        dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
                    )
                else:
                    index = faiss.IndexFlatIP(dim)
            elif kind == "ivf":
                cells = min(nlist or default_nlist(hi - lo), hi - lo)
                index = faiss.IndexIVFFlat(
                    faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT
                )
                sample = np.sort(rng.choice(hi - lo, min(train_rows, hi - lo), replace=False))
                index.cp.seed = seed
                index.train(np.asarray(library.keys[lo + sample], dtype=np.float32))
                params.setdefault("nlist", {})[str(w)] = cells
            elif kind == "hnsw":
                index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            else:
                raise ValueError(f"unknown index kind {kind!r}: one of {', '.join(KINDS)}")
            for block in _blocks(library.keys, lo, hi):
                index.add(block)
            indexes.append(index)
        return cls(kind, indexes, params, (rows, dim), fingerprint(library))

    def _apply_search_params(self):
        for index in self.indexes:
            if index is None:
                continue
            if self.kind == "ivf":
                index.nprobe = int(self.params["nprobe"])
            elif self.kind == "hnsw":
                index.hnsw.efSearch = int(self.params["ef_search"])

    def set_search(self, nprobe: int = None, ef_search: int = None, candidates: int = None):
        """Changes the search settings (speed against recall) without rebuilding."""
        for name, value in (("nprobe", nprobe), ("ef_search", ef_search)):
            if value is not None:
                self.params[name] = int(value)
        if candidates is not None:
            self.params["candidates"] = int(candidates)
        self._apply_search_params()

    @property
    def nbytes(self) -> int:
        """Approximate memory the indexes hold: stored vectors, ids, centroids and links."""
        faiss = _faiss()
        total = 0
        for index in self.indexes:
            if index is None:
                continue
            if self.kind == "ivf":
                ivf = faiss.extract_index_ivf(index)
                total += ivf.ntotal * (ivf.code_size + 8) + ivf.nlist * ivf.d * 4
            elif self.kind == "hnsw":
                total += index.ntotal * index.d * 4 + index.hnsw.neighbors.size() * 4
            else:
                total += index.ntotal * index.code_size
        return int(total)

    def check(self, library):
        """Raises ValueError unless this index was built from this library (shape, windows and
        :func:`fingerprint`)."""
        if tuple(library.keys.shape) != self.shape or library.n_windows != len(self.indexes):
            raise ValueError(
                f"the {self.kind} index was built from {self.shape[0]} rows of {self.shape[1]} "
                f"features in {len(self.indexes)} windows, the library holds "
                f"{library.keys.shape[0]} of {library.keys.shape[1]} in {library.n_windows}: "
                "rebuild the index"
            )
        if self.library_id is not None and self.library_id != fingerprint(library):
            raise ValueError(f"the {self.kind} index was built from other keys: rebuild it")

    def _candidates(self, queries, query_windows, k):
        """Candidate stems and the largest ``k``-th score of a complete window list."""
        found, bound = [], -np.inf
        for w in np.unique(query_windows):
            if w >= len(self.indexes) or self.indexes[w] is None:
                continue
            index = self.indexes[w]
            kk = min(k, index.ntotal)
            scores, rows = index.search(queries[query_windows == w], kk)
            found.append((w, rows[rows >= 0]))
            if kk < index.ntotal:  # a stem outside this list scores at most its last score
                bound = max(bound, float(scores[:, -1].max()))
        return found, bound

    def search(self, library, queries, query_windows, top: int = 10, exclude=None):
        """The ``top`` stems with the highest mean aligned-window score (see the module).

        Args:
            library (StemLibrary): the library the index was built from.
            queries (np.ndarray): ``(m, features)`` query vectors.
            query_windows (np.ndarray): ``(m,)`` window indices.
            top (int): how many stems to return.
            exclude (array-like, optional): stem indices left out of the ranking.

        Returns:
            tuple: ``(file_indices, scores, pairs)``, best first, as
            :meth:`StemLibrary.search <phalar_asteroid.inference.library.StemLibrary.search>`.
        """
        self.check(library)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.shape[1]:
            raise ValueError(
                f"queries of shape {queries.shape} do not match keys of {self.shape[1]} features"
            )
        query_windows = np.asarray(query_windows, dtype=np.int64)
        excluded = np.zeros(0, np.int64) if exclude is None else np.asarray(exclude, np.int64)
        # One row more than the stems wanted: the last score bounds the stems not listed.
        k = max(int(self.params["candidates"]), int(top) + len(excluded) + 1)
        while True:
            found, bound = self._candidates(queries, query_windows, k)
            rows = [library.window_offsets[w] + r for w, r in found]
            stems = np.unique(library.row_file[np.concatenate([np.zeros(0, np.int64), *rows])])
            stems = stems[~np.isin(stems, excluded)]
            scores, pairs = library.scores(queries, query_windows, stems)
            order = np.lexsort((stems, -scores))[: int(top)]
            order = order[pairs[order] > 0]
            complete = bound == -np.inf or (len(order) == top and scores[order[-1]] > bound)
            if self.kind != "exact" or complete:
                return stems[order], scores[order], pairs[order]
            k *= 2

    def save(self, folder: str):
        """Writes the index as a folder (one faiss file per window and ``ann.json``), atomically.

        Args:
            folder (str): destination, e.g. :func:`index_path` of the library.
        """
        faiss = _faiss()
        with atomic_output(folder, folder=True) as tmp:
            for w, index in enumerate(self.indexes):
                if index is not None:
                    faiss.write_index(index, os.path.join(tmp, f"window{w}.faiss"))
            meta = dict(
                kind=self.kind,
                params=self.params,
                shape=self.shape,
                n=len(self.indexes),
                library_id=self.library_id,
            )
            with open(os.path.join(tmp, META_FILE), "w") as f:
                json.dump(meta, f)

    @classmethod
    def load(cls, folder: str, mmap: bool = False):
        """Reads an index written by :meth:`save`.

        Args:
            folder (str): the index folder.
            mmap (bool): memory-map the faiss files (``IO_FLAG_MMAP``) instead of reading them.

        Returns:
            AnnIndex: the index.

        Raises:
            ValueError: not an index folder, or an unreadable one.
        """
        faiss = _faiss()
        try:
            with open(os.path.join(folder, META_FILE)) as f:
                meta = json.load(f)
            flags = faiss.IO_FLAG_MMAP if mmap else 0
            indexes = []
            for w in range(meta["n"]):
                name = os.path.join(folder, f"window{w}.faiss")
                indexes.append(faiss.read_index(name, flags) if os.path.isfile(name) else None)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            raise ValueError(f"{folder}: unreadable faiss index ({err})") from None
        return cls(meta["kind"], indexes, meta["params"], meta["shape"], meta.get("library_id"))


def index_path(library_folder: str, kind: str) -> str:
    """Where the ``kind`` index of a library folder is saved: ``LIB/ann-<kind>``."""
    return os.path.join(library_folder, f"ann-{kind}")


def library_index(library, kind: str, folder: str = None, save: bool = True, **build):
    """The ``kind`` index of a library: loaded from beside its keys when saved there and still
    matching, else built (and, with ``save`` and a folder, saved for next time).

    Args:
        library (StemLibrary): the library.
        kind (str): one of :data:`KINDS`.
        folder (str, optional): the library's folder (default: its :attr:`base`).
        save (bool): write a newly built index beside the keys (failures to write are ignored:
            a read-only library is still searched).
        **build: settings for :meth:`AnnIndex.build`.

    Returns:
        AnnIndex: the index.
    """
    folder = folder or library.base
    path = None if folder is None else index_path(folder, kind)
    if path is not None and os.path.isfile(os.path.join(path, META_FILE)):
        try:
            index = AnnIndex.load(path)
            index.check(library)
            return index
        except ValueError:
            pass  # stale or unreadable: rebuilt below
    index = AnnIndex.build(library, kind, **build)
    if save and path is not None and kind != "exact":  # a flat index is only a copy of the keys
        try:
            index.save(path)
        except OSError:
            pass
    return index
