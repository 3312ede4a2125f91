"""Pieces shared by the stage scripts of the chord-probing recipe."""

import os

from phalar_asteroid.data.datasets.stems import load_mix  # noqa: F401 (re-exported)
from phalar_asteroid.recipe_utils import load_manifest, pick_device  # noqa: F401
from phalar_asteroid.utils.config import parse_with_conf as _parse_with_conf

LOCAL = os.path.dirname(os.path.abspath(__file__))


def parse_with_conf(parser) -> dict:
    """Parses the command line over this recipe's ``local/conf.yml``."""
    return _parse_with_conf(parser, os.path.join(LOCAL, "conf.yml"))


def window_list(text) -> list:
    """Window lengths in seconds from a comma-separated option such as ``"1,2,4.8"``.

    Raises:
        ValueError: an entry that is not a positive number (the message names the option).
    """
    try:
        seconds = [float(item) for item in str(text).split(",") if item.strip()]
    except ValueError:
        seconds = []
    if not seconds or min(seconds) <= 0:
        raise ValueError(f"--window_seconds takes positive seconds such as 1,2,4.8, got {text!r}")
    return seconds


def feature_dir(exp_dir: str, window_seconds: float) -> str:
    """Folder of the PHALAR frame embeddings made with one window length."""
    return os.path.join(exp_dir, f"features_w{window_seconds:g}s")
