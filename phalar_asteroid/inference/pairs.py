"""Lists of (mix, stem) file pairs for the batch forms of ``phalar score`` and ``phalar align``.

A pairs file is CSV with a header row naming (at least) the columns ``mix`` and ``stem``; other
columns are ignored, blank lines and lines starting with ``#`` are skipped, and relative paths
are relative to the pairs file's folder (so a list travels with its audio). On the command line,
a stem argument that is a folder stands for every audio file under it
(:func:`~phalar_asteroid.inference.audio.find_audio_files`). No audio is read here.
"""

import csv
import os
from dataclasses import dataclass

from .audio import find_audio_files

#: The columns a pairs file must have.
PAIR_COLUMNS = ("mix", "stem")


@dataclass
class Pair:
    """A mix file and a stem file to compare.

    Attributes:
        mix (str): the (partial) mix.
        stem (str): the stem.
        where (str): where the pair comes from, for messages (``"pairs.csv line 3"``); empty for
            the command line.
    """

    mix: str
    stem: str
    where: str = ""


def read_pairs(path: str) -> list:
    """The pairs of a CSV pairs file (see the module docstring).

    Args:
        path (str): the CSV file.

    Returns:
        list of Pair: in file order, ``where`` naming the file and line of each.

    Raises:
        OSError: the file cannot be read.
        ValueError: no ``mix``/``stem`` header, an empty field, or no pair at all.
    """
    folder, line = os.path.dirname(path), [0]  # line[0]: the file line the reader is at

    def data_lines(fhandle):
        for number, text in enumerate(fhandle, start=1):
            if text.strip() and not text.lstrip().startswith("#"):
                line[0] = number
                yield text

    pairs = []
    with open(path, newline="", encoding="utf-8") as fhandle:
        reader = csv.DictReader(data_lines(fhandle), skipinitialspace=True)
        columns = [name.strip().lower() for name in reader.fieldnames or ()]
        if not set(PAIR_COLUMNS) <= set(columns):
            raise ValueError(
                f"{path}: needs a header row with the columns {','.join(PAIR_COLUMNS)} "
                f"(got {','.join(columns) or 'nothing'})"
            )
        reader.fieldnames = columns
        for row in reader:
            where = f"{path} line {line[0]}"
            values = [(row.get(column) or "").strip() for column in PAIR_COLUMNS]
            empty = [column for column, value in zip(PAIR_COLUMNS, values) if not value]
            if empty:
                raise ValueError(f"{where}: no {' and no '.join(empty)} path")
            mix, stem = (os.path.join(folder, value) for value in values)
            pairs.append(Pair(mix, stem, where))
    if not pairs:
        raise ValueError(f"{path}: no pairs (a header row mix,stem, then one pair per line)")
    return pairs


def expand_pairs(mix: str, stems) -> list:
    """The pairs of one mix with stem files and folders of stems.

    Args:
        mix (str): the mix file.
        stems (list of str): stem files, and folders that stand for every audio file under them
            (except the mix itself, when it lies there).

    Returns:
        list of Pair: in argument order, each folder's files sorted.

    Raises:
        FileNotFoundError: a folder without audio files.
    """
    pairs = []
    for stem in stems:
        if not os.path.isdir(stem):
            pairs.append(Pair(mix, stem))
            continue
        pairs += [
            Pair(mix, path)
            for path in find_audio_files(stem)
            if not (os.path.exists(mix) and os.path.samefile(path, mix))
        ]
    return pairs
