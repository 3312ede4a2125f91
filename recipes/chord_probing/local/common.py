"""Pieces shared by the stage scripts of the chord-probing recipe."""

import os

from phalar_asteroid.data.datasets.stems import load_mix  # noqa: F401 (re-exported)
from phalar_asteroid.recipe_utils import load_manifest, pick_device  # noqa: F401
from phalar_asteroid.utils.config import parse_with_conf as _parse_with_conf

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Feature sets probed: PHALAR embeddings (complex probe), the chroma baseline (real probe) and,
#: as a control, chroma averaged over the span of a PHALAR window.
FEATURES = ("phalar", "chroma", "chroma_window")


def parse_with_conf(parser) -> dict:
    """Parses the command line over this recipe's ``local/conf.yml``."""
    return _parse_with_conf(parser, os.path.join(LOCAL, "conf.yml"))
