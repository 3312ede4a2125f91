"""Short synthetic songs of four stems, synthesised directly in numpy (no score, no soundfont).

Each song has a bass, chords, drums and a melody in one random key, mode and tempo: decaying
harmonic tones read from wavetables and noise-burst drums. They need no corpus and render in
milliseconds, so the calibration set of ``phalar score`` and the examples are built from them. A
change to what :func:`synth_song` returns changes that set: bump its ``CALIBRATION_VERSION``, so
that cached calibrations are rebuilt.
"""

from __future__ import annotations

import functools

import numpy as np

#: The stems of a synthetic song, in the order :func:`synth_song` returns them.
STEMS = ("bass", "chords", "drums", "melody")
_MAJOR, _MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


def _midi_hz(note) -> np.ndarray:
    """Frequency in Hz of a MIDI pitch (or an array of them)."""
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=float) - 69) / 12)


@functools.lru_cache(maxsize=None)
def _wavetable(harmonics: int, size: int = 4096) -> np.ndarray:
    """One period of a tone with ``harmonics`` partials of amplitude ``h ** -1.5``."""
    phase = 2 * np.pi * np.arange(size) / size
    return sum(np.sin(h * phase) / h**1.5 for h in range(1, harmonics + 1)).astype(np.float32)


def _add_tone(
    out: np.ndarray,
    sr: int,
    start: float,
    dur: float,
    freq: float,
    harmonics: int,
    decay: float,
) -> None:
    """Add a decaying harmonic tone (in place, read from a wavetable), clipped to the buffer.

    Args:
        out: the stem's samples, added to.
        sr: sample rate in Hz.
        start: onset in seconds.
        dur: length in seconds.
        freq: fundamental in Hz.
        harmonics: number of partials.
        decay: time constant of the exponential decay, in seconds.
    """
    first, n = int(start * sr), int(dur * sr)
    n = min(n, len(out) - first)
    if n <= 0:
        return
    t = np.arange(n, dtype=np.float32) / sr
    env = np.exp(-t / decay) * np.minimum(1.0, t / 0.005)
    table = _wavetable(harmonics)
    index = (np.arange(n) * (freq * len(table) / sr)).astype(np.int64) % len(table)
    out[first : first + n] += env * table[index]


def _add_hit(
    out: np.ndarray, sr: int, start: float, dur: float, rng: np.random.Generator, kind: str
) -> None:
    """Add a drum hit (in place): a pitch-swept kick, or a noise burst (snare, high-passed for hats).

    Args:
        out: the drum stem's samples, added to.
        sr: sample rate in Hz.
        start: onset in seconds.
        dur: length in seconds.
        rng: randomness of the noise.
        kind: ``"kick"``, ``"snare"`` or ``"hat"``.
    """
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
        rng: randomness (tempo 80–160 BPM, key, mode, progression, notes).
        seconds: duration.
        sample_rate: rate in Hz.

    Returns:
        Stem name (:data:`STEMS`) → float32 waveform, each with a peak of 0.5.

    Shape:
        - each waveform: ``(round(seconds * sample_rate),)``
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
