"""Synthesis through a General MIDI soundfont, loudness normalisation and mixing.

MIDI is rendered by the self-contained ``midirenderer`` wheel with the ``TimGM6mb.sf2`` soundfont
that ships inside ``pretty_midi``. Stems are normalised the way Slakh and CocoChorales describe
it: every stem to an integrated loudness of -13 LUFS (ITU-R BS.1770 via ``pyloudnorm``), then one
overall gain brings the mix peak to -1 dBFS. Here the overall gain is applied to the stored stems
too, so the stored mix is exactly the sum of the stored stems (the datasets store the mix as the
sum times ``overall_gain``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache

import midirenderer
import numpy as np
import pretty_midi
import pyloudnorm
import soundfile
from scipy.signal import resample_poly

SAMPLE_RATE = 16000
RENDER_RATE = 48000  # midirenderer always renders 48 kHz stereo
NORMALIZATION_FACTOR = -13.0  # LUFS, as in the datasets' metadata
TARGET_PEAK = -1.0  # dBFS
MIDI_RESOLUTION = 960  # ticks per quarter: sub-millisecond timing at every tempo used here
SOUNDFONT = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
_FULL_SCALE = 32768  # 16-bit PCM


@lru_cache(maxsize=1)
def _soundfont() -> bytes:
    """The soundfont's bytes, read once per process."""
    with open(SOUNDFONT, "rb") as fhandle:
        return fhandle.read()


def build_midi(
    instruments: list[pretty_midi.Instrument], tempo: float, duration: float
) -> pretty_midi.PrettyMIDI:
    """A MIDI file at a fixed tempo that lasts ``duration`` seconds.

    midirenderer stops at the last MIDI event, which would cut the release tails; a harmless
    controller event (sustain pedal off) at ``duration`` keeps it rendering until then.

    Args:
        instruments: the tracks of the file.
        tempo: quarter notes per minute.
        duration: seconds the rendering must last.

    Returns:
        The MIDI object.
    """
    midi = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=tempo)
    for source in instruments:
        track = pretty_midi.Instrument(source.program, source.is_drum, source.name)
        track.notes = list(source.notes)
        track.control_changes = [pretty_midi.ControlChange(64, 0, duration)]
        midi.instruments.append(track)
    return midi


def midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    """Standard MIDI file bytes of a MIDI object."""
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def synthesize(midi: pretty_midi.PrettyMIDI, n_samples: int) -> np.ndarray:
    """Render MIDI to mono audio at 16 kHz.

    Args:
        midi: the MIDI to render.
        n_samples: exact output length (the render is cut or zero-padded to it).

    Returns:
        Float64 samples.
    """
    wave = midirenderer.render_wave_from(_soundfont(), midi_bytes(midi))
    audio, rate = soundfile.read(io.BytesIO(wave), dtype="float64", always_2d=True)
    if rate != RENDER_RATE:
        raise RuntimeError(f"midirenderer returned {rate} Hz, expected {RENDER_RATE} Hz")
    mono = resample_poly(audio.mean(axis=1), SAMPLE_RATE, RENDER_RATE)
    out = np.zeros(n_samples)
    out[: min(n_samples, len(mono))] = mono[:n_samples]
    return out


@dataclass(frozen=True)
class Mix:
    """Normalised stems and their mix as 16-bit samples.

    Attributes:
        stems: one int16 array per stem, overall gain included.
        mix: int16 sum of ``stems``.
        loudness: integrated loudness (LUFS) of each stem as rendered, before normalisation;
            ``-inf`` for a silent stem (left unscaled).
        overall_gain: linear gain applied after the per-stem normalisation.
    """

    stems: list[np.ndarray]
    mix: np.ndarray
    loudness: list[float]
    overall_gain: float


def normalise_and_mix(stems: list[np.ndarray]) -> Mix:
    """Loudness-normalise stems, scale them to the target mix peak and sum them.

    The stems are quantised to 16 bits before summing, so the stored mix equals the sum of the
    stored stems sample for sample.

    Args:
        stems: float stems at 16 kHz, all of one length (at least 0.4 s, one loudness block).

    Returns:
        The normalised stems and their mix.
    """
    meter = pyloudnorm.Meter(SAMPLE_RATE)
    loudness = []
    scaled = []
    for stem in stems:
        with np.errstate(divide="ignore"):
            level = float(meter.integrated_loudness(stem))
        loudness.append(level)
        gain = 10.0 ** ((NORMALIZATION_FACTOR - level) / 20.0) if np.isfinite(level) else 1.0
        scaled.append(stem * gain)
    peak = max([np.abs(np.sum(scaled, axis=0)).max()] + [np.abs(s).max() for s in scaled])
    overall_gain = 10.0 ** (TARGET_PEAK / 20.0) / peak if peak > 0 else 1.0
    quantised = [_to_pcm16(s * overall_gain) for s in scaled]
    # The mix peaks at -1 dBFS, so the integer sum cannot leave the 16-bit range.
    mix = np.sum([q.astype(np.int32) for q in quantised], axis=0).astype(np.int16)
    return Mix(quantised, mix, loudness, overall_gain)


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Round float samples in [-1, 1) to 16-bit integers."""
    return np.clip(np.round(samples * _FULL_SCALE), -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int16)


def write_audio(path: str, samples: np.ndarray) -> None:
    """Write 16-bit mono audio; the format (WAV or FLAC) follows the file extension.

    Args:
        path: destination, ending in ``.wav`` or ``.flac``.
        samples: int16 samples at 16 kHz.
    """
    soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
