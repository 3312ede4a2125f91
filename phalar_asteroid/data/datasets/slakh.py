"""Slakh2100 redux, 16 kHz re-release: mirdata's ``slakh`` classes over our own index.

Layout, relative to ``data_home`` (``<DATA_ROOT>/slakh``)::

    slakh2100_redux_16k/{train,validation,test}/TrackNNNNN/
        metadata.yaml
        stems/SNN.wav | stems/SNN.flac      (both extensions are accepted)
        MIDI/SNN.mid  all_src.mid  mix.wav | mix.flac                 (optional)
        beats.beats  chords.lab                                      (embedded corpus only)

The index version contains ``2100-redux``, so mirdata parses the split from the second path
component. Mixing is a plain sum of stems (docs/data.md#mixing-is-a-plain-sum): never use
``get_mix()``; manifests list only stems that have audio.
"""

import os

from mirdata import core
from mirdata.datasets import slakh as mirdata_slakh

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

NAME = "slakh16k"
VERSION = "2100-redux-16k"
ROOT_FOLDER = "slakh2100_redux_16k"
INDEX_FILENAME = f"slakh_index_{VERSION}.json"
SPLITS = {"train": "train", "valid": "validation", "test": "test"}
AUDIO_EXTENSIONS = ("wav", "flac")
LICENSE_INFO = "CC BY 4.0"
#: Asteroid-style licence dicts of the tracks (:func:`~.registry.dataset_licenses`).
LICENSES = [
    {
        "title": "Slakh2100 (redux, 16 kHz)",
        "title_link": "http://www.slakh.com/",
        "author": "Ethan Manilow, Gordon Wichern, Prem Seetharaman, Jonathan Le Roux",
        "author_link": "http://www.slakh.com/",
        "license": LICENSE_INFO,
        "license_link": "https://creativecommons.org/licenses/by/4.0/",
        "non_commercial": False,
    }
]


def load_track_metadata(path: str) -> dict:
    """Parse a ``metadata.yaml``, retrying without a stray leading character.

    See docs/data.md#stray-character-in-slakh-metadata.
    """
    return load_metadata(path, parse_yaml, "stems")


def _find_audio(data_home: str, rel_stem: str):
    """Relative path of ``<rel_stem>.wav`` or ``<rel_stem>.flac``, whichever exists, else None."""
    for ext in AUDIO_EXTENSIONS:
        if os.path.isfile(os.path.join(data_home, f"{rel_stem}.{ext}")):
            return f"{rel_stem}.{ext}"
    return None


def _stem_keys(folder: str, metadata) -> list:
    """Stem keys (``S00``...) from the metadata, else from the ``stems/`` and ``MIDI/`` files."""
    if metadata is not None and isinstance(metadata["stems"], dict):
        return sorted(metadata["stems"])
    names = visible_entries(os.path.join(folder, "stems")) + visible_entries(
        os.path.join(folder, "MIDI")
    )
    return sorted({os.path.splitext(n)[0] for n in names if n.startswith("S")})


def _stem_extension(folder: str) -> str:
    """Audio extension used in ``stems/`` (for the expected path of a missing stem)."""
    for name in visible_entries(os.path.join(folder, "stems")):
        ext = os.path.splitext(name)[1]
        if ext[1:] in AUDIO_EXTENSIONS:
            return ext
    return ".flac"


def make_index(data_home: str, checksums: bool = True) -> dict:
    """Index a local ``slakh2100_redux_16k`` tree in mirdata's JSON shape.

    Each stem listed in ``metadata.yaml`` gets an ``audio`` entry: the existing ``.wav``/``.flac``
    file, else its expected path when the metadata says the audio was rendered (the manifest
    builder then reports it missing), else ``null`` (MIDI-only stems, slakh-utils #20). Stems with
    neither audio nor MIDI are left out, as mirdata's own index builder does. ``audio_dir`` and
    ``midi_dir`` are never read (wrong in Track00616, slakh-utils #25).

    Args:
        data_home (str): folder holding ``slakh2100_redux_16k/``.
        checksums (bool): compute md5s (see :class:`~.common.IndexEntries`).

    Returns:
        dict: ``{"version", "tracks", "multitracks"}``.

    Raises:
        DatasetError: when ``slakh2100_redux_16k/`` does not exist.
    """
    root = os.path.join(data_home, ROOT_FOLDER)
    if not os.path.isdir(root):
        raise DatasetError(f"Slakh2100 16 kHz folder not found: {root}")
    entries = IndexEntries(data_home, checksums)
    tracks, multitracks = {}, {}
    for split in SPLITS.values():
        for song in visible_dirs(os.path.join(root, split)):
            rel = f"{ROOT_FOLDER}/{split}/{song}"
            folder = os.path.join(data_home, rel)
            metadata = try_load_metadata(os.path.join(folder, "metadata.yaml"), parse_yaml, "stems")
            stems_meta = (
                metadata["stems"] if metadata and isinstance(metadata["stems"], dict) else {}
            )
            track_ids = []
            for key in _stem_keys(folder, metadata):
                audio = _find_audio(data_home, f"{rel}/stems/{key}")
                # Only the metadata can say that a stem's audio should exist.
                if audio is None and (stems_meta.get(key) or {}).get("audio_rendered", False):
                    audio = f"{rel}/stems/{key}{_stem_extension(folder)}"
                midi = entries.optional(f"{rel}/MIDI/{key}.mid")
                if audio is None and midi[0] is None:
                    continue
                track_id = f"{song}-{key}"
                tracks[track_id] = {
                    "audio": entries.expected(audio) if audio else [None, None],
                    "midi": midi,
                    "metadata": entries.expected(f"{rel}/metadata.yaml"),
                }
                track_ids.append(track_id)
            mix = _find_audio(data_home, f"{rel}/mix")
            multitracks[song] = {
                "tracks": track_ids,
                "mix": entries.expected(mix) if mix else [None, None],
                "midi": entries.optional(f"{rel}/all_src.mid"),
                "metadata": entries.expected(f"{rel}/metadata.yaml"),
                "beats": entries.optional(f"{rel}/{BEATS_FILENAME}"),
                "chords": entries.optional(f"{rel}/{CHORDS_FILENAME}"),
            }
    return {"version": VERSION, "tracks": tracks, "multitracks": multitracks}


