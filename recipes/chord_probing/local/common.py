"""Pieces shared by the stage scripts of the chord-probing recipe."""

import os

import numpy as np
import torch
import yaml
from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict

from phalar_asteroid.data.datasets import Manifest
from phalar_asteroid.data.datasets.audio import load_stems

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Feature sets probed: PHALAR embeddings (complex probe) and the chroma baseline (real probe).
FEATURES = ("phalar", "chroma")


def parse_with_conf(parser) -> dict:
    """Adds the ``local/conf.yml`` leaves as options of ``parser`` and parses the command line.

    Returns:
        dict: ``{group: {key: value}}`` with the script's own options under ``main_args``.
    """
    with open(os.path.join(LOCAL, "conf.yml")) as fhandle:
        conf = yaml.safe_load(fhandle)
    return parse_args_as_dict(prepare_parser_from_dict(conf, parser))


def load_manifest(path: str) -> Manifest:
    """The recipe's recording list (stage 1 output)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Missing manifest {path}: run stage 1 first")
    return Manifest.load(path)


def load_mix(track: dict, sample_rate: int) -> np.ndarray:
    """The whole recording as the plain sum of its stems, mono at ``sample_rate``.

    Returns:
        np.ndarray: float32 ``(time,)``.
    """
    return load_stems(track, 0, track["duration"], sample_rate=sample_rate).sum(axis=0)


def frame_period(conf: dict, sample_rate: int = 16000, hop_length: int = 160) -> float:
    """Seconds between feature frames: the window stride of the PHALAR encoder."""
    return conf["windows"]["hop_frames"] * hop_length / sample_rate


def pick_device(use_gpu: bool) -> torch.device:
    """CUDA when asked for and available (``--id`` sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
