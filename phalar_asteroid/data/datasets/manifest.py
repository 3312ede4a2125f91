"""Plain, picklable manifests: what DataLoader workers receive instead of mirdata objects
(docs/data.md#manifests-not-mirdata-objects).

A manifest is a list of track dicts::

    {"dataset": str, "track_id": str, "split": str, "sample_rate": int,
     "num_frames": int,            # minimum over the stems
     "duration": float,            # num_frames / sample_rate
     "stems": [{"name", "family", "instrument", "path", "program", "is_drum", "has_bleed",
                "num_frames"}],   # the stem file's own length
     "beats_path": str | None, "chords_path": str | None, ...}

Loaders may add dataset-specific keys (e.g. ``genre`` for GTZAN). Every stem is probed with
``soundfile.info`` when the manifest is built, so that bad files fail here, with their path, rather
than deep inside a worker. Readers (:func:`.stems.load_stems`) compare every file they open with
its rate and length here, so that a file changed after the manifest was written is named too.
"""

import json
import os

import soundfile as sf

from ...utils.io import audio_truncated, write_json
from .common import DatasetError

MANIFEST_FORMAT_VERSION = 1

#: Frames decoded at the end of every stem: catches truncated compressed files (e.g. FLAC).
_TAIL_FRAMES = 1024


class Manifest(list):
    """A list of track dicts with the build context attached.

    Args:
        tracks (iterable of dict): track entries (see the module docstring).
        dataset (str or None): registry name of the dataset.
        split (str or None): canonical split name.
        skipped (iterable of dict): ``{"track_id", "error"}`` for every track left out under
            ``strict=False``.
    """

    def __init__(self, tracks=(), dataset=None, split=None, skipped=()):
        super().__init__(tracks)
        self.dataset = dataset
        self.split = split
        self.skipped = list(skipped)

    def by_id(self) -> dict:
        """Returns ``{track_id: track}``."""
        return {track["track_id"]: track for track in self}

    def to_dict(self) -> dict:
        """JSON-serialisable form (the on-disk layout)."""
        return {
            "format_version": MANIFEST_FORMAT_VERSION,
            "dataset": self.dataset,
            "split": self.split,
            "skipped": self.skipped,
            "tracks": list(self),
        }

    def save(self, path: str) -> None:
        """Write the manifest as JSON (temporary file + rename, so readers never see half a file).

        Args:
            path (str): destination ``.json`` file.
        """
        write_json(self.to_dict(), path, indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: str) -> "Manifest":
        """Read a manifest written by :meth:`save`.

        Args:
            path (str): a manifest ``.json`` file.

        Returns:
            Manifest: the manifest.
        """
        with open(path, encoding="utf-8") as fhandle:
            data = json.load(fhandle)
        if data.get("format_version") != MANIFEST_FORMAT_VERSION:
            raise DatasetError(f"unsupported manifest format_version in {path}")
        return cls(data["tracks"], data["dataset"], data["split"], data["skipped"])


def probe_audio(path: str) -> tuple:
    """Check that an audio file exists, opens, is complete and non-empty.

    Args:
        path (str): audio file.

    Returns:
        tuple: ``(sample_rate, num_frames, num_channels)``.

    Raises:
        DatasetError: naming ``path`` when the file is missing, unreadable, truncated or empty.
    """
    if not os.path.isfile(path):
        raise DatasetError(f"missing stem file: {path}")
    try:
        info = sf.info(path)
        if info.frames <= 0:
            raise DatasetError(f"empty audio file: {path}")
        # Decoding the last block fails on truncated compressed data.
        tail = sf.read(path, start=max(0, info.frames - _TAIL_FRAMES), dtype="float32")[0]
    except (RuntimeError, sf.LibsndfileError) as err:
        raise DatasetError(f"corrupt or unreadable audio file: {path} ({err})") from None
    if len(tail) != min(info.frames, _TAIL_FRAMES) or audio_truncated(path):
        raise DatasetError(f"truncated audio file: {path}")
    return int(info.samplerate), int(info.frames), int(info.channels)


def finalize_track(dataset: str, raw: dict) -> dict:
    """Probe every stem of a raw track entry and add rate, length and dataset name.

    Args:
        dataset (str): registry name of the dataset.
        raw (dict): ``{"track_id", "split", "stems": [...], "beats_path", "chords_path", ...}``
            as returned by a loader's ``manifest_track``.

    Returns:
        dict: the complete manifest entry (each stem with its file's ``num_frames``).

    Raises:
        DatasetError: when a stem is bad, the track has no stems, or the stems' sample rates
            differ.
    """
    if not raw["stems"]:
        raise DatasetError(f"track {raw['track_id']} has no stems with audio")
    rates, frames, stems = set(), [], []
    for stem in raw["stems"]:
        rate, num_frames, _ = probe_audio(stem["path"])
        rates.add(rate)
        frames.append(num_frames)
        stems.append({**stem, "num_frames": num_frames})
    if len(rates) > 1:
        raise DatasetError(f"stems of track {raw['track_id']} differ in sample rate: {rates}")
    rate = rates.pop()
    num_frames = min(frames)
    return {
        **raw,
        "stems": stems,
        "dataset": dataset,
        "sample_rate": rate,
        "num_frames": num_frames,
        "duration": num_frames / rate,
    }
