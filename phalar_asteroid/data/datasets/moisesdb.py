"""MoisesDB v0.1 loader (absent from mirdata): one MultiTrack per song, one Track per source file.

Layout, relative to ``data_home`` (``<DATA_ROOT>/moisesdb``)::

    moisesdb_v0.1/<song-uuid>/data.json
    moisesdb_v0.1/<song-uuid>/<stemName>/<source-uuid>.wav
    moisesdb_v0.1/<song-uuid>/{beats.beats, chords.lab}      (embedded corpus only)

Track ids are ``<song-uuid>/<stemName>/<source-uuid>``; every source file is one stem, as in the
PHALAR reference. There is no official split: :func:`split_song_ids` reproduces the reference one,
except for songs whose ``data.json`` records a ``split`` (the embedded corpus rendered in this
layout), which keep it. The split is worked out when the Dataset is loaded, from the index's song
ids and each ``data.json``, so that the index holds only mirdata's keys.
"""

import json
import os
import random

import soundfile as sf
from mirdata import core, io

from .common import (
    BEATS_FILENAME,
    CHORDS_FILENAME,
    DatasetError,
    IndexEntries,
    corpus_of,
    ScoreAnnotations,
    load_metadata,
    LocalDataset,
    try_load_metadata,
    visible_dirs,
    visible_entries,
)

NAME = "moisesdb"
VERSION = "0.1"
ROOT_FOLDER = "moisesdb_v0.1"
INDEX_FILENAME = f"moisesdb_index_{VERSION}.json"
#: Canonical split name -> split name used by this loader.
SPLITS = {"train": "train", "valid": "valid", "test": "test"}
SPLIT_SEED = 42

BIBTEX = """@article{pereira2023moisesdb,
  title={Moisesdb: A dataset for source separation beyond 4-stems},
  author={Pereira, Igor and Ara{\\'u}jo, Felipe and Korzeniowski, Filip and Vogl, Richard},
  journal={arXiv preprint arXiv:2307.15913},
  year={2023}
}"""
LICENSE_INFO = "MoisesDB research terms of music.ai (non-commercial research use only)"
#: Asteroid-style licence dicts of the tracks (:func:`~.registry.dataset_licenses`).
LICENSES = [
    {
        "title": "MoisesDB",
        "title_link": "https://music.ai/research/",
        "author": "Moises Systems (music.ai)",
        "author_link": "https://music.ai",
        "license": LICENSE_INFO,
        "license_link": "https://music.ai/research/",
        "non_commercial": True,
    }
]


def split_song_ids(song_ids, seed: int = SPLIT_SEED) -> dict:
    """The PHALAR reference split of MoisesDB (``data_sampling/split_moisesdb.py``).

    Procedure: sort the song folder names, seed Python's ``random`` with 42, shuffle, then take
    ``int(0.8 n)`` songs for train, ``int(0.1 n)`` for valid and the rest for test (192/24/24 for
    the 240 songs of v0.1). A private ``random.Random(seed)`` yields the same shuffle as
    ``random.seed(seed); random.shuffle(...)`` without touching the global generator.

    Args:
        song_ids (iterable of str): all song folder names of the release.
        seed (int): shuffle seed.

    Returns:
        dict: ``{"train": [...], "valid": [...], "test": [...]}``.
    """
    ids = sorted(song_ids)
    random.Random(seed).shuffle(ids)
    n_train, n_valid = int(0.8 * len(ids)), int(0.1 * len(ids))
    return {
        "train": ids[:n_train],
        "valid": ids[n_train : n_train + n_valid],
        "test": ids[n_train + n_valid :],
    }


def _listed_sources(song_data) -> list:
    """``(stemName, source id, extension)`` for every source listed in a parsed ``data.json``."""
    if song_data is None:
        return []
    return [
        (stem["stemName"], source["id"], source.get("extension", "wav"))
        for stem in song_data["stems"]
        for source in stem.get("tracks", [])
    ]


def _assign_splits(recorded: dict) -> dict:
    """Split of every song: the one its ``data.json`` records (embedded corpus), else the
    reference procedure over the songs that record none (every song of the real release)."""
    splits = {name: sorted(s for s, split in recorded.items() if split == name) for name in SPLITS}
    procedural = split_song_ids(song for song, split in recorded.items() if split not in SPLITS)
    return {name: sorted(splits[name] + procedural[name]) for name in SPLITS}


