"""Pieces shared by the stage scripts of the beat-tracking recipe."""

import os

import numpy as np

from phalar_asteroid.data.datasets.stems import load_mix  # noqa: F401 (re-exported)
from phalar_asteroid.recipe_utils import load_manifest, pick_device  # noqa: F401
from phalar_asteroid.utils.config import parse_with_conf as _parse_with_conf
from phalar_asteroid.utils.io import atomic_output

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Beat trackers run by stage 3 on the data (model independent) and by stage 4 with PHALAR.
REFERENCE_SYSTEMS = ("madmom", "onset_dp")
PHALAR_SYSTEMS = ("phalar_dp", "phalar_dbn")


def beats_file(folder: str, system: str, track_id: str) -> str:
    """Where a system's beats of a track are stored: ``<folder>/<system>/<track_id>.beats``."""
    return os.path.join(folder, system, f"{track_id}.beats")


def write_beat_times(path: str, beats) -> None:
    """Detected beat times, one per line in seconds (annotations with bar positions are the
    renderer's ``.beats`` files), written under a temporary name and renamed."""
    with atomic_output(path) as tmp:
        np.savetxt(tmp, np.asarray(beats, dtype=np.float64), fmt="%.6f")


def read_beat_times(path: str) -> np.ndarray:
    """Beat times written by :func:`write_beat_times` (an empty file gives no beats)."""
    if os.path.getsize(path) == 0:
        return np.zeros(0)
    return np.loadtxt(path, ndmin=1)


def parse_with_conf(parser) -> dict:
    """Parses the command line over this recipe's ``local/conf.yml``."""
    return _parse_with_conf(parser, os.path.join(LOCAL, "conf.yml"))
