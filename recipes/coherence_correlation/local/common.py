"""Pieces shared by the stage scripts of the coherence-correlation recipe."""

import os

from phalar_asteroid.recipe_utils import band_manifest, pick_device  # noqa: F401 (re-exported)
from phalar_asteroid.utils.config import parse_with_conf as _parse_with_conf

LOCAL = os.path.dirname(os.path.abspath(__file__))
#: Every model the recipe scores, in report order.
MODELS = ("phalar", "cocola", "onset_corr", "chroma_corr")
#: The line every output of simulated ratings carries.
SIMULATED_NOTE = (
    "SIMULATED ratings: listeners simulated from how each demo item was built (aligned or "
    "shifted off the beat, same key or transposed, or a stem of another track), not people"
)


def parse_with_conf(parser) -> dict:
    """Parses the command line over this recipe's ``local/conf.yml``."""
    return _parse_with_conf(parser, os.path.join(LOCAL, "conf.yml"))


def model_list(text: str) -> list:
    """The comma-separated ``--models`` as a list, each one checked against :data:`MODELS`."""
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise ValueError(f"--models {text!r}: expected a comma-separated list of {MODELS}")
    return names
