"""Pieces shared by the stage scripts of the beat-tracking recipe."""

import os

import numpy as np
import torch
import yaml
from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict

from phalar_asteroid.cli.output import atomic_output
from phalar_asteroid.data.datasets import Manifest
from phalar_asteroid.data.datasets.audio import load_stems

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Beat trackers run by stage 3 on the data (model independent) and by stage 4 with PHALAR.
REFERENCE_SYSTEMS = ("madmom", "onset_dp")
PHALAR_SYSTEMS = ("phalar_dp", "phalar_dbn")


def parse_with_conf(parser) -> dict:
    """Adds the ``local/conf.yml`` leaves as options of ``parser`` and parses the command line.

    Returns:
        dict: ``{group: {key: value}}`` with the script's own options under ``main_args``.
    """
    with open(os.path.join(LOCAL, "conf.yml")) as fhandle:
        conf = yaml.safe_load(fhandle)
    return parse_args_as_dict(prepare_parser_from_dict(conf, parser))


def load_manifest(path: str) -> Manifest:
    """The recipe's track list (stage 1 output)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Missing manifest {path}: run stage 1 first")
    return Manifest.load(path)


def load_mix(track: dict, sample_rate: int) -> np.ndarray:
    """The whole track as the plain sum of its stems, mono at ``sample_rate``.

    Returns:
        np.ndarray: float32 ``(time,)``.
    """
    return load_stems(track, 0, track["duration"], sample_rate=sample_rate).sum(axis=0)


def beats_file(folder: str, system: str, track_id: str) -> str:
    """Where a system's beats of a track are stored: ``<folder>/<system>/<track_id>.beats``."""
    return os.path.join(folder, system, f"{track_id}.beats")


def write_beats(path: str, beats) -> None:
    """One beat time (seconds) per line, written under a temporary name and renamed."""
    with atomic_output(path) as tmp:
        np.savetxt(tmp, np.asarray(beats, dtype=np.float64), fmt="%.6f")


def read_beats(path: str) -> np.ndarray:
    """Beat times written by :func:`write_beats` (an empty file gives no beats)."""
    if os.path.getsize(path) == 0:
        return np.zeros(0)
    return np.loadtxt(path, ndmin=1)


def pick_device(use_gpu: bool) -> torch.device:
    """CUDA when asked for and available (``--id`` sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
