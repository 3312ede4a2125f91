r"""A stored index of stem embeddings and exact search over it (``phalar index`` / ``search``).

The symmetric scores of the contrastive models are real bilinear forms of (transformed)
embeddings, so a library can store each stem once as a precomputed "key" vector and answer a
query with one real matrix-vector product: for PHALAR's complex bilinear similarity,
:math:`s_H(x, y) = \mathrm{Re}(\hat x^H H \hat y) = \langle \hat x, H\hat y \rangle_{\mathbb{R}}`,
so the key of a stem is :math:`H\hat y` laid out as the real vector ``[Re | Im]`` and the query
is :math:`\hat x` in the same layout (``model.key_vectors`` / ``model.query_vectors``, defined by
every searchable :class:`~phalar_asteroid.nn.similarity.Similarity`).

Long files are embedded in windows (:mod:`phalar_asteroid.inference.audio`): the library holds one row
per active window of every stem, sorted by window index so that all rows of window ``w`` are
one contiguous block. A stem's score against a query is the mean of the scores of its windows
that pair with an active query window of the same index (aligned windows), which is what
``phalar score`` computes for one pair of files.

On disk a library is a folder: ``keys.npy`` (float32 or float16, memory-mapped when loaded) and
``meta.npz`` (file list, row → file and row → window maps, model identity, window settings, key
width, the size and modification time of every stem file when it was embedded). The stem paths are stored
relative to the library folder and resolved against its location when it is loaded, so a library
moved together with its stems keeps working.

A library is updated in place rather than rebuilt (:func:`plan_update`, ``build_library(...,
existing=)``): files not yet in it are embedded and added, files changed since (size or
modification time) are embedded again, and stems whose file no longer exists are dropped.

Importing this module does not import torch (the ``phalar`` command checks its arguments first).
"""

import json
import os
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from tqdm import tqdm

from ..utils.io import atomic_output, file_stat
from .audio import HOP_SECONDS, WINDOW_SECONDS, load_audio

#: Version of the on-disk layout. 2: stem paths relative to the library folder, file sizes and
#: times stored; 1 (refused): paths relative to an absolute ``info["root"]``.
FORMAT_VERSION = 2
KEYS_FILE = "keys.npy"
META_FILE = "meta.npz"


def check_destination(path: str):
    """Raises FileExistsError when ``path`` exists and is not a library (never overwritten)."""
    if os.path.exists(path) and not os.path.isfile(os.path.join(path, META_FILE)):
        raise FileExistsError(f"{path} exists and is not a stem library: not overwriting it")


def _relative(path: str, start: str) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows): no relative path exists
        return os.path.abspath(path)