def make_index(data_home: str, checksums: bool = True) -> dict:
    """Index a local MoisesDB tree in mirdata's JSON shape.

    The index is an inventory: sources come from each ``data.json`` (files it does not list are
    ignored), missing files keep their expected path, and problems are reported by the manifest
    builder, not here.

    Args:
        data_home (str): folder holding ``moisesdb_v0.1/``.
        checksums (bool): compute md5s (see :class:`~.common.IndexEntries`).

    Returns:
        dict: ``{"version", "tracks", "multitracks"}``.

    Raises:
        DatasetError: when ``moisesdb_v0.1/`` does not exist.
    """
    root = os.path.join(data_home, ROOT_FOLDER)
    if not os.path.isdir(root):
        raise DatasetError(f"MoisesDB folder not found: {root}")
    entries = IndexEntries(data_home, checksums)
    tracks, multitracks = {}, {}
    for song in visible_dirs(root):
        rel = f"{ROOT_FOLDER}/{song}"
        meta_rel = f"{rel}/data.json"
        song_data = try_load_metadata(os.path.join(data_home, meta_rel), json.loads, "stems")
        track_ids = []
        for stem_name, source_id, ext in _listed_sources(song_data):
            track_id = f"{song}/{stem_name}/{source_id}"
            tracks[track_id] = {
                "audio": entries.expected(f"{rel}/{stem_name}/{source_id}.{ext}"),
                "metadata": entries.expected(meta_rel),
            }
            track_ids.append(track_id)
        multitracks[song] = {
            "tracks": track_ids,
            "metadata": entries.expected(meta_rel),
            "beats": entries.optional(f"{rel}/{BEATS_FILENAME}"),
            "chords": entries.optional(f"{rel}/{CHORDS_FILENAME}"),
        }
    return {"version": VERSION, "tracks": tracks, "multitracks": multitracks}


@io.coerce_to_bytes_io
def load_audio(fhandle):
    """Load a MoisesDB source file at its native rate.

    Args:
        fhandle (str or file-like): path or handle of a ``.wav`` file.

    Returns:
        * np.ndarray - audio, shape (n_channels, n_samples), float32
        * int - sample rate
    """
    audio, rate = sf.read(fhandle, dtype="float32", always_2d=True)
    return audio.T, rate


def load_song_data(path: str) -> dict:
    """Parse a song's ``data.json`` (tolerating one stray leading character).

    Args:
        path (str): the ``data.json`` file.

    Returns:
        dict: song metadata with its ``stems`` list.
    """
    return load_metadata(path, json.loads, "stems")


class Track(core.Track):
    """MoisesDB source file (one stem).

    Attributes:
        audio_path (str): path to the source's audio file.
        metadata_path (str): path to the song's ``data.json``.
        song_id (str): the song uuid (the MultiTrack id).
        stem (str): stem family (``stemName``), e.g. ``bass``.
        source_id (str): the source uuid.
        split (str): ``train``, ``valid`` or ``test`` (see :func:`split_song_ids`).
        track_id (str): ``<song-uuid>/<stemName>/<source-uuid>``.

    Cached Properties:
        source (dict): this source's entry in ``data.json`` (``trackType``, ``has_bleed``, ...).
    """

    def __init__(self, track_id, data_home, dataset_name, index, metadata):
        super().__init__(track_id, data_home, dataset_name, index, metadata)
        self.audio_path = self.get_path("audio")
        self.metadata_path = self.get_path("metadata")
        self.song_id, self.stem, self.source_id = track_id.split("/")
        self.split = self._track_metadata["split"]

    @core.cached_property
    def source(self) -> dict:
        """dict: this source's entry in ``data.json`` (``trackType``, ``has_bleed``, ...)."""
        for stem in load_song_data(self.metadata_path)["stems"]:
            for source in stem.get("tracks", []):
                if source["id"] == self.source_id:
                    return source
        raise DatasetError(f"source {self.source_id} not listed in {self.metadata_path}")

    @property
    def track_type(self):
        """str: second-level taxonomy label, e.g. ``bass_guitar``."""
        return self.source.get("trackType")

    @property
    def has_bleed(self) -> bool:
        """bool: whether the source is flagged as containing bleed."""
        return bool(self.source.get("has_bleed", False))

    @property
    def audio(self):
        """(np.ndarray, int): audio (n_channels, n_samples) and sample rate."""
        return load_audio(self.audio_path)


