"""Expressive performance of written voices: velocities, articulation and small timing deviations.

With one velocity for every note the stems would have no dynamics, so velocities follow phrase
arches, the written dynamics and the metre (accents on downbeats and beats). Onsets move by a few
milliseconds; the beat annotation stays on the exact score grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pretty_midi

from .instruments import Instrument
from .meter import EPS, Meter
from .score import DEFAULT_DYNAMIC, ScoreNote

TIMING_SD = 0.003  # onset deviation, seconds
TIMING_MAX = 0.008  # deviations are clipped to a few milliseconds
MIN_NOTE_SECONDS = 0.04
DRUM_NOTE_SECONDS = 0.1  # drum samples ring out by themselves; the note-off only has to follow
ACCENTS = (0.0, 3.0, 8.0)  # velocity added between beats, on beats, on downbeats


@dataclass(frozen=True)
class PlayedNote:
    """A note with its performed velocity, still on the score's time axis.

    Attributes:
        onset: score offset in quarters.
        duration: length in quarters.
        pitch: MIDI pitch.
        velocity: MIDI velocity 1..127.
    """

    onset: float
    duration: float
    pitch: int
    velocity: int


def shape_voice(notes: list[ScoreNote], meter: Meter, rng: np.random.Generator) -> list[PlayedNote]:
    """Give a written voice phrase dynamics and metric accents.

    Args:
        notes: the voice's written notes.
        meter: the piece's metric grid.
        rng: the track's random generator.

    Returns:
        The notes with velocities.
    """
    base = rng.uniform(62.0, 82.0)
    phrase_bars = int(rng.choice([2, 4]))
    depth = rng.uniform(8.0, 16.0)
    phrase_levels: dict[int, float] = {}
    played = []
    for n in notes:
        bars = meter.bar_position(n.onset)
        phrase = int(bars // phrase_bars)
        if phrase not in phrase_levels:
            phrase_levels[phrase] = rng.normal(0.0, 4.0)
        # An arch over each phrase: louder towards its middle, softer at its ends.
        arch = depth * (np.sin(np.pi * (bars % phrase_bars) / phrase_bars) - 0.5)
        velocity = (
            base
            + 60.0 * (n.dynamic - DEFAULT_DYNAMIC)
            + phrase_levels[phrase]
            + arch
            + ACCENTS[meter.strength(n.onset)]
            + rng.normal(0.0, 3.0)
        )
        played.append(PlayedNote(n.onset, n.duration, n.pitch, clip_velocity(velocity)))
    return played


def clip_velocity(value: float) -> int:
    """Round a velocity into a range every soundfont preset answers to."""
    return int(np.clip(round(value), 20, 124))


def perform(
    played: list[PlayedNote],
    instrument: Instrument,
    seconds_per_quarter: float,
    end: float,
    rng: np.random.Generator,
) -> pretty_midi.Instrument:
    """Turn played notes into a timed MIDI instrument, cut at ``end``.

    Args:
        played: notes with velocities, on the score's time axis.
        instrument: the instrument that plays them.
        seconds_per_quarter: the track's tempo as seconds per quarter note.
        end: offset in quarters after which nothing sounds.
        rng: the track's random generator.

    Returns:
        The pretty_midi instrument, times in seconds.
    """
    track = pretty_midi.Instrument(
        program=0 if instrument.is_drum else instrument.program,
        is_drum=instrument.is_drum,
        name=instrument.name,
    )
    legato = rng.uniform(0.86, 0.97)  # a slight detache so repeated notes re-articulate
    end_seconds = end * seconds_per_quarter
    for n in played:
        if n.onset >= end - EPS:
            continue
        deviation = float(np.clip(rng.normal(0.0, TIMING_SD), -TIMING_MAX, TIMING_MAX))
        start = max(0.0, n.onset * seconds_per_quarter + deviation)
        if instrument.is_drum:
            length = DRUM_NOTE_SECONDS
        else:
            written = min(n.duration, end - n.onset) * seconds_per_quarter
            length = max(written * legato, MIN_NOTE_SECONDS)
        stop = min(start + length, end_seconds)
        if stop - start < EPS:
            continue
        pitch = int(np.clip(n.pitch, 0, 127))
        track.notes.append(pretty_midi.Note(n.velocity, pitch, start, stop))
    return track