class StemLibrary:
    """Key vectors of stem windows, with exact top-k search.

    Build one with :meth:`from_rows` (sorts the rows by window) or :meth:`load`.

    Args:
        keys (np.ndarray): ``(rows, features)`` float32 or float16, sorted by window index.
        row_file (np.ndarray): ``(rows,)`` index into ``files`` of each row.
        window_offsets (np.ndarray): rows of window ``w`` are
            ``window_offsets[w]:window_offsets[w + 1]``.
        files (list): stem file names, relative to ``base``.
        info (dict): JSON-serialisable settings (model identity, window and hop seconds, …).
        base (str, optional): absolute folder that ``files`` are relative to (the library's own
            folder once loaded); without it the names are taken as they are, and stored as they
            are by :meth:`save`.
        file_stats (np.ndarray, optional): ``(n_files, 2)`` int64 size and modification time
            (ns) of each file when it was embedded (:func:`~phalar_asteroid.utils.io.file_stat`); -1 where unknown.
    """

    def __init__(self, keys, row_file, window_offsets, files, info, base=None, file_stats=None):
        self.keys = keys
        self.row_file = row_file
        self.window_offsets = window_offsets
        self.files = list(files)
        self.info = dict(info)
        self.base = None if base is None else os.path.abspath(base)
        if file_stats is None:
            file_stats = np.full((len(self.files), 2), -1, dtype=np.int64)
        self.file_stats = np.asarray(file_stats, dtype=np.int64).reshape(len(self.files), 2)

    @classmethod
    def from_rows(
        cls, keys, row_file, row_window, files, info, dtype=np.float32, base=None, file_stats=None
    ):
        """Builds a library from unsorted rows.

        Args:
            keys (np.ndarray): ``(rows, features)`` key vectors.
            row_file (np.ndarray): ``(rows,)`` file index of each row.
            row_window (np.ndarray): ``(rows,)`` window index of each row.
            files (list): file names.
            info (dict): settings stored with the library.
            dtype: storage type of the keys, ``np.float32`` or ``np.float16``.
            base (str, optional): folder the names are relative to (see :class:`StemLibrary`).
            file_stats (np.ndarray, optional): ``(n_files, 2)`` sizes and modification times.

        Returns:
            StemLibrary: rows sorted by (window, file).
        """
        row_file, row_window = np.asarray(row_file), np.asarray(row_window)
        order = np.lexsort((row_file, row_window))
        offsets = np.searchsorted(row_window[order], np.arange(row_window.max(initial=-1) + 2))
        keys = np.asarray(keys)
        # Rows of one-window stems are already in order: skip the copy (4 GB for 10^6 stems).
        if np.any(order != np.arange(len(order))):
            keys, row_file = keys[order], row_file[order]
        keys = np.ascontiguousarray(keys, dtype=dtype)
        return cls(
            keys, row_file.astype(np.int64), offsets.astype(np.int64), files, info, base, file_stats
        )

    @property
    def n_windows(self) -> int:
        """Number of window indices (the longest stem's window count)."""
        return len(self.window_offsets) - 1

    def path(self, index: int) -> str:
        """The file of stem ``index``, resolved against :attr:`base`."""
        if self.base is None:
            return self.files[index]
        return os.path.normpath(os.path.join(self.base, self.files[index]))

    @cached_property
    def paths(self) -> list:
        """The file of every stem (see :meth:`path`)."""
        return [self.path(i) for i in range(len(self.files))]

    def match(self, path: str) -> np.ndarray:
        """Indices of the stems stored for the file ``path``, or under the folder ``path``.

        Args:
            path (str): absolute, or relative to the working directory.

        Returns:
            np.ndarray: int64 stem indices, ascending (empty when none matches).
        """
        target = os.path.normpath(os.path.abspath(path))
        under = target.rstrip(os.sep) + os.sep
        stems = (os.path.abspath(p) for p in self.paths)
        return np.array(
            [i for i, p in enumerate(stems) if p == target or p.startswith(under)], dtype=np.int64
        )

    def rows(self) -> tuple:
        """The stored rows as :meth:`from_rows` takes them: ``(keys, row_file, row_window)``."""
        row_window = np.repeat(np.arange(self.n_windows), np.diff(self.window_offsets))
        return self.keys, self.row_file, row_window

    def subset(self, indices) -> "StemLibrary":
        """The library of the stems ``indices`` only (in their stored order; keys copied).

        Args:
            indices (array-like): stem indices to keep.

        Returns:
            StemLibrary: same info and base (this library itself when every stem is kept).
        """
        keep = np.zeros(len(self.files), dtype=bool)
        keep[np.asarray(indices, dtype=np.int64)] = True
        if keep.all():
            return self
        renumber = np.cumsum(keep) - 1
        keys, row_file, row_window = self.rows()
        rows = keep[row_file]
        return StemLibrary.from_rows(
            keys[rows],
            renumber[row_file[rows]],
            row_window[rows],
            [name for name, kept in zip(self.files, keep) if kept],
            self.info,
            dtype=self.keys.dtype,
            base=self.base,
            file_stats=self.file_stats[keep],
        )

    def merge(self, other: "StemLibrary", dtype=None) -> "StemLibrary":
        """This library's stems followed by those of ``other`` (built with the same model).

        Args:
            other (StemLibrary): more stems; their names are rebased onto this :attr:`base`.
            dtype: storage type of the result (default: this library's).

        Returns:
            StemLibrary: this library's info and base.
        """
        keys, row_file, row_window = self.rows()
        more_keys, more_file, more_window = other.rows()
        names = other.paths if self.base is None else [_relative(p, self.base) for p in other.paths]
        return StemLibrary.from_rows(
            np.concatenate((keys, np.asarray(more_keys, dtype=keys.dtype))),
            np.concatenate((row_file, more_file + len(self.files))),
            np.concatenate((row_window, more_window)),
            self.files + names,
            self.info,
            dtype=dtype or self.keys.dtype,
            base=self.base,
            file_stats=np.concatenate((self.file_stats, other.file_stats)),
        )

    def _dot(self, lo: int, hi: int, query: np.ndarray) -> np.ndarray:
        if self.keys.dtype == np.float32:
            return self.keys[lo:hi] @ query
        import torch  # only here: the module does not import torch

        # float16 keys: numpy has no fast half-precision product (an upcast costs ~10x the
        # product itself), torch's accumulates in float32 and rounds the scores to float16.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # read-only memory map: never written
            keys = torch.from_numpy(self.keys[lo:hi])
        return torch.mv(keys, torch.from_numpy(query).half()).float().numpy()

    def scores(self, queries, query_windows, stems=None):
        """Mean aligned-window score of every stem, or of some.

        Args:
            queries (np.ndarray): ``(m, features)`` query vectors of the mix's active windows.
            query_windows (np.ndarray): ``(m,)`` their window indices.
            stems (array-like, optional): stem indices to score (e.g. the candidates of a faiss
                index); all stems by default.

        Returns:
            tuple: ``(scores, pairs)``, both ``(n_files,)`` (or ``(len(stems),)``): the mean score
            (``-inf`` for stems with no window paired) and the number of window pairs averaged.
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.keys.shape[1]:
            raise ValueError(
                f"queries of shape {queries.shape} do not match keys of {self.keys.shape[1]} "
                "features"
            )
        if stems is not None:
            stems = np.asarray(stems, dtype=np.int64)
        n_scored = len(self.files) if stems is None else len(stems)
        sums = np.zeros(n_scored)
        pairs = np.zeros(n_scored, dtype=np.int64)
        for query, window in zip(queries, np.asarray(query_windows)):
            if window >= self.n_windows:
                continue
            lo, hi = self.window_offsets[window], self.window_offsets[window + 1]
            files = self.row_file[lo:hi]  # ascending: rows are sorted by (window, file)
            if stems is None:
                sums += np.bincount(files, self._dot(lo, hi, query), minlength=n_scored)
                pairs += np.bincount(files, minlength=n_scored)
                continue
            at = np.searchsorted(files, stems)
            found = at < len(files)
            found[found] = files[at[found]] == stems[found]
            keys = np.asarray(self.keys[lo + at[found]], dtype=np.float32)
            sums[found] += keys @ query
            pairs[found] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(pairs > 0, sums / np.maximum(pairs, 1), -np.inf)
        return mean, pairs

    def search(self, queries, query_windows, top: int = 10, exclude=None, index=None):
        """The ``top`` stems with the highest mean aligned-window score.

        Args:
            queries (np.ndarray): ``(m, features)`` query vectors.
            query_windows (np.ndarray): ``(m,)`` window indices.
            top (int): how many stems to return.
            exclude (array-like, optional): stem indices left out of the ranking.
            index (AnnIndex or str, optional): search with a faiss index of this library
                (:mod:`~phalar_asteroid.inference.ann`), or its kind (``"exact"``, ``"ivf"``,
                ``"hnsw"``: loaded from beside the keys, else built and saved there); ``None`` or
                ``"numpy"``: one exact pass over the keys with numpy.

        Returns:
            tuple: ``(file_indices, scores, pairs)``, best first; stems without a paired window
            and excluded stems are never returned.
        """
        if index is not None and not (isinstance(index, str) and index == "numpy"):
            from .ann import library_index

            if isinstance(index, str):
                index = library_index(self, index)
            return index.search(self, queries, query_windows, top, exclude)
        scores, pairs = self.scores(queries, query_windows)
        if exclude is not None and len(exclude):
            exclude = np.asarray(exclude, dtype=np.int64)
            scores[exclude], pairs[exclude] = -np.inf, 0
        k = min(int(top), int((pairs > 0).sum()))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return best, scores[best], pairs[best]

    def save(self, path: str):
        """Writes the library folder; it appears complete or not at all.

        An existing library at ``path`` is replaced once the new one is complete; any other
        existing file or folder is left alone and raises. The stem names are stored relative to
        ``path`` (resolved from :attr:`base`).

        Args:
            path (str): destination folder.

        Raises:
            FileExistsError: ``path`` exists and is not a library.
            OSError: the folder cannot be written.
        """
        check_destination(path)
        folder = os.path.abspath(path)
        names = self.files if self.base is None else [_relative(p, folder) for p in self.paths]
        with atomic_output(path, folder=True) as tmp:
            np.save(os.path.join(tmp, KEYS_FILE), self.keys)
            np.savez(
                os.path.join(tmp, META_FILE),
                files=np.asarray(names, dtype=str),
                file_stats=self.file_stats,
                row_file=self.row_file,
                window_offsets=self.window_offsets,
                info=json.dumps(
                    dict(self.info, format_version=FORMAT_VERSION, features=self.keys.shape[1])
                ),
            )

    @classmethod
    def load(cls, path: str, mmap: bool = True):
        """Reads a library folder written by :meth:`save`.

        Args:
            path (str): the folder.
            mmap (bool): memory-map the keys instead of reading them.

        Returns:
            StemLibrary: the library, its names relative to ``path`` (its :attr:`base`).

        Raises:
            ValueError: not a library folder, an unreadable or inconsistent one, or one of another
                format version (to be rebuilt).
        """
        meta_path, keys_path = os.path.join(path, META_FILE), os.path.join(path, KEYS_FILE)
        if not os.path.isfile(meta_path) or not os.path.isfile(keys_path):
            raise ValueError(f"{path}: not a stem library (needs {META_FILE} and {KEYS_FILE})")
        rebuild = "build it again with phalar index"
        try:
            with np.load(meta_path) as meta:
                files, row_file = meta["files"].tolist(), meta["row_file"]
                offsets, info = meta["window_offsets"], json.loads(str(meta["info"]))
                stats = meta["file_stats"] if "file_stats" in meta else None
            keys = np.load(keys_path, mmap_mode="r" if mmap else None)
        except (OSError, ValueError, KeyError, EOFError) as err:  # EOFError: an empty file
            raise ValueError(f"{path}: unreadable stem library ({err}): {rebuild}") from None
        version = info.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path}: library format {version} is not read by this version (format "
                f"{FORMAT_VERSION} stores stem paths relative to the library): rebuild it with "
                f"`phalar index FOLDER --out {path} --rebuild`"
            )
        if keys.dtype not in (np.float32, np.float16) or keys.ndim != 2:
            raise ValueError(
                f"{path}: inconsistent stem library ({KEYS_FILE} holds {keys.dtype} of shape "
                f"{keys.shape}, not float32 or float16 rows): {rebuild}"
            )
        if keys.shape[1] != info.get("features", keys.shape[1]):
            raise ValueError(
                f"{path}: inconsistent stem library ({KEYS_FILE} has {keys.shape[1]} features, "
                f"the library was built with {info['features']}): {rebuild}"
            )
        consistent = (
            len(offsets) > 0
            and len(keys) == len(row_file) == offsets[-1]
            and (len(row_file) == 0 or 0 <= row_file.min() <= row_file.max() < len(files))
            and (stats is None or stats.shape == (len(files), 2))
        )
        if not consistent:
            raise ValueError(
                f"{path}: inconsistent stem library (rows, files and keys disagree): {rebuild}"
            )
        return cls(keys, row_file, offsets, files, info, base=path, file_stats=stats)


@dataclass
class LibraryUpdate:
    """What indexing files into an existing library changes (:func:`plan_update`).

    Attributes:
        library (StemLibrary): the existing library without the ``changed`` and ``missing``
            stems: the rows that are kept.
        new (list): files not in the library, to embed.
        changed (list): files in the library whose size or modification time changed since they
            were embedded, to embed again.
        missing (list): stored stems whose file no longer exists: dropped.
    """

    library: "StemLibrary"
    new: list
    changed: list
    missing: list

    @property
    def to_embed(self) -> list:
        """The files to embed: ``new`` then ``changed``."""
        return self.new + self.changed


def plan_update(library: StemLibrary, paths) -> LibraryUpdate:
    """Compares a library with the files to index; reads no audio (file metadata only).

    Files are matched by their absolute path against the stored stems (resolved against the
    library's folder). Stored stems that are not among ``paths`` but still exist are kept: a
    library can gather several folders.

    Args:
        library (StemLibrary): the existing library.
        paths (list of str): the files to index.

    Returns:
        LibraryUpdate: what to embed, keep and drop.
    """
    stored = {os.path.abspath(p): i for i, p in enumerate(library.paths)}
    new, changed, drop = [], [], set()
    for path in paths:
        index = stored.get(os.path.normpath(os.path.abspath(path)))
        if index is None:
            new.append(path)
            continue
        known = tuple(int(v) for v in library.file_stats[index])
        if known != (-1, -1) and known != file_stat(path):
            changed.append(path)
            drop.add(index)
    missing = [i for p, i in stored.items() if i not in drop and not os.path.isfile(p)]
    keep = sorted(set(range(len(library.files))) - drop - set(missing))
    return LibraryUpdate(library.subset(keep), new, changed, [library.path(i) for i in missing])


class BuildInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`build_library`: the library of what was embedded so far.

    Attributes:
        library (StemLibrary or None): the existing library (if any) with the files embedded
            before the interruption; ``None`` when there is nothing.
    """

    def __init__(self, library):
        super().__init__()
        self.library = library


def require_full_window(samples: int, rate: int, path: str, role: str) -> None:
    """Raises ValueError unless a stem or a mix holds at least one whole library window.

    A shorter file is one window of its own length, which a search would pair with a full
    window of the other side: more music than the short file holds, so the score means nothing
    (``phalar score`` trims each pair to the shorter file instead).

    Args:
        samples (int): the file's length in samples at ``rate``.
        rate (int): sample rate in Hz.
        path (str): the file, for the message.
        role (str): ``"stem"`` (a library entry) or ``"mix"`` (a search query).
    """
    if samples >= round(WINDOW_SECONDS * rate):
        return
    pairing = {
        "stem": "so no mix window can be paired with it",
        "mix": "against which it cannot be ranked",
    }[role]
    raise ValueError(
        f"{path}: {samples / rate:.2f} s of audio is shorter than the {WINDOW_SECONDS:g} s "
        f"windows of a stem library, {pairing}; score candidate stems with phalar score MIX "
        "STEM, which trims each pair to the shorter file"
    )


def build_library(
    loaded,
    paths,
    root: str,
    batch_size: int = 16,
    dtype=np.float32,
    on_error=None,
    existing: StemLibrary = None,
    num_workers: int = 0,
    checkpoint_every: int = 0,
    on_checkpoint=None,
):
    """Embeds stem files window by window into a library, or into an existing one.

    Args:
        loaded (LoadedModel): the model (its similarity must be searchable) and its identity.
        paths (list of str): stem files, e.g. from
            :func:`~phalar_asteroid.inference.audio.find_audio_files`.
        root (str): folder the stored file names are relative to until the library is saved
            (then they are relative to its folder); with ``existing``, its base is used.
        batch_size (int): windows per forward pass.
        dtype: storage type of the keys, ``np.float32`` or ``np.float16`` (half the memory).
        on_error (callable, optional): ``on_error(path, err)`` is called for a file that cannot
            be read or embedded, which is then left out; by default the error propagates.
        existing (StemLibrary, optional): a library built with the same model: only the files
            that :func:`plan_update` finds new or changed are embedded, stems whose file no
            longer exists are dropped, the other rows are kept as they are.
        num_workers (int): DataLoader processes that read and resample the files while this
            process embeds them (:mod:`~phalar_asteroid.inference.loading`); 0: read here.
        checkpoint_every (int): with ``on_checkpoint``, every this many embedded files
            ``on_checkpoint(library)`` gets the library so far (e.g. to save it: a killed run
            then resumes from there, re-embedding only the files after it); 0: never.
        on_checkpoint (callable, optional): see ``checkpoint_every``.

    Returns:
        StemLibrary: one row per active window of every usable file.

    Raises:
        ValueError: the model's similarity is not searchable, ``existing`` was built with another
            model, no file is usable, or (without ``on_error``) a file holds unusable audio or
            is shorter than one window (:func:`require_full_window`).
        OSError: (without ``on_error``) a missing or unreadable file.
        BuildInterrupted: Ctrl-C; it carries the library of the files embedded so far.
    """
    from .embedding import embed_file, embed_waveform  # imports torch
    from .loading import decoded_files

    model = loaded.model
    if not model.similarity.searchable:
        raise ValueError(
            f"{loaded.path}: {type(model.similarity).__name__} is not a bilinear form (e.g. the "
            "phase-invariant cosine): its scores cannot be searched with one matrix product"
        )
    if existing is not None:
        check_compatible(existing, loaded)
        update = plan_update(existing, paths)
        existing, paths = update.library, update.to_embed
    info = dict(
        model=os.path.basename(loaded.path),
        model_sha256=loaded.fingerprint,
        model_name=type(model).__name__,
        similarity=type(model.similarity).__name__,
        window_seconds=WINDOW_SECONDS,
        hop_seconds=HOP_SECONDS,
        sample_rate=int(model.sample_rate),
    )
    files, stats, keys, row_file, row_window = [], [], [], [], []

    def assemble():
        if not files:
            return existing
        added = StemLibrary.from_rows(
            np.concatenate(keys),
            np.concatenate(row_file),
            np.concatenate(row_window),
            files,
            info,
            dtype=dtype,
            base=root,
            file_stats=np.array(stats, dtype=np.int64),
        )
        return added if existing is None else existing.merge(added, dtype=dtype)

    try:
        rate = int(model.sample_rate)
        # Workers decode the next files while this process embeds; without, embed_file reads.
        items = decoded_files(paths, rate, num_workers) if num_workers else paths
        for item in tqdm(items, desc="index", unit="file", total=len(paths), disable=None):
            path = item if isinstance(item, str) else item.path
            try:
                if isinstance(item, str):
                    stat = file_stat(path)
                    windows = embed_file(model, path, batch_size)
                elif item.error is not None:
                    raise item.error
                else:
                    stat = item.stat
                    windows = embed_waveform(model, item.wav, batch_size, path)
                # After embedding, so that a silent or too short file is refused as such.
                require_full_window(windows.samples, rate, path, "stem")
            except (OSError, ValueError) as err:
                if on_error is None:
                    raise
                on_error(path, err)
                continue
            keys.append(model.key_vectors(windows.embeddings).cpu().numpy())
            row_file.append(np.full(len(windows.windows), len(files)))
            row_window.append(windows.windows)
            files.append(os.path.relpath(path, root))
            stats.append(stat)
            if (
                on_checkpoint is not None
                and checkpoint_every
                and len(files) % checkpoint_every == 0
            ):
                on_checkpoint(assemble())
    except KeyboardInterrupt:
        raise BuildInterrupted(assemble()) from None
    library = assemble()
    if library is None or not library.files:
        raise ValueError(f"{root}: no usable audio file")
    return library


def check_compatible(library: StemLibrary, loaded, name: str = "the library") -> None:
    """Raises ValueError unless ``library`` was built with this model and these windows.

    Args:
        library (StemLibrary): a loaded library.
        loaded (LoadedModel): the model that will embed the queries.
        name (str): what the library is (its folder), for the message.
    """
    built = (library.info.get("window_seconds"), library.info.get("hop_seconds"))
    if built != (WINDOW_SECONDS, HOP_SECONDS):
        raise ValueError(
            f"{name} was cut into {built[0]} s windows every {built[1]} s; this version uses "
            f"{WINDOW_SECONDS} s every {HOP_SECONDS} s: rebuild it with phalar index"
        )
    if library.info.get("model_sha256") != loaded.fingerprint:
        raise ValueError(
            f"{name} was built with model {library.info.get('model')!r}, not with {loaded.path}: "
            "use the model the library was built with"
        )


@dataclass
class SearchHit:
    """One stem of a search result.

    Attributes:
        path (str): the stem file (its stored path resolved against the library's folder).
        score (float): mean symmetric score over the aligned windows.
        n_windows (int): the number of aligned windows averaged.
    """

    path: str
    score: float
    n_windows: int


def search_file(
    loaded, library, mix_path: str, top: int = 10, batch_size: int = 16, exclude=(), index=None
) -> list:
    """The library stems that best fit a mix file, best first.

    Args:
        loaded (LoadedModel): the model the library was built with.
        library (StemLibrary or str): the library, or its folder (memory-mapped).
        mix_path (str): the (partial) mix.
        top (int): how many stems to return.
        batch_size (int): windows per forward pass.
        exclude (iterable of str): stem files, or folders of stems, left out of the ranking
            (e.g. the stems already in the mix); see :meth:`StemLibrary.match`. The other stems
            keep their scores.
        index (AnnIndex or str, optional): the faiss index to search with (see
            :meth:`StemLibrary.search`); ``None``: exact numpy search.

    Returns:
        list of SearchHit: at most ``top`` stems; stems with no window aligned with an active mix
        window are never returned.

    Raises:
        ValueError: an unreadable library, one that does not match the model (see
            :func:`check_compatible`), an unusable mix, or a mix shorter than the library's
            windows (:func:`require_full_window`).
        OSError: a missing or unreadable mix file.
    """
    from .embedding import embed_waveform  # imports torch

    name = library if isinstance(library, str) else "the library"
    if isinstance(library, str):
        library = StemLibrary.load(library)
    check_compatible(library, loaded, name)
    excluded = [library.match(path) for path in exclude]
    rate = int(loaded.model.sample_rate)
    wav = load_audio(mix_path, rate)
    # Embedded first, so that a silent or too short mix is refused as such.
    mix = embed_waveform(loaded.model, wav, batch_size, mix_path)
    require_full_window(mix.samples, rate, mix_path, "mix")  # check_compatible: library's windows
    queries = loaded.model.query_vectors(mix.embeddings).cpu().numpy()
    best, scores, pairs = library.search(
        queries,
        mix.windows,
        top,
        np.concatenate([np.zeros(0, np.int64), *excluded]),
        index=index,
    )
    return [
        SearchHit(library.path(i), float(score), int(n)) for i, score, n in zip(best, scores, pairs)
    ]
