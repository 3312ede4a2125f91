"""Signal levels of the protocols: the silence floor and RMS in dBFS (numpy only).

A module of its own so that the models and inference can read the floor without importing the
dataset loaders; :mod:`phalar_asteroid.data.datasets.stems` re-exports both names.
"""

import numpy as np

#: Silence floor of the activity filter (docs/protocols.md#silence-filter): RMS below it counts
#: as silent.
SILENCE_DB = -60.0


def rms_db(audio: np.ndarray) -> np.ndarray:
    """RMS level in dBFS along the last axis (``-inf`` for digital silence).

    Args:
        audio (np.ndarray): signals, shape (..., T).

    Returns:
        np.ndarray: levels, shape (...).
    """
    rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64), axis=-1))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(rms)
