"""CocoChorales loader (absent from mirdata): one MultiTrack per piece, one Track per voice.

Layout, relative to ``data_home`` (``<DATA_ROOT>/cocochorales``)::

    main_dataset/{train,valid,test}/<ensemble>_trackNNNNNN/
        metadata.yaml  mix.wav  mix.mid
        stems_audio/<v>_<instrument>.wav     v = 0..3 in SATB order
        stems_MIDI/<v>_<instrument>.mid
        beats.beats  chords.lab              (embedded corpus only)

Track ids are ``<piece>-<v>``; the split is the folder the piece sits in.
"""

import os

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
    parse_yaml,
    relative_split,
    try_load_metadata,
    visible_dirs,
    visible_entries,
)

NAME = "cocochorales"
VERSION = "1.0"
ROOT_FOLDER = "main_dataset"
INDEX_FILENAME = f"cocochorales_index_{VERSION}.json"
SPLITS = {"train": "train", "valid": "valid", "test": "test"}
#: Top-level key every valid ``metadata.yaml`` has (the per-voice instrument names).
METADATA_KEY = "instrument_name"

BIBTEX = """@article{wu2022chamber,
  title={The Chamber Ensemble Generator: Limitless High-Quality MIR Data via Generative Modeling},
  author={Wu, Yusong and Gardner, Josh and Manilow, Ethan and Simon, Ian and Hawthorne, Curtis
          and Engel, Jesse},
  journal={arXiv preprint arXiv:2209.14458},
  year={2022}
}"""
LICENSE_INFO = "CC BY 4.0 (unconfirmed)"
#: Asteroid-style licence dicts of the tracks (:func:`~.registry.dataset_licenses`).
LICENSES = [
    {
        "title": "CocoChorales",
        "title_link": "https://magenta.tensorflow.org/datasets/cocochorales",
        "author": "Yusong Wu et al. (Google Magenta)",
        "author_link": "https://magenta.tensorflow.org",
        "license": LICENSE_INFO,
        "license_link": "https://creativecommons.org/licenses/by/4.0/",
        "non_commercial": False,
    }
]


