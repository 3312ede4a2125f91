"""Read one music21 corpus piece into voices, a metric grid, chord labels and a key.

Renderer MIDI is written from these note lists (not by music21's MIDI writer), so the score is
expanded here once and every later step (notes, beats, chords, length) sees the same timeline.
Tempo marks of the score play no part: times stay in quarter notes until the track's own tempo
converts them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from music21 import chord, corpus, dynamics, note, repeat, stream

from .annotations import chord_segments
from .meter import EPS, Meter

# Written dynamic of unmarked passages: music21's volume scalar of "mf".
DEFAULT_DYNAMIC = 0.55


@dataclass(frozen=True)
class ScoreNote:
    """One written note.

    Attributes:
        onset: score offset in quarters.
        duration: length in quarters (ties merged).
        pitch: MIDI pitch.
        dynamic: written dynamic level in [0, 1] (music21's ``Dynamic.volumeScalar``).
    """

    onset: float
    duration: float
    pitch: int
    dynamic: float


@dataclass(frozen=True)
class Piece:
    """A corpus piece prepared for rendering.

    Attributes:
        path: corpus path, e.g. ``"bach/bwv66.6.mxl"``.
        voices: the notes of each non-empty part, in score order (top voice first).
        meter: bars and beats.
        chords: ``(start, end, label)`` chord segments in quarters, one per beat or less.
        key: estimated key, e.g. ``"F#:minor"``.
        end: offset where the last note ends, in quarters.
    """

    path: str
    voices: list[list[ScoreNote]]
    meter: Meter
    chords: list[tuple[float, float, str]]
    key: str
    end: float


def load_piece(path: str, limit: float) -> Piece:
    """Parse, expand and analyse a corpus piece up to an offset.

    Args:
        path: corpus path understood by ``music21.corpus.parse``.
        limit: offset in quarters beyond which nothing will be rendered; measures starting there
            or later are dropped before the (slow) analyses.

    Returns:
        The prepared piece.

    Raises:
        ValueError: when the piece has no measures or no notes.
        music21.exceptions21.Music21Exception: when music21 cannot read the file.
    """
    with warnings.catch_warnings():
        # music21 warns about every unusual encoding detail of the corpus files.
        warnings.simplefilter("ignore")
        # forceSource: parallel workers must not race on music21's pickle cache.
        score = corpus.parse(path, forceSource=True)
        score = _expand_repeats(score)
        _drop_measures_from(score, limit)
        voices = [voice for voice in (_voice_notes(part) for part in score.parts) if voice]
        if not voices:
            raise ValueError(f"{path} has no notes")
        grid = Meter.from_part(score.parts[0])
        end = max(n.onset + n.duration for voice in voices for n in voice)
        boundaries = [0.0] + [t for t, _ in grid.beats() if EPS < t < end - EPS] + [end]
        chords = chord_segments(score.chordify(), boundaries)
        key = score.analyze("key")
    tonic = key.tonic.name.replace("-", "b")
    return Piece(path, voices, grid, chords, f"{tonic}:{key.mode}", end)


def _expand_repeats(score: stream.Score) -> stream.Score:
    """Write out repeats; a score with malformed repeat marks is played straight through."""
    try:
        return score.expandRepeats()
    except repeat.ExpanderException:
        return score


def _drop_measures_from(score: stream.Score, limit: float) -> None:
    """Remove, in place, every measure that starts at or after ``limit`` quarters."""
    for part in score.parts:
        late = [m for m in part.getElementsByClass(stream.Measure) if m.offset >= limit - EPS]
        if late:
            part.remove(late)


def _voice_notes(part: stream.Part) -> list[ScoreNote]:
    """Notes of one part with ties merged, chords split into pitches and grace notes dropped."""
    notes = []
    level = DEFAULT_DYNAMIC
    flat = part.stripTies().flatten()
    for element in flat.getElementsByClass((note.Note, chord.Chord, dynamics.Dynamic)):
        if isinstance(element, dynamics.Dynamic):
            level = element.volumeScalar or level
            continue
        duration = float(element.quarterLength)
        if duration <= EPS:
            continue
        for pitch in element.pitches:
            notes.append(ScoreNote(float(element.offset), duration, int(pitch.midi), level))
    return notes
