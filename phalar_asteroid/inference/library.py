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
width).
"""

import json
import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..utils.io import atomic_output
from .audio import HOP_SECONDS, WINDOW_SECONDS, load_audio
from .embedding import embed_file, embed_waveform

FORMAT_VERSION = 1
KEYS_FILE = "keys.npy"
META_FILE = "meta.npz"


def check_destination(path: str):
    """Raises FileExistsError when ``path`` exists and is not a library (never overwritten)."""
    if os.path.exists(path) and not os.path.isfile(os.path.join(path, META_FILE)):
        raise FileExistsError(f"{path} exists and is not a stem library: not overwriting it")


class StemLibrary:
    """Key vectors of stem windows, with exact top-k search.

    Build one with :meth:`from_rows` (sorts the rows by window) or :meth:`load`.

    Args:
        keys (np.ndarray): ``(rows, features)`` float32 or float16, sorted by window index.
        row_file (np.ndarray): ``(rows,)`` index into ``files`` of each row.
        window_offsets (np.ndarray): rows of window ``w`` are
            ``window_offsets[w]:window_offsets[w + 1]``.
        files (list): stem file names.
        info (dict): JSON-serialisable settings (model identity, window and hop seconds, …).
    """

    def __init__(self, keys, row_file, window_offsets, files, info):
        self.keys = keys
        self.row_file = row_file
        self.window_offsets = window_offsets
        self.files = list(files)
        self.info = dict(info)

    @classmethod
    def from_rows(cls, keys, row_file, row_window, files, info, dtype=np.float32):
        """Builds a library from unsorted rows.

        Args:
            keys (np.ndarray): ``(rows, features)`` key vectors.
            row_file (np.ndarray): ``(rows,)`` file index of each row.
            row_window (np.ndarray): ``(rows,)`` window index of each row.
            files (list): file names.
            info (dict): settings stored with the library.
            dtype: storage type of the keys, ``np.float32`` or ``np.float16``.

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
        return cls(keys, row_file.astype(np.int64), offsets.astype(np.int64), files, info)

    @property
    def n_windows(self) -> int:
        """Number of window indices (the longest stem's window count)."""
        return len(self.window_offsets) - 1

    def _dot(self, lo: int, hi: int, query: np.ndarray) -> np.ndarray:
        if self.keys.dtype == np.float32:
            return self.keys[lo:hi] @ query
        # float16 keys: numpy has no fast half-precision product (an upcast costs ~10x the
        # product itself), torch's accumulates in float32 and rounds the scores to float16.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # read-only memory map: never written
            keys = torch.from_numpy(self.keys[lo:hi])
        return torch.mv(keys, torch.from_numpy(query).half()).float().numpy()

    def scores(self, queries, query_windows):
        """Mean aligned-window score of every stem.

        Args:
            queries (np.ndarray): ``(m, features)`` query vectors of the mix's active windows.
            query_windows (np.ndarray): ``(m,)`` their window indices.

        Returns:
            tuple: ``(scores, pairs)``, both ``(n_files,)``: the mean score (``-inf`` for stems
            with no window paired) and the number of window pairs averaged.
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.keys.shape[1]:
            raise ValueError(
                f"queries of shape {queries.shape} do not match keys of {self.keys.shape[1]} "
                "features"
            )
        n_files = len(self.files)
        sums = np.zeros(n_files)
        pairs = np.zeros(n_files, dtype=np.int64)
        for query, window in zip(queries, np.asarray(query_windows)):
            if window >= self.n_windows:
                continue
            lo, hi = self.window_offsets[window], self.window_offsets[window + 1]
            files = self.row_file[lo:hi]
            sums += np.bincount(files, self._dot(lo, hi, query), minlength=n_files)
            pairs += np.bincount(files, minlength=n_files)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(pairs > 0, sums / np.maximum(pairs, 1), -np.inf)
        return mean, pairs

    def search(self, queries, query_windows, top: int = 10):
        """The ``top`` stems with the highest mean aligned-window score.

        Args:
            queries (np.ndarray): ``(m, features)`` query vectors.
            query_windows (np.ndarray): ``(m,)`` window indices.
            top (int): how many stems to return.

        Returns:
            tuple: ``(file_indices, scores, pairs)``, best first; stems without a paired window
            are never returned.
        """
        scores, pairs = self.scores(queries, query_windows)
        k = min(int(top), int((pairs > 0).sum()))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return best, scores[best], pairs[best]

    def save(self, path: str):
        """Writes the library folder; it appears complete or not at all.

        An existing library at ``path`` is replaced once the new one is complete; any other
        existing file or folder is left alone and raises.

        Args:
            path (str): destination folder.

        Raises:
            FileExistsError: ``path`` exists and is not a library.
            OSError: the folder cannot be written.
        """
        check_destination(path)
        with atomic_output(path, folder=True) as tmp:
            np.save(os.path.join(tmp, KEYS_FILE), self.keys)
            np.savez(
                os.path.join(tmp, META_FILE),
                files=np.asarray(self.files, dtype=str),
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
            StemLibrary: the library.

        Raises:
            ValueError: not a library folder, or an unreadable or inconsistent one.
        """
        meta_path, keys_path = os.path.join(path, META_FILE), os.path.join(path, KEYS_FILE)
        if not os.path.isfile(meta_path) or not os.path.isfile(keys_path):
            raise ValueError(f"{path}: not a stem library (needs {META_FILE} and {KEYS_FILE})")
        rebuild = "build it again with phalar index"
        try:
            with np.load(meta_path) as meta:
                files, row_file = meta["files"].tolist(), meta["row_file"]
                offsets, info = meta["window_offsets"], json.loads(str(meta["info"]))
            keys = np.load(keys_path, mmap_mode="r" if mmap else None)
        except (OSError, ValueError, KeyError, EOFError) as err:  # EOFError: an empty file
            raise ValueError(f"{path}: unreadable stem library ({err}): {rebuild}") from None
        if info.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: library format {info.get('format_version')} is unsupported")
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
        )
        if not consistent:
            raise ValueError(
                f"{path}: inconsistent stem library (rows, files and keys disagree): {rebuild}"
            )
        return cls(keys, row_file, offsets, files, info)