def voice_value(mapping, voice: int):
    """Look up a per-voice metadata map, whose keys may be ints (YAML ``0:``) or strings."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(voice, mapping.get(str(voice)))


def _voices(folder: str, metadata) -> dict:
    """``{voice: stem file stem}`` from the metadata, else from the ``stems_audio`` files."""
    audio_dir = os.path.join(folder, "stems_audio")
    on_disk = {}
    for name in visible_entries(audio_dir):
        stem, ext = os.path.splitext(name)
        voice = stem.split("_", 1)[0]
        if ext == ".wav" and voice.isdigit():
            on_disk.setdefault(int(voice), stem)
    if metadata is None or not isinstance(metadata[METADATA_KEY], dict):
        return on_disk
    return {
        int(voice): on_disk.get(int(voice), f"{int(voice)}_{name}")
        for voice, name in metadata[METADATA_KEY].items()
    }


def make_index(data_home: str, checksums: bool = True) -> dict:
    """Index a local CocoChorales tree in mirdata's JSON shape.

    Voices come from ``metadata.yaml`` (``instrument_name``) and are matched to the
    ``stems_audio/<v>_*.wav`` files; a voice without a file keeps its expected path so that the
    manifest builder reports it. Without readable metadata, the files on disk are indexed.

    Args:
        data_home (str): folder holding ``main_dataset/``.
        checksums (bool): compute md5s (see :class:`~.common.IndexEntries`).

    Returns:
        dict: ``{"version", "tracks", "multitracks"}``.

    Raises:
        DatasetError: when ``main_dataset/`` does not exist.
    """
    root = os.path.join(data_home, ROOT_FOLDER)
    if not os.path.isdir(root):
        raise DatasetError(f"CocoChorales folder not found: {root}")
    entries = IndexEntries(data_home, checksums)
    tracks, multitracks = {}, {}
    for split in SPLITS.values():
        for piece in visible_dirs(os.path.join(root, split)):
            rel = f"{ROOT_FOLDER}/{split}/{piece}"
            folder = os.path.join(data_home, rel)
            metadata = try_load_metadata(
                os.path.join(folder, "metadata.yaml"), parse_yaml, METADATA_KEY
            )
            track_ids = []
            for voice, stem in sorted(_voices(folder, metadata).items()):
                track_id = f"{piece}-{voice}"
                tracks[track_id] = {
                    "audio": entries.expected(f"{rel}/stems_audio/{stem}.wav"),
                    "midi": entries.optional(f"{rel}/stems_MIDI/{stem}.mid"),
                    "metadata": entries.expected(f"{rel}/metadata.yaml"),
                }
                track_ids.append(track_id)
            multitracks[piece] = {
                "tracks": track_ids,
                "metadata": entries.expected(f"{rel}/metadata.yaml"),
                "mix": entries.optional(f"{rel}/mix.wav"),
                "midi": entries.optional(f"{rel}/mix.mid"),
                "beats": entries.optional(f"{rel}/{BEATS_FILENAME}"),
                "chords": entries.optional(f"{rel}/{CHORDS_FILENAME}"),
            }
    return {"version": VERSION, "tracks": tracks, "multitracks": multitracks}


@io.coerce_to_bytes_io
def load_audio(fhandle):
    """Load a CocoChorales audio file (16 kHz mono) at its native rate.

    Args:
        fhandle (str or file-like): path or handle of a ``.wav`` file.

    Returns:
        * np.ndarray - audio, shape (n_samples,), float32
        * int - sample rate
    """
    return sf.read(fhandle, dtype="float32")


def load_piece_metadata(path: str) -> dict:
    """Parse a piece's ``metadata.yaml`` (tolerating one stray leading character)."""
    return load_metadata(path, parse_yaml, METADATA_KEY)


class Track(core.Track):
    """CocoChorales voice (one stem).

    Attributes:
        audio_path (str): path to the voice's audio.
        midi_path (str or None): path to the voice's MIDI.
        metadata_path (str): path to the piece's ``metadata.yaml``.
        piece_id (str): the MultiTrack id, ``<ensemble>_trackNNNNNN``.
        voice (int): voice number, 0..3 in SATB order.
        split (str): ``train``, ``valid`` or ``test``.
        track_id (str): ``<piece>-<voice>``.
    """

    def __init__(self, track_id, data_home, dataset_name, index, metadata):
        super().__init__(track_id, data_home, dataset_name, index, metadata)
        self.audio_path = self.get_path("audio")
        self.midi_path = self.get_path("midi")
        self.metadata_path = self.get_path("metadata")
        self.piece_id, voice = track_id.rsplit("-", 1)
        self.voice = int(voice)
        self.split = relative_split(self._track_paths["metadata"][0])

    @core.cached_property
    def _track_metadata(self) -> dict:
        return load_piece_metadata(self.metadata_path)

    @property
    def instrument(self):
        """str: instrument name, e.g. ``violin``."""
        return voice_value(self._track_metadata.get("instrument_name"), self.voice)

    @property
    def program_number(self):
        """int: 0-based General MIDI program."""
        return voice_value(self._track_metadata.get("midi_program_number"), self.voice)

    @property
    def integrated_loudness(self):
        """float: ITU-R BS.1770 loudness of the stem in dB."""
        return voice_value(self._track_metadata.get("stem_integrated_loudness"), self.voice)

    @property
    def audio(self):
        """(np.ndarray, int): audio (n_samples,) and sample rate."""
        return load_audio(self.audio_path)


