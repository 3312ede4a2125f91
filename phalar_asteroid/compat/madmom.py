"""The one import point of madmom 0.16.1 in phalar_asteroid (docs/protocols.md#beat-decoding).

madmom's last release predates Python 3.10 and NumPy 1.24: it imports ``MutableSequence`` from
``collections`` and uses the removed aliases ``np.float``, ``np.int`` and ``np.complex``. Importing
this module first restores those names, then imports madmom and re-exports what the recipes use.
``np.bool`` is deliberately left alone: NumPy 2 defines it again as the boolean scalar type, and
aliasing it to the builtin would change NumPy itself.

Example:
    >>> from phalar_asteroid.compat.madmom import RNNBeatProcessor, DBNBeatTrackingProcessor
"""

import collections
import collections.abc
import warnings

import numpy as np

#: Removed NumPy aliases that madmom still uses, and the builtins they used to name.
NUMPY_ALIASES = {"float": float, "int": int, "complex": complex}


def install_shims() -> None:
    """Restores the names madmom needs; idempotent, and never overwrites an existing name."""
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    for name, builtin in NUMPY_ALIASES.items():
        # np.float & co. raise AttributeError through numpy's module __getattr__ when removed.
        if name not in vars(np):
            setattr(np, name, builtin)


install_shims()

with warnings.catch_warnings():
    # Import-time noise of an old package, not actionable here: madmom imports pkg_resources,
    # compares versions with distutils' LooseVersion and uses scipy's deprecated namespaces.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    import madmom  # noqa: E402
    from madmom.audio.signal import Signal  # noqa: E402
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor  # noqa: E402

__all__ = [
    "DBNBeatTrackingProcessor",
    "NUMPY_ALIASES",
    "RNNBeatProcessor",
    "Signal",
    "install_shims",
    "madmom",
]
