"""GTZAN with beat annotations: mirdata's ``gtzan_genre`` over an index built from the local tree.

mirdata would download its index into site-packages (docs/data.md#index-location) from Zenodo, which
CI cannot reach, so the index is built here in the same JSON shape. Layout, relative to
``data_home`` (``<DATA_ROOT>/gtzan_genre``)::

    gtzan_genre/genres/<genre>/<genre>.<NNNNN>.wav
    gtzan_tempo_beat-main/beats/gtzan_<genre>_<NNNNN>.beats
    gtzan_tempo_beat-main/tempo/gtzan_<genre>_<NNNNN>.bpm

``Track.tempo`` is replaced: mirdata's calls ``float()`` on a (1, 1) array, which numpy 2.4
rejects (docs/data.md#gtzan-tempo-on-numpy-2).
"""

import os
from typing import Optional, TextIO

import numpy as np
from mirdata import core, io
from mirdata.datasets import gtzan_genre

from .common import DatasetError, IndexEntries, LocalDataset, visible_dirs, visible_entries

NAME = "gtzan_genre"
VERSION = "1.0"
INDEX_FILENAME = f"gtzan_genre_index_{VERSION}.json"
SPLITS = {"all": "all"}
AUDIO_FOLDER = "gtzan_genre/genres"
ANNOTATION_FOLDER = "gtzan_tempo_beat-main"
#: No licence was published (mirdata has none either): unknown terms count as non-commercial.
LICENSE_INFO = "unknown (no licence information published)"
#: Asteroid-style licence dicts of the tracks (:func:`~.registry.dataset_licenses`).
LICENSES = [
    {
        "title": "GTZAN genre collection, with the gtzan_tempo_beat annotations",
        "title_link": "https://github.com/TempoBeatDownbeat/gtzan_tempo_beat",
        "author": "George Tzanetakis, Perry Cook",
        "author_link": None,
        "license": LICENSE_INFO,
        "license_link": None,
        "non_commercial": True,
    }
]


def make_index(data_home: str, checksums: bool = True) -> dict:
    """Index a local GTZAN tree in the shape of mirdata's ``gtzan_genre`` index.

    Args:
        data_home (str): folder holding ``gtzan_genre/genres/``.
        checksums (bool): compute md5s (see :class:`~.common.IndexEntries`).

    Returns:
        dict: ``{"version", "tracks": {"<genre>.<NNNNN>": {"audio", "beats", "tempo"}}}``.

    Raises:
        DatasetError: when ``gtzan_genre/genres/`` does not exist.
    """
    root = os.path.join(data_home, AUDIO_FOLDER)
    if not os.path.isdir(root):
        raise DatasetError(f"GTZAN audio folder not found: {root}")
    entries = IndexEntries(data_home, checksums)
    tracks = {}
    for genre in visible_dirs(root):
        for name in visible_entries(os.path.join(root, genre)):
            track_id, ext = os.path.splitext(name)
            if ext != ".wav":
                continue
            annotation = f"gtzan_{track_id.replace('.', '_')}"
            tracks[track_id] = {
                "audio": entries.expected(f"{AUDIO_FOLDER}/{genre}/{name}"),
                "beats": entries.optional(f"{ANNOTATION_FOLDER}/beats/{annotation}.beats"),
                "tempo": entries.optional(f"{ANNOTATION_FOLDER}/tempo/{annotation}.bpm"),
            }
    return {"version": VERSION, "tracks": tracks}


@io.coerce_to_string_io
def load_tempo(fhandle: TextIO) -> float:
    """Load a GTZAN ``.bpm`` file (works on numpy 2.4, unlike mirdata's).

    See docs/data.md#gtzan-tempo-on-numpy-2.

    Args:
        fhandle (str or file-like): path or handle of a ``.bpm`` file.

    Returns:
        float: tempo in BPM.
    """
    return float(np.loadtxt(fhandle, ndmin=1)[0])


class Track(gtzan_genre.Track):
    """mirdata's GTZAN track with a working ``tempo``.

    See :class:`mirdata.datasets.gtzan_genre.Track` for the attributes and properties.
    """

    @core.cached_property
    def tempo(self) -> Optional[float]:
        """float or None: tempo in BPM, from the ``.bpm`` file."""
        return load_tempo(self.tempo_path)


class Dataset(LocalDataset):
    """GTZAN genre with beats over a locally built index.

    Args:
        data_home (str or None): folder holding ``gtzan_genre/`` and ``gtzan_tempo_beat-main/``.
        version (str): index version (``"default"`` = ``"1.0"``).
        index_dir (str or None): folder holding the index file (see
            :class:`~.common.LocalDataset`).
    """

    def __init__(self, data_home=None, version="default", index_dir=None):
        super().__init__(
            data_home,
            version,
            index_dir,
            INDEX_FILENAME,
            VERSION,
            make_index,
            name=NAME,
            track_class=Track,
            bibtex=gtzan_genre.BIBTEX,
            download_info="The original audio URL is dead: see docs/data.md#gtzan.",
            license_info=LICENSE_INFO,
        )


def track_ids(dataset: Dataset, split: str) -> list:
    """Sorted ids of all clips (GTZAN has no official split: only ``all``)."""
    return sorted(dataset.track_ids)


def manifest_track(dataset: Dataset, track_id: str) -> dict:
    """Raw manifest entry of one clip: a single ``mix`` stem and its beat file.

    Args:
        dataset (Dataset): the dataset.
        track_id (str): ``<genre>.<NNNNN>``.

    Returns:
        dict: ``{"track_id", "split", "stems", "beats_path", "chords_path", "genre", "tempo"}``.
    """
    track = dataset.track(track_id)
    return {
        "track_id": track_id,
        "split": "all",
        "stems": [
            {
                "name": "mix",
                "family": track.genre,
                "instrument": None,
                "path": track.audio_path,
                "program": None,
                "is_drum": None,
                "has_bleed": None,
            }
        ],
        "beats_path": track.beats_path,
        "chords_path": None,
        "genre": track.genre,
        "tempo": track.tempo,
    }