class MultiTrack(ScoreAnnotations, core.MultiTrack):
    """CocoChorales piece.

    Attributes:
        mtrack_id (str): ``<ensemble>_trackNNNNNN``.
        metadata_path (str): path to ``metadata.yaml``.
        mix_path (str or None): path to ``mix.wav``.
        midi_path (str or None): path to ``mix.mid``.
        beats_path (str or None): ``beats.beats`` (embedded corpus only).
        chords_path (str or None): ``chords.lab`` (embedded corpus only).
        split (str): ``train``, ``valid`` or ``test``.

    Cached Properties:
        beats (BeatData or None): beat annotation.
        chords (ChordData or None): chord annotation.
    """

    def __init__(self, mtrack_id, data_home, dataset_name, index, track_class, metadata):
        super().__init__(mtrack_id, data_home, dataset_name, index, track_class, metadata)
        self.metadata_path = self.get_path("metadata")
        self.mix_path = self.get_path("mix")
        self.midi_path = self.get_path("midi")
        self.beats_path = self.get_path("beats")
        self.chords_path = self.get_path("chords")
        self.split = relative_split(self._multitrack_paths["metadata"][0])

    @core.cached_property
    def _multitrack_metadata(self) -> dict:
        return load_piece_metadata(self.metadata_path)

    @property
    def track_audio_property(self) -> str:
        """str: name of the Track property that mirdata's mixing methods read."""
        return "audio"

    @property
    def ensemble(self):
        """str: ``string``, ``brass``, ``woodwind`` or ``random``."""
        return self._multitrack_metadata.get("ensemble")

    @property
    def tempo(self):
        """float: tempo of the MIDI in BPM."""
        return self._multitrack_metadata.get("tempo")

    @property
    def overall_gain(self):
        """float: gain applied to every stem before summing into ``mix.wav``."""
        return self._multitrack_metadata.get("overall_gain")

    @property
    def audio(self):
        """(np.ndarray, int): the mix (n_samples,) and sample rate."""
        return load_audio(self.mix_path)


class Dataset(LocalDataset):
    """The CocoChorales dataset over a local tree and an index built by :func:`make_index`.

    Args:
        data_home (str or None): folder holding ``main_dataset/``.
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
            multitrack_class=MultiTrack,
            bibtex=BIBTEX,
            download_info="Download the tiny subset with chamber-ensemble-generator's script.",
            license_info=LICENSE_INFO,
        )


def track_ids(dataset: Dataset, split: str) -> list:
    """Sorted piece ids of one split (loader-native split name)."""
    return sorted(dataset.get_mtrack_splits().get(split, []))


def manifest_track(dataset: Dataset, mtrack_id: str) -> dict:
    """Raw manifest entry of one piece (stems not probed yet).

    Args:
        dataset (Dataset): the dataset.
        mtrack_id (str): piece id.

    Returns:
        dict: ``{"track_id", "split", "stems", "beats_path", "chords_path", "ensemble",
        "tempo"}``.

    Raises:
        DatasetError: empty piece folder, or missing / unparsable ``metadata.yaml``.
    """
    mtrack = dataset.multitrack(mtrack_id)
    folder = os.path.dirname(mtrack.metadata_path)
    if not visible_entries(folder):
        raise DatasetError(f"empty track folder: {folder}")
    metadata = mtrack._multitrack_metadata
    stems = []
    for track_id in mtrack.track_ids:
        voice = int(track_id.rsplit("-", 1)[1])
        path = dataset.track(track_id).audio_path
        instrument = voice_value(metadata.get("instrument_name"), voice)
        stems.append(
            {
                "name": os.path.splitext(os.path.basename(path))[0],
                "family": instrument,
                "instrument": instrument,
                "path": path,
                "program": voice_value(metadata.get("midi_program_number"), voice),
                "is_drum": False,
                "has_bleed": False,
            }
        )
    return {
        "track_id": mtrack_id,
        "split": mtrack.split,
        "stems": stems,
        "beats_path": mtrack.beats_path,
        "chords_path": mtrack.chords_path,
        "corpus": corpus_of(mtrack.beats_path, mtrack.chords_path),
        "ensemble": metadata.get("ensemble"),
        "tempo": metadata.get("tempo"),
    }