def build_library(loaded, paths, root: str, batch_size: int = 16, dtype=np.float32, on_error=None):
    """Embeds stem files window by window into a library.

    Args:
        loaded (LoadedModel): the model (its similarity must be searchable) and its identity.
        paths (list of str): stem files, e.g. from
            :func:`~phalar_asteroid.inference.audio.find_audio_files`.
        root (str): folder the stored file names are relative to.
        batch_size (int): windows per forward pass.
        dtype: storage type of the keys, ``np.float32`` or ``np.float16`` (half the memory).
        on_error (callable, optional): ``on_error(path, err)`` is called for a file that cannot
            be read or embedded, which is then left out; by default the error propagates.

    Returns:
        StemLibrary: one row per active window of every usable file.

    Raises:
        ValueError: the model's similarity is not searchable, no file is usable, or (without
            ``on_error``) a file holds unusable audio.
        OSError: (without ``on_error``) a missing or unreadable file.
    """
    model = loaded.model
    if not model.similarity.searchable:
        raise ValueError(
            f"{loaded.path}: {type(model.similarity).__name__} is not a bilinear form (e.g. the "
            "phase-invariant cosine): its scores cannot be searched with one matrix product"
        )
    files, keys, row_file, row_window = [], [], [], []
    for path in tqdm(paths, desc="index", unit="file", disable=None):
        try:
            windows = embed_file(model, path, batch_size)
        except (OSError, ValueError) as err:
            if on_error is None:
                raise
            on_error(path, err)
            continue
        keys.append(model.key_vectors(windows.embeddings).cpu().numpy())
        row_file.append(np.full(len(windows.windows), len(files)))
        row_window.append(windows.windows)
        files.append(os.path.relpath(path, root))
    if not files:
        raise ValueError(f"{root}: no usable audio file")
    info = dict(
        model=os.path.basename(loaded.path),
        model_sha256=loaded.fingerprint,
        model_name=type(model).__name__,
        similarity=type(model.similarity).__name__,
        root=os.path.abspath(root),
        window_seconds=WINDOW_SECONDS,
        hop_seconds=HOP_SECONDS,
        sample_rate=int(model.sample_rate),
    )
    return StemLibrary.from_rows(
        np.concatenate(keys),
        np.concatenate(row_file),
        np.concatenate(row_window),
        files,
        info,
        dtype=dtype,
    )


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
        path (str): the stem file (under the library's root).
        score (float): mean symmetric score over the aligned windows.
        n_windows (int): the number of aligned windows averaged.
    """

    path: str
    score: float
    n_windows: int


def search_file(loaded, library, mix_path: str, top: int = 10, batch_size: int = 16) -> list:
    """The library stems that best fit a mix file, best first.

    Args:
        loaded (LoadedModel): the model the library was built with.
        library (StemLibrary or str): the library, or its folder (memory-mapped).
        mix_path (str): the (partial) mix.
        top (int): how many stems to return.
        batch_size (int): windows per forward pass.

    Returns:
        list of SearchHit: at most ``top`` stems; stems with no window aligned with an active mix
        window are never returned.

    Raises:
        ValueError: an unreadable library, one that does not match the model (see
            :func:`check_compatible`), an unusable mix, or a mix shorter than the library's
            windows (its one short window would be scored against full stem windows, which
            cover more music; ``phalar score`` trims each pair instead).
        OSError: a missing or unreadable mix file.
    """
    name = library if isinstance(library, str) else "the library"
    if isinstance(library, str):
        library = StemLibrary.load(library)
    check_compatible(library, loaded, name)
    rate = int(loaded.model.sample_rate)
    wav = load_audio(mix_path, rate)
    # Embedded first, so that a silent or too short mix is refused as such.
    mix = embed_waveform(loaded.model, wav, batch_size, mix_path)
    window = library.info["window_seconds"]
    if len(wav) < round(window * rate):
        raise ValueError(
            f"{mix_path}: {len(wav) / rate:.2f} s of audio is shorter than the {window:g} s "
            f"windows of {name}, against which it cannot be ranked; score candidate stems with "
            "phalar score MIX STEM, which trims each pair to the shorter file"
        )
    queries = loaded.model.query_vectors(mix.embeddings).cpu().numpy()
    best, scores, pairs = library.search(queries, mix.windows, top)
    root = library.info.get("root", "")
    return [
        SearchHit(os.path.join(root, library.files[i]), float(score), int(n))
        for i, score, n in zip(best, scores, pairs)
    ]
