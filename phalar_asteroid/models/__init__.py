"""Models, registered with Asteroid's model registry on import (``asteroid.models.get``)."""

import asteroid.models

from .cocola import COCOLA
from .phalar import PHALAR

__all__ = ["COCOLA", "PHALAR", "get"]


def _register(cls):
    # register_model raises on a second registration (e.g. a reload): guard it.
    try:
        asteroid.models.get(cls.__name__)
    except ValueError:
        asteroid.models.register_model(cls)


_register(PHALAR)
_register(COCOLA)


def get(identifier):
    """Returns a model class by (case-insensitive) name, through Asteroid's registry.

    Args:
        identifier (str): e.g. ``"PHALAR"`` or ``"COCOLA"``.

    Returns:
        type: the model class.
    """
    return asteroid.models.get(identifier)
