"""Parallel decoding of stem files for :func:`~phalar_asteroid.inference.library.build_library`.

A :class:`torch.utils.data.DataLoader` over :class:`AudioFiles` reads and resamples the files in
``num_workers`` worker processes while the main process embeds them; the files come back in
order, and a file that cannot be read comes back as its error (so that ``on_error`` can skip it
in the main process).
"""

from dataclasses import dataclass

import numpy as np
from torch.utils.data import DataLoader, Dataset

from ..utils.io import file_stat
from .audio import load_audio


@dataclass
class DecodedFile:
    """One file of :class:`AudioFiles`.

    Attributes:
        path (str): the file.
        stat (tuple or None): ``(size, modification time in ns)`` read before decoding.
        wav (np.ndarray or None): the float32 mono waveform at the model's rate.
        error (Exception or None): why the file could not be read (then ``wav`` is None).
    """

    path: str
    stat: tuple
    wav: np.ndarray = None
    error: Exception = None


class AudioFiles(Dataset):
    """Audio files decoded to mono at one rate, one item per file.

    Args:
        paths (list of str): the files.
        sample_rate (int): rate to resample to.
    """

    def __init__(self, paths, sample_rate: int):
        self.paths = list(paths)
        self.sample_rate = int(sample_rate)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        path = self.paths[index]
        try:
            stat = file_stat(path)
            return DecodedFile(path, stat, load_audio(path, self.sample_rate))
        except (OSError, ValueError) as err:
            return DecodedFile(path, None, error=err)


def _as_is(item):
    return item


def decoded_files(paths, sample_rate: int, num_workers: int = 0, prefetch: int = 2):
    """The files decoded in order, by ``num_workers`` processes (0: in this process).

    Args:
        paths (list of str): the files.
        sample_rate (int): rate to resample to.
        num_workers (int): DataLoader worker processes.
        prefetch (int): files decoded ahead per worker.

    Returns:
        DataLoader: yields :class:`DecodedFile`.
    """
    return DataLoader(
        AudioFiles(paths, sample_rate),
        batch_size=None,
        num_workers=int(num_workers),
        collate_fn=_as_is,
        prefetch_factor=prefetch if num_workers else None,
        persistent_workers=False,
    )
