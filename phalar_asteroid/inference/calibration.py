"""What a coherence score means: its percentile among scores of random (mismatched) pairs.

The calibration set is built in, so it exists for any model: :data:`N_SONGS` short synthetic
songs (bass, chords, drums, melody at a random tempo and key, :func:`synth_song`). For each song
one stem is held out and the others are summed into a partial mix; the random pairs are the
mix of one song against the held-out stem of every *other* song, scored with the symmetric
form. Each clip is one :data:`~phalar_asteroid.inference.audio.WINDOW_SECONDS` window, as the windows
``phalar score`` averages. The scores are cached per checkpoint (keyed by its SHA-256) in the
user cache (:func:`phalar_asteroid.utils.cache.cache_dir`, subfolder ``calibration``).
"""

import os

import numpy as np
import torch

from ..data.render.songs import STEMS, synth_song
from ..utils.cache import cache_dir
from ..utils.io import atomic_output
from .audio import WINDOW_SECONDS

#: Bump when the synthetic set or the pairing changes: old caches are then ignored.
CALIBRATION_VERSION = 1
N_SONGS = 32
SEED = 42


def calibration_clips(sample_rate: int, seconds: float = WINDOW_SECONDS, n_songs: int = N_SONGS):
    """Partial mixes and held-out stems of the synthetic songs.

    Args:
        sample_rate (int): rate in Hz.
        seconds (float): clip length.
        n_songs (int): number of songs.

    Returns:
        tuple: ``(mixes, stems)``, float32 ``(n_songs, time)`` each; row ``i`` of both comes
        from song ``i``.
    """
    rng = np.random.default_rng(SEED)
    mixes, stems = [], []
    for _ in range(n_songs):
        song = synth_song(rng, seconds, sample_rate)
        held_out = STEMS[rng.integers(len(STEMS))]
        stems.append(song[held_out])
        mixes.append(sum(v for k, v in song.items() if k != held_out))
    return np.stack(mixes), np.stack(stems)


def random_pair_scores(model, batch_size: int = 16) -> np.ndarray:
    """Symmetric scores of every mismatched (mix of song i, stem of song j ≠ i) pair.

    Args:
        model (ContrastiveEncoder): in eval mode.
        batch_size (int): clips per forward pass.

    Returns:
        np.ndarray: sorted float64 scores, ``N_SONGS * (N_SONGS - 1)`` of them.
    """
    mixes, stems = calibration_clips(int(model.sample_rate))
    with torch.no_grad():
        emb = model.embed(torch.from_numpy(np.concatenate((mixes, stems))), batch_size=batch_size)
        scores = model.score_embeddings(emb[: len(mixes)], emb[len(mixes) :], all_pairs=True)
    scores = scores.double().cpu().numpy()
    return np.sort(scores[~np.eye(len(mixes), dtype=bool)])


def calibration_path(fingerprint: str) -> str:
    """Cache file of a checkpoint's calibration scores."""
    return os.path.join(cache_dir("calibration"), f"{fingerprint[:32]}-v{CALIBRATION_VERSION}.npy")


def load_calibration(loaded, batch_size: int = 16) -> np.ndarray:
    """Cached random-pair scores of a checkpoint, built (and cached) on first use.

    A missing or unreadable cache file (empty, cut short, not an array) is rebuilt in its place;
    a cache folder that cannot be written only costs the rebuild next time.

    Args:
        loaded (LoadedModel): the model and its checkpoint fingerprint.
        batch_size (int): clips per forward pass when building.

    Returns:
        np.ndarray: sorted scores of random pairs.
    """
    path = calibration_path(loaded.fingerprint)
    try:
        scores = np.load(path)
        if scores.ndim == 1 and len(scores) > 0:
            return np.sort(scores)
    except (OSError, ValueError, EOFError):  # EOFError: an empty file
        pass
    scores = random_pair_scores(loaded.model, batch_size)
    try:
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.save(fhandle, scores)
    except OSError:
        pass
    return scores


def percentile(calibration: np.ndarray, score: float) -> float:
    """Percentage of calibration scores below ``score`` (ties count half).

    Args:
        calibration (np.ndarray): sorted scores of random pairs.
        score (float): the score to place.

    Returns:
        float: percentile in [0, 100].
    """
    below = np.searchsorted(calibration, score, side="left")
    not_above = np.searchsorted(calibration, score, side="right")
    return 100.0 * (below + not_above) / (2 * len(calibration))
