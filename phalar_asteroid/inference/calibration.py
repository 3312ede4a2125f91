"""What a coherence score means: its percentile among scores of random (mismatched) pairs.

The calibration set is built in, so it exists for any model: :data:`N_SONGS` short synthetic
songs (bass, chords, drums, melody at a random tempo and key, :func:`synth_song`). For each song
one stem is held out and the others are summed into a partial mix; the random pairs are the
mix of one song against the held-out stem of every *other* song, scored with the symmetric
form. Each clip is one :data:`~phalar_asteroid.inference.audio.WINDOW_SECONDS` window, as the windows
``phalar score`` averages. The scores are cached per checkpoint (keyed by its SHA-256) in the
user cache (:func:`phalar_asteroid.utils.cache.cache_dir`, subfolder ``calibration``).
"""

import functools
import os

import numpy as np
import torch

from ..utils.cache import cache_dir
from ..utils.io import atomic_output
from .audio import WINDOW_SECONDS

#: Bump when the synthetic set or the pairing changes: old caches are then ignored.
CALIBRATION_VERSION = 1
N_SONGS = 32
SEED = 42
STEMS = ("bass", "chords", "drums", "melody")
_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


def _midi_hz(note):
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=float) - 69) / 12)


@functools.lru_cache(maxsize=None)
def _wavetable(harmonics: int, size: int = 4096) -> np.ndarray:
    """One period of a tone with ``harmonics`` partials of amplitude ``h ** -1.5``."""
    phase = 2 * np.pi * np.arange(size) / size
    return sum(np.sin(h * phase) / h**1.5 for h in range(1, harmonics + 1)).astype(np.float32)


def _add_tone(out, sr, start, dur, freq, harmonics, decay):
    """Adds a decaying harmonic tone (in place, read from a wavetable), clipped to the buffer."""
    first, n = int(start * sr), int(dur * sr)
    n = min(n, len(out) - first)
    if n <= 0:
        return
    t = np.arange(n, dtype=np.float32) / sr
    env = np.exp(-t / decay) * np.minimum(1.0, t / 0.005)
    table = _wavetable(harmonics)
    index = (np.arange(n) * (freq * len(table) / sr)).astype(np.int64) % len(table)
    out[first : first + n] += env * table[index]


def _add_hit(out, sr, start, dur, rng, kind):
    """Adds a drum hit: a pitch-swept kick, or a noise burst (snare, high-passed for hats)."""
    first = int(start * sr)
    n = min(int(dur * sr), len(out) - first)
    if n <= 0:
        return
    t = np.arange(n) / sr
    if kind == "kick":
        hit = np.sin(2 * np.pi * (50 * t + 70 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)
    else:
        noise = rng.standard_normal(n)
        if kind == "hat":
            noise = np.diff(noise, prepend=0.0)
        hit = 0.5 * noise * np.exp(-t / (0.08 if kind == "snare" else 0.02))
    out[first : first + n] += hit


def synth_song(rng: np.random.Generator, seconds: float, sample_rate: int = 16000) -> dict:
    """A short song of four stems: bass, chords, drums and melody in one key and tempo.

    Args:
        rng (np.random.Generator): randomness (tempo 80–160 BPM, key, mode, progression, notes).
        seconds (float): duration.
        sample_rate (int): rate in Hz.

    Returns:
        dict: stem name → float32 waveform ``(round(seconds * sample_rate),)``, each with a peak
        of 0.5.
    """
    sr, n = sample_rate, round(seconds * sample_rate)
    beat = 60.0 / rng.uniform(80, 160)
    scale = np.asarray(_MAJOR if rng.random() < 0.5 else _MINOR)
    root = int(rng.integers(36, 48))
    stems = {name: np.zeros(n) for name in STEMS}
    n_bars = int(np.ceil(seconds / (4 * beat)))
    degrees = rng.choice([0, 3, 4, 5], size=n_bars)
    for bar, degree in enumerate(degrees):
        start = bar * 4 * beat
        chord = root + 12 + scale[(degree + np.array([0, 2, 4])) % 7]
        for note in chord:
            _add_tone(stems["chords"], sr, start, 4 * beat, _midi_hz(note), 3, 2.0)
        for b in range(4):
            _add_tone(
                stems["bass"], sr, start + b * beat, beat, _midi_hz(root + scale[degree]), 4, 0.3
            )
            _add_hit(
                stems["drums"], sr, start + b * beat, 0.4, rng, "kick" if b % 2 == 0 else "snare"
            )
            for half in range(2):
                _add_hit(stems["drums"], sr, start + (b + half / 2) * beat, 0.1, rng, "hat")
    t = 0.0
    while t < seconds:
        dur = beat * rng.choice([0.5, 1.0, 1.5])
        note = root + 24 + scale[rng.integers(7)] + 12 * rng.integers(0, 2)
        _add_tone(stems["melody"], sr, t, dur, _midi_hz(note), 2, 0.5)
        t += dur
    return {k: (0.5 * v / np.abs(v).max()).astype(np.float32) for k, v in stems.items()}


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

    A missing or unreadable cache file is rebuilt; a cache folder that cannot be written only
    costs the rebuild next time.

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
    except (OSError, ValueError):
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
