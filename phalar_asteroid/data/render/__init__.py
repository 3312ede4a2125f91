"""The embedded corpus renderer: music21 scores as multitrack datasets, and synthetic songs.

``python -m phalar_asteroid.data.render`` renders a corpus (see :mod:`.corpus`). A track goes
through the modules in this order:

- :mod:`.plan`: which piece, split, flavour and ensemble each track gets;
- :mod:`.score` and :mod:`.meter`: the piece's voices, bars and beats (chord labels from
  :mod:`.annotations`);
- :mod:`.instruments`, :mod:`.perform` and :mod:`.band`: instrumentation, expressive performance,
  drums and bass (:mod:`.harmony`: the slow harmony of ``slow_band`` tracks);
- :mod:`.synth`: General MIDI synthesis, loudness normalisation and mixing;
- :mod:`.track`: one track put together; :mod:`.layouts`: its files in the datasets' layouts.

:mod:`.songs` holds small four-stem songs synthesised in numpy, without a score or soundfont.

Like :mod:`phalar_asteroid.data`, the package is cheap to import: each name below is imported
from its module on first use.
"""

import importlib

_EXPORTS = {
    "render_corpus": "corpus",
    "main": "corpus",
    "SAMPLE_RATE": "synth",
    "build_midi": "synth",
    "synthesize": "synth",
    "synth_song": "songs",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import an exported name from its module on first access.

    Args:
        name: the attribute asked for.

    Returns:
        The exported object.

    Raises:
        AttributeError: when ``name`` is not exported.
    """
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, exported ones included."""
    return sorted(set(globals()) | set(_EXPORTS))
