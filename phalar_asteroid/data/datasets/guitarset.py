"""GuitarSet: mirdata's ``guitarset`` classes over an index built from the local tree.

Layout, relative to ``data_home`` (``<DATA_ROOT>/guitarset``)::

    annotation/<id>.jams
    audio_mono-mic/<id>_mic.wav
    audio_mono-pickup_mix/<id>_mix.wav                      (optional)
    audio_hex-pickup_debleeded/<id>_hex_cln.wav             (optional)
    audio_hex-pickup_original/<id>_hex.wav                  (optional)

Track ids read ``<player>_<style><progression>-<tempo>-<key>_<mode>``. The chord probe uses
``Dataset.track(id).leadsheet_chords``, the first JAMS chord annotation (mirdata 1.0 parses JAMS
as JSON, so the ``jams`` package is not needed).
"""

import os

from mirdata.datasets import guitarset as mirdata_guitarset

from .common import DatasetError, IndexEntries, LocalDataset, visible_entries

NAME = "guitarset"
VERSION = "1.1.0"
INDEX_FILENAME = f"guitarset_index_{VERSION}.json"
SPLITS = {"all": "all"}
LICENSE_INFO = "MIT"
#: Asteroid-style licence dicts of the tracks (:func:`~.registry.dataset_licenses`).
LICENSES = [
    {
        "title": "GuitarSet",
        "title_link": "https://github.com/marl/guitarset",
        "author": "Qingyang Xi, Rachel M. Bittner, Xuzhou Ye, Johan Pauwels, Juan P. Bello",
        "author_link": "https://github.com/marl",
        "license": LICENSE_INFO,
        "license_link": "https://opensource.org/licenses/MIT",
        "non_commercial": False,
    }
]

#: index key -> (folder, file name suffix)
AUDIO_FILES = {
    "audio_hex_cln": ("audio_hex-pickup_debleeded", "_hex_cln.wav"),
    "audio_hex": ("audio_hex-pickup_original", "_hex.wav"),
    "audio_mic": ("audio_mono-mic", "_mic.wav"),
    "audio_mix": ("audio_mono-pickup_mix", "_mix.wav"),
}


def make_index(data_home: str, checksums: bool = True) -> dict:
    """Index a local GuitarSet tree in the shape of mirdata's ``guitarset`` index.

    Excerpts are those with a JAMS file; the microphone audio is expected for each, the other
    recordings are optional.

    Args:
        data_home (str): folder holding ``annotation/`` and the audio folders.
        checksums (bool): compute md5s (see :class:`~.common.IndexEntries`).

    Returns:
        dict: ``{"version", "tracks": {id: {"audio_hex_cln", "audio_hex", "audio_mic",
        "audio_mix", "jams"}}}``.

    Raises:
        DatasetError: when ``annotation/`` does not exist.
    """
    annotation_dir = os.path.join(data_home, "annotation")
    if not os.path.isdir(annotation_dir):
        raise DatasetError(f"GuitarSet annotation folder not found: {annotation_dir}")
    entries = IndexEntries(data_home, checksums)
    tracks = {}
    for name in visible_entries(annotation_dir):
        track_id, ext = os.path.splitext(name)
        if ext != ".jams":
            continue
        paths = {
            key: f"{folder}/{track_id}{suffix}" for key, (folder, suffix) in AUDIO_FILES.items()
        }
        tracks[track_id] = {key: entries.optional(rel) for key, rel in paths.items()}
        tracks[track_id]["audio_mic"] = entries.expected(paths["audio_mic"])
        tracks[track_id]["jams"] = entries.expected(f"annotation/{name}")
    return {"version": VERSION, "tracks": tracks}


class Dataset(LocalDataset):
    """GuitarSet over a locally built index, with mirdata's Track class.

    Args:
        data_home (str or None): folder holding ``annotation/`` and the audio folders.
        version (str): index version (``"default"`` = ``"1.1.0"``).
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
            track_class=mirdata_guitarset.Track,
            bibtex=mirdata_guitarset.BIBTEX,
            download_info="Zenodo record 3371780: annotation.zip and audio_mono-mic.zip.",
            license_info=LICENSE_INFO,
        )


def track_ids(dataset: Dataset, split: str) -> list:
    """Sorted ids of all excerpts (GuitarSet has no official split: only ``all``)."""
    return sorted(dataset.track_ids)


def manifest_track(dataset: Dataset, track_id: str) -> dict:
    """Raw manifest entry of one excerpt: a single ``mic`` stem and its JAMS file.

    Args:
        dataset (Dataset): the dataset.
        track_id (str): excerpt id.

    Returns:
        dict: ``{"track_id", "split", "stems", "beats_path", "chords_path", "jams_path", "mode",
        "player_id", "style", "tempo"}``. Beats and chords live in the JAMS file, so
        ``beats_path`` and ``chords_path`` are None.
    """
    track = dataset.track(track_id)
    return {
        "track_id": track_id,
        "split": "all",
        "stems": [
            {
                "name": "mic",
                "family": "guitar",
                "instrument": "acoustic_guitar",
                "path": track.audio_mic_path,
                "program": None,
                "is_drum": False,
                "has_bleed": False,
            }
        ],
        "beats_path": None,
        "chords_path": None,
        "jams_path": track.jams_path,
        "mode": track.mode,
        "player_id": track.player_id,
        "style": track.style,
        "tempo": track.tempo,
    }