class OptionalMidi:
    """Mixin: ``notes`` and ``multif0`` are None without a MIDI file (mirdata's rule for missing
    data), where mirdata's Slakh classes raise ``ValueError``. ``midi`` is None already."""

    @core.cached_property
    def notes(self):
        """NoteData or None: the MIDI's notes, drums left out."""
        return None if self.midi_path is None else super().notes

    @core.cached_property
    def multif0(self):
        """MultiF0Data or None: the MIDI's pitches over time, drums left out."""
        return None if self.midi_path is None else super().multif0


class Track(OptionalMidi, mirdata_slakh.Track):
    """mirdata's Slakh stem, reading ``metadata.yaml`` with the stray-character retry.

    See :class:`mirdata.datasets.slakh.Track` for the attributes and properties.
    """

    @core.cached_property
    def _track_metadata(self) -> dict:
        return load_track_metadata(self.metadata_path)["stems"][self.track_id.split("-")[1]]


class MultiTrack(OptionalMidi, ScoreAnnotations, mirdata_slakh.MultiTrack):
    """mirdata's Slakh multitrack, for a layout where ``mix`` may be absent.

    mirdata parses the split from the mix path, which the 16 kHz archive and the embedded corpus
    may lack, so this constructor takes it from the metadata path instead and otherwise sets the
    same attributes. Adds ``beats_path``/``chords_path`` and their cached properties ``beats`` and
    ``chords`` (embedded corpus only).
    """

    def __init__(self, mtrack_id, data_home, dataset_name, index, track_class, metadata):
        core.MultiTrack.__init__(
            self, mtrack_id, data_home, dataset_name, index, track_class, metadata
        )
        self.mix_path = self.get_path("mix")
        self.midi_path = self.get_path("midi")
        self.metadata_path = self.get_path("metadata")
        self.beats_path = self.get_path("beats")
        self.chords_path = self.get_path("chords")
        self.split = relative_split(self._multitrack_paths["metadata"][0])
        self.data_split = self.split

    @core.cached_property
    def _multitrack_metadata(self) -> dict:
        return load_track_metadata(self.metadata_path)


class Dataset(LocalDataset):
    """The Slakh2100 redux 16 kHz dataset: mirdata's Slakh classes over our index.

    Args:
        data_home (str or None): folder holding ``slakh2100_redux_16k/``.
        version (str): index version (``"default"`` = ``"2100-redux-16k"``).
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
            bibtex=mirdata_slakh.BIBTEX,
            download_info="Zenodo record 7708270, slakh2100_redux_16k.tar.gz.",
            license_info=LICENSE_INFO,
        )


def track_ids(dataset: Dataset, split: str) -> list:
    """Sorted multitrack ids of one split (loader-native split name)."""
    return sorted(dataset.get_mtrack_splits().get(split, []))


def manifest_track(dataset: Dataset, mtrack_id: str) -> dict:
    """Raw manifest entry of one Slakh track (stems not probed yet).

    Stems without audio (``audio_path`` None or ``audio_rendered: false``) are left out.

    Args:
        dataset (Dataset): the dataset.
        mtrack_id (str): ``TrackNNNNN``.

    Returns:
        dict: ``{"track_id", "split", "stems", "beats_path", "chords_path", "overall_gain"}``.

    Raises:
        DatasetError: empty track folder, or missing / unparsable ``metadata.yaml``.
    """
    mtrack = dataset.multitrack(mtrack_id)
    folder = os.path.dirname(mtrack.metadata_path)
    if not visible_entries(folder):
        raise DatasetError(f"empty track folder: {folder}")
    metadata = mtrack._multitrack_metadata
    stems = []
    for track_id in mtrack.track_ids:
        key = track_id.split("-")[1]
        stem_meta = (metadata["stems"] or {}).get(key) or {}
        path = dataset.track(track_id).audio_path
        if path is None or stem_meta.get("audio_rendered") is False:
            continue
        stems.append(
            {
                "name": key,
                "family": stem_meta.get("inst_class"),
                "instrument": stem_meta.get("midi_program_name"),
                "path": path,
                "program": stem_meta.get("program_num"),
                "is_drum": stem_meta.get("is_drum"),
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
        "overall_gain": metadata.get("overall_gain"),
    }