class MultiTrack(ScoreAnnotations, core.MultiTrack):
    """MoisesDB song.

    Attributes:
        mtrack_id (str): the song uuid.
        metadata_path (str): path to ``data.json``.
        beats_path (str or None): ``beats.beats`` (embedded corpus only).
        chords_path (str or None): ``chords.lab`` (embedded corpus only).
        split (str): ``train``, ``valid`` or ``test``.

    Cached Properties:
        song_data (dict): parsed ``data.json``.
        beats (BeatData or None): beat annotation.
        chords (ChordData or None): chord annotation.
    """

    def __init__(self, mtrack_id, data_home, dataset_name, index, track_class, metadata):
        super().__init__(mtrack_id, data_home, dataset_name, index, track_class, metadata)
        self.metadata_path = self.get_path("metadata")
        self.beats_path = self.get_path("beats")
        self.chords_path = self.get_path("chords")
        self.split = self._multitrack_metadata["split"]

    @core.cached_property
    def song_data(self) -> dict:
        """dict: the parsed ``data.json`` (``song``, ``artist``, ``genre``, ``stems``)."""
        return load_song_data(self.metadata_path)

    @property
    def track_audio_property(self) -> str:
        """str: name of the Track property that mirdata's mixing methods read."""
        return "audio"

    @property
    def song(self):
        """str: song title."""
        return self.song_data.get("song")

    @property
    def artist(self):
        """str: artist name."""
        return self.song_data.get("artist")

    @property
    def genre(self):
        """str: genre label."""
        return self.song_data.get("genre")


class Dataset(LocalDataset):
    """The MoisesDB dataset over a local tree and an index built by :func:`make_index`.

    Args:
        data_home (str or None): folder holding ``moisesdb_v0.1/``.
        version (str): index version (``"default"`` = ``"0.1"``).
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
            multitrack_class=MultiTrack,
            bibtex=BIBTEX,
            download_info="Download MoisesDB manually from the music.ai research page.",
            license_info=LICENSE_INFO,
        )

    @core.cached_property
    def _metadata(self) -> dict:
        # mirdata hands this to every Track and MultiTrack: it carries the split of each song.
        recorded = {}
        for song, files in self._index["multitracks"].items():
            path = os.path.join(self.data_home, files["metadata"][0])
            recorded[song] = (try_load_metadata(path, json.loads, "stems") or {}).get("split")
        song_split = {
            song: name for name, songs in _assign_splits(recorded).items() for song in songs
        }
        meta = {song: {"split": split} for song, split in song_split.items()}
        for track_id in self._index["tracks"]:
            meta[track_id] = {"split": song_split[track_id.split("/")[0]]}
        return meta


def track_ids(dataset: Dataset, split: str) -> list:
    """Sorted song ids of one split (loader-native split name)."""
    return sorted(dataset.get_mtrack_splits().get(split, []))


def manifest_track(dataset: Dataset, mtrack_id: str) -> dict:
    """Raw manifest entry of one song (stems not probed yet).

    Args:
        dataset (Dataset): the dataset.
        mtrack_id (str): song uuid.

    Returns:
        dict: ``{"track_id", "split", "stems", "beats_path", "chords_path", "song", "artist",
        "genre"}``.

    Raises:
        DatasetError: empty song folder, or missing / unparsable ``data.json``.
    """
    mtrack = dataset.multitrack(mtrack_id)
    folder = os.path.dirname(mtrack.metadata_path)
    if not visible_entries(folder):
        raise DatasetError(f"empty track folder: {folder}")
    song_data = mtrack.song_data
    stems = []
    for track_id in mtrack.track_ids:
        track = dataset.track(track_id)
        stems.append(
            {
                "name": f"{track.stem}/{track.source_id}",
                "family": track.stem,
                "instrument": track.track_type,
                "path": track.audio_path,
                "program": None,
                "is_drum": None,
                "has_bleed": track.has_bleed,
            }
        )
    return {
        "track_id": mtrack_id,
        "split": mtrack.split,
        "stems": stems,
        "beats_path": mtrack.beats_path,
        "chords_path": mtrack.chords_path,
        "corpus": corpus_of(mtrack.beats_path, mtrack.chords_path),
        "song": song_data.get("song"),
        "artist": song_data.get("artist"),
        "genre": song_data.get("genre"),
    }
