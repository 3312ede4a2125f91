"""Render one planned track: tempo, instrumentation, performance, synthesis and annotations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pretty_midi

from .band import bass_part, drum_part
from .harmony import slow_harmony
from .instruments import Instrument, band_instruments, bass_instrument, chamber_ensemble, drum_kit
from .meter import EPS
from .perform import perform, shape_voice
from .plan import TrackPlan
from .score import Piece, load_piece
from .synth import SAMPLE_RATE, build_midi, normalise_and_mix, synthesize

# Whole pieces are rendered, but a long quartet movement or mass section stops at the last
# barline that keeps the track (release tail included) within this length.
MAX_PIECE_SECONDS = 120.0
TAIL_SECONDS = 1.0  # silence after the last note, for release tails and reverb
# Quarter notes per minute; slow_band stays slow enough that two bars outlast a 4.8 s window.
TEMPO_RANGES = {"chorale": (60, 140), "band": (70, 180), "slow_band": (60, 110)}


@dataclass(frozen=True)
class Stem:
    """One rendered instrument.

    Attributes:
        instrument: the instrument.
        midi: its MIDI file.
        audio: int16 samples at 16 kHz, normalised.
        loudness: integrated loudness (LUFS) of the raw render.
    """

    instrument: Instrument
    midi: pretty_midi.PrettyMIDI
    audio: np.ndarray
    loudness: float


@dataclass(frozen=True)
class RenderedTrack:
    """A finished track, ready to be written in any layout.

    Attributes:
        plan: the plan it was rendered from.
        tempo: quarter notes per minute.
        stems: the stems, top voice first (band tracks end with bass and drums).
        midi: all stems in one MIDI file.
        mix: int16 sum of the stems' audio.
        overall_gain: gain applied after per-stem loudness normalisation.
        beats: ``(time_seconds, position_in_bar)`` of every beat.
        chords: ``(start_seconds, end_seconds, label)`` segments covering the whole audio.
        key: estimated key, e.g. ``"F#:minor"``.
        time_signature: first time signature, e.g. ``"4/4"``.
        beat_unit: beat length of that time signature in quarter notes (2.0 in 4/2).
    """

    plan: TrackPlan
    tempo: int
    stems: list[Stem]
    midi: pretty_midi.PrettyMIDI
    mix: np.ndarray
    overall_gain: float
    beats: list[tuple[float, int]]
    chords: list[tuple[float, float, str]]
    key: str
    time_signature: str
    beat_unit: float

    @property
    def seconds(self) -> float:
        """Audio length in seconds."""
        return len(self.mix) / SAMPLE_RATE

    def annotation_fields(self) -> dict:
        """Score-derived fields stored beside each dataset's own metadata."""
        return {
            "tempo_bpm": self.tempo,
            "key": self.key,
            "time_signature": self.time_signature,
            "beat_unit": self.beat_unit,
            "source_piece": self.plan.piece,
        }


def render_track(plan: TrackPlan, max_seconds: float | None = None) -> RenderedTrack:
    """Render a planned track.

    Args:
        plan: what to render.
        max_seconds: crop the track to this many seconds; None renders the whole piece up to
            ``MAX_PIECE_SECONDS``.

    Returns:
        The rendered track.
    """
    rng = plan.rng()
    low, high = TEMPO_RANGES[plan.flavour]
    tempo = int(rng.integers(low, high + 1))
    seconds_per_quarter = 60.0 / tempo
    cap = MAX_PIECE_SECONDS - TAIL_SECONDS if max_seconds is None else max_seconds
    piece = load_piece(plan.piece, cap / seconds_per_quarter)
    if plan.flavour == "slow_band":
        piece = slow_harmony(piece, rng)
    end = _music_end(piece, cap / seconds_per_quarter, cropped=max_seconds is not None)
    duration = end * seconds_per_quarter + TAIL_SECONDS
    if max_seconds is not None:
        duration = min(duration, max_seconds)

    voices = [shape_voice(notes, piece.meter, rng) for notes in piece.voices]
    if plan.flavour in ("band", "slow_band"):
        parts = list(zip(band_instruments(len(voices), rng), voices))
        parts.append((bass_instrument(rng), bass_part(voices[-1], piece.meter, rng)))
        parts.append((drum_kit(), drum_part(piece.meter, end, rng)))
    else:
        ensemble = chamber_ensemble(len(voices), plan.ensemble, rng, plan.timbre_rng())
        parts = list(zip(ensemble, voices))
    performed = [
        (instrument, perform(notes, instrument, seconds_per_quarter, end, rng))
        for instrument, notes in parts
    ]
    # A voice that rests through a cropped excerpt would be a silent stem: leave it out.
    performed = [(instrument, track) for instrument, track in performed if track.notes]

    n_samples = round(duration * SAMPLE_RATE)
    stem_midis = [build_midi([track], tempo, duration) for _, track in performed]
    mixed = normalise_and_mix([synthesize(midi, n_samples) for midi in stem_midis])
    stems = [
        Stem(instrument, midi, audio, loudness)
        for (instrument, _), midi, audio, loudness in zip(
            performed, stem_midis, mixed.stems, mixed.loudness
        )
    ]
    first_bar = piece.meter.bars[0]
    return RenderedTrack(
        plan=plan,
        tempo=tempo,
        stems=stems,
        midi=build_midi([track for _, track in performed], tempo, duration),
        mix=mixed.mix,
        overall_gain=mixed.overall_gain,
        beats=[
            (offset * seconds_per_quarter, position)
            for offset, position in piece.meter.beats()
            if offset < end - EPS
        ],
        chords=_chords_in_seconds(piece, end, seconds_per_quarter, duration),
        key=piece.key,
        time_signature=first_bar.time_signature,
        beat_unit=first_bar.beat,
    )


def _music_end(piece: Piece, limit: float, cropped: bool) -> float:
    """Offset in quarters where the rendered music stops.

    Args:
        piece: the piece.
        limit: offset of the length limit.
        cropped: True to cut exactly at ``limit`` (``max_seconds``), False to stop at the last
            barline before it (the cap on whole pieces).

    Returns:
        The end offset.
    """
    if piece.end <= limit + EPS:
        return piece.end
    if cropped:
        return limit
    barlines = [bar.start for bar in piece.meter.bars if EPS < bar.start <= limit + EPS]
    return barlines[-1] if barlines else limit


def _chords_in_seconds(
    piece: Piece, end: float, seconds_per_quarter: float, duration: float
) -> list[tuple[float, float, str]]:
    """Chord segments cut at ``end`` and converted to seconds, with "N" over the silent tail."""
    segments = [
        (start * seconds_per_quarter, min(stop, end) * seconds_per_quarter, label)
        for start, stop, label in piece.chords
        if start < end - EPS
    ]
    if duration > end * seconds_per_quarter + EPS:
        segments.append((end * seconds_per_quarter, duration, "N"))
    return segments
